#include "protocols/imap/command_reader.h"

#include <algorithm>
#include <cassert>

namespace ringmail::imap {
namespace {

constexpr uint64_t kBraceOverflow = ~uint64_t{0};

bool ValidTag(std::string_view tag) {
  if (tag.empty()) return false;
  for (char c : tag) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) return false;
    if (c == '(' || c == ')' || c == '{' || c == '%' || c == '*' ||
        c == '"' || c == '\\' || c == '+') {
      return false;
    }
  }
  return true;
}

// Is the literal announced at `brace` the message of an APPEND? It is when
// the command is APPEND and the literal is not its first argument (which is
// the mailbox, possibly itself a literal).
bool IsAppendMessageLiteral(std::string_view text, size_t brace) {
  std::string_view s = text.substr(0, brace);
  size_t sp = s.find(' ');
  if (sp == std::string_view::npos) return false;
  s.remove_prefix(sp + 1);
  sp = s.find(' ');
  if (sp == std::string_view::npos || !EqualsIgnoreCase(s.substr(0, sp), "APPEND")) {
    return false;
  }
  s.remove_prefix(sp);
  return s.find_first_not_of(' ') != std::string_view::npos;
}

}  // namespace

CommandReader::CommandReader(ReaderLimits limits) : limits_(limits) {}

void CommandReader::ExpectRawLine() {
  assert(mode_ == Mode::kLine && cmd_len_ == 0);
  mode_ = Mode::kRawLine;
}

void CommandReader::RejectAppend() {
  assert(mode_ == Mode::kAppendAwait);
  append_rejected_ = true;
}

bool CommandReader::mid_command() const {
  return (mode_ != Mode::kLine && mode_ != Mode::kFatal) || cmd_len_ > 0;
}

uint64_t CommandReader::InlineLiteralLimit() const {
  return authenticated_ ? limits_.max_inline_literal
                        : std::min(limits_.max_inline_literal,
                                   limits_.max_pre_auth_literal);
}

void CommandReader::ResetCommand() {
  in_quoted_ = quoted_escape_ = false;
  brace_ = Brace::kNone;
  brace_value_ = 0;
  brace_digits_ = 0;
  brace_plus_ = false;
  brace_offset_ = 0;
  cmd_len_ = line_octets_ = 0;
  literal_total_ = literal_left_ = 0;
  buffering_ = false;
  failed_ = silent_ = append_tail_failed_ = false;
  discarded_ = 0;
  tag_len_ = 0;
  tag_done_ = tag_too_long_ = false;
  pending_error_.clear();
  mode_ = Mode::kLine;
  // buf_ may still back views handed out by this call; cleared on the next.
  stale_buf_ = true;
}

void CommandReader::Fail(std::string_view kind, std::string_view text) {
  if (failed_) return;
  failed_ = true;
  pending_error_.assign(kind);
  pending_error_.push_back(' ');
  pending_error_.append(text);
  buffering_ = false;
  stale_buf_ = true;
}

void CommandReader::BuildErrorReply(std::string_view response) {
  const std::string_view tag(tag_.data(), tag_len_);
  const bool tagged = tag_done_ && !tag_too_long_ && ValidTag(tag);
  error_reply_.assign(tagged ? tag : std::string_view("*"));
  error_reply_.push_back(' ');
  error_reply_.append(response);
  error_reply_.append("\r\n");
}

CommandReader::Event CommandReader::Fatal(std::string_view text,
                                          std::string_view in,
                                          size_t* consumed) {
  mode_ = Mode::kFatal;
  error_reply_.assign("* BYE ");
  error_reply_.append(text);
  error_reply_.append("\r\n");
  buf_.clear();
  buf_.shrink_to_fit();
  *consumed = in.size();
  return Event::kFatal;
}

std::string_view CommandReader::Collect(std::string_view in, size_t* seg_start,
                                        size_t pos) {
  if (failed_) return {};
  if (buffering_) {
    buf_.append(in.substr(*seg_start, pos - *seg_start));
    *seg_start = pos;
    return buf_;
  }
  return in.substr(*seg_start, pos - *seg_start);
}

void CommandReader::StartBuffering(std::string_view in, size_t* seg_start,
                                   size_t pos) {
  if (failed_) return;
  if (!buffering_) {
    buf_.assign(in.substr(*seg_start, pos - *seg_start));
    buffering_ = true;
  } else {
    buf_.append(in.substr(*seg_start, pos - *seg_start));
  }
  *seg_start = pos;
}

CommandReader::Event CommandReader::Next(std::string_view in,
                                         size_t* consumed) {
  chunk_ = {};
  if (stale_buf_) {
    stale_buf_ = false;
    if (!buffering_) buf_.clear();
    // Keep a modest buffer for the next split command; drop a big one.
    if (buf_.capacity() > 4096 && buf_.empty()) buf_.shrink_to_fit();
  }
  size_t pos = 0;
  size_t seg_start = 0;

  switch (mode_) {
    case Mode::kFatal:
      *consumed = in.size();
      return Event::kFatal;
    case Mode::kRawLine: {
      const size_t lf = in.find('\n');
      const size_t take = lf == std::string_view::npos ? in.size() : lf;
      if (buf_.size() + take > kMaxRawLine) {
        return Fatal("Line too long", in, consumed);
      }
      if (lf == std::string_view::npos) {
        buf_.append(in);
        *consumed = in.size();
        // Waiting for IDLE's DONE (or an AUTHENTICATE line) with nothing
        // of it read yet: hold no heap meanwhile.
        if (buf_.empty()) ReleaseIdleMemory();
        return Event::kNeedMore;
      }
      *consumed = lf + 1;
      if (buf_.empty()) {
        chunk_ = in.substr(0, lf);
      } else {
        buf_.append(in.substr(0, lf));
        chunk_ = buf_;
      }
      if (!chunk_.empty() && chunk_.back() == '\r') chunk_.remove_suffix(1);
      ResetCommand();
      return Event::kRawLine;
    }
    case Mode::kAppendAwait:
      if (append_rejected_) {
        append_rejected_ = false;
        if (literal_sync_) {
          // The client never sends the literal nor the rest of the line.
          ResetCommand();
          stale_buf_ = false;
        } else {
          failed_ = silent_ = true;
          literal_left_ = literal_size_;
          mode_ = Mode::kSkipLiteral;
        }
      } else {
        literal_left_ = literal_size_;
        mode_ = literal_left_ == 0 ? Mode::kAppendTail : Mode::kAppendData;
      }
      break;
    default:
      break;
  }

  while (pos < in.size()) {
    switch (mode_) {
      case Mode::kAppendData: {
        const size_t n = static_cast<size_t>(
            std::min<uint64_t>(literal_left_, in.size() - pos));
        chunk_ = in.substr(pos, n);
        pos += n;
        literal_left_ -= n;
        if (literal_left_ == 0) mode_ = Mode::kAppendTail;
        *consumed = pos;
        return Event::kAppendData;
      }
      case Mode::kAppendTail: {
        const char c = in[pos];
        if (c == '\r') {
          ++pos;
          continue;
        }
        if (c == '\n') {
          ++pos;
          ResetCommand();
          append_ok_ = true;
          consecutive_errors_ = 0;
          *consumed = pos;
          return Event::kAppendEnd;
        }
        // Not CRLF (e.g. MULTIAPPEND): discard the rest of the command with
        // the normal scanner so literals in it are skipped, then fail it.
        mode_ = Mode::kLine;
        line_octets_ = cmd_len_ = 0;
        append_tail_failed_ = true;
        Fail("BAD", "Unexpected data after APPEND message");
        continue;
      }
      case Mode::kSkipLiteral:
      case Mode::kLiteral: {
        const size_t n = static_cast<size_t>(
            std::min<uint64_t>(literal_left_, in.size() - pos));
        pos += n;
        cmd_len_ += n;
        literal_left_ -= n;
        if (literal_left_ == 0) mode_ = Mode::kLine;
        continue;
      }
      case Mode::kLine:
        break;
      default:
        assert(false);
        return Fatal("Internal error", in, consumed);
    }

    const char c = in[pos++];
    ++cmd_len_;
    ++line_octets_;
    if (failed_) {
      if (++discarded_ > kMaxDiscardedLine) {
        return Fatal("Too much invalid input", in, consumed);
      }
    } else if (line_octets_ > kMaxCommandLine) {
      Fail("BAD", "Command line too long");
    }
    if (!tag_done_) {
      if (c == ' ' || c == '\n' || c == '\r') {
        tag_done_ = true;
      } else if (tag_len_ < tag_.size()) {
        tag_[tag_len_++] = c;
      } else {
        tag_too_long_ = true;
      }
    }
    if (in_quoted_) {
      if (quoted_escape_) {
        quoted_escape_ = false;
        continue;
      }
      if (c == '\\') {
        quoted_escape_ = true;
        continue;
      }
      if (c == '"') {
        in_quoted_ = false;
        continue;
      }
      if (c != '\n') continue;
      // A line break inside a quoted string ends the command; the parser
      // rejects it.
      in_quoted_ = false;
    }
    switch (c) {
      case '"':
        in_quoted_ = true;
        brace_ = Brace::kNone;
        continue;
      case '{':
        brace_ = Brace::kDigits;
        brace_value_ = 0;
        brace_digits_ = 0;
        brace_plus_ = false;
        brace_offset_ = cmd_len_ - 1;
        continue;
      case '+':
        brace_ = (brace_ == Brace::kDigits && brace_digits_ > 0) ? Brace::kPlus
                                                                : Brace::kNone;
        brace_plus_ = true;
        continue;
      case '}':
        brace_ = ((brace_ == Brace::kDigits || brace_ == Brace::kPlus) &&
                  brace_digits_ > 0)
                     ? Brace::kClose
                     : Brace::kNone;
        continue;
      case '\r':
        brace_ = brace_ == Brace::kClose ? Brace::kCr : Brace::kNone;
        continue;
      case '\n':
        break;
      default:
        if (brace_ == Brace::kDigits && c >= '0' && c <= '9') {
          if (++brace_digits_ > 18) {
            brace_value_ = kBraceOverflow;
          } else {
            brace_value_ = brace_value_ * 10 + static_cast<uint64_t>(c - '0');
          }
        } else {
          brace_ = Brace::kNone;
        }
        continue;
    }

    // End of a line.
    const bool literal = brace_ == Brace::kClose || brace_ == Brace::kCr;
    brace_ = Brace::kNone;
    if (literal) {
      bool keep_scanning = false;
      const Event ev = OnLiteral(in, &seg_start, pos, consumed, &keep_scanning);
      if (keep_scanning) continue;
      return ev;
    }
    if (failed_) {
      if (append_tail_failed_) {
        append_ok_ = false;
        BuildErrorReply(pending_error_);
        ResetCommand();
        *consumed = pos;
        return Event::kAppendEnd;
      }
      const bool silent = silent_;
      const Event ev = EndFailed(in, pos, consumed);
      if (silent) {
        seg_start = pos;
        continue;
      }
      return ev;
    }
    const std::string_view text = Collect(in, &seg_start, pos);
    if (text.find_first_not_of("\r\n") == std::string_view::npos) {
      // Empty line: ignored, but it counts towards the error limit so that
      // endless blank lines end the connection.
      ResetCommand();
      seg_start = pos;
      if (++consecutive_errors_ > kMaxConsecutiveErrors) {
        return Fatal("Too many invalid commands", in, consumed);
      }
      continue;
    }
    std::string_view error;
    if (!ParseCommandText(text, false, &args_, &command_, &error)) {
      Fail("BAD", error);
      return EndFailed(in, pos, consumed);
    }
    ResetCommand();
    consecutive_errors_ = 0;
    *consumed = pos;
    return Event::kCommand;
  }

  // Input exhausted mid-command: keep what the command needs.
  if (mode_ == Mode::kLine || mode_ == Mode::kLiteral) {
    if (cmd_len_ > 0) StartBuffering(in, &seg_start, pos);
  }
  if (mode_ == Mode::kLine && cmd_len_ == 0 && !buffering_ && !failed_) ReleaseIdleMemory();
  *consumed = pos;
  return Event::kNeedMore;
}

void CommandReader::ReleaseIdleMemory() {
  // Between commands nothing refers to these (kNeedMore carries no views),
  // and an idle session should hold no heap for its reader (issue 4):
  // the next command allocates again, which costs less than keeping the
  // capacity of the largest command on every idle connection.
  std::vector<Arg>().swap(args_);
  std::string().swap(buf_);
  std::string().swap(error_reply_);
  std::string().swap(pending_error_);
  command_ = Command();
}

CommandReader::Event CommandReader::EndFailed(std::string_view in, size_t pos,
                                              size_t* consumed) {
  *consumed = pos;
  const bool silent = silent_;
  if (!silent) BuildErrorReply(pending_error_);
  ResetCommand();
  if (silent) return Event::kNeedMore;  // caller ignores; see Next()
  if (++consecutive_errors_ > kMaxConsecutiveErrors) {
    return Fatal("Too many invalid commands", in, consumed);
  }
  return Event::kError;
}

CommandReader::Event CommandReader::OnLiteral(std::string_view in,
                                              size_t* seg_start, size_t pos,
                                              size_t* consumed,
                                              bool* keep_scanning) {
  const uint64_t size = brace_value_;
  const bool sync = !brace_plus_;
  *keep_scanning = false;
  if (!failed_) {
    const std::string_view text = Collect(in, seg_start, pos);
    if (IsAppendMessageLiteral(text, brace_offset_)) {
      std::string_view error;
      const uint64_t limit =
          authenticated_ ? limits_.max_message_size : limits_.max_pre_auth_literal;
      if (!ParseCommandText(text.substr(0, brace_offset_), true, &args_,
                            &command_, &error)) {
        Fail("BAD", error);
      } else if (size > limit) {
        // RFC 4469 §4 / RFC 7889: TOOBIG for a message over the limit.
        Fail("NO", "[TOOBIG] Message too big");
      } else {
        literal_size_ = size;
        literal_sync_ = sync;
        append_rejected_ = false;
        mode_ = Mode::kAppendAwait;
        buffering_ = false;
        stale_buf_ = true;  // command() views stay valid until the next call
        *consumed = pos;
        return Event::kAppendBegin;
      }
    } else if (size > InlineLiteralLimit() ||
               literal_total_ + size > kMaxInlineLiteralTotal) {
      Fail("BAD", "[TOOBIG] Literal too big");
    } else {
      literal_total_ += size;
      literal_left_ = size;
      mode_ = Mode::kLiteral;
      if (sync) {
        StartBuffering(in, seg_start, pos);
        *consumed = pos;
        return Event::kContinue;
      }
      *keep_scanning = true;
      return Event::kNeedMore;
    }
  }
  // The command failed. A synchronising literal is never sent once we reply,
  // so the command ends here (RFC 3501 §7.5); a non-synchronising one is
  // already on its way and is skipped (RFC 7888 §4), or, if too big to skip,
  // the connection is closed.
  if (sync) {
    const bool silent = silent_;
    const Event ev = EndFailed(in, pos, consumed);
    if (silent) {
      *seg_start = pos;
      *keep_scanning = true;
    }
    return ev;
  }
  if (size > kMaxSkippedLiteral) {
    return Fatal("Literal too big", in, consumed);
  }
  literal_left_ = size;
  mode_ = Mode::kSkipLiteral;
  *keep_scanning = true;
  return Event::kNeedMore;
}

}  // namespace ringmail::imap
