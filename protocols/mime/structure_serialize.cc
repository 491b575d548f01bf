// Serialize / Deserialize for Structure. Format (all integers LEB128
// varints, strings length-prefixed):
//   "RMS" version(1) part_count envelope_count truncated
//   per part: header{offset size crlf_size lines} body{...} parent+1
//     first_child+1 next_sibling+1 envelope+1 child_count flags type subtype
//     params optional-mask [id description encoding md5 location disposition]
//     disposition_params language
//   per envelope: optional-mask then the present strings in field order.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "protocols/mime/structure.h"

namespace ringmail::mime {
namespace {

constexpr std::string_view kMagic = "RMS";
constexpr uint8_t kVersion = 1;

void PutVarint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}
void PutString(std::string* out, std::string_view s) {
  PutVarint(out, s.size());
  out->append(s);
}
void PutRange(std::string* out, const Range& r) {
  PutVarint(out, r.offset);
  PutVarint(out, r.size);
  PutVarint(out, r.crlf_size);
  PutVarint(out, r.lines);
}
void PutParams(std::string* out, const std::vector<Param>& params) {
  PutVarint(out, params.size());
  for (const Param& p : params) {
    PutString(out, p.name);
    PutString(out, p.value);
  }
}

using OptMember = std::optional<std::string> Part::*;
constexpr OptMember kPartOptionals[] = {&Part::id,  &Part::description,
                                        &Part::encoding, &Part::md5,
                                        &Part::location, &Part::disposition};
using EnvMember = std::optional<std::string> Envelope::*;
constexpr EnvMember kEnvOptionals[] = {
    &Envelope::date, &Envelope::subject,     &Envelope::from,
    &Envelope::sender, &Envelope::reply_to,  &Envelope::to,
    &Envelope::cc,   &Envelope::bcc,         &Envelope::in_reply_to,
    &Envelope::message_id};

class Reader {
 public:
  explicit Reader(std::string_view d) : d_(d) {}
  bool ok() const { return ok_; }
  size_t remaining() const { return d_.size() - pos_; }

  uint64_t Varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= d_.size()) return Fail();
      const uint8_t b = static_cast<uint8_t>(d_[pos_++]);
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) return v;
    }
    return Fail();
  }
  std::string String() {
    const uint64_t n = Varint();
    if (!ok_ || n > remaining()) {
      Fail();
      return {};
    }
    std::string s(d_.substr(pos_, n));
    pos_ += n;
    return s;
  }
  Range GetRange() {
    Range r;
    r.offset = Varint();
    r.size = Varint();
    r.crlf_size = Varint();
    r.lines = Varint();
    if (r.offset + r.size < r.offset || r.crlf_size < r.size ||
        r.lines > r.size) {
      Fail();
    }
    return r;
  }
  // A count of items each taking at least one octet: bounded by the input.
  uint64_t Count() {
    const uint64_t n = Varint();
    if (n > remaining()) return Fail();
    return n;
  }
  std::vector<Param> Params() {
    std::vector<Param> out;
    const uint64_t n = Count();
    for (uint64_t i = 0; i < n && ok_; ++i) {
      Param p;
      p.name = String();
      p.value = String();
      out.push_back(std::move(p));
    }
    return out;
  }
  int32_t Index(uint64_t limit) {  // stored as index+1, 0 = none
    const uint64_t v = Varint();
    if (v > limit) return static_cast<int32_t>(Fail()) - 1;
    return static_cast<int32_t>(v) - 1;
  }
  uint64_t Fail() {
    ok_ = false;
    pos_ = d_.size();
    return 0;
  }

 private:
  std::string_view d_;
  size_t pos_ = 0;
  bool ok_ = true;
};

bool ValidTree(const Structure& s) {
  const size_t n = s.parts.size();
  if (n == 0 || s.parts[0].parent != -1) return false;
  for (size_t i = 0; i < n; ++i) {
    const Part& p = s.parts[i];
    if (i > 0 && (p.parent < 0 || static_cast<size_t>(p.parent) >= i)) {
      return false;
    }
    if (p.envelope >= static_cast<int32_t>(s.envelopes.size())) return false;
    if (((p.flags & kPartMessageRoot) != 0) != (p.envelope >= 0)) return false;
    // Children: strictly increasing indices, each pointing back here.
    uint32_t count = 0;
    int32_t prev = static_cast<int32_t>(i);
    for (int32_t c = p.first_child; c >= 0; c = s.parts[c].next_sibling) {
      if (c <= prev || static_cast<size_t>(c) >= n ||
          s.parts[c].parent != static_cast<int32_t>(i)) {
        return false;
      }
      prev = c;
      ++count;
    }
    if (count != p.child_count) return false;
    if (p.is_message() && count != 1) return false;
  }
  return true;
}

}  // namespace

std::string Serialize(const Structure& s) {
  std::string out(kMagic);
  out.push_back(static_cast<char>(kVersion));
  PutVarint(&out, s.parts.size());
  PutVarint(&out, s.envelopes.size());
  PutVarint(&out, s.truncated ? 1 : 0);
  for (const Part& p : s.parts) {
    PutRange(&out, p.header);
    PutRange(&out, p.body);
    PutVarint(&out, static_cast<uint64_t>(p.parent + 1));
    PutVarint(&out, static_cast<uint64_t>(p.first_child + 1));
    PutVarint(&out, static_cast<uint64_t>(p.next_sibling + 1));
    PutVarint(&out, static_cast<uint64_t>(p.envelope + 1));
    PutVarint(&out, p.child_count);
    PutVarint(&out, p.flags);
    PutString(&out, p.type);
    PutString(&out, p.subtype);
    PutParams(&out, p.params);
    uint64_t mask = 0;
    for (size_t i = 0; i < std::size(kPartOptionals); ++i) {
      if (p.*kPartOptionals[i]) mask |= uint64_t{1} << i;
    }
    PutVarint(&out, mask);
    for (OptMember m : kPartOptionals) {
      if (p.*m) PutString(&out, *(p.*m));
    }
    PutParams(&out, p.disposition_params);
    PutVarint(&out, p.language.size());
    for (const std::string& l : p.language) PutString(&out, l);
  }
  for (const Envelope& e : s.envelopes) {
    uint64_t mask = 0;
    for (size_t i = 0; i < std::size(kEnvOptionals); ++i) {
      if (e.*kEnvOptionals[i]) mask |= uint64_t{1} << i;
    }
    PutVarint(&out, mask);
    for (EnvMember m : kEnvOptionals) {
      if (e.*m) PutString(&out, *(e.*m));
    }
  }
  return out;
}

absl::StatusOr<Structure> Deserialize(std::string_view data) {
  const auto bad = [] {
    return absl::InvalidArgumentError("corrupt MIME structure cache entry");
  };
  if (data.size() < kMagic.size() + 1 || data.substr(0, 3) != kMagic ||
      static_cast<uint8_t>(data[3]) != kVersion) {
    return bad();
  }
  Reader r(data.substr(4));
  Structure s;
  const uint64_t nparts = r.Count();
  const uint64_t nenv = r.Count();
  s.truncated = r.Varint() != 0;
  if (!r.ok() || nparts == 0) return bad();
  s.parts.reserve(nparts);
  for (uint64_t i = 0; i < nparts && r.ok(); ++i) {
    Part p;
    p.header = r.GetRange();
    p.body = r.GetRange();
    p.parent = r.Index(nparts);
    p.first_child = r.Index(nparts);
    p.next_sibling = r.Index(nparts);
    p.envelope = r.Index(nenv);
    const uint64_t children = r.Varint();
    const uint64_t flags = r.Varint();
    if (children > nparts || flags > 0xff) r.Fail();
    p.child_count = static_cast<uint32_t>(children);
    p.flags = static_cast<uint8_t>(flags);
    p.type = r.String();
    p.subtype = r.String();
    p.params = r.Params();
    const uint64_t mask = r.Varint();
    if (mask >> std::size(kPartOptionals)) r.Fail();
    for (size_t b = 0; b < std::size(kPartOptionals); ++b) {
      if (mask & (uint64_t{1} << b)) p.*kPartOptionals[b] = r.String();
    }
    p.disposition_params = r.Params();
    const uint64_t nlang = r.Count();
    for (uint64_t l = 0; l < nlang && r.ok(); ++l) {
      p.language.push_back(r.String());
    }
    s.parts.push_back(std::move(p));
  }
  for (uint64_t i = 0; i < nenv && r.ok(); ++i) {
    Envelope e;
    const uint64_t mask = r.Varint();
    if (mask >> std::size(kEnvOptionals)) r.Fail();
    for (size_t b = 0; b < std::size(kEnvOptionals); ++b) {
      if (mask & (uint64_t{1} << b)) e.*kEnvOptionals[b] = r.String();
    }
    s.envelopes.push_back(std::move(e));
  }
  if (!r.ok() || r.remaining() != 0 || !ValidTree(s)) return bad();
  return s;
}

}  // namespace ringmail::mime
