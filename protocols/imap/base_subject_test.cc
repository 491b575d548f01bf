#include "protocols/imap/base_subject.h"

#include <string>

#include "gtest/gtest.h"

namespace ringmail::imap {
namespace {

std::string Base(std::string_view s) { return ExtractBaseSubject(s).text; }
bool Reply(std::string_view s) { return ExtractBaseSubject(s).reply_or_forward; }

TEST(BaseSubject, PlainSubjectsAreUpperCasedAndPacked) {
  EXPECT_EQ(Base("hello world"), "HELLO WORLD");
  EXPECT_EQ(Base("  a \t  b\r\n c  "), "A B C");
  EXPECT_EQ(Base(""), "");
  EXPECT_FALSE(Reply("hello"));
  // Only ASCII letters change case (i;ascii-casemap).
  EXPECT_EQ(Base("caf\xc3\xa9"), "CAF\xc3\xa9");
}

TEST(BaseSubject, ReplyAndForwardPrefixes) {
  EXPECT_EQ(Base("Re: subject"), "SUBJECT");
  EXPECT_EQ(Base("RE:re: x"), "X");
  EXPECT_EQ(Base("Re:Re:Re: x"), "X");
  EXPECT_EQ(Base("Fwd: x"), "X");
  EXPECT_EQ(Base("FW: x"), "X");
  EXPECT_EQ(Base("fw[2]: x"), "X");
  EXPECT_EQ(Base("Re [list] : x"), "X");
  EXPECT_EQ(Base("Re : x"), "X");
  EXPECT_TRUE(Reply("Re: x"));
  EXPECT_TRUE(Reply("fwd: x"));
  // Not a subj-refwd: no colon, or more letters.
  EXPECT_EQ(Base("Re x"), "RE X");
  EXPECT_EQ(Base("Rex: y"), "REX: Y");
  EXPECT_EQ(Base("Fwdx: y"), "FWDX: Y");
  EXPECT_FALSE(Reply("Re x"));
  EXPECT_FALSE(Reply("Rex: y"));
}

TEST(BaseSubject, Blobs) {
  EXPECT_EQ(Base("[list] subject"), "SUBJECT");
  EXPECT_FALSE(Reply("[list] subject"));
  EXPECT_EQ(Base("[a][b] x"), "X");
  EXPECT_EQ(Base("[a]re: x"), "X");
  EXPECT_TRUE(Reply("[a]re: x"));
  // A blob that is all there is stays: it is the subj-base.
  EXPECT_EQ(Base("[list]"), "[LIST]");
  EXPECT_EQ(Base("[a] [b]"), "[B]");
  EXPECT_EQ(Base("Re: [list]"), "[LIST]");
  // Unterminated or nested brackets are not blobs.
  EXPECT_EQ(Base("[a x"), "[A X");
  EXPECT_EQ(Base("[a [b] x"), "[A [B] X");
}

TEST(BaseSubject, Trailers) {
  EXPECT_EQ(Base("x (fwd)"), "X");
  EXPECT_EQ(Base("x(fwd)(FWD)  "), "X");
  EXPECT_TRUE(Reply("x (fwd)"));
  EXPECT_EQ(Base("x (fwd) y"), "X (FWD) Y");
  EXPECT_FALSE(Reply("x (fwd) y"));
  // Step 2 runs before 4: the blob is the whole subj-base afterwards.
  EXPECT_EQ(Base("[x] (fwd)"), "[X]");
}

TEST(BaseSubject, FwdWrapper) {
  EXPECT_EQ(Base("[fwd: hello]"), "HELLO");
  EXPECT_TRUE(Reply("[fwd: hello]"));
  EXPECT_EQ(Base("[Fwd: Re: hello]"), "HELLO");
  EXPECT_EQ(Base("Re: [fwd: Re: hello]"), "HELLO");
  EXPECT_EQ(Base("[fwd: [fwd: x]]"), "X");
  EXPECT_EQ(Base("re: [fwd: x (fwd)] (fwd)"), "X");
  EXPECT_EQ(Base("[fwd:]"), "");
  // Not a wrapper: no closing bracket at the end.
  EXPECT_EQ(Base("[fwd: x] y"), "Y");
}

TEST(BaseSubject, MixedArtifacts) {
  EXPECT_EQ(Base("Re: [list] Fwd: Re: subject (fwd)"), "SUBJECT");
  EXPECT_TRUE(Reply("Re: [list] Fwd: Re: subject (fwd)"));
  EXPECT_EQ(Base("[list] Re: [list] Re: x"), "X");
  EXPECT_EQ(Base("Re: "), "");
  EXPECT_EQ(Base("Re:Re:"), "");
  EXPECT_EQ(Base("(fwd)"), "");
}

TEST(BaseSubject, EncodedWords) {
  EXPECT_EQ(Base("=?UTF-8?Q?Re=3A_caf=C3=A9?="), "CAF\xc3\xa9");
  EXPECT_TRUE(Reply("=?UTF-8?Q?Re=3A_caf=C3=A9?="));
  EXPECT_EQ(Base("Re: =?ISO-8859-1?Q?caf=E9?= =?UTF-8?B?bGF0dGU=?="), "CAF\xc3\xa9LATTE");
  // Decoded text is whitespace-normalised too.
  EXPECT_EQ(Base("=?UTF-8?Q?a=09=09b?="), "A B");
}

TEST(BaseSubject, LongInputsStayLinear) {
  std::string many_blobs;
  for (int i = 0; i < 2000; ++i) many_blobs += "[a]";
  EXPECT_EQ(Base(many_blobs + "x"), "X");
  std::string many_res;
  for (int i = 0; i < 2000; ++i) many_res += "re: ";
  EXPECT_EQ(Base(many_res + "x"), "X");
  std::string wrappers, closers;
  for (int i = 0; i < 1000; ++i) wrappers += "[fwd:", closers += "]";
  EXPECT_EQ(Base(wrappers + "x" + closers), "X");
  // Only kMaxSubjectOctets are examined.
  const std::string huge(kMaxSubjectOctets * 2, 'a');
  EXPECT_EQ(Base(huge).size(), kMaxSubjectOctets);
}

}  // namespace
}  // namespace ringmail::imap
