#include "protocols/smtp/data_scanner.h"

#include <immintrin.h>

#include <cstring>

namespace ringmail::smtp {
namespace {

// Working copy of the scanner state used by the SIMD kernels. Line length is
// tracked as a base plus a pointer distance so the hot loop never touches a
// counter per octet.
struct Cursor {
  const char* src;
  char* dst;
  const char* line_start;
  size_t line_base;
  uint64_t newlines;
  uint32_t flags;
  bool done;
};

// Octets a kernel needs in both input and output before it will run; the
// widest vector store is 32 octets and the special-octet handler peeks at
// most 4 octets past the special one.
constexpr ptrdiff_t kMinFast = 32;

// Handles the CR / LF / NUL at c.src. Returns false (consuming nothing) when
// fewer than 5 input octets remain, because deciding "\r\n.\r\n" needs them;
// the scalar state machine then takes over. The caller guarantees at least one
// octet of output space.
inline bool HandleSpecial(Cursor& c, const char* end, bool dots,
                          size_t max_line) {
  const char* s = c.src;
  if (end - s < 5) return false;
  const char ch = *s;
  if (ch == '\r') {
    if (s[1] == '\n') {
      *c.dst++ = '\n';
      ++c.newlines;
      if (c.line_base + static_cast<size_t>(s - c.line_start) + 2 > max_line) {
        c.flags |= kScanLongLine;
      }
      s += 2;
      c.line_start = s;
      c.line_base = 0;
      if (dots && *s == '.') {
        if (s[1] == '\r' && s[2] == '\n') {
          c.src = s + 3;
          c.done = true;
          return true;
        }
        ++s;  // RFC 5321 §4.5.2: drop the stuffing dot (it still counts
              // towards the wire line length via line_start).
      }
      c.src = s;
      return true;
    }
    *c.dst++ = '\r';
    c.flags |= kScanBareCr;
    c.src = s + 1;
    return true;
  }
  *c.dst++ = ch;
  c.flags |= ch == '\n' ? kScanBareLf : kScanNul;
  c.src = s + 1;
  return true;
}

// The kernels copy whole vectors to the output unconditionally and then
// advance by the number of ordinary octets before the first special one: the
// over-written tail is simply overwritten by the next store. This keeps the
// common path branch-free apart from the loop test.
void KernelSse2(Cursor& c, const char* end, char* dst_end, bool dots,
                size_t max_line) {
  const __m128i cr = _mm_set1_epi8('\r');
  const __m128i lf = _mm_set1_epi8('\n');
  const __m128i zero = _mm_setzero_si128();
  while (end - c.src >= 16 && dst_end - c.dst >= 16) {
    const __m128i v =
        _mm_loadu_si128(reinterpret_cast<const __m128i*>(c.src));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(c.dst), v);
    const __m128i sp = _mm_or_si128(
        _mm_or_si128(_mm_cmpeq_epi8(v, cr), _mm_cmpeq_epi8(v, lf)),
        _mm_cmpeq_epi8(v, zero));
    const unsigned mask = static_cast<unsigned>(_mm_movemask_epi8(sp));
    if (mask == 0) {
      c.src += 16;
      c.dst += 16;
      continue;
    }
    const unsigned k = static_cast<unsigned>(__builtin_ctz(mask));
    c.src += k;
    c.dst += k;
    if (!HandleSpecial(c, end, dots, max_line) || c.done) return;
  }
}

// AVX2: 64-octet blocks. One mask covers the whole block, and every special
// octet in it is handled from the mask alone, so the loop-carried dependency
// per line is a few ALU ops instead of a load-compare-movemask round trip.
// Runs between specials are moved with overlapping 64-octet copies; the
// block loop therefore wants 128 octets of slack on both sides.
__attribute__((target("avx2"))) inline void Copy64(char* dst,
                                                   const char* src) {
  const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src));
  const __m256i b =
      _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + 32));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst), a);
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + 32), b);
}

__attribute__((target("avx2"))) inline uint64_t SpecialMask(const char* src) {
  const __m256i cr = _mm256_set1_epi8('\r');
  const __m256i lf = _mm256_set1_epi8('\n');
  const __m256i zero = _mm256_setzero_si256();
  const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src));
  const __m256i b =
      _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + 32));
  const __m256i sa = _mm256_or_si256(
      _mm256_or_si256(_mm256_cmpeq_epi8(a, cr), _mm256_cmpeq_epi8(a, lf)),
      _mm256_cmpeq_epi8(a, zero));
  const __m256i sb = _mm256_or_si256(
      _mm256_or_si256(_mm256_cmpeq_epi8(b, cr), _mm256_cmpeq_epi8(b, lf)),
      _mm256_cmpeq_epi8(b, zero));
  return static_cast<uint32_t>(_mm256_movemask_epi8(sa)) |
         (static_cast<uint64_t>(static_cast<uint32_t>(_mm256_movemask_epi8(sb)))
          << 32);
}

__attribute__((target("avx2"))) void KernelAvx2(Cursor& c, const char* end,
                                                char* dst_end, bool dots,
                                                size_t max_line) {
  const char* src = c.src;
  char* dst = c.dst;
  while (end - src >= 128 && dst_end - dst >= 128) {
    uint64_t m = SpecialMask(src);
    if (m == 0) {
      Copy64(dst, src);
      src += 64;
      dst += 64;
      continue;
    }
    size_t pos = 0;  // block offset of the first unconsumed octet
    while (m != 0) {
      const size_t p = static_cast<size_t>(__builtin_ctzll(m));
      Copy64(dst, src + pos);
      dst += p - pos;
      const char* s = src + p;
      const char ch = *s;
      if (ch == '\r' && s[1] == '\n') {
        *dst++ = '\n';
        ++c.newlines;
        if (c.line_base + static_cast<size_t>(s - c.line_start) + 2 >
            max_line) {
          c.flags |= kScanLongLine;
        }
        s += 2;
        c.line_start = s;
        c.line_base = 0;
        if (dots && *s == '.') {
          if (s[1] == '\r' && s[2] == '\n') {
            c.src = s + 3;
            c.dst = dst;
            c.done = true;
            return;
          }
          ++s;  // stuffing dot, see HandleSpecial
        }
      } else {
        *dst++ = ch;
        c.flags |= ch == '\r' ? kScanBareCr
                               : ch == '\n' ? kScanBareLf : kScanNul;
        ++s;
      }
      pos = static_cast<size_t>(s - src);
      m = pos >= 64 ? 0 : m & (~uint64_t{0} << pos);
    }
    if (pos < 64) {
      Copy64(dst, src + pos);
      dst += 64 - pos;
      src += 64;
    } else {
      src += pos;
    }
  }
  c.src = src;
  c.dst = dst;
  // Finish the tail with the 32-octet loop so short inputs still vectorise.
  const __m256i cr = _mm256_set1_epi8('\r');
  const __m256i lf = _mm256_set1_epi8('\n');
  const __m256i zero = _mm256_setzero_si256();
  while (end - c.src >= 32 && dst_end - c.dst >= 32) {
    const __m256i v =
        _mm256_loadu_si256(reinterpret_cast<const __m256i*>(c.src));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(c.dst), v);
    const __m256i sp = _mm256_or_si256(
        _mm256_or_si256(_mm256_cmpeq_epi8(v, cr), _mm256_cmpeq_epi8(v, lf)),
        _mm256_cmpeq_epi8(v, zero));
    const unsigned mask = static_cast<unsigned>(_mm256_movemask_epi8(sp));
    if (mask == 0) {
      c.src += 32;
      c.dst += 32;
      continue;
    }
    const unsigned k = static_cast<unsigned>(__builtin_ctz(mask));
    c.src += k;
    c.dst += k;
    if (!HandleSpecial(c, end, dots, max_line) || c.done) return;
  }
}

using KernelFn = void (*)(Cursor&, const char*, char*, bool, size_t);

KernelFn PickKernel() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") ? KernelAvx2 : KernelSse2;
}

KernelFn kKernel = PickKernel();

}  // namespace

DataScanner::DataScanner(Mode mode, size_t max_text_line)
    : mode_(mode), state_(State::kLineStart), max_text_line_(max_text_line) {}

void DataScanner::Reset(Mode mode) {
  mode_ = mode;
  state_ = State::kLineStart;
  flags_ = 0;
  newlines_ = 0;
  line_len_ = 0;
}

ScanResult DataScanner::Scan(std::string_view in, char* out,
                             size_t out_capacity) {
  ScanResult r;
  const char* src = in.data();
  const char* const end = src + in.size();
  char* dst = out;
  char* const dst_end = out + out_capacity;
  const bool dots = mode_ == Mode::kDotStuffed;

  // Byte-at-a-time state machine for chunk edges and line starts; the SIMD
  // kernel handles the bulk of kMid and inlines CRLF / dot handling there.
  while (src < end) {
    switch (state_) {
      case State::kDone:
        goto out;
      case State::kLineStart:
        if (dots && *src == '.') {
          ++src;
          line_len_ = 1;
          state_ = State::kDot;
        } else {
          state_ = State::kMid;
        }
        break;
      case State::kDot:
        if (*src == '\r') {
          ++src;
          ++line_len_;
          state_ = State::kDotCr;
        } else {
          state_ = State::kMid;  // dot was stuffing: already dropped
        }
        break;
      case State::kDotCr:
        if (*src == '\n') {
          ++src;
          state_ = State::kDone;
          r.end = true;
          goto out;
        }
        state_ = State::kCr;  // ".\rX": the CR is an ordinary (bare) CR
        break;
      case State::kCr:
        if (dst == dst_end) goto out;
        if (*src == '\n') {
          *dst++ = '\n';
          ++src;
          ++newlines_;
          if (line_len_ + 1 > max_text_line_) flags_ |= kScanLongLine;
          line_len_ = 0;
          state_ = State::kLineStart;
        } else {
          *dst++ = '\r';
          flags_ |= kScanBareCr;
          state_ = State::kMid;
        }
        break;
      case State::kMid: {
        if (end - src >= kMinFast && dst_end - dst >= kMinFast) {
          Cursor c{src, dst, src, line_len_, newlines_, flags_, false};
          kKernel(c, end, dst_end, dots, max_text_line_);
          src = c.src;
          dst = c.dst;
          line_len_ = c.line_base + static_cast<size_t>(c.src - c.line_start);
          newlines_ = c.newlines;
          flags_ = c.flags;
          if (c.done) {
            state_ = State::kDone;
            r.end = true;
            goto out;
          }
          if (src == end) goto out;
        }
        const char ch = *src;
        if (ch == '\r') {
          ++src;
          ++line_len_;
          state_ = State::kCr;
          break;
        }
        if (dst == dst_end) goto out;
        *dst++ = ch;
        ++src;
        ++line_len_;
        if (ch == '\n') {
          flags_ |= kScanBareLf;  // never a line start: see header
        } else if (ch == '\0') {
          flags_ |= kScanNul;
        }
        break;
      }
    }
  }
out:
  r.consumed = static_cast<size_t>(src - in.data());
  r.produced = static_cast<size_t>(dst - out);
  return r;
}

void DataScanner::UseBaselineKernelForTesting(bool baseline) {
  kKernel = baseline ? KernelSse2 : PickKernel();
}

size_t DataScanner::Finish(char* out, size_t out_capacity) {
  if (mode_ != Mode::kRaw || state_ != State::kCr || out_capacity == 0) {
    return 0;
  }
  out[0] = '\r';
  flags_ |= kScanBareCr;
  state_ = State::kMid;
  return 1;
}

}  // namespace ringmail::smtp
