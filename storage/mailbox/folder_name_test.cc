#include "storage/mailbox/folder_name.h"

#include "gtest/gtest.h"

namespace ringmail::storage {
namespace {

TEST(FolderNameTest, MapsToMaildirPlusPlus) {
  FolderNameOptions slash;
  EXPECT_EQ(*FolderDirName("INBOX", slash), "");
  EXPECT_EQ(*FolderDirName("inbox", slash), "");
  EXPECT_EQ(*FolderDirName("A/B", slash), ".A.B");
  EXPECT_EQ(*FolderDirName("Entw\xC3\xBC" "rfe", slash), ".Entw&APw-rfe");
  EXPECT_EQ(*FolderDirName("inbox/x", slash), ".INBOX.x");
  EXPECT_EQ(*FolderNameFromDir(".A.B", slash), "A/B");
  EXPECT_EQ(*FolderNameFromDir(".Entw&APw-rfe", slash), "Entw\xC3\xBC" "rfe");
  FolderNameOptions dot{'.'};
  EXPECT_EQ(*FolderDirName("A.B", dot), ".A.B");
  EXPECT_EQ(*FolderNameFromDir(".A.B", dot), "A.B");
}

TEST(FolderNameTest, ValidationTable) {
  FolderNameOptions slash;
  FolderNameOptions dot{'.'};
  struct Case {
    std::string name;
    bool slash_ok;
    bool dot_ok;
  } cases[] = {
      {"Sent", true, true},
      {"A/B", true, false},  // '/' never allowed with '.' on disk
      {"A.B", false, true},  // '.' is the on-disk separator
      {"", false, false},
      {"/abs", false, false},
      {"A//B", false, false},
      {"A/", false, false},
      {"..", false, false},
      {"A/../B", false, false},
      {"~user", false, false},
      {"a~b", true, true},
      {"A\tB", false, false},
      {std::string("A\0B", 3), false, false},
      {"A\x7f", false, false},
      {"A*", false, false},
      {"A%", false, false},
      {"\xFF", false, false},
      {std::string(250, 'x'), true, true},
      {std::string(260, 'x'), false, false},
      {std::string(2000, 'x'), false, false},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(ValidateFolderName(c.name, slash).ok(), c.slash_ok) << c.name;
    EXPECT_EQ(ValidateFolderName(c.name, dot).ok(), c.dot_ok) << c.name;
  }
  std::string deep;
  for (size_t i = 0; i <= kMaxFolderDepth; ++i) deep += i ? "/a" : "a";
  EXPECT_FALSE(ValidateFolderName(deep, slash).ok());
}

TEST(FolderNameTest, RejectsNonFolderDirs) {
  FolderNameOptions slash;
  for (const char* d : {".", "..", "..DOVECOT-TRASHED", "cur", ".a..b", ".a.",
                        ".&Jjo", ".a/b"}) {
    EXPECT_FALSE(FolderNameFromDir(d, slash).ok()) << d;
  }
}

TEST(FolderNameTest, SpecialUse) {
  EXPECT_EQ(SpecialUseOf("Sent"), SpecialUse::kSent);
  EXPECT_EQ(SpecialUseOf("Junk"), SpecialUse::kJunk);
  EXPECT_EQ(SpecialUseOf("sent"), SpecialUse::kNone);
  EXPECT_EQ(SpecialUseAttribute(SpecialUse::kArchive), "\\Archive");
  EXPECT_EQ(DefaultSpecialUseFolders().size(), 5u);
}

// The on-disk form of one level is the shared codec's (common/mutf7.h):
// what Dovecot writes is read back, and malformed names on disk are not
// folders.
TEST(FolderLevelTest, RoundTripsThroughTheSharedCodec) {
  EXPECT_EQ(*EncodeFolderLevel("Entw\xC3\xBC" "rfe"), "Entw&APw-rfe");
  EXPECT_EQ(*DecodeFolderLevel("Entw&APw-rfe"), "Entw\xC3\xBC" "rfe");
  EXPECT_EQ(*EncodeFolderLevel("A&B"), "A&-B");
  EXPECT_EQ(*DecodeFolderLevel("&2D3eAA-"), "\xF0\x9F\x98\x80");
  for (const char* bad : {"&", "&Jjo", "&AGE-&AGE-", "&AEE-", "a\x80", "&2D3-"}) {
    absl::StatusOr<std::string> r = DecodeFolderLevel(bad);
    EXPECT_TRUE(absl::IsInvalidArgument(r.status())) << bad;
  }
  EXPECT_TRUE(absl::IsInvalidArgument(EncodeFolderLevel("\xED\xA0\x80").status()));
  FolderNameOptions opts;
  opts.delimiter = '/';
  EXPECT_FALSE(FolderNameFromDir(".&AGE-&AGE-", opts).ok());
}

}  // namespace
}  // namespace ringmail::storage
