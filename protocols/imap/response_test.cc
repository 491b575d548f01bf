#include "protocols/imap/response.h"

#include "gtest/gtest.h"

namespace ringmail::imap {
namespace {

TEST(Response, TaggedAndCodes) {
  std::string out;
  AppendTagged(&out, "a1", Status::kOk, CodeAppendUid(7, 42), "APPEND completed");
  AppendTagged(&out, "a2", Status::kNo, kCodeTryCreate, "No such mailbox");
  AppendTagged(&out, "a3", Status::kBad, "", "Error");
  AppendUntaggedStatus(&out, Status::kOk, CodeUidValidity(3), "UIDs valid");
  EXPECT_EQ(out,
            "a1 OK [APPENDUID 7 42] APPEND completed\r\n"
            "a2 NO [TRYCREATE] No such mailbox\r\n"
            "a3 BAD Error\r\n"
            "* OK [UIDVALIDITY 3] UIDs valid\r\n");
  FlagSet f;
  f.system = kFlagSeen | kFlagDeleted;
  f.keywords = {"$Junk"};
  EXPECT_EQ(CodePermanentFlags(f, true), "PERMANENTFLAGS (\\Deleted \\Seen $Junk \\*)");
  EXPECT_EQ(CodePermanentFlags(FlagSet{}, true), "PERMANENTFLAGS (\\*)");
  EXPECT_EQ(CodeCopyUid(1, "1:3", "5:7"), "COPYUID 1 1:3 5:7");
}

TEST(Response, UntaggedData) {
  std::string out;
  AppendExists(&out, 3);
  AppendFetch(&out, 2, "UID 9 FLAGS (\\Seen)");
  AppendSearch(&out, {1, 4});
  AppendList(&out, "LIST", kAttrHasNoChildren | kAttrSent, '/', "Sent");
  AppendList(&out, "LSUB", 0, '/', "a\"b");
  AppendStatus(&out, "INBOX", "MESSAGES 2");
  AppendId(&out, {{"name", "ringmail"}});
  AppendNamespace(&out, "", '/');
  EXPECT_EQ(out,
            "* 3 EXISTS\r\n"
            "* 2 FETCH (UID 9 FLAGS (\\Seen))\r\n"
            "* SEARCH 1 4\r\n"
            "* LIST (\\HasNoChildren \\Sent) \"/\" \"Sent\"\r\n"
            "* LSUB () \"/\" \"a\\\"b\"\r\n"
            "* STATUS \"INBOX\" (MESSAGES 2)\r\n"
            "* ID (\"name\" \"ringmail\")\r\n"
            "* NAMESPACE ((\"\" \"/\")) NIL NIL\r\n");
  out.clear();
  AppendImapString(&out, "a\r\nb");
  EXPECT_EQ(out, "{4}\r\na\r\nb");
}

TEST(Response, DatesAndCapabilities) {
  EXPECT_EQ(FormatInternalDate(0, 0), "\"01-Jan-1970 00:00:00 +0000\"");
  EXPECT_EQ(FormatInternalDate(1709251199 - 3600, 60),
            "\"29-Feb-2024 23:59:59 +0100\"");
  EXPECT_EQ(FormatInternalDate(0, -90), "\"31-Dec-1969 22:30:00 -0130\"");
  CapabilityOptions o;
  o.starttls = true;
  o.login_disabled = true;
  EXPECT_EQ(BuildCapabilities(o),
            "IMAP4rev1 LITERAL+ SASL-IR STARTTLS LOGINDISABLED ENABLE ID IDLE "
            "NAMESPACE UNSELECT UIDPLUS MOVE CHILDREN SPECIAL-USE ESEARCH SORT "
            "SORT=DISPLAY THREAD=ORDEREDSUBJECT THREAD=REFERENCES");
  o = CapabilityOptions{};
  EXPECT_NE(BuildCapabilities(o).find("AUTH=PLAIN AUTH=LOGIN"), std::string::npos);
}

}  // namespace
}  // namespace ringmail::imap
