// Session lifecycle, the input loop and host answers. Command handlers live
// in session_commands.cc.
#include "protocols/pop3/session.h"

#include <cassert>
#include <utility>

#include "protocols/pop3/response.h"

namespace ringmail::pop3 {

void Session::Start(std::string* out) { AppendOk(out, "ringmail ready."); }

void Session::ResumeLogin(const SessionCarry& carry) {
  errors_ = carry.errors;
  auth_failures_ = carry.auth_failures;
  Wait(Wait::kLogin);
}

size_t Session::Consume(std::string_view in, std::string* out) {
  size_t pos = 0;
  while (pos < in.size() &&
         (mode_ == Mode::kCommand || mode_ == Mode::kAuthResponse)) {
    const bool auth = mode_ == Mode::kAuthResponse;
    size_t used = 0;
    std::string_view line;
    const LineReader::Status st = reader_.Next(
        in.substr(pos), auth ? kMaxAuthLine : kMaxCommandLine, &used, &line);
    pos += used;
    if (st == LineReader::Status::kTooLong) {
      if (auth) {
        mode_ = Mode::kCommand;
        Fail("", "Authentication response too long.", out);
      } else {
        Fail("", "Command line too long.", out);
      }
    } else if (st == LineReader::Status::kLine) {
      if (auth) {
        HandleAuthResponse(line, out);
      } else {
        HandleLine(line, out);
      }
    }
  }
  return pos;
}

void Session::TlsStarted() {
  if (mode_ != Mode::kStartTls) return;
  security_.tls_active = true;
  // RFC 2595 §4: nothing learnt before TLS counts; the reader had nothing
  // buffered past the STLS line, but start from a clean state anyway.
  reader_ = LineReader();
  user_.clear();
  mode_ = Mode::kCommand;
}

void Session::Wait(enum Wait w) {
  mode_ = Mode::kWaiting;
  wait_ = w;
}

void Session::AfterWait(std::string* out) {
  wait_ = Wait::kNone;
  if (mode_ == Mode::kWaiting) mode_ = Mode::kCommand;
  if (shutdown_pending_ && !closed()) {
    Close(kCodeSysTemp, "Server shutting down.", out);
  }
}

void Session::LoginDone(LoginResult result, std::vector<MaildropEntry> maildrop,
                        std::string* out) {
  if (mode_ != Mode::kWaiting || wait_ != Wait::kLogin) return;
  mode_ = Mode::kCommand;
  switch (result) {
    case LoginResult::kOk:
      state_ = State::kTransaction;
      maildrop_ = std::move(maildrop);
      deleted_.assign(maildrop_.size(), false);
      deleted_count_ = 0;
      AppendOk(out, "Logged in.");
      break;
    case LoginResult::kBadCredentials:
      // RFC 3206 §5: [AUTH] says the credentials, not the server, failed.
      if (++auth_failures_ >= limits_.max_auth_failures) {
        Close(kCodeAuth, "Authentication failed.", out);
      } else {
        AppendErr(out, kCodeAuth, "Authentication failed.");
      }
      break;
    case LoginResult::kTempFail:
      AppendErr(out, kCodeSysTemp, "Temporary authentication failure.");
      break;
    case LoginResult::kInUse:
      // RFC 2449 §8.1.1 / RFC 1939 §8: the maildrop is exclusively locked.
      AppendErr(out, kCodeInUse, "Mailbox is locked by another POP3 session");
      break;
    case LoginResult::kMaildropFailed:
      AppendErr(out, kCodeSysTemp, "Couldn't open INBOX.");
      break;
  }
  AfterWait(out);
}

void Session::RetrieveStarted(RetrieveStatus status, std::string* out) {
  if (mode_ != Mode::kWaiting || streaming_ ||
      (wait_ != Wait::kRetr && wait_ != Wait::kTop)) {
    return;
  }
  const bool top = wait_ == Wait::kTop;
  switch (status) {
    case RetrieveStatus::kOk:
      if (top) {
        AppendOk(out, "");
      } else {
        // The listed size, as LIST showed it (RFC 1939 §7 RETR example).
        AppendOk(out, std::to_string(maildrop_[retr_index_].size) + " octets");
      }
      encoder_ = top ? MessageEncoder::Top(top_lines_) : MessageEncoder();
      streaming_ = true;
      return;  // still waiting: the body follows
    case RetrieveStatus::kVanished:
      AppendErr(out, "", "Message was deleted by another session.");
      break;
    case RetrieveStatus::kFailed:
      AppendErr(out, kCodeSysTemp, "Couldn't read the message.");
      break;
  }
  AfterWait(out);
}

bool Session::RetrieveData(std::string_view chunk, std::string* out) {
  if (!streaming_) return false;
  return encoder_.Feed(chunk, out);
}

void Session::RetrieveEnd(std::string* out) {
  if (!streaming_) return;
  streaming_ = false;
  encoder_.Finish(out);
  AfterWait(out);
}

void Session::RetrieveAborted() {
  if (!streaming_) return;
  streaming_ = false;
  mode_ = Mode::kClosed;
  wait_ = Wait::kNone;
}

void Session::RetrieveDone(RetrieveStatus status, std::string_view content,
                           std::string* out) {
  RetrieveStarted(status, out);
  if (!streaming_) return;
  out->reserve(out->size() + content.size() + content.size() / 32 + 8);
  RetrieveData(content, out);
  RetrieveEnd(out);
}

void Session::UpdateDone(size_t failed, std::string* out) {
  if (mode_ != Mode::kWaiting || wait_ != Wait::kUpdate) return;
  wait_ = Wait::kNone;
  if (failed == 0) {
    AppendOk(out, "Logging out, messages deleted.");
    mode_ = Mode::kClosed;
  } else {
    // RFC 1939 §6: "-ERR some deleted messages not removed".
    Close(kCodeSysTemp, "Some deleted messages were not removed.", out);
  }
}

void Session::OnIdleTimeout(std::string* out) {
  if (closed()) return;
  if (streaming_) return RetrieveAborted();  // no -ERR inside a response
  Close("", "Disconnected for inactivity.", out);
}

void Session::OnShutdown(std::string* out) {
  if (closed()) return;
  if (waiting()) {
    shutdown_pending_ = true;  // the pending answer must come first
    return;
  }
  Close(kCodeSysTemp, "Server shutting down.", out);
}

void Session::OnDisconnect() { mode_ = Mode::kClosed; }

void Session::Fail(std::string_view code, std::string_view text,
                   std::string* out) {
  if (++errors_ > limits_.max_errors) {
    Close("", "Too many bad commands.", out);
    return;
  }
  AppendErr(out, code, text);
}

void Session::Close(std::string_view code, std::string_view text,
                    std::string* out) {
  AppendErr(out, code, text);
  mode_ = Mode::kClosed;
  wait_ = Wait::kNone;
}

}  // namespace ringmail::pop3
