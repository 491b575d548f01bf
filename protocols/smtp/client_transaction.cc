// ClientSession: the mail transaction (MAIL, RCPT, DATA, body, end of data,
// RSET). The handshake and failure handling are in client_session.cc.
#include <cassert>
#include <string>
#include <utility>

#include "protocols/smtp/client_session.h"

namespace ringmail::smtp {
namespace {

int Class(const ServerReply& r) { return r.code / 100; }

RecipientOutcome OutcomeOf(const ServerReply& r) {
  switch (Class(r)) {
    case 2:
      return RecipientOutcome::kDelivered;
    case 5:
      return RecipientOutcome::kFailed;
    default:
      return RecipientOutcome::kDeferred;
  }
}

}  // namespace

bool ClientSession::SendMessage(const OutboundEnvelope& env,
                                std::string* out) {
  const size_t n = env.recipients.size();
  if (!ready()) {
    std::vector<RecipientResult> deferred(
        n, RecipientResult{RecipientOutcome::kDeferred,
                           LocalReply(451, "4.3.0",
                                      "SMTP session not ready for a message")});
    ReportLocally(std::move(deferred));
    return false;
  }
  // Whole-message refusals, before a byte is sent.
  if (caps_.size_limit != 0 && env.size > caps_.size_limit) {
    RefuseAll(n, LocalReply(552, "5.3.4",
                            "Message size exceeds fixed limit of the remote "
                            "server"));
    return false;
  }
  if (env.smtputf8 && !caps_.smtputf8) {
    RefuseAll(n, LocalReply(553, "5.6.7",
                            "SMTPUTF8 is required, but was not offered by "
                            "the remote server"));
    return false;
  }
  const size_t mark = out->size();
  if (!AppendMailCommand(env, caps_, out)) {
    RefuseAll(n, LocalReply(501, "5.1.7", "Bad sender address syntax"));
    return false;
  }

  pipelined_ = caps_.pipelining;
  results_.assign(n, RecipientResult());
  rcpt_state_.assign(n, RcptState::kWaiting);
  wire_rcpts_.clear();
  lockstep_rcpts_.clear();
  lockstep_pos_ = 0;
  // RFC 2920 §3.1: with PIPELINING, MAIL, every RCPT and DATA (last) go in
  // one write; else RCPTs wait for their turn in lockstep_rcpts_.
  std::string* rcpt_out = pipelined_ ? out : &lockstep_rcpts_;
  for (size_t i = 0; i < n; ++i) {
    if (i >= kMaxRecipientsPerMessage) {
      results_[i] = {RecipientOutcome::kDeferred,
                     LocalReply(452, "4.5.3",
                                "Too many recipients for one transaction")};
      rcpt_state_[i] = RcptState::kFinal;
    } else if (!AppendRcptCommand(env.recipients[i], caps_, rcpt_out)) {
      results_[i] = {RecipientOutcome::kFailed,
                     LocalReply(501, "5.1.3", "Bad recipient address syntax")};
      rcpt_state_[i] = RcptState::kFinal;
    } else {
      wire_rcpts_.push_back(static_cast<uint32_t>(i));
    }
  }
  if (wire_rcpts_.empty()) {
    out->resize(mark);  // nothing to send after all
    ReportLocally(std::move(results_));
    return false;
  }
  if (pipelined_) out->append("DATA\r\n");
  ++commands_sent_;
  ++messages_sent_;
  in_transaction_ = true;
  mail_ok_ = false;
  next_reply_ = 0;
  accepted_ = 0;
  phase_ = Phase::kMail;
  return true;
}

void ClientSession::RefuseAll(size_t n, const ServerReply& why) {
  ReportLocally(
      std::vector<RecipientResult>(n, RecipientResult{OutcomeOf(why), why}));
}

void ClientSession::SendNextRcpt(std::string* out) {
  const size_t end = lockstep_rcpts_.find('\n', lockstep_pos_);
  assert(end != std::string::npos);
  Send(std::string_view(lockstep_rcpts_).substr(lockstep_pos_,
                                                end + 1 - lockstep_pos_),
       out);
  lockstep_pos_ = end + 1;
}

void ClientSession::OnMailReply(const ServerReply& reply, std::string* out) {
  const int cls = Class(reply);
  if (cls != 2 && cls != 4 && cls != 5) return UnexpectedReply(reply);
  phase_ = Phase::kRcpt;
  if (cls == 2) {
    mail_ok_ = true;
    if (!pipelined_) SendNextRcpt(out);
    return;
  }
  // Every recipient shares the sender's fate.
  SettleOpen(reply, OutcomeOf(reply));
  // Pipelined: the RCPT and DATA replies (503s) are still to come.
  if (!pipelined_) FinishMessage(/*rset=*/false, out);
}

void ClientSession::OnRcptReply(const ServerReply& reply, std::string* out) {
  const int cls = Class(reply);
  if (cls != 2 && cls != 4 && cls != 5) return UnexpectedReply(reply);
  assert(next_reply_ < wire_rcpts_.size());
  const uint32_t i = wire_rcpts_[next_reply_++];
  if (mail_ok_) {  // else a pipelined RCPT after a refused MAIL: ignore
    if (cls == 2) {
      rcpt_state_[i] = RcptState::kAccepted;
      ++accepted_;
    } else {
      results_[i] = {OutcomeOf(reply), reply};
      rcpt_state_[i] = RcptState::kFinal;
    }
  }
  if (next_reply_ < wire_rcpts_.size()) {
    if (!pipelined_) SendNextRcpt(out);
    return;
  }
  phase_ = Phase::kData;
  if (pipelined_) return;  // DATA is on its way already
  if (accepted_ > 0) {
    Send("DATA\r\n", out);
  } else {
    FinishMessage(/*rset=*/true, out);  // all refused: no DATA
  }
}

void ClientSession::OnDataReply(const ServerReply& reply, std::string* out) {
  const int cls = Class(reply);
  if (cls == 3) {
    if (mail_ok_ && accepted_ > 0) {
      phase_ = Phase::kBody;
      host_->OnWantBody();
    } else {
      // RFC 2920 §3.1 wants 503/554 to a pipelined DATA without valid
      // recipients; a server that says 354 anyway gets an empty message
      // (a lone dot), whose reply we ignore.
      Send(".\r\n", out);
      phase_ = Phase::kAbortDot;
    }
  } else if (cls == 4 || cls == 5) {
    if (mail_ok_ && accepted_ > 0) SettleOpen(reply, OutcomeOf(reply));
    // After a refused DATA the server may still hold MAIL and RCPTs.
    FinishMessage(/*rset=*/mail_ok_, out);
  } else {
    UnexpectedReply(reply);
  }
}

void ClientSession::BodyChunk(std::string_view lf_bytes, std::string* out) {
  if (closed()) return;
  assert(phase_ == Phase::kBody);
  if (phase_ != Phase::kBody) return;
  body_.Chunk(lf_bytes, out);
}

void ClientSession::EndBody(std::string* out) {
  if (closed()) return;
  assert(phase_ == Phase::kBody);
  if (phase_ != Phase::kBody) return;
  body_.End(out);
  ++commands_sent_;
  phase_ = Phase::kDot;
}

void ClientSession::OnDotReply(const ServerReply& reply, std::string* out) {
  const int cls = Class(reply);
  if (cls != 2 && cls != 4 && cls != 5) return UnexpectedReply(reply);
  // After kAbortDot nobody is open any more and this settles nothing.
  SettleOpen(reply, OutcomeOf(reply));
  FinishMessage(/*rset=*/false, out);
}

void ClientSession::OnRsetReply(const ServerReply& reply, std::string* out) {
  const int cls = Class(reply);
  if (cls == 2) {
    BecomeReady();
  } else if (cls == 4 || cls == 5) {
    Fail(reply, /*quit=*/true, out);
  } else {
    UnexpectedReply(reply);
  }
}

void ClientSession::SettleOpen(const ServerReply& reply,
                               RecipientOutcome outcome) {
  for (size_t i = 0; i < results_.size(); ++i) {
    if (rcpt_state_[i] == RcptState::kFinal) continue;
    results_[i] = {outcome, reply};
    rcpt_state_[i] = RcptState::kFinal;
  }
}

void ClientSession::FinishMessage(bool rset, std::string* out) {
  in_transaction_ = false;
  if (rset) {
    // RFC 5321 §4.1.1.5: clear the aborted transaction before the next.
    Send("RSET\r\n", out);
    phase_ = Phase::kRset;
  } else {
    phase_ = Phase::kReady;
  }
  // The host may call SendMessage from OnMessageDone, which refills
  // results_: report from the other buffer (swapping keeps both
  // allocations for the next messages).
  results_.swap(reported_);
  host_->OnMessageDone(reported_);
  if (phase_ == Phase::kReady) host_->OnReady();
}

}  // namespace ringmail::smtp
