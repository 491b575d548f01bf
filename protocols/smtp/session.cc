// Session lifecycle, the input loop and body streaming. Command handlers live
// in session_commands.cc.
#include "protocols/smtp/session.h"

#include <algorithm>
#include <cassert>
#include <cstdio>
#include <utility>

#include "protocols/smtp/received_header.h"
#include "protocols/smtp/text_util.h"

namespace ringmail::smtp {
namespace {

// Upper bound on what we ask a sink for at once: big enough for the SIMD
// scanner to stay in its fast path, small enough not to force huge buffers.
constexpr size_t kMaxReserve = 64 << 10;

}  // namespace

Session::Session(const SessionConfig& config, SessionHost* host,
                 std::string_view client_ip, uint64_t session_id,
                 absl::AnyInvocable<absl::Time()> clock)
    : config_(config),
      host_(host),
      client_ip_(client_ip),
      session_id_(session_id),
      clock_(std::move(clock)),
      scanner_(DataScanner::Mode::kDotStuffed, config.limits.max_text_line) {}

void Session::Start(std::string* out) {
  Reply(Concat({"220 ", config_.hostname, config_.lmtp ? " LMTP" : " ESMTP"}),
        out);
}

size_t Session::Consume(std::string_view in, std::string* out) {
  size_t pos = 0;
  while (pos < in.size()) {
    switch (mode_) {
      case Mode::kClosed:
      case Mode::kWaiting:
      case Mode::kAuthWait:
      case Mode::kRcptWait:
      case Mode::kStartTls:  // the rest is plaintext the host must discard
        return pos;
      case Mode::kData:
      case Mode::kBdatChunk:
        pos += FeedBody(in.substr(pos), out);
        break;
      case Mode::kCommand:
      case Mode::kSaslResponse: {
        size_t used = 0;
        std::string_view line;
        const LineReader::Status st = reader_.Next(in.substr(pos), &used, &line);
        pos += used;
        if (st == LineReader::Status::kTooLong) {
          if (mode_ == Mode::kSaslResponse) {
            EndSasl();
            mode_ = Mode::kCommand;
          }
          Fail("500 5.5.2 Error: line too long", out);
        } else if (st == LineReader::Status::kLine) {
          if (mode_ == Mode::kSaslResponse) {
            HandleSaslResponse(line, out);
          } else {
            HandleLine(line, out);
          }
        }
        break;
      }
    }
  }
  return pos;
}

void Session::MessageDone(bool durable, std::string* out) {
  MessageDone(durable ? DeliveryOutcome::kDelivered : DeliveryOutcome::kTempFail,
              out);
}

void Session::MessageDone(DeliveryOutcome outcome, std::string* out) {
  MessageDone([outcome](std::string_view) { return outcome; }, out);
}

void Session::MessageDone(
    absl::FunctionRef<DeliveryOutcome(std::string_view rcpt)> outcome_of,
    std::string* out) {
  if (mode_ != Mode::kWaiting) return;
  mode_ = Mode::kCommand;
  // LMTP: "<rcpt> " after the codes; SMTP: the queue id on success.
  auto reply = [&](DeliveryOutcome o, std::string_view rcpt) {
    const std::string who =
        config_.lmtp ? Concat({"<", rcpt, "> "}) : std::string();
    switch (o) {
      case DeliveryOutcome::kDelivered:
        return config_.lmtp ? Concat({"250 2.0.0 ", who, "Ok"})
                            : Concat({"250 2.0.0 Ok: queued as ", queue_id_});
      case DeliveryOutcome::kMailboxFull:
        return Concat({"452 4.2.2 ", who, "Mailbox full"});
      case DeliveryOutcome::kQuotaExceeded:
        return Concat({"552 5.2.2 ", who,
                       "Mailbox full: the message is larger than the quota"});
      case DeliveryOutcome::kTempFail:
        break;
    }
    return Concat({"451 4.3.0 ", who, "Error: queue file write error"});
  };
  if (config_.lmtp) {
    // RFC 2033 §4.2: one reply per accepted RCPT, in order.
    for (const std::string& rcpt : lmtp_rcpts_) {
      Reply(reply(outcome_of(rcpt), rcpt), out);
    }
  } else {
    // One reply for the message: the worst outcome (the enum is ordered).
    DeliveryOutcome worst = DeliveryOutcome::kDelivered;
    for (const std::string& rcpt : lmtp_rcpts_) {
      worst = std::max(worst, outcome_of(rcpt));
    }
    Reply(reply(worst, ""), out);
  }
  lmtp_rcpts_.clear();
  if (shutdown_pending_) {
    Close(Concat({"421 4.3.2 ", config_.hostname,
                       " Service shutting down"}),
          out);
  }
}

void Session::RecipientDone(RecipientVerdict verdict, std::string* out) {
  if (mode_ != Mode::kRcptWait) return;
  mode_ = Mode::kCommand;
  AnswerRcpt(verdict, out);
  if (shutdown_pending_ && !closed()) {
    Close(Concat({"421 4.3.2 ", config_.hostname, " Service shutting down"}),
          out);
  }
}

void Session::OnIdleTimeout(std::string* out) {
  if (closed()) return;
  Close(Concat({"421 4.4.2 ", config_.hostname,
                     " Error: timeout exceeded"}),
        out);
}

void Session::OnShutdown(std::string* out) {
  if (closed()) return;
  if (waiting()) {
    shutdown_pending_ = true;  // the queued/failed reply must come first
    return;
  }
  Close(Concat({"421 4.3.2 ", config_.hostname, " Service shutting down"}),
        out);
}

void Session::OnDisconnect() {
  AbortMessage();
  mode_ = Mode::kClosed;
}

void Session::Reply(std::string_view text, std::string* out) {
  out->append(text);
  out->append("\r\n");
}

void Session::Fail(std::string_view text, std::string* out) {
  Reply(text, out);
  CountError(out);
}

void Session::CountError(std::string* out) {
  if (++errors_ > config_.limits.max_errors) {
    Close(Concat({"421 4.7.0 ", config_.hostname,
                       " Error: too many errors"}),
          out);
  }
}

void Session::Close(std::string_view text, std::string* out) {
  AbortMessage();
  Reply(text, out);
  mode_ = Mode::kClosed;
}

bool Session::BeginMessage() {
  ++message_count_;
  // Unique per process as long as session ids are: the count has a fixed
  // width so (id, count) -> text is injective.
  char id[32];
  std::snprintf(id, sizeof id, "%llX%05X",
                static_cast<unsigned long long>(session_id_),
                static_cast<unsigned>(message_count_ & 0xFFFFF));
  queue_id_ = id;
  received_.clear();
  // RFC 3848 (ESMTPS, ESMTPA, ESMTPSA) and RFC 6531 §3.7.3 (UTF8SMTP...).
  std::string protocol = config_.lmtp ? "LMTP"
                         : !esmtp_   ? "SMTP"
                         : smtputf8_ ? "UTF8SMTP"
                                     : "ESMTP";
  if (esmtp_ && transport_.tls) protocol += 'S';
  if (esmtp_ && authenticated_) protocol += 'A';
  AppendReceivedHeader(
      ReceivedInfo{helo_, client_ip_, config_.hostname, protocol, queue_id_,
                   recipients_.size() == 1 ? std::string_view(recipients_[0])
                                           : std::string_view(),
                   clock_()},
      &received_);
  Envelope env;
  env.helo = helo_;
  env.client_ip = client_ip_;
  env.mail_from = mail_from_;
  env.recipients = recipients_;
  env.smtputf8 = smtputf8_;
  env.eight_bit = eight_bit_;
  env.queue_id = queue_id_;
  env.auth_user = auth_user_;
  env.received_header = received_;
  env.dsn_ret = dsn_ret_;
  env.dsn_envid = dsn_envid_;
  env.recipient_dsn = recipient_dsn_;
  assert(recipient_dsn_.size() == recipients_.size());
  body_bytes_ = 0;
  added_newlines_ = 0;
  oversize_ = false;
  header_.Reset();
  header_held_ = config_.add_missing_headers;
  sink_ = host_->BeginMessage(env);
  return sink_ != nullptr;
}

void Session::AbortMessage() {
  if (sink_ == nullptr) return;
  sink_ = nullptr;
  host_->AbortMessage();
}

void Session::ResetTransaction() {
  AbortMessage();
  mail_from_.clear();
  recipients_.clear();
  recipient_dsn_.clear();
  dsn_ret_.clear();
  dsn_envid_.clear();
  smtputf8_ = false;
  eight_bit_ = false;
  oversize_ = false;
  body_bytes_ = 0;
  added_newlines_ = 0;
  header_held_ = false;
  header_.Reset();
  bdat_remaining_ = 0;
  bdat_chunk_ = 0;
  bdat_last_ = false;
  if (phase_ != Phase::kConnected) phase_ = Phase::kIdle;
}

size_t Session::FeedBody(std::string_view in, std::string* out) {
  const bool bdat = mode_ == Mode::kBdatChunk;
  if (bdat && in.size() > bdat_remaining_) in = in.substr(0, bdat_remaining_);
  size_t used = 0;
  while (used < in.size()) {
    const std::string_view rest = in.substr(used);
    ScanResult r;
    if (!bdat_skip_reply_.empty()) {
      r.consumed = rest.size();  // a rejected chunk is skipped unscanned
    } else if (sink_ != nullptr && header_held_) {
      size_t capacity = 0;
      char* space = header_.Reserve(&capacity);
      r = scanner_.Scan(rest, space, capacity);
      header_.Commit(r.produced);
      if (!header_.collecting()) FlushHeader();
    } else if (sink_ != nullptr) {
      const absl::Span<char> space =
          sink_->Reserve(std::min(rest.size() + 1, kMaxReserve));
      r = scanner_.Scan(rest, space.data(), space.size());
      sink_->Commit(r.produced);
    } else {
      r = scanner_.Scan(rest, scratch_.data(), scratch_.size());
    }
    used += r.consumed;
    body_bytes_ += r.produced;
    if (!oversize_ &&
        body_bytes_ + scanner_.newlines() + added_newlines_ >
            config_.limits.max_message_size) {
      oversize_ = true;  // keep reading to the end, but store nothing more
      AbortMessage();
    }
    if (r.end) {
      FinishBody(true, out);
      return used;
    }
  }
  if (bdat) {
    bdat_remaining_ -= used;
    if (bdat_remaining_ == 0) FinishBody(bdat_last_, out);
  }
  return used;
}

std::string_view Session::BodyError() const {
  const uint32_t flags = scanner_.flags();
  std::string_view error;
  if (oversize_) {
    error = "552 5.3.4 Error: message file too big";
  } else if (flags & kScanNul) {
    error = "554 5.6.0 Error: message content contains NUL characters";
  } else if (flags & kScanBareLf) {
    // Bare LF is how SMTP smuggling hides a second message from servers
    // that treat "\n.\n" as end-of-data; refuse it outright (Postfix
    // smtpd_forbid_bare_newline).
    error = "554 5.6.0 Error: bare <LF> received";
  } else if (flags & kScanBareCr) {
    error = "554 5.6.0 Error: bare <CR> received";
  } else if (flags & kScanLongLine) {
    // RFC 5321 §4.5.3.1.6: clients MUST NOT send longer lines. Postfix
    // wraps them, which changes the content (and breaks signatures); we
    // reject instead.
    error = "554 5.6.0 Error: line too long";
  }
  return error;
}

void Session::Emit(std::string_view data) {
  while (!data.empty()) {
    size_t n;
    if (header_held_) {
      size_t capacity = 0;
      char* space = header_.Reserve(&capacity);
      n = std::min(capacity, data.size());
      std::copy_n(data.data(), n, space);
      header_.Commit(n);
      if (!header_.collecting()) FlushHeader();
    } else {
      const absl::Span<char> space =
          sink_->Reserve(std::min(data.size(), kMaxReserve));
      n = std::min(space.size(), data.size());
      std::copy_n(data.data(), n, space.data());
      sink_->Commit(n);
    }
    data.remove_prefix(n);
  }
}

void Session::FlushHeader() {
  assert(sink_ != nullptr && header_held_);
  header_held_ = false;
  header_.Finish();  // no-op unless the message ended inside the header
  std::string added;
  if (header_.missing_date()) {
    AppendAll(&added, {"Date: ", FormatRfc5322Date(clock_()), "\n"});
    ++added_newlines_;
  }
  if (header_.missing_message_id()) {
    // Unique as the queue id is; the time makes it so across restarts even
    // if session ids were to repeat.
    const std::string stamp = absl::FormatTime("%Y%m%d%H%M%S", clock_(),
                                               absl::UTCTimeZone());
    AppendAll(&added, {"Message-ID: <", stamp, ".", queue_id_, "@",
                       config_.hostname, ">\n"});
    ++added_newlines_;
  }
  body_bytes_ += added.size();
  Emit(added);
  Emit(header_.held());
  header_.Reset();
}

void Session::FinishBody(bool last, std::string* out) {
  const bool data = mode_ == Mode::kData;
  mode_ = Mode::kCommand;
  if (!bdat_skip_reply_.empty()) {
    const std::string_view reply = bdat_skip_reply_;
    bdat_skip_reply_ = {};
    Fail(reply, out);
    return;
  }
  if (!data && last && scanner_.pending_cr()) {
    // A CR at the very end of the last chunk is a bare CR.
    const size_t n = scanner_.Finish(scratch_.data(), scratch_.size());
    if (sink_ != nullptr) Emit(std::string_view(scratch_.data(), n));
    body_bytes_ += n;
  }
  if (const std::string_view error = BodyError(); !error.empty()) {
    AbortMessage();
    if (config_.lmtp && last) {
      // RFC 2033 §4.2: the refusal is per recipient too (one error).
      const size_t text = error.find(' ', 4) + 1;  // after "552 5.3.4 "
      for (const std::string& rcpt : recipients_) {
        Reply(Concat({error.substr(0, text), "<", rcpt, "> ",
                      error.substr(text)}),
              out);
      }
      CountError(out);
    } else {
      Fail(error, out);
    }
    ResetTransaction();
    return;
  }
  if (!last) {
    Reply(Concat({"250 2.0.0 ", std::to_string(bdat_chunk_), " bytes received"}),
          out);
    return;
  }
  if (header_held_ && sink_ != nullptr) FlushHeader();  // header-only message
  const uint64_t crlf_size =
      body_bytes_ + scanner_.newlines() + added_newlines_;
  lmtp_rcpts_ = recipients_;
  sink_ = nullptr;  // the host owns the message from here on
  ResetTransaction();
  mode_ = Mode::kWaiting;
  host_->EndMessage(crlf_size);
}

}  // namespace ringmail::smtp
