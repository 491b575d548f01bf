#include "protocols/smtp/client_session.h"

#include <cassert>
#include <string>
#include <utility>

namespace ringmail::smtp {
namespace {

// Per phase: what we are doing (for "Connection lost while ..." and
// protocol error texts, in Postfix's wording) and whether a server reply is
// due. Indexed by ClientSession::Phase.
struct PhaseInfo {
  const char* doing;
  bool reply_due;
};
constexpr PhaseInfo kPhaseInfo[] = {
    {"receiving the initial server greeting", true},  // kGreeting
    {"performing the EHLO handshake", true},          // kEhlo
    {"performing the HELO handshake", true},          // kHelo
    {"sending STARTTLS", true},                       // kStartTls
    {"performing the TLS handshake", false},          // kTlsHandshake
    {"waiting for the next message", false},          // kReady
    {"sending MAIL FROM", true},                      // kMail
    {"sending RCPT TO", true},                        // kRcpt
    {"sending DATA command", true},                   // kData
    {"sending message body", false},                  // kBody
    // RFC 1047: the server may have taken the message already.
    {"sending end of data -- message may be sent more than once",
     true},                                           // kDot
    {"ending an empty message", true},                // kAbortDot
    {"sending RSET", true},                           // kRset
    {"sending QUIT", true},                           // kQuit
    {"closed", false},                                // kClosed
};

// Server text quoted in our own diagnostics is cut to this many octets.
constexpr size_t kMaxQuotedReply = 200;

int Class(const ServerReply& r) { return r.code / 100; }

}  // namespace

ClientSession::ClientSession(const ClientConfig& config, ClientHost* host)
    : config_(config), host_(host) {
  assert(host_ != nullptr);
  // The name goes straight into the EHLO line.
  assert(config_.helo_name.find_first_of("\r\n ") == std::string::npos);
  static_assert(sizeof kPhaseInfo / sizeof kPhaseInfo[0] ==
                static_cast<size_t>(Phase::kClosed) + 1);
}

void ClientSession::Consume(std::string_view in, std::string* out) {
  size_t pos = 0;
  while (pos < in.size() && !closed()) {
    if (phase_ == Phase::kTlsHandshake) {
      // Plaintext after our switch to TLS can only be injected.
      ProtocolError("data from the server before the TLS handshake");
      return;
    }
    size_t used = 0;
    ServerReply reply;
    std::string error;
    const ReplyParser::Status status =
        parser_.Next(in.substr(pos), &used, &reply, &error);
    pos += used;
    if (status == ReplyParser::Status::kError) {
      ProtocolError(error);
      return;
    }
    if (status == ReplyParser::Status::kNeedMore) return;
    input_left_ = pos < in.size();
    const uint64_t commands_before = commands_sent_;
    HandleReply(reply, out);
    // Without PIPELINING we send one command per reply, so more input
    // already here when a reply made us (or the host) write a command was
    // sent before the server could have seen that command: a broken or
    // hostile server, and trusting it would pair replies with the wrong
    // commands.
    if (!closed() && commands_sent_ != commands_before && input_left_) {
      ProtocolError("reply received before the command it answers");
      return;
    }
  }
}

void ClientSession::HandleReply(const ServerReply& reply, std::string* out) {
  // RFC 5321 §3.8: 421 may answer any command; the server closes after it.
  if (reply.code == 421 && phase_ != Phase::kQuit) {
    Fail(reply, /*quit=*/false, out);
    return;
  }
  switch (phase_) {
    case Phase::kGreeting:
      return OnGreeting(reply, out);
    case Phase::kEhlo:
      return OnEhlo(reply, out);
    case Phase::kHelo:
      return OnHelo(reply, out);
    case Phase::kStartTls:
      return OnStartTlsReply(reply, out);
    case Phase::kMail:
      return OnMailReply(reply, out);
    case Phase::kRcpt:
      return OnRcptReply(reply, out);
    case Phase::kData:
      return OnDataReply(reply, out);
    case Phase::kDot:
    case Phase::kAbortDot:
      return OnDotReply(reply, out);
    case Phase::kRset:
      return OnRsetReply(reply, out);
    case Phase::kQuit:
      phase_ = Phase::kClosed;  // any answer to QUIT will do
      return;
    case Phase::kTlsHandshake:
    case Phase::kReady:
    case Phase::kBody:
    case Phase::kClosed:
      break;
  }
  UnexpectedReply(reply);
}

void ClientSession::OnGreeting(const ServerReply& reply, std::string* out) {
  if (Class(reply) == 2) {
    SendEhlo(out);
  } else if (Class(reply) == 4 || Class(reply) == 5) {
    // RFC 5321 §3.1: after a 554 greeting the client should still QUIT.
    Fail(reply, /*quit=*/true, out);
  } else {
    UnexpectedReply(reply);
  }
}

void ClientSession::SendEhlo(std::string* out) {
  std::string line = "EHLO ";
  line.append(config_.helo_name);
  line.append("\r\n");
  Send(line, out);
  phase_ = Phase::kEhlo;
}

void ClientSession::OnEhlo(const ServerReply& reply, std::string* out) {
  if (Class(reply) == 2) {
    caps_ = ParseEhloCapabilities(reply.text);
    parser_.set_enhanced_codes(caps_.enhanced_status_codes);
    AfterHandshake(out);
  } else if (Class(reply) == 5) {
    // RFC 5321 §3.2 / §4.1.1.1: a server that does not know EHLO answers
    // 500/502 (some 550/554); HELO is the fallback.
    std::string line = "HELO ";
    line.append(config_.helo_name);
    line.append("\r\n");
    Send(line, out);
    phase_ = Phase::kHelo;
  } else if (Class(reply) == 4) {
    Fail(reply, /*quit=*/true, out);
  } else {
    UnexpectedReply(reply);
  }
}

void ClientSession::OnHelo(const ServerReply& reply, std::string* out) {
  if (Class(reply) == 2) {
    caps_ = ServerCapabilities();  // plain SMTP: no extensions at all
    parser_.set_enhanced_codes(false);
    AfterHandshake(out);
  } else if (Class(reply) == 4 || Class(reply) == 5) {
    Fail(reply, /*quit=*/true, out);
  } else {
    UnexpectedReply(reply);
  }
}

void ClientSession::AfterHandshake(std::string* out) {
  if (!tls_active_ && config_.tls != TlsPolicy::kNone) {
    if (caps_.starttls && config_.tls_available) {
      Send("STARTTLS\r\n", out);
      phase_ = Phase::kStartTls;
      return;
    }
    if (config_.tls == TlsPolicy::kRequired) {
      // Synthetic and 5xx, yet a session failure: the host defers.
      Fail(LocalReply(530, "5.7.10",
                      config_.tls_available
                          ? "TLS is required, but was not offered by the "
                            "remote server"
                          : "TLS is required, but not available locally"),
           /*quit=*/true, out);
      return;
    }
  }
  BecomeReady();
}

void ClientSession::OnStartTlsReply(const ServerReply& reply,
                                    std::string* out) {
  if (Class(reply) == 2) {
    if (input_left_) {
      // Bytes behind the 220 came in plaintext and would be read as if
      // they had come over TLS (STARTTLS response injection, the client
      // side of CVE-2011-0411).
      ProtocolError("data after the 220 reply to STARTTLS");
      return;
    }
    phase_ = Phase::kTlsHandshake;
    host_->OnStartTls();
  } else if (Class(reply) == 4 || Class(reply) == 5) {
    if (config_.tls == TlsPolicy::kRequired) {
      Fail(reply, /*quit=*/true, out);
    } else {
      // RFC 3207 §4 leaves it to the client; like Postfix, opportunistic
      // TLS carries on in plaintext with the capabilities we have.
      BecomeReady();
    }
  } else {
    UnexpectedReply(reply);
  }
}

void ClientSession::TlsStarted(std::string* out) {
  if (closed()) return;
  assert(phase_ == Phase::kTlsHandshake);
  if (phase_ != Phase::kTlsHandshake) return;
  tls_active_ = true;
  // RFC 3207 §4.2: discard everything learnt before TLS.
  caps_ = ServerCapabilities();
  parser_.set_enhanced_codes(false);
  SendEhlo(out);
}

void ClientSession::BecomeReady() {
  phase_ = Phase::kReady;
  host_->OnReady();
}

void ClientSession::Send(std::string_view line, std::string* out) {
  out->append(line.data(), line.size());
  ++commands_sent_;
}

void ClientSession::Quit(std::string* out) {
  switch (phase_) {
    case Phase::kClosed:
    case Phase::kQuit:
      return;
    case Phase::kReady:
    case Phase::kRset:  // no transaction; QUIT simply follows RSET
      Send("QUIT\r\n", out);
      phase_ = Phase::kQuit;
      return;
    default:
      break;
  }
  // Mid-handshake or mid-transaction: the host gives up. Nothing can be
  // sent safely (mid-body a QUIT would be message text).
  phase_ = Phase::kClosed;
  if (in_transaction_) {
    in_transaction_ = false;
    SettleOpen(LocalReply(451, "4.3.2",
                          "Delivery abandoned: the client is shutting down"),
               RecipientOutcome::kDeferred);
    ReportLocally(std::move(results_));
  }
}

void ClientSession::OnDisconnect() { EndAbruptly("Connection lost while "); }

void ClientSession::OnTimeout() { EndAbruptly("Timed out while "); }

void ClientSession::EndAbruptly(std::string_view prefix) {
  if (phase_ == Phase::kQuit) phase_ = Phase::kClosed;
  if (closed()) return;
  std::string text(prefix);
  text.append(kPhaseInfo[static_cast<size_t>(phase_)].doing);
  Fail(LocalReply(451, "4.4.2", text), /*quit=*/false, nullptr);
}

void ClientSession::UnexpectedReply(const ServerReply& reply) {
  std::string what = "unexpected reply \"";
  std::string quoted = reply.ToString();
  if (quoted.size() > kMaxQuotedReply) quoted.resize(kMaxQuotedReply);
  what.append(quoted);
  what.append("\"");
  ProtocolError(what);
}

void ClientSession::ProtocolError(std::string_view what) {
  std::string text = "Remote protocol error: ";
  text.append(what);
  text.append(" while ");
  text.append(kPhaseInfo[static_cast<size_t>(phase_)].doing);
  // The stream is out of step: no QUIT, the host just closes.
  Fail(LocalReply(451, "4.5.0", text), /*quit=*/false, nullptr);
}

void ClientSession::Fail(const ServerReply& why, bool quit, std::string* out) {
  if (closed()) return;
  if (quit && out != nullptr) Send("QUIT\r\n", out);
  phase_ = Phase::kClosed;
  if (in_transaction_) {
    in_transaction_ = false;
    // Whatever the code of `why`, a recipient without a final answer may
    // or may not have been delivered: never bounce it (RFC 5321 §6.1).
    SettleOpen(why, RecipientOutcome::kDeferred);
    ReportLocally(std::move(results_));
  }
  host_->OnSessionFailed(why, why.code == 421 && !why.synthetic);
}

void ClientSession::ReportLocally(std::vector<RecipientResult> results) {
  // A vector of our own: the host may start another SendMessage (which
  // reuses results_) from inside the callback.
  host_->OnMessageDone(results);
}

}  // namespace ringmail::smtp
