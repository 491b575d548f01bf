#include "protocols/smtp/header_block.h"

#include <algorithm>
#include <cassert>

namespace ringmail::smtp {
namespace {

// Field names compare case-insensitively (RFC 5322 §1.2.2); the obsolete
// syntax allows white space before the colon (§4.5.3).
bool IsField(std::string_view line, std::string_view name_lower) {
  if (line.size() <= name_lower.size()) return false;
  for (size_t i = 0; i < name_lower.size(); ++i) {
    char c = line[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
    if (c != name_lower[i]) return false;
  }
  size_t i = name_lower.size();
  while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
  return i < line.size() && line[i] == ':';
}

}  // namespace

void HeaderBlock::Reset() {
  std::string().swap(buf_);  // up to 64 KiB: give it back between messages
  reserved_at_ = 0;
  scanned_ = 0;
  complete_ = false;
  examined_ = false;
  has_date_ = false;
  has_message_id_ = false;
}

char* HeaderBlock::Reserve(size_t* capacity) {
  assert(collecting() && buf_.size() < kMaxHeaderBlock);
  // Up to 4 KiB at a time; std::string's geometric growth keeps a
  // byte-at-a-time client from costing a reallocation per octet.
  const size_t step = std::min<size_t>(kMaxHeaderBlock - buf_.size(), 4096);
  const size_t old = buf_.size();
  buf_.resize(old + step);
  reserved_at_ = old;
  *capacity = step;
  return buf_.data() + old;
}

void HeaderBlock::Commit(size_t n) {
  assert(collecting() && reserved_at_ + n <= buf_.size());
  buf_.resize(reserved_at_ + n);
  // Empty line: "\n" at the very start, or "\n\n" anywhere.
  if (!buf_.empty() && buf_[0] == '\n') {
    Complete(false);
    return;
  }
  const size_t from = scanned_ > 0 ? scanned_ - 1 : 0;
  if (buf_.find("\n\n", from) != std::string::npos) {
    Complete(false);
    return;
  }
  scanned_ = buf_.size();
  if (buf_.size() >= kMaxHeaderBlock) Complete(true);
}

void HeaderBlock::Complete(bool overflow) {
  if (complete_) return;
  complete_ = true;
  if (overflow) return;
  examined_ = true;
  size_t pos = 0;
  while (pos < buf_.size() && buf_[pos] != '\n') {
    size_t end = buf_.find('\n', pos);
    if (end == std::string::npos) end = buf_.size();
    const std::string_view line(buf_.data() + pos, end - pos);
    if (IsField(line, "date")) has_date_ = true;
    if (IsField(line, "message-id")) has_message_id_ = true;
    pos = end + 1;
  }
}

}  // namespace ringmail::smtp
