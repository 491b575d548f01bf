#include "protocols/smtp/client_body.h"

#include <cstring>

namespace ringmail::smtp {
namespace {

const char* Find(const char* p, const char* end, char c) {
  const void* hit = std::memchr(p, c, static_cast<size_t>(end - p));
  return hit == nullptr ? end : static_cast<const char*>(hit);
}

}  // namespace

void BodyEncoder::Chunk(std::string_view lf_bytes, std::string* out) {
  const char* p = lf_bytes.data();
  const char* const end = p + lf_bytes.size();
  if (p == end) return;
  // Typical mail has ~70-octet lines: 1/32 covers the added CRs; append
  // grows geometrically past that anyway.
  out->reserve(out->size() + lf_bytes.size() + lf_bytes.size() / 32 + 8);
  if (pending_cr_) {
    // The CR is already out; it becomes a line ending either way.
    pending_cr_ = false;
    out->push_back('\n');
    if (*p == '\n') ++p;
    line_start_ = true;
  }
  // Stored messages rarely hold a CR: one scan usually proves there is none
  // and the loop below then only looks for LFs.
  const char* cr = Find(p, end, '\r');
  while (p < end) {
    if (line_start_ && *p == '.') out->push_back('.');
    line_start_ = false;
    if (cr < p) cr = Find(p, end, '\r');
    const char* lf = Find(p, end, '\n');
    if (lf < cr) {
      out->append(p, lf);
      out->append("\r\n", 2);
      p = lf + 1;
      line_start_ = true;
    } else if (cr < end) {
      if (cr + 1 == end) {
        out->append(p, end);
        pending_cr_ = true;
        p = end;
      } else if (cr[1] == '\n') {
        out->append(p, cr + 2);
        p = cr + 2;
        line_start_ = true;
      } else {
        out->append(p, cr + 1);
        out->push_back('\n');
        p = cr + 1;
        line_start_ = true;
      }
    } else {
      out->append(p, end);
      p = end;
    }
  }
}

void BodyEncoder::End(std::string* out) {
  if (pending_cr_) {
    out->append("\n.\r\n", 4);
  } else if (!line_start_) {
    out->append("\r\n.\r\n", 5);
  } else {
    out->append(".\r\n", 3);
  }
  line_start_ = true;
  pending_cr_ = false;
}

}  // namespace ringmail::smtp
