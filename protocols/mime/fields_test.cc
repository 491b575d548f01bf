#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "protocols/mime/address.h"
#include "protocols/mime/content_fields.h"
#include "protocols/mime/imap_string.h"

namespace ringmail::mime {
namespace {

std::string Imap(std::string_view addresses) {
  std::string out;
  AppendImapAddressList(&out, ParseAddressList(addresses));
  return out;
}

TEST(AddressTest, Table) {
  struct Case { const char* in; const char* want; };
  const Case cases[] = {
      {"a@b.c", "((NIL NIL \"a\" \"b.c\"))"},
      {"John Doe <john@x.org>", "((\"John Doe\" NIL \"john\" \"x.org\"))"},
      {"\"Doe, John\" <john@x.org>", "((\"Doe, John\" NIL \"john\" \"x.org\"))"},
      {"john@x.org (John Doe)", "((\"John Doe\" NIL \"john\" \"x.org\"))"},
      {"john . doe @ x . org", "((NIL NIL \"john.doe\" \"x.org\"))"},
      {"<@r1,@r2:u@h>", "((NIL \"@r1,@r2\" \"u\" \"h\"))"},
      {"g: a@b, c@d;", "((NIL NIL \"g\" NIL)(NIL NIL \"a\" \"b\")(NIL NIL \"c\" "
                       "\"d\")(NIL NIL NIL NIL))"},
      {"g: a@b", "((NIL NIL \"g\" NIL)(NIL NIL \"a\" \"b\")(NIL NIL NIL NIL))"},
      {"user", "((NIL NIL \"user\" \"MISSING_DOMAIN\"))"},
      {"", "NIL"},
      {" , ,", "NIL"},
      {"=?utf-8?q?J=C3=B6rg?= <j@x>",
       "((\"=?utf-8?q?J=C3=B6rg?=\" NIL \"j\" \"x\"))"},
      {"a@[1.2.3.4]", "((NIL NIL \"a\" \"[1.2.3.4]\"))"},
      {"\"q\\\"uote\" <q@x>", "((\"q\\\"uote\" NIL \"q\" \"x\"))"},
  };
  for (size_t i = 0; i < std::size(cases); ++i) {
    EXPECT_EQ(Imap(cases[i].in), cases[i].want) << cases[i].in;
  }
  // Junk never hangs or crashes and always yields bounded output.
  EXPECT_LE(ParseAddressList(">>> junk <<< a@b ((( \"").size(), 8u);
}

TEST(AddressTest, LimitBoundsOutput) {
  std::string many;
  for (int i = 0; i < 100; ++i) many += "a@b,";
  EXPECT_EQ(ParseAddressList(many, 10).size(), 10u);
}

TEST(ContentFieldsTest, ContentType) {
  std::string type, subtype;
  std::vector<Param> params;
  ASSERT_TRUE(ParseContentType(
      "Text/HTML (comment); Charset=\"utf-8\"; format = flowed", &type,
      &subtype, &params));
  EXPECT_EQ(type, "Text");
  EXPECT_EQ(subtype, "HTML");
  ASSERT_EQ(params.size(), 2u);
  EXPECT_EQ(params[0], (Param{"charset", "utf-8"}));
  EXPECT_EQ(params[1], (Param{"format", "flowed"}));
  EXPECT_FALSE(ParseContentType("text", &type, &subtype, &params));
  EXPECT_FALSE(ParseContentType("", &type, &subtype, &params));
  // A broken parameter ends the list; earlier ones are kept.
  ASSERT_TRUE(ParseContentType("a/b; x=1; y; z=2", &type, &subtype, &params));
  EXPECT_EQ(params.size(), 1u);
}

TEST(ContentFieldsTest, DispositionLanguageToken) {
  std::string type;
  std::vector<Param> params;
  ASSERT_TRUE(ParseDisposition("attachment; filename=\"a b.pdf\"", &type,
                               &params));
  EXPECT_EQ(type, "attachment");
  EXPECT_EQ(params, (std::vector<Param>{{"filename", "a b.pdf"}}));
  EXPECT_EQ(ParseLanguage("en (English), de-CH"),
            (std::vector<std::string>{"en", "de-CH"}));
  EXPECT_EQ(ParseSingleToken(" (c) base64 "), "base64");
}

TEST(ImapStringTest, QuotedLiteralNil) {
  std::string out;
  AppendImapString(&out, "plain");
  EXPECT_EQ(out, "\"plain\"");
  out.clear();
  AppendImapString(&out, "a\"b\\c");
  EXPECT_EQ(out, "\"a\\\"b\\\\c\"");
  out.clear();
  AppendImapString(&out, "caf\xc3\xa9");
  EXPECT_EQ(out, "{5}\r\ncaf\xc3\xa9");
  out.clear();
  AppendImapString(&out, "a\r\nb");
  EXPECT_EQ(out, "{4}\r\na\r\nb");
  out.clear();
  AppendImapString(&out, std::string_view("a\0b", 3));
  EXPECT_EQ(out, "{3}\r\na\x80" "b");
  out.clear();
  AppendImapString(&out, std::string(kMaxQuotedLength + 1, 'x'));
  EXPECT_EQ(out.substr(0, 8), "{1025}\r\n");
  out.clear();
  AppendImapNString(&out, nullptr);
  EXPECT_EQ(out, "NIL");
  EXPECT_TRUE(CanQuote(""));
}

}  // namespace
}  // namespace ringmail::mime
