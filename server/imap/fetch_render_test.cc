#include "server/imap/fetch_render.h"

#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "protocols/imap/args.h"
#include "protocols/imap/command_reader.h"
#include "protocols/imap/fetch.h"
#include "protocols/mime/structure.h"

namespace ringmail::server::imap {
namespace {

namespace proto = ::ringmail::imap;

// Parses "<atts>" as the arguments of "a FETCH 1 <atts>".
proto::FetchRequest Req(const std::string& atts) {
  const std::string line = "a FETCH 1 " + atts + "\r\n";
  proto::CommandReader reader;
  reader.set_authenticated(true);
  size_t used = 0;
  EXPECT_EQ(reader.Next(line, &used), proto::CommandReader::Event::kCommand)
      << line;
  proto::FetchRequest r;
  proto::ArgError err;
  EXPECT_TRUE(proto::ParseFetch(reader.command().args.From(1), &r, &err))
      << atts << ": " << err.text;
  return r;
}

// Reference LF -> CRLF conversion, one octet at a time.
std::string NaiveCrlf(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r')) out.push_back('\r');
    out.push_back(s[i]);
  }
  return out;
}

std::string Lit(std::string_view s) {
  return "{" + std::to_string(s.size()) + "}\r\n" + std::string(s);
}

constexpr std::string_view kSimple =
    "From: Alice <alice@example.com>\n"
    "To: Bob <bob@example.org>\n"
    "Subject: Hello\n"
    " world\n"
    "Date: Mon, 1 Jan 2024 10:00:00 +0000\n"
    "Message-ID: <1@example.com>\n"
    "\n"
    "Line one\n"
    "Line two\n";

constexpr std::string_view kMultipart =
    "From: Carol <carol@example.com>\n"
    "To: Dave <dave@example.net>\n"
    "Subject: parts\n"
    "MIME-Version: 1.0\n"
    "Content-Type: multipart/mixed; boundary=\"XX\"\n"
    "\n"
    "preamble\n"
    "--XX\n"
    "Content-Type: text/plain; charset=utf-8\n"
    "Content-Transfer-Encoding: quoted-printable\n"
    "\n"
    "caf=C3=A9 soft=\n"
    "break here\n"
    "--XX\n"
    "Content-Type: application/octet-stream; name=\"a.bin\"\n"
    "Content-Disposition: attachment; filename=\"a.bin\"\n"
    "Content-Transfer-Encoding: base64\n"
    "\n"
    "c2VjcmV0IHBheWxvYWQ=\n"
    "--XX\n"
    "Content-Type: message/rfc822\n"
    "\n"
    "Subject: inner\n"
    "\n"
    "inner body\n"
    "--XX--\n";

class FetchTest : public ::testing::Test {
 protected:
  MessageView View(std::string_view content, bool with_structure) {
    auto s = mime::ParseStructure(content);
    EXPECT_TRUE(s.ok());
    structures_.push_back(std::make_unique<mime::Structure>(*std::move(s)));
    MessageView v;
    v.seq = 3;
    v.uid = 42;
    v.imap_flags = proto::kFlagSeen | proto::kFlagRecent;
    v.keywords = {"$Forwarded", "work"};
    v.internal_date = 1704103200;  // 2024-01-01 10:00:00 UTC
    v.size = content.size();
    v.vsize = CrlfSize(content);
    v.modseq = 9;
    v.content = content;
    v.structure = with_structure ? structures_.back().get() : nullptr;
    return v;
  }
  std::string Fetch(const std::string& atts, const MessageView& v,
                    bool uid = false) {
    std::string out;
    RenderFetch(Req(atts), v, uid, &out);
    return out;
  }
  std::vector<std::unique_ptr<mime::Structure>> structures_;
};

TEST(AppendCrlf, MatchesNaiveForEveryWindow) {
  for (std::string_view s :
       {std::string_view("a\nb\r\nc\n\nd"), std::string_view("\n\r\n\r\r\n"),
        std::string_view("no newline"), std::string_view("")}) {
    const std::string ref = NaiveCrlf(s);
    EXPECT_EQ(CrlfSize(s), ref.size()) << s;
    for (uint64_t skip = 0; skip <= ref.size() + 1; ++skip) {
      for (uint64_t take = 0; take <= ref.size() + 1; ++take) {
        std::string out = "x";
        AppendCrlf(s, skip, take, &out);
        const std::string want =
            skip >= ref.size() ? "" : ref.substr(skip, take);
        EXPECT_EQ(out, "x" + want) << s << " " << skip << " " << take;
      }
      std::string all;
      AppendCrlf(s, skip, kTakeAll, &all);
      EXPECT_EQ(all, skip >= ref.size() ? "" : ref.substr(skip));
    }
  }
}

TEST_F(FetchTest, IndexItems) {
  MessageView v = View(kSimple, true);
  EXPECT_EQ(Fetch("(FLAGS INTERNALDATE RFC822.SIZE UID MODSEQ)", v),
            "* 3 FETCH (FLAGS (\\Seen \\Recent $Forwarded work) "
            "INTERNALDATE \"01-Jan-2024 10:00:00 +0000\" RFC822.SIZE " +
                std::to_string(NaiveCrlf(kSimple).size()) +
                " UID 42 MODSEQ (9))\r\n");
  EXPECT_EQ(v.vsize, NaiveCrlf(kSimple).size());
}

TEST_F(FetchTest, UidFetchAddsUidFirstOnlyWhenMissing) {
  MessageView v = View(kSimple, true);
  EXPECT_EQ(Fetch("FLAGS", v, true),
            "* 3 FETCH (UID 42 FLAGS (\\Seen \\Recent $Forwarded work))\r\n");
  EXPECT_EQ(Fetch("(FLAGS UID)", v, true),
            "* 3 FETCH (FLAGS (\\Seen \\Recent $Forwarded work) UID 42)\r\n");
  EXPECT_EQ(Fetch("RFC822.SIZE", v, false),
            "* 3 FETCH (RFC822.SIZE " + std::to_string(v.vsize) + ")\r\n");
}

TEST_F(FetchTest, AddFlagsAndChangedSinceModSeq) {
  MessageView v = View(kSimple, true);
  FetchRenderOptions o;
  o.add_flags = true;
  std::string out;
  RenderFetch(Req("BODY[TEXT] (CHANGEDSINCE 1)"), v, o, &out);
  EXPECT_EQ(out,
            "* 3 FETCH (BODY[TEXT] " + Lit("Line one\r\nLine two\r\n") +
                " FLAGS (\\Seen \\Recent $Forwarded work) MODSEQ (9))\r\n");
}

TEST_F(FetchTest, WholeMessageForms) {
  MessageView v = View(kSimple, true);
  const std::string crlf = NaiveCrlf(kSimple);
  const size_t hdr = crlf.find("\r\n\r\n") + 4;
  EXPECT_EQ(Fetch("RFC822", v), "* 3 FETCH (RFC822 " + Lit(crlf) + ")\r\n");
  EXPECT_EQ(Fetch("RFC822.HEADER", v),
            "* 3 FETCH (RFC822.HEADER " + Lit(crlf.substr(0, hdr)) + ")\r\n");
  EXPECT_EQ(Fetch("RFC822.TEXT", v),
            "* 3 FETCH (RFC822.TEXT " + Lit(crlf.substr(hdr)) + ")\r\n");
  EXPECT_EQ(Fetch("BODY.PEEK[]", v),
            "* 3 FETCH (BODY[] " + Lit(crlf) + ")\r\n");
  EXPECT_EQ(Fetch("BODY[HEADER]", v),
            "* 3 FETCH (BODY[HEADER] " + Lit(crlf.substr(0, hdr)) + ")\r\n");
  // The literal of BODY[] is exactly RFC822.SIZE octets.
  EXPECT_EQ(crlf.size(), v.vsize);
}

TEST_F(FetchTest, PartialCountsCrlfOctets) {
  MessageView v = View(kSimple, true);
  const std::string crlf = NaiveCrlf(kSimple);
  // 10..30 stays in the first line; 25..45 crosses its end.
  EXPECT_EQ(Fetch("BODY[]<10.20>", v),
            "* 3 FETCH (BODY[]<10> " + Lit(crlf.substr(10, 20)) + ")\r\n");
  EXPECT_EQ(Fetch("BODY[]<25.20>", v),
            "* 3 FETCH (BODY[]<25> " + Lit(crlf.substr(25, 20)) + ")\r\n");
  EXPECT_EQ(crlf.substr(25, 20).find("\r\n"), 6u);
  // "Line one\r\nLine two\r\n": 8 is the CR, 9 the LF.
  EXPECT_EQ(Fetch("BODY.PEEK[TEXT]<5.6>", v),
            "* 3 FETCH (BODY[TEXT]<5> " + Lit("one\r\nL") + ")\r\n");
  EXPECT_EQ(Fetch("BODY[TEXT]<9.2>", v),
            "* 3 FETCH (BODY[TEXT]<9> " + Lit("\nL") + ")\r\n");
  EXPECT_EQ(Fetch("BODY[TEXT]<18.100>", v),
            "* 3 FETCH (BODY[TEXT]<18> " + Lit("\r\n") + ")\r\n");
  // Origin beyond the end: empty string (RFC 3501 §6.4.5).
  EXPECT_EQ(Fetch("BODY[TEXT]<20.5>", v),
            "* 3 FETCH (BODY[TEXT]<20> {0}\r\n)\r\n");
}

TEST_F(FetchTest, HeaderFieldsWithFolding) {
  MessageView v = View(kSimple, true);
  EXPECT_EQ(Fetch("BODY.PEEK[HEADER.FIELDS (SUBJECT FROM)]", v),
            "* 3 FETCH (BODY[HEADER.FIELDS (SUBJECT FROM)] " +
                Lit("From: Alice <alice@example.com>\r\n"
                    "Subject: Hello\r\n world\r\n\r\n") +
                ")\r\n");
  EXPECT_EQ(
      Fetch("BODY[HEADER.FIELDS.NOT (subject from date message-id)]", v),
      "* 3 FETCH (BODY[HEADER.FIELDS.NOT (SUBJECT FROM DATE MESSAGE-ID)] " +
          Lit("To: Bob <bob@example.org>\r\n\r\n") + ")\r\n");
  EXPECT_EQ(Fetch("BODY[HEADER.FIELDS (X-NONE)]", v),
            "* 3 FETCH (BODY[HEADER.FIELDS (X-NONE)] " + Lit("\r\n") + ")\r\n");
}

TEST_F(FetchTest, MultipartSections) {
  for (bool cached : {true, false}) {
    MessageView v = View(kMultipart, cached);
    EXPECT_EQ(Fetch("BODY[2]", v),
              "* 3 FETCH (BODY[2] " + Lit("c2VjcmV0IHBheWxvYWQ=") + ")\r\n");
    EXPECT_EQ(Fetch("BODY.PEEK[1.MIME]", v),
              "* 3 FETCH (BODY[1.MIME] " +
                  Lit("Content-Type: text/plain; charset=utf-8\r\n"
                      "Content-Transfer-Encoding: quoted-printable\r\n\r\n") +
                  ")\r\n");
    EXPECT_EQ(Fetch("BODY[1]<3.10>", v),
              "* 3 FETCH (BODY[1]<3> " + Lit("=C3=A9 sof") + ")\r\n");
    EXPECT_EQ(Fetch("BODY[1]<10.8>", v),
              "* 3 FETCH (BODY[1]<10> " + Lit("soft=\r\nb") + ")\r\n");
    EXPECT_EQ(
        Fetch("BODY[3.HEADER]", v),
        "* 3 FETCH (BODY[3.HEADER] " + Lit("Subject: inner\r\n\r\n") + ")\r\n");
    EXPECT_EQ(Fetch("BODY[3.TEXT]", v),
              "* 3 FETCH (BODY[3.TEXT] " + Lit("inner body") + ")\r\n");
    EXPECT_EQ(Fetch("BODY[3.1]", v),
              "* 3 FETCH (BODY[3.1] " + Lit("inner body") + ")\r\n");
    EXPECT_EQ(Fetch("BODY[3.HEADER.FIELDS (subject)]", v),
              "* 3 FETCH (BODY[3.HEADER.FIELDS (SUBJECT)] " +
                  Lit("Subject: inner\r\n\r\n") + ")\r\n");
    // Nonexistent parts, and TEXT of a part that is no message: "" like
    // Dovecot.
    EXPECT_EQ(Fetch("BODY[7]", v), "* 3 FETCH (BODY[7] {0}\r\n)\r\n");
    EXPECT_EQ(Fetch("BODY[2.3]", v), "* 3 FETCH (BODY[2.3] {0}\r\n)\r\n");
    EXPECT_EQ(Fetch("BODY[1.TEXT]", v), "* 3 FETCH (BODY[1.TEXT] {0}\r\n)\r\n");
  }
}

TEST_F(FetchTest, EnvelopeAndBodyStructure) {
  MessageView cached = View(kMultipart, true);
  MessageView parsed = View(kMultipart, false);
  const std::string all = "(ENVELOPE BODY BODYSTRUCTURE)";
  const std::string out = Fetch(all, cached);
  EXPECT_EQ(out, Fetch(all, parsed));
  EXPECT_NE(out.find("ENVELOPE (NIL \"parts\" ((\"Carol\" NIL \"carol\" "
                     "\"example.com\"))"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("(\"application\" \"octet-stream\" (\"name\" \"a.bin\") "
                     "NIL NIL \"base64\" 20 NIL (\"attachment\" (\"filename\" "
                     "\"a.bin\")) NIL NIL)"),
            std::string::npos)
      << out;
  EXPECT_NE(
      out.find("BODY ((\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL "
               "\"quoted-printable\" 27 1)"),
      std::string::npos)
      << out;
  EXPECT_NE(out.find(" \"mixed\" (\"boundary\" \"XX\") NIL NIL NIL)"),
            std::string::npos)
      << out;
  // Index-only data does not need the content at all.
  MessageView bare = cached;
  bare.content = {};
  EXPECT_EQ(Fetch("BODYSTRUCTURE", bare), Fetch("BODYSTRUCTURE", cached));
}

TEST_F(FetchTest, HeaderOnlyPrefixSuffices) {
  MessageView v = View(kSimple, false);
  const std::string full = Fetch("(RFC822.HEADER BODY[HEADER.FIELDS (TO)])", v);
  v.content = kSimple.substr(0, kSimple.find("\n\n") + 2);
  EXPECT_EQ(Fetch("(RFC822.HEADER BODY[HEADER.FIELDS (TO)])", v), full);
}

TEST_F(FetchTest, NulOctetsAreReplacedInLiterals) {
  const std::string msg("Subject: x\n\na\0b\n", 16);
  MessageView v = View(msg, true);
  EXPECT_EQ(Fetch("BODY[TEXT]", v),
            "* 3 FETCH (BODY[TEXT] {5}\r\na\x80"
            "b\r\n)\r\n");
}

TEST(FetchNeeds, Classification) {
  FetchNeeds n = NeedsOf(Req("(FLAGS UID RFC822.SIZE INTERNALDATE)"));
  EXPECT_FALSE(n.content || n.structure || n.headers_only);
  n = NeedsOf(Req("(ENVELOPE BODYSTRUCTURE)"));
  EXPECT_TRUE(n.structure);
  EXPECT_FALSE(n.content);
  n = NeedsOf(Req("(RFC822.HEADER BODY.PEEK[HEADER.FIELDS (A)])"));
  EXPECT_TRUE(n.content && n.headers_only);
  EXPECT_FALSE(n.structure);
  n = NeedsOf(Req("(RFC822.HEADER BODY[TEXT])"));
  EXPECT_TRUE(n.content);
  EXPECT_FALSE(n.headers_only || n.structure);
  n = NeedsOf(Req("BODY[1.MIME]"));
  EXPECT_TRUE(n.content && n.structure);
  EXPECT_FALSE(n.headers_only);
  n = NeedsOf(Req("FULL"));
  EXPECT_TRUE(n.structure);
  EXPECT_FALSE(n.content);
  // The index's cold fields (mapped file pages): not for flags alone.
  EXPECT_FALSE(NeedsOf(Req("(FLAGS UID MODSEQ)")).cold);
  EXPECT_TRUE(NeedsOf(Req("(FLAGS INTERNALDATE)")).cold);
  EXPECT_TRUE(NeedsOf(Req("RFC822.SIZE")).cold);
  EXPECT_TRUE(NeedsOf(Req("BODY.PEEK[]")).cold);  // the read takes the size
  EXPECT_TRUE(NeedsOf(Req("ENVELOPE")).cold);
}

}  // namespace
}  // namespace ringmail::server::imap
