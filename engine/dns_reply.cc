#include "engine/dns_reply.h"

#include <ares.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "engine/dns_names.h"

namespace ringmail::engine::dns {
namespace {

constexpr size_t kHeaderSize = 12;  // RFC 1035 §4.1.1
constexpr uint16_t kClassIn = 1;
constexpr uint16_t kTypeCname = 5;
constexpr uint16_t kTypeSoa = 6;

// RFC 2181 §8: a TTL with the top bit set is treated as zero.
uint32_t SaneTtl(uint32_t ttl) { return (ttl & 0x80000000u) ? 0 : ttl; }

// Characters an MX target may carry (host names, plus ':' so that an IPv6
// literal published as a target reaches address resolution unchanged).
bool IsHostChars(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
              c == '.' || c == '_' || c == ':';
    if (!ok) return false;
  }
  return true;
}

absl::Status Malformed(std::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("malformed DNS reply: ", std::string(what)));
}

// Bounds-checked cursor over the packet.
class Reader {
 public:
  Reader(const unsigned char* buf, size_t len) : buf_(buf), len_(len) {}
  size_t pos() const { return pos_; }
  void Seek(size_t pos) { pos_ = pos; }

  bool U16(uint16_t* v) {
    if (pos_ > len_ || len_ - pos_ < 2) return false;
    *v = static_cast<uint16_t>(buf_[pos_] << 8 | buf_[pos_ + 1]);
    pos_ += 2;
    return true;
  }
  bool U32(uint32_t* v) {
    if (pos_ > len_ || len_ - pos_ < 4) return false;
    *v = static_cast<uint32_t>(buf_[pos_]) << 24 | static_cast<uint32_t>(buf_[pos_ + 1]) << 16 |
         static_cast<uint32_t>(buf_[pos_ + 2]) << 8 | buf_[pos_ + 3];
    pos_ += 4;
    return true;
  }
  bool Bytes(size_t n, const unsigned char** out) {
    if (pos_ > len_ || len_ - pos_ < n) return false;
    *out = buf_ + pos_;
    pos_ += n;
    return true;
  }
  // A possibly compressed name, normalized; the root comes back as ".".
  bool Name(std::string* out) {
    if (pos_ >= len_) return false;
    char* s = nullptr;
    long enclen = 0;
    if (ares_expand_name(buf_ + pos_, buf_, static_cast<int>(len_), &s, &enclen) !=
        ARES_SUCCESS) {
      return false;
    }
    *out = s[0] == '\0' ? std::string(".") : NormalizeName(s);
    ares_free_string(s);
    if (enclen <= 0 || static_cast<size_t>(enclen) > len_ - pos_) return false;
    pos_ += static_cast<size_t>(enclen);
    return true;
  }

 private:
  const unsigned char* buf_;
  size_t len_;
  size_t pos_ = 0;
};

// One answer-section record, with where its data lies.
struct Rr {
  std::string owner;
  uint16_t type;
  uint16_t klass;
  uint32_t ttl;
  size_t rdata;
  uint16_t rdlen;
};

bool ReadRr(Reader& r, Rr* rr) {
  if (!r.Name(&rr->owner) || !r.U16(&rr->type) || !r.U16(&rr->klass) ||
      !r.U32(&rr->ttl) || !r.U16(&rr->rdlen)) {
    return false;
  }
  rr->ttl = SaneTtl(rr->ttl);
  rr->rdata = r.pos();
  const unsigned char* skip;
  return r.Bytes(rr->rdlen, &skip);
}

}  // namespace

absl::StatusOr<ParsedReply> ParseReply(const unsigned char* reply, size_t len,
                                       std::string_view qname, RecordType type) {
  if (len < kHeaderSize) return Malformed("shorter than a header");
  ParsedReply out;
  out.rcode = reply[3] & 0x0f;
  Reader r(reply, len);
  r.Seek(4);
  uint16_t qdcount, ancount, nscount;
  if (!r.U16(&qdcount) || !r.U16(&ancount) || !r.U16(&nscount)) {
    return Malformed("header");
  }
  r.Seek(kHeaderSize);
  for (uint16_t i = 0; i < qdcount; ++i) {
    std::string name;
    uint32_t type_and_class;
    if (!r.Name(&name) || !r.U32(&type_and_class)) return Malformed("question");
  }
  // Each record takes at least 11 bytes, so `ancount` is bounded by `len`.
  std::vector<Rr> answers;
  for (uint16_t i = 0; i < ancount; ++i) {
    Rr rr;
    if (!ReadRr(r, &rr)) return Malformed("answer record");
    if (rr.klass == kClassIn) answers.push_back(std::move(rr));
  }

  // Names that stand for `qname`: itself and CNAME targets reached from it,
  // in whatever order the server listed the chain.
  std::vector<std::string> aliases = {std::string(qname)};
  auto is_alias = [&](const std::string& n) {
    return std::find(aliases.begin(), aliases.end(), n) != aliases.end();
  };
  auto use_ttl = [&](uint32_t ttl) {
    out.answer_ttl = out.answer_ttl ? std::min(*out.answer_ttl, ttl) : ttl;
  };
  for (bool grew = true; grew && aliases.size() <= kMaxCnameChain;) {
    grew = false;
    for (const Rr& rr : answers) {
      if (rr.type != kTypeCname || !is_alias(rr.owner)) continue;
      Reader rd(reply, rr.rdata + rr.rdlen);
      rd.Seek(rr.rdata);
      std::string target;
      if (!rd.Name(&target)) return Malformed("CNAME data");
      if (is_alias(target)) continue;
      if (aliases.size() > kMaxCnameChain) break;
      aliases.push_back(std::move(target));
      use_ttl(rr.ttl);
      grew = true;
    }
  }

  for (const Rr& rr : answers) {
    if (rr.type != static_cast<uint16_t>(type) || !is_alias(rr.owner)) continue;
    // A reader limited to this record's data: a name running past it is bad.
    Reader rd(reply, rr.rdata + rr.rdlen);
    rd.Seek(rr.rdata);
    switch (type) {
      case RecordType::kMx: {
        MxRecord mx;
        std::string host;
        if (!rd.U16(&mx.preference) || !rd.Name(&host)) return Malformed("MX data");
        if (!IsHostChars(host)) continue;  // escapes or binary: not a host
        if (out.mx.size() >= kMaxMxRecords) continue;
        mx.host = std::move(host);
        out.mx.push_back(std::move(mx));
        break;
      }
      case RecordType::kA: {
        const unsigned char* p;
        if (rr.rdlen != 4 || !rd.Bytes(4, &p)) return Malformed("A data");
        if (out.addresses.size() >= kMaxAddresses) continue;
        SocketAddress a;
        auto* s4 = reinterpret_cast<sockaddr_in*>(&a.storage);
        s4->sin_family = AF_INET;
        std::memcpy(&s4->sin_addr, p, 4);
        a.len = sizeof(sockaddr_in);
        out.addresses.push_back(a);
        break;
      }
      case RecordType::kAaaa: {
        const unsigned char* p;
        if (rr.rdlen != 16 || !rd.Bytes(16, &p)) return Malformed("AAAA data");
        if (out.addresses.size() >= kMaxAddresses) continue;
        SocketAddress a;
        auto* s6 = reinterpret_cast<sockaddr_in6*>(&a.storage);
        s6->sin6_family = AF_INET6;
        std::memcpy(&s6->sin6_addr, p, 16);
        a.len = sizeof(sockaddr_in6);
        out.addresses.push_back(a);
        break;
      }
    }
    use_ttl(rr.ttl);
  }

  // RFC 2308 §5: a negative answer is cached for min(SOA TTL, SOA MINIMUM).
  for (uint16_t i = 0; i < nscount; ++i) {
    Rr rr;
    if (!ReadRr(r, &rr)) return Malformed("authority record");
    if (rr.type != kTypeSoa || rr.klass != kClassIn) continue;
    Reader rd(reply, rr.rdata + rr.rdlen);
    rd.Seek(rr.rdata);
    std::string mname, rname;
    uint32_t fields[5];  // serial, refresh, retry, expire, minimum
    bool ok = rd.Name(&mname) && rd.Name(&rname);
    for (uint32_t& f : fields) ok = ok && rd.U32(&f);
    if (!ok) return Malformed("SOA data");
    out.negative_ttl = std::min(rr.ttl, SaneTtl(fields[4]));
    break;
  }
  return out;
}

}  // namespace ringmail::engine::dns
