#include "protocols/smtp/dsn.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "protocols/smtp/dsn_text.h"

namespace ringmail::smtp {
namespace {

// --- A small reader for what BuildDsn writes (LF line endings). ----------

struct Entity {
  std::map<std::string, std::string> fields;  // lower-case name -> unfolded
  std::vector<std::string> names;             // in order, as written
  std::string body;
};

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Parses "fields \n\n body"; a block without an empty line is all fields.
Entity ParseEntity(std::string_view text) {
  Entity e;
  const size_t blank = text.find("\n\n");
  std::string_view head = text.substr(0, blank == std::string_view::npos
                                              ? text.size()
                                              : blank + 1);
  if (blank != std::string_view::npos) e.body = std::string(text.substr(blank + 2));
  std::string name;
  while (!head.empty()) {
    const size_t lf = head.find('\n');
    const std::string_view line = head.substr(0, lf);
    head.remove_prefix(lf == std::string_view::npos ? head.size() : lf + 1);
    if (line.empty()) continue;
    if (line[0] == ' ' || line[0] == '\t') {
      EXPECT_FALSE(name.empty()) << "continuation without a field";
      e.fields[name] += std::string(line);  // unfold: drop the LF only
      continue;
    }
    const size_t colon = line.find(':');
    EXPECT_NE(colon, std::string_view::npos) << line;
    name = Lower(std::string(line.substr(0, colon)));
    EXPECT_EQ(e.fields.count(name), 0u) << "duplicate field " << name;
    std::string_view value = line.substr(colon + 1);
    if (!value.empty() && value[0] == ' ') value.remove_prefix(1);
    e.fields[name] = std::string(value);
    e.names.push_back(std::string(line.substr(0, colon)));
  }
  return e;
}

// Splits a multipart body at "--boundary" lines (RFC 2046 §5.1.1: the LF
// before a delimiter belongs to it). Checks that the close delimiter is the
// last line and that nothing else looks like a delimiter.
std::vector<std::string> SplitMultipart(std::string_view body,
                                        std::string_view boundary) {
  const std::string delim = "\n--" + std::string(boundary);
  std::vector<std::string> parts;
  size_t pos = body.find(delim);
  EXPECT_NE(pos, std::string_view::npos);
  bool closed = false;
  while (pos != std::string_view::npos) {
    size_t after = pos + delim.size();
    if (body.substr(after, 3) == "--\n") {
      EXPECT_EQ(after + 3, body.size()) << "text after the close delimiter";
      closed = true;
      break;
    }
    EXPECT_EQ(body.substr(after, 1), "\n") << "bad delimiter line";
    ++after;
    const size_t next = body.find(delim, after);
    EXPECT_NE(next, std::string_view::npos) << "unterminated part";
    if (next == std::string_view::npos) break;
    parts.emplace_back(body.substr(after, next - after));
    pos = next;
  }
  EXPECT_TRUE(closed);
  return parts;
}

std::string Boundary(const Entity& top) {
  const std::string& ct = top.fields.at("content-type");
  const size_t at = ct.find("boundary=\"");
  EXPECT_NE(at, std::string::npos);
  const size_t start = at + 10;
  return ct.substr(start, ct.find('"', start) - start);
}

// Per-message and per-recipient blocks of a delivery-status body.
std::vector<Entity> StatusBlocks(std::string_view body) {
  std::vector<Entity> blocks;
  while (!body.empty()) {
    const size_t blank = body.find("\n\n");
    const std::string_view block =
        body.substr(0, blank == std::string_view::npos ? body.size() : blank + 1);
    blocks.push_back(ParseEntity(block));
    body.remove_prefix(blank == std::string_view::npos ? body.size()
                                                       : blank + 2);
  }
  return blocks;
}

void ExpectShortLines(std::string_view text, std::string_view skip = {}) {
  size_t line_no = 0;
  while (!text.empty()) {
    const size_t lf = text.find('\n');
    ASSERT_NE(lf, std::string_view::npos) << "message must end in LF";
    const std::string_view line = text.substr(0, lf);
    if (skip.empty() || skip.find(line) == std::string_view::npos) {
      EXPECT_LT(line.size(), 998u) << "line " << line_no;
    }
    EXPECT_EQ(line.find('\r'), std::string_view::npos);
    text.remove_prefix(lf + 1);
    ++line_no;
  }
}

struct Parsed {
  Entity top;
  std::string boundary;
  Entity human, status, returned;
  std::vector<Entity> blocks;  // [0] per-message, then per recipient
};

Parsed Parse(const std::string& msg) {
  Parsed p;
  p.top = ParseEntity(msg);
  p.boundary = Boundary(p.top);
  const std::vector<std::string> parts = SplitMultipart(p.top.body, p.boundary);
  EXPECT_EQ(parts.size(), 3u);
  if (parts.size() != 3) return p;
  p.human = ParseEntity(parts[0]);
  p.status = ParseEntity(parts[1]);
  p.returned = ParseEntity(parts[2]);
  p.blocks = StatusBlocks(p.status.body);
  return p;
}

// "Tue, 14 Nov 2023 22:13:20 +0000" (RFC 5322 §3.3, as we write it).
// (No std::regex: GCC 12 warns inside it under -O1 with sanitizers.)
bool IsDate(std::string_view d) {
  auto digits = [&d](size_t at, size_t n) {
    if (d.size() < at + n) return false;
    for (size_t i = at; i < at + n; ++i) {
      if (d[i] < '0' || d[i] > '9') return false;
    }
    return true;
  };
  const std::string_view days = "Mon,Tue,Wed,Thu,Fri,Sat,Sun,";
  const std::string_view months = "JanFebMarAprMayJunJulAugSepOctNovDec";
  auto at = [](std::string_view set, std::string_view s, size_t n) {
    const size_t i = s.size() >= n ? set.find(s.substr(0, n)) : set.npos;
    return i != set.npos && i % n == 0;
  };
  if (!at(days, d, 4) || d.size() < 5 || d[4] != ' ') return false;
  d.remove_prefix(5);
  const size_t day_len = d.size() > 1 && d[1] == ' ' ? 1 : 2;
  if (!digits(0, day_len) || d.size() < day_len + 5) return false;
  d.remove_prefix(day_len + 1);
  if (!at(months, d, 3) || d[3] != ' ') return false;
  d.remove_prefix(4);
  return d.size() == 19 && digits(0, 4) && d[4] == ' ' && digits(5, 2) &&
         d[7] == ':' && digits(8, 2) && d[10] == ':' && digits(11, 2) &&
         d.substr(13) == " +0000";
}

constexpr char kOriginal[] =
    "Received: from client (unknown [192.0.2.1])\n"
    "\tby mx.example.org with ESMTP id ABC00001;\n"
    "\tTue, 14 Nov 2023 22:13:20 +0000\n"
    "From: Alice <alice@example.org>\n"
    "To: bob@example.net\n"
    "Subject: hello\n"
    "\n"
    "Body line 1\n"
    "\n"
    "Body line 3\n";

DsnInput FailureInput() {
  DsnInput in;
  in.reporting_mta = "mx.example.org";
  in.from_address = "MAILER-DAEMON@mx.example.org";
  in.to_address = "alice@example.org";
  in.queue_id = "ABC00001";
  in.arrival = absl::FromUnixSeconds(1700000000);
  in.now = absl::FromUnixSeconds(1700000600);
  in.boundary = "0123456789abcdef";
  in.original_message = kOriginal;
  in.return_full = true;
  DsnRecipient r;
  r.final_recipient = "bob@example.net";
  r.action = DsnAction::kFailed;
  r.status = "5.1.1";
  r.remote_mta = "mx.example.net";
  r.diagnostic = "550 5.1.1 <bob@example.net>: no such user";
  r.last_attempt = absl::FromUnixSeconds(1700000500);
  in.recipients.push_back(r);
  return in;
}

TEST(Dsn, GoldenFailure) {
  DsnInput in = FailureInput();
  in.envid = "QQ314159";
  in.recipients[0].original_recipient = "rfc822;bob+2Bx@example.net";
  const std::string got = BuildDsn(in);
  EXPECT_EQ(got,
            "From: Mail Delivery System <MAILER-DAEMON@mx.example.org>\n"
            "To: <alice@example.org>\n"
            "Subject: Undelivered Mail Returned to Sender\n"
            "Date: Tue, 14 Nov 2023 22:23:20 +0000\n"
            "Message-ID: <20231114222320.ABC00001.0123456789abcdef@mx.example.org>\n"
            "Auto-Submitted: auto-replied\n"
            "MIME-Version: 1.0\n"
            "Content-Type: multipart/report; report-type=delivery-status;\n"
            " boundary=\"0123456789abcdef\"\n"
            "Content-Transfer-Encoding: 7bit\n"
            "\n"
            "This is a MIME-encapsulated message.\n"
            "\n"
            "--0123456789abcdef\n"
            "Content-Description: Notification\n"
            "Content-Type: text/plain; charset=us-ascii\n"
            "\n"
            "This is the mail system at host mx.example.org.\n"
            "\n"
            "I'm sorry to have to tell you that your message could not be\n"
            "delivered to one or more recipients. It is attached below.\n"
            "\n"
            "For further assistance, please send mail to postmaster.\n"
            "\n"
            "If you do so, please include this problem report. You can\n"
            "delete your own text from the attached returned message.\n"
            "\n"
            "                   The mail system\n"
            "\n"
            "<bob@example.net>: host mx.example.net said: 550 5.1.1 <bob@example.net>: no\n"
            "    such user\n"
            "\n"
            "--0123456789abcdef\n"
            "Content-Description: Delivery report\n"
            "Content-Type: message/delivery-status\n"
            "\n"
            "Original-Envelope-Id: QQ314159\n"
            "Reporting-MTA: dns; mx.example.org\n"
            "X-Ringmail-Queue-ID: ABC00001\n"
            "X-Ringmail-Sender: rfc822; alice@example.org\n"
            "Arrival-Date: Tue, 14 Nov 2023 22:13:20 +0000\n"
            "\n"
            "Original-Recipient: rfc822; bob+x@example.net\n"
            "Final-Recipient: rfc822; bob@example.net\n"
            "Action: failed\n"
            "Status: 5.1.1\n"
            "Remote-MTA: dns; mx.example.net\n"
            "Diagnostic-Code: smtp; 550 5.1.1 <bob@example.net>: no such user\n"
            "Last-Attempt-Date: Tue, 14 Nov 2023 22:21:40 +0000\n"
            "\n"
            "--0123456789abcdef\n"
            "Content-Description: Undelivered Message\n"
            "Content-Type: message/rfc822\n"
            "\n" +
                std::string(kOriginal) +
                "\n"
                "--0123456789abcdef--\n");
}

TEST(Dsn, DateCheckerIsStrict) {
  EXPECT_TRUE(IsDate("Tue, 14 Nov 2023 22:13:20 +0000"));
  EXPECT_TRUE(IsDate("Wed, 1 Nov 2023 02:03:04 +0000"));
  EXPECT_FALSE(IsDate("Tue, 14 Nox 2023 22:13:20 +0000"));
  EXPECT_FALSE(IsDate("ue, 14 Nov 2023 22:13:20 +0000"));
  EXPECT_FALSE(IsDate("Tue, 14 Nov 2023 22:13 +0000"));
  EXPECT_FALSE(IsDate("Tue, 14 Nov 2023 22:13:20 GMT"));
  EXPECT_FALSE(IsDate("Tue, 14 Nov 2023 22:13:20 +00000"));
}

TEST(Dsn, StructureOfAFailure) {
  const Parsed p = Parse(BuildDsn(FailureInput()));
  ExpectShortLines(BuildDsn(FailureInput()));
  EXPECT_EQ(p.top.fields.at("subject"), "Undelivered Mail Returned to Sender");
  EXPECT_EQ(p.top.fields.at("auto-submitted"), "auto-replied");
  EXPECT_EQ(p.top.fields.at("mime-version"), "1.0");
  EXPECT_TRUE(IsDate(p.top.fields.at("date")))
      << p.top.fields.at("date");
  EXPECT_EQ(p.top.fields.at("content-type").rfind("multipart/report; "
                                                  "report-type=delivery-status;",
                                                  0),
            0u);
  EXPECT_EQ(p.human.fields.at("content-type"), "text/plain; charset=us-ascii");
  EXPECT_EQ(p.status.fields.at("content-type"), "message/delivery-status");
  EXPECT_EQ(p.returned.fields.at("content-type"), "message/rfc822");
  EXPECT_EQ(p.returned.body, kOriginal);  // unchanged
  ASSERT_EQ(p.blocks.size(), 2u);
  EXPECT_EQ(p.blocks[0].fields.count("original-envelope-id"), 0u);  // no ENVID
  EXPECT_EQ(p.blocks[0].fields.at("reporting-mta"), "dns; mx.example.org");
  EXPECT_TRUE(IsDate(p.blocks[0].fields.at("arrival-date")));
  const Entity& r = p.blocks[1];
  EXPECT_EQ(r.fields.count("original-recipient"), 0u);
  EXPECT_EQ(r.fields.at("final-recipient"), "rfc822; bob@example.net");
  EXPECT_EQ(r.fields.at("action"), "failed");
  EXPECT_EQ(r.fields.at("status"), "5.1.1");
  EXPECT_EQ(r.fields.at("remote-mta"), "dns; mx.example.net");
  EXPECT_EQ(r.fields.at("diagnostic-code"),
            "smtp; 550 5.1.1 <bob@example.net>: no such user");
  EXPECT_TRUE(IsDate(r.fields.at("last-attempt-date")));
  EXPECT_EQ(r.fields.count("will-retry-until"), 0u);
  // RFC 3464 §2.3 field order.
  EXPECT_EQ(r.names, (std::vector<std::string>{
                         "Final-Recipient", "Action", "Status", "Remote-MTA",
                         "Diagnostic-Code", "Last-Attempt-Date"}));
}

TEST(Dsn, HeadersOnlyForRetHdrsAndForBigMessages) {
  DsnInput in = FailureInput();
  in.return_full = false;
  Parsed p = Parse(BuildDsn(in));
  EXPECT_EQ(p.returned.fields.at("content-type"), "text/rfc822-headers");
  EXPECT_EQ(p.returned.fields.at("content-description"),
            "Undelivered Message Headers");
  const std::string headers(std::string_view(kOriginal).substr(
      0, std::string_view(kOriginal).find("\n\n") + 1));
  EXPECT_EQ(p.returned.body, headers);
  EXPECT_EQ(p.returned.body.find("Body line"), std::string::npos);

  in.return_full = true;
  in.max_returned_bytes = sizeof kOriginal - 2;  // one octet too small
  p = Parse(BuildDsn(in));
  EXPECT_EQ(p.returned.fields.at("content-type"), "text/rfc822-headers");
  in.max_returned_bytes = sizeof kOriginal - 1;  // exactly fits
  p = Parse(BuildDsn(in));
  EXPECT_EQ(p.returned.fields.at("content-type"), "message/rfc822");
}

// The returned part as text between its blank line and the close delimiter.
std::string ReturnedText(const DsnInput& in) {
  const std::string msg = BuildDsn(in);
  const std::string close = "\n--" + in.boundary + "--\n";
  const size_t end = msg.rfind(close);
  const size_t start = msg.rfind("Content-Type: ", end);
  const size_t blank = msg.find("\n\n", start);
  return msg.substr(blank + 2, end - blank - 2);
}

TEST(Dsn, HeaderExtractionEdgeCases) {
  DsnInput in = FailureInput();
  in.return_full = false;
  in.original_message = "Subject: no body\nX: y\n";  // no empty line
  EXPECT_EQ(ReturnedText(in), "Subject: no body\nX: y\n");
  in.original_message = "\nbody only\n";
  EXPECT_EQ(ReturnedText(in), "");
  in.original_message = "A: 1\nB: 2\nC: 3\n\nbody\n";
  in.max_returned_bytes = 11;  // "A: 1\nB: 2\n" is 10
  EXPECT_EQ(ReturnedText(in), "A: 1\nB: 2\n");
  in.max_returned_bytes = 3;
  EXPECT_EQ(ReturnedText(in), "");
  in.original_message = "A: 1\n\nno final newline";
  in.return_full = true;
  in.max_returned_bytes = 100;
  EXPECT_EQ(ReturnedText(in), "A: 1\n\nno final newline");
}

TEST(Dsn, DelayedReport) {
  DsnInput in = FailureInput();
  in.now = in.arrival + absl::Hours(4);
  in.recipients[0].action = DsnAction::kDelayed;
  in.recipients[0].status = "4.4.1";
  in.recipients[0].diagnostic = "";
  in.recipients[0].reason = "connect to mx.example.net: Connection timed out";
  in.recipients[0].will_retry_until = in.arrival + absl::Hours(5 * 24);
  const std::string msg = BuildDsn(in);
  const Parsed p = Parse(msg);
  EXPECT_EQ(p.top.fields.at("subject"), "Delayed Mail (still being retried)");
  EXPECT_NE(p.human.body.find("could not be delivered for 4.0 hour(s)"),
            std::string::npos);
  EXPECT_NE(p.human.body.find("retried until it is 5.0 day(s) old"),
            std::string::npos);
  EXPECT_NE(p.human.body.find("host mx.example.net said: connect to"),
            std::string::npos);
  const Entity& r = p.blocks.at(1);
  EXPECT_EQ(r.fields.at("action"), "delayed");
  EXPECT_EQ(r.fields.at("status"), "4.4.1");
  EXPECT_EQ(r.fields.at("diagnostic-code"),
            "X-Ringmail; connect to mx.example.net: Connection timed out");
  EXPECT_TRUE(IsDate(r.fields.at("will-retry-until")));
  EXPECT_EQ(p.returned.fields.at("content-description"), "Delayed Message");
}

TEST(Dsn, SuccessAndMixedReports) {
  DsnInput in = FailureInput();
  in.recipients[0].action = DsnAction::kRelayed;
  in.recipients[0].status = "2.0.0";
  in.recipients[0].diagnostic = "250 2.0.0 Ok: queued as X";
  Parsed p = Parse(BuildDsn(in));
  EXPECT_EQ(p.top.fields.at("subject"), "Successful Mail Delivery Report");
  EXPECT_NE(p.human.body.find("<bob@example.net>: delivery via mx.example.net: "
                              "250 2.0.0 Ok: queued as X"),
            std::string::npos);
  EXPECT_EQ(p.blocks.at(1).fields.at("action"), "relayed");
  EXPECT_EQ(p.human.body.find("Delivery to these"), std::string::npos);

  DsnRecipient failed;
  failed.final_recipient = "carol@example.com";
  failed.action = DsnAction::kFailed;
  failed.status = "bogus";  // replaced by the action's class
  DsnRecipient delayed = failed;
  delayed.final_recipient = "dave@example.com";
  delayed.action = DsnAction::kDelayed;
  in.recipients.push_back(failed);
  in.recipients.push_back(delayed);
  p = Parse(BuildDsn(in));
  EXPECT_EQ(p.top.fields.at("subject"), "Undelivered Mail Returned to Sender");
  ASSERT_EQ(p.blocks.size(), 4u);
  EXPECT_EQ(p.blocks[2].fields.at("status"), "5.0.0");
  EXPECT_EQ(p.blocks[3].fields.at("status"), "4.0.0");
  EXPECT_EQ(p.blocks[3].fields.count("will-retry-until"), 0u);  // not given
  EXPECT_EQ(p.blocks[2].fields.count("remote-mta"), 0u);
  EXPECT_EQ(p.blocks[2].fields.count("diagnostic-code"), 0u);
  // Grouped by action, failures first.
  const std::string& t = p.human.body;
  const size_t f = t.find("failed permanently:\n\n<carol@example.com>: failed "
                          "(status 5.0.0)");
  const size_t d = t.find("delayed and will be retried:\n\n<dave@example.com>");
  const size_t s = t.find("succeeded:\n\n<bob@example.net>");
  ASSERT_NE(f, std::string::npos) << t;
  ASSERT_NE(d, std::string::npos) << t;
  ASSERT_NE(s, std::string::npos) << t;
  EXPECT_LT(f, d);
  EXPECT_LT(d, s);
}

TEST(Dsn, LongAndHostileTextIsFoldedAndCleaned) {
  DsnInput in = FailureInput();
  std::string words;
  for (int i = 0; i < 300; ++i) words += "word" + std::to_string(i) + " ";
  words += std::string(2500, 'x');  // a run no line can hold
  in.recipients[0].diagnostic = "550 " + words;
  in.recipients[0].remote_mta = "evil\r\nInjected: yes";
  in.envid = "id\nX-Evil: 1";
  const std::string msg = BuildDsn(in);
  ExpectShortLines(msg);
  const Parsed p = Parse(msg);
  EXPECT_EQ(p.blocks.at(0).fields.at("original-envelope-id"), "id?X-Evil: 1");
  const Entity& r = p.blocks.at(1);
  EXPECT_EQ(r.fields.count("injected"), 0u);
  EXPECT_EQ(r.fields.at("remote-mta"), "dns; evil??Injected: yes");
  // Folding keeps the words; only the over-long run gains fold spaces.
  std::string diag = r.fields.at("diagnostic-code");
  EXPECT_EQ(diag.substr(0, 6 + 4 + words.size() - 2500),
            "smtp; 550 " + words.substr(0, words.size() - 2500));
  diag.erase(std::remove(diag.begin(), diag.end(), ' '), diag.end());
  EXPECT_NE(diag.find(std::string(2500, 'x')), std::string::npos);
  EXPECT_EQ(p.top.fields.count("injected"), 0u);
}

TEST(Dsn, Utf8AddressesAndEightBitContent) {
  DsnInput in = FailureInput();
  in.recipients[0].final_recipient = "j\xc3\xb6rg@b\xc3\xbc" "cher.example";
  in.original_message = "Subject: gr\xc3\xbc\xc3\x9f" "e\n\nk\xc3\xa4se\n";
  const std::string msg = BuildDsn(in);
  const Parsed p = Parse(msg);
  EXPECT_EQ(p.top.fields.at("content-transfer-encoding"), "8bit");
  EXPECT_EQ(p.human.fields.at("content-type"), "text/plain; charset=utf-8");
  EXPECT_NE(p.human.body.find("<j\xc3\xb6rg@b\xc3\xbc" "cher.example>"),
            std::string::npos);
  EXPECT_EQ(p.returned.fields.at("content-transfer-encoding"), "8bit");
  EXPECT_EQ(p.blocks.at(1).fields.at("final-recipient"),
            "utf-8; j\\x{F6}rg@b\\x{FC}cher.example");
  for (char c : p.status.body) {
    EXPECT_LT(static_cast<unsigned char>(c), 0x80) << "delivery-status is 7bit";
  }
}

TEST(Dsn, QuotedLocalPartsAndOriginalRecipient) {
  DsnInput in = FailureInput();
  in.to_address = "a b@example.org";
  in.recipients[0].final_recipient = "x\"y@example.net";
  in.recipients[0].original_recipient = "RFC822;x+22y+40example.net";
  const Parsed p = Parse(BuildDsn(in));
  EXPECT_EQ(p.top.fields.at("to"), "<\"a b\"@example.org>");
  EXPECT_EQ(p.blocks.at(1).fields.at("final-recipient"),
            "rfc822; \"x\\\"y\"@example.net");
  EXPECT_EQ(p.blocks.at(1).fields.at("original-recipient"),
            "RFC822; x\"y@example.net");
  // Undecodable or non-printable: kept in its 7-bit received form.
  in.recipients[0].original_recipient = "rfc822;a+0Ab";
  EXPECT_EQ(Parse(BuildDsn(in)).blocks.at(1).fields.at("original-recipient"),
            "rfc822; a+0Ab");
}

TEST(Dsn, BoundaryAvoidsContentAndIsSanitised) {
  DsnInput in = FailureInput();
  const std::string original =
      std::string("Subject: x\n\n--") + in.boundary + "\nfake part\n";
  in.original_message = original;
  Parsed p = Parse(BuildDsn(in));
  EXPECT_EQ(p.boundary, in.boundary + "=1");
  EXPECT_EQ(p.returned.body, original);
  in.boundary = "bad\"token\n" + std::string(200, 'z');
  p = Parse(BuildDsn(in));
  EXPECT_EQ(p.boundary, "badtoken" + std::string(kMaxBoundaryToken - 8, 'z'));
}

TEST(StatusForReply, UsesEnhancedCodeWithTheReplyClass) {
  EXPECT_EQ(StatusForReply(550, "5.1.1"), "5.1.1");
  EXPECT_EQ(StatusForReply(550, "5.1.1 no such user"), "5.1.1");
  EXPECT_EQ(StatusForReply(451, "4.7.1"), "4.7.1");
  EXPECT_EQ(StatusForReply(450, "5.2.2 mailbox full"), "4.2.2");  // class wins
  EXPECT_EQ(StatusForReply(250, "2.0.0"), "2.0.0");
  EXPECT_EQ(StatusForReply(552, "5.3.4"), "5.3.4");
  EXPECT_EQ(StatusForReply(554, "5.123.456"), "5.123.456");
}

TEST(StatusForReply, FallsBackToTheReplyClass) {
  EXPECT_EQ(StatusForReply(550, ""), "5.0.0");
  EXPECT_EQ(StatusForReply(550, "no such user"), "5.0.0");
  EXPECT_EQ(StatusForReply(421, "4.x.1"), "4.0.0");
  EXPECT_EQ(StatusForReply(421, "4.1234.1"), "4.0.0");
  EXPECT_EQ(StatusForReply(451, "3.1.1"), "4.0.0");
  EXPECT_EQ(StatusForReply(250, ""), "2.0.0");
  EXPECT_EQ(StatusForReply(354, ""), "4.5.0");
  EXPECT_EQ(StatusForReply(0, "5.1.1"), "4.5.0");
  EXPECT_EQ(StatusForReply(999, ""), "4.5.0");
}

TEST(DsnText, FoldingAndWrapping) {
  using dsn_internal::AppendFoldedField;
  using dsn_internal::AppendWrapped;
  std::string out;
  AppendFoldedField("Name", "short value", &out);
  EXPECT_EQ(out, "Name: short value\n");
  out.clear();
  AppendWrapped(std::string(70, 'a') + " " + std::string(10, 'b') + "  c",
                &out);
  EXPECT_EQ(out, std::string(70, 'a') + "\n    " + std::string(10, 'b') +
                     " c\n");
  out.clear();
  AppendFoldedField("F", std::string(2000, 'q'), &out);
  ExpectShortLines(out);
  EXPECT_EQ(out.find("\n "), 3 + 900u);
}

TEST(DsnText, Utf8Helpers) {
  using dsn_internal::AppendClean;
  using dsn_internal::Utf8AddrXtext;
  std::string out;
  AppendClean("a\tb\x01\xc3\xa9\xff", true, &out);
  EXPECT_EQ(out, "a b?\xc3\xa9?");
  out.clear();
  AppendClean("\xc3\xa9", false, &out);
  EXPECT_EQ(out, "??");
  EXPECT_EQ(Utf8AddrXtext("a+b=\\c\xc3\xa9\xff@x"),
            "a\\x{2B}b\\x{3D}\\x{5C}c\\x{E9}\\x{FFFD}@x");
}

}  // namespace
}  // namespace ringmail::smtp
