#include "server/imap/sort_headers.h"

#include <string>

#include "gtest/gtest.h"
#include "protocols/mime/structure.h"

namespace ringmail::server::imap {
namespace {

using ringmail::imap::SortHeaders;

// The cached-ENVELOPE path and the message-text path must agree (apart
// from References, which ENVELOPE lacks), or SORT results would depend on
// the structure cache.
void ExpectSame(const std::string& message) {
  auto s = mime::ParseStructure(message);
  ASSERT_TRUE(s.ok());
  const mime::Envelope* env = TopEnvelope(&*s);
  ASSERT_NE(env, nullptr);
  SortHeaders from_env = SortHeadersFromEnvelope(*env);
  SortHeaders from_text = SortHeadersFromContent(message);
  from_text.references.reset();
  EXPECT_EQ(from_env, from_text) << message;
}

TEST(SortHeaders, EnvelopeAndTextAgree) {
  ExpectSame(
      "Date: Tue, 03 Mar 2020 09:00:00 +0000\n"
      "Subject: Re: [list]\n  folded\tsubject\n"
      "From: \"A\" <a@x>\nTo: b@x,\n c@x\nCc: d@x\n"
      "Message-ID: <1@x>\nIn-Reply-To: <0@x>\nReferences: <0@x>\n"
      "Subject: second subject is ignored\n"
      "\nbody\nSubject: not a header\n");
  ExpectSame("Subject: =?UTF-8?Q?caf=C3=A9?=\r\nFrom: x@y\r\n\r\nbody\r\n");
  ExpectSame("no header at all\n");
  ExpectSame("");
  ExpectSame(
      "Content-Type: multipart/mixed; boundary=b\nSubject: outer\n\n--b\n"
      "Content-Type: message/rfc822\n\nSubject: inner\n\ninner body\n--b--\n");
}

TEST(SortHeaders, FromContent) {
  const SortHeaders h = SortHeadersFromContent(
      "SUBJECT:  hello\n  world \nreferences: <a@x>\n <b@x>\nX-Other: 1\n\n"
      "Date: in the body\n");
  EXPECT_EQ(h.subject, "hello  world");  // unfolding keeps the WSP
  EXPECT_EQ(h.references, "<a@x> <b@x>");
  EXPECT_FALSE(h.date.has_value());
  EXPECT_FALSE(h.from.has_value());
}

TEST(SortHeaders, TopEnvelope) {
  EXPECT_EQ(TopEnvelope(nullptr), nullptr);
  mime::Structure empty;
  EXPECT_EQ(TopEnvelope(&empty), nullptr);
  empty.parts.emplace_back();  // envelope -1
  EXPECT_EQ(TopEnvelope(&empty), nullptr);
}

}  // namespace
}  // namespace ringmail::server::imap
