// SMTP command handlers: sequencing via the command table, then one function
// per verb that needs more than a fixed reply.
#include <algorithm>
#include <string>

#include "protocols/smtp/address.h"
#include "protocols/smtp/command_parser.h"
#include "protocols/smtp/session.h"
#include "protocols/smtp/text_util.h"

namespace ringmail::smtp {
namespace {

char AsciiLower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c;
}

std::string Canonical(const EnvelopeAddress& a) {
  if (a.null_path) return "";
  if (a.postmaster) return "postmaster";
  return Concat({a.local(), "@", a.domain_lower()});
}

}  // namespace

void Session::HandleLine(std::string_view line, std::string* out) {
  if (line.find('\0') != std::string_view::npos) {
    Fail("500 5.5.2 Error: bad syntax", out);
    return;
  }
  const CommandLine cmd = ParseCommandLine(line);
  if (cmd.spec == nullptr) {
    Fail("502 5.5.2 Error: command not recognized", out);
    return;
  }
  const CommandSpec& spec = *cmd.spec;
  if (spec.dialect == Dialect::kSmtpOnly && config_.lmtp) {
    Fail("500 5.5.1 Error: this is LMTP, send LHLO", out);  // RFC 2033 §4.1
    return;
  }
  if (spec.dialect == Dialect::kLmtpOnly && !config_.lmtp) {
    Fail("502 5.5.2 Error: command not recognized", out);
    return;
  }
  // BDAT decides for itself: its chunk must be skipped even when the command
  // is refused, so it needs the size before anything else.
  if (spec.verb == Verb::kBdat) {
    DoBdat(cmd, out);
    return;
  }
  if ((spec.args == ArgPolicy::kRequired && cmd.args.empty()) ||
      (spec.args == ArgPolicy::kNone && !cmd.args.empty())) {
    Fail(Concat({"501 5.5.4 Syntax: ", spec.usage}), out);
    return;
  }
  if (spec.requires_ehlo && !esmtp_) {
    Fail("502 5.5.1 Error: command not implemented", out);
    return;
  }
  const uint8_t phase_bit = static_cast<uint8_t>(1u << static_cast<int>(phase_));
  if ((spec.phases & phase_bit) == 0) {
    SequenceError(spec, out);
    return;
  }
  switch (spec.verb) {
    case Verb::kHelo:
    case Verb::kEhlo:
    case Verb::kLhlo:
      DoHelo(cmd, out);
      return;
    case Verb::kMail:
      DoMail(cmd, out);
      return;
    case Verb::kRcpt:
      DoRcpt(cmd, out);
      return;
    case Verb::kData:
      DoData(out);
      return;
    case Verb::kBdat:
      return;  // handled above
    case Verb::kRset:
      ResetTransaction();
      Reply("250 2.0.0 Ok", out);
      return;
    case Verb::kNoop:
      Reply("250 2.0.0 Ok", out);
      return;
    case Verb::kQuit:
      Close("221 2.0.0 Bye", out);
      return;
    case Verb::kHelp:
      Reply(Concat({"214 2.0.0 Commands: ",
                    config_.lmtp ? "LHLO" : "HELO EHLO",
                    " MAIL RCPT DATA BDAT RSET NOOP QUIT HELP VRFY"}),
            out);
      return;
    case Verb::kStartTls:
      DoStartTls(out);
      return;
    case Verb::kAuth:
      DoAuth(cmd, out);
      return;
    case Verb::kVrfy:
      // RFC 5321 §3.5.3: 252 when we will not say.
      Reply("252 2.5.2 Cannot VRFY user, but will accept message and attempt "
            "delivery",
            out);
      return;
  }
}

void Session::SequenceError(const CommandSpec& spec, std::string* out) {
  const bool before_mail =
      phase_ == Phase::kConnected || phase_ == Phase::kIdle;
  switch (spec.verb) {
    case Verb::kMail:
      // RFC 5321 §4.1.4 would allow MAIL without HELO; Postfix does not.
      Fail(phase_ == Phase::kConnected
               ? (config_.lmtp ? "503 5.5.1 Error: send LHLO first"
                               : "503 5.5.1 Error: send HELO/EHLO first")
               : "503 5.5.1 Error: nested MAIL command",
           out);
      return;
    case Verb::kRcpt:
      Fail(before_mail ? "503 5.5.1 Error: need MAIL command"
                       : "503 5.5.1 Error: RCPT after BDAT",
           out);
      return;
    case Verb::kData:
    case Verb::kBdat:
      if (before_mail) {
        Fail("503 5.5.1 Error: need MAIL command", out);
      } else if (phase_ == Phase::kMail) {
        Fail("554 5.5.1 Error: no valid recipients", out);
      } else {
        Fail("503 5.5.1 Error: DATA after BDAT", out);  // RFC 3030 §2
      }
      return;
    case Verb::kAuth:
      Fail(before_mail ? "503 5.5.1 Error: send HELO/EHLO first"
                       : "503 5.5.1 Error: MAIL transaction in progress",
           out);
      return;
    default:
      Fail("503 5.5.1 Error: bad sequence of commands", out);
      return;
  }
}

void Session::DoHelo(const CommandLine& cmd, std::string* out) {
  ResetTransaction();  // RFC 5321 §4.1.4: HELO/EHLO imply RSET
  helo_.assign(cmd.args);
  esmtp_ = cmd.spec->verb != Verb::kHelo;  // EHLO or LHLO
  phase_ = Phase::kIdle;
  if (!esmtp_) {
    Reply(Concat({"250 ", config_.hostname}), out);
    return;
  }
  AppendAll(out, {"250-", config_.hostname, "\r\n250-PIPELINING\r\n250-SIZE ",
                  std::to_string(config_.limits.max_message_size), "\r\n"});
  // RFC 3207 §4.2: not after TLS is on. AUTH only where PLAIN/LOGIN may be
  // used, so a client never sends a password in the clear off loopback.
  if (config_.starttls_available && !transport_.tls) {
    out->append("250-STARTTLS\r\n");
  }
  if (config_.auth_available && PlaintextAuthOk()) {
    out->append("250-AUTH PLAIN LOGIN\r\n");
  }
  out->append("250-8BITMIME\r\n250-ENHANCEDSTATUSCODES\r\n250-DSN\r\n"
              "250-SMTPUTF8\r\n250 CHUNKING\r\n");
}

void Session::DoMail(const CommandLine& cmd, std::string* out) {
  if (config_.auth_required && !authenticated_) {
    Fail("530 5.7.0 Authentication required", out);  // RFC 4954 §6
    return;
  }
  std::string_view path, params;
  if (!SplitPathArgs(cmd.args, "FROM", &path, &params)) {
    Fail("501 5.5.4 Syntax: MAIL FROM:<address>", out);
    return;
  }
  MailParams mp;
  std::string_view bad;
  // After plain HELO we advertised no extensions, so no parameters at all.
  const ParamError pe = !esmtp_ && !params.empty()
                            ? ParamError::kUnsupported
                            : ParseMailParams(params, &mp, &bad);
  if (pe == ParamError::kSyntax) {
    Fail(Concat({"501 5.5.4 Bad parameter syntax: ", bad}), out);
    return;
  }
  if (pe == ParamError::kUnsupported) {
    Fail(Concat({"555 5.5.4 Unsupported option: ",
                      bad.empty() ? params : bad}),
         out);
    return;
  }
  if (mp.has_size && mp.size > config_.limits.max_message_size) {
    Fail("552 5.3.4 Message size exceeds fixed limit", out);
    return;
  }
  EnvelopeAddress addr;
  switch (ParsePath(path, PathKind::kReversePath, mp.smtputf8, &addr)) {
    case AddressError::kOk:
      break;
    case AddressError::kUtf8NotAllowed:
      Fail("553 5.6.7 Error: SMTPUTF8 is required for a non-ASCII address",
           out);
      return;
    default:
      Fail("501 5.1.7 Bad sender address syntax", out);
      return;
  }
  const std::string sender = Canonical(addr);
  if (authenticated_ && !config_.allow_any_sender && !addr.null_path &&
      !OwnsSender(sender)) {
    Fail(Concat({"553 5.7.1 Sender address rejected: not owned by user ",
                 auth_user_}),
         out);
    return;
  }
  mail_from_ = sender;
  dsn_ret_ = mp.ret == DsnRet::kFull   ? "FULL"
             : mp.ret == DsnRet::kHdrs ? "HDRS"
                                       : "";
  dsn_envid_.assign(mp.envid);
  smtputf8_ = mp.smtputf8;
  eight_bit_ = mp.body == BodyType::k8BitMime || mp.smtputf8;
  phase_ = Phase::kMail;
  Reply("250 2.1.0 Ok", out);
}

bool Session::OwnsSender(std::string_view canonical) const {
  // canonical is "local@domain_lower" (or "postmaster", owned by nobody).
  const size_t at = auth_user_.rfind('@');
  const size_t cat = canonical.rfind('@');
  if (at == std::string::npos || cat == std::string_view::npos) return false;
  if (std::string_view(auth_user_).substr(0, at) != canonical.substr(0, cat)) {
    return false;
  }
  const std::string_view d1 = std::string_view(auth_user_).substr(at + 1);
  const std::string_view d2 = canonical.substr(cat + 1);
  return d1.size() == d2.size() &&
         std::equal(d1.begin(), d1.end(), d2.begin(), [](char a, char b) {
           return AsciiLower(a) == AsciiLower(b);
         });
}

void Session::DoRcpt(const CommandLine& cmd, std::string* out) {
  std::string_view path, params;
  if (!SplitPathArgs(cmd.args, "TO", &path, &params)) {
    Fail("501 5.5.4 Syntax: RCPT TO:<address>", out);
    return;
  }
  RcptParams rp;
  std::string_view bad;
  // After plain HELO we advertised no extensions, so no parameters at all.
  const ParamError pe = !esmtp_ && !params.empty()
                            ? ParamError::kUnsupported
                            : ParseRcptParams(params, smtputf8_, &rp, &bad);
  if (pe == ParamError::kSyntax) {
    Fail(Concat({"501 5.5.4 Bad parameter syntax: ", bad}), out);
    return;
  }
  if (pe == ParamError::kUnsupported) {
    Fail(Concat({"555 5.5.4 Unsupported option: ",
                 bad.empty() ? params : bad}),
         out);
    return;
  }
  EnvelopeAddress addr;
  switch (ParsePath(path, PathKind::kForwardPath, smtputf8_, &addr)) {
    case AddressError::kOk:
      break;
    case AddressError::kUtf8NotAllowed:
      Fail("553 5.6.7 Error: SMTPUTF8 is required for a non-ASCII address",
           out);
      return;
    default:
      Fail("501 5.1.3 Bad recipient address syntax", out);
      return;
  }
  if (recipients_.size() >= config_.limits.max_recipients) {
    // RFC 5321 §4.5.3.1.10: 452, and the client retries the rest later. Not
    // a client error, so it is not counted.
    Reply("452 4.5.3 Error: too many recipients", out);
    return;
  }
  rcpt_ = PendingRcpt{std::string(addr.wire), Canonical(addr),
                      RecipientDsn{NotifyText(rp.notify), std::string(rp.orcpt)}};
  const RecipientVerdict verdict =
      host_->CheckRecipient(addr.local(), addr.domain_lower());
  if (verdict == RecipientVerdict::kPending) {
    mode_ = Mode::kRcptWait;  // RecipientDone answers; input waits
    return;
  }
  AnswerRcpt(verdict, out);
}

void Session::AnswerRcpt(RecipientVerdict verdict, std::string* out) {
  const std::string_view wire = rcpt_.wire;
  switch (verdict) {
    case RecipientVerdict::kAccept:
      recipients_.push_back(std::move(rcpt_.canonical));
      recipient_dsn_.push_back(std::move(rcpt_.dsn));
      phase_ = Phase::kRcpt;
      Reply("250 2.1.5 Ok", out);
      return;
    case RecipientVerdict::kUnknownUser:
      Fail(Concat({"550 5.1.1 <", wire,
                        ">: Recipient address rejected: User unknown"}),
           out);
      return;
    case RecipientVerdict::kRelayDenied:
      Fail(Concat({"550 5.7.1 <", wire, ">: Relay access denied"}),
           out);
      return;
    case RecipientVerdict::kRelayUnavailable:
      // Authenticated submission to a remote domain: relaying comes with
      // the outbound queue; until then refuse permanently (never relay).
      Fail(Concat({"550 5.7.1 <", wire, ">: Relay not available yet"}),
           out);
      return;
    case RecipientVerdict::kTempFail:
      Fail(Concat({"451 4.3.0 <", wire,
                        ">: Temporary lookup failure"}),
           out);
      return;
    case RecipientVerdict::kMailboxFull:
      // Over quota: temporary (RFC 3463 X.2.2), the client retries later.
      // Not a client error, so it is not counted.
      Reply(Concat({"452 4.2.2 <", wire,
                    ">: Recipient address rejected: Mailbox full"}),
            out);
      return;
    case RecipientVerdict::kPending:  // never passed to RecipientDone
      Reply(Concat({"451 4.3.0 <", wire, ">: Temporary lookup failure"}), out);
      return;
  }
}

void Session::DoData(std::string* out) {
  scanner_.Reset(DataScanner::Mode::kDotStuffed);
  if (!BeginMessage()) {
    ResetTransaction();
    Reply("451 4.3.0 Error: queue file write error", out);
    return;
  }
  mode_ = Mode::kData;
  Reply("354 End data with <CR><LF>.<CR><LF>", out);
}

void Session::DoBdat(const CommandLine& cmd, std::string* out) {
  uint64_t size = 0;
  bool last = false;
  if (!ParseBdatArgs(cmd.args, &size, &last)) {
    // Without a size we cannot tell where the chunk ends, and its octets
    // must never be read as commands: give up on the connection.
    Reply("501 5.5.4 Syntax: BDAT count [LAST]", out);
    Close(Concat({"421 4.7.0 ", config_.hostname,
                       " Error: cannot resynchronise after bad BDAT"}),
          out);
    return;
  }
  std::string_view refusal;
  if (!esmtp_) {
    refusal = "502 5.5.1 Error: command not implemented";
  } else if (phase_ == Phase::kConnected || phase_ == Phase::kIdle) {
    refusal = "503 5.5.1 Error: need MAIL command";
  } else if (phase_ == Phase::kMail) {
    refusal = "554 5.5.1 Error: no valid recipients";
  }
  if (refusal.empty() && phase_ == Phase::kRcpt) {
    scanner_.Reset(DataScanner::Mode::kRaw);
    if (!BeginMessage()) {
      ResetTransaction();
      refusal = "451 4.3.0 Error: queue file write error";
    }
  }
  bdat_skip_reply_ = refusal;
  bdat_remaining_ = size;
  bdat_chunk_ = size;
  bdat_last_ = last;
  if (refusal.empty()) phase_ = Phase::kBdat;
  mode_ = Mode::kBdatChunk;
  if (size == 0) FinishBody(last, out);
}

}  // namespace ringmail::smtp
