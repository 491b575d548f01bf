// The journal's on-disk layout: header slots, record codec, scanner.
#include "storage/maildir/journal_format.h"

#include <algorithm>
#include <cassert>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/crc32c.h"

namespace ringmail::storage {
namespace {

using common::Crc32c;

constexpr uint32_t kRecordMagic = 0x4A4D5252;  // "RRMJ"
constexpr uint32_t kHeaderMagic = 0x484D5252;  // "RRMH"
constexpr uint16_t kVersion = 1;
constexpr uint16_t kTypeMessage = 1;
constexpr uint16_t kTypeWrap = 2;
constexpr size_t kHeaderSlotBytes = 52;
constexpr uint64_t kMessageFixed = 16;  // u32 + u32 + u64

template <typename T>
void Put(std::string* out, T v) {
  char b[sizeof(T)];
  std::memcpy(b, &v, sizeof(T));
  out->append(b, sizeof(T));
}
template <typename T>
T Get(const char* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}
template <typename T>
void PutAt(std::string* out, size_t at, T v) {
  std::memcpy(out->data() + at, &v, sizeof(T));
}

uint64_t Align8(uint64_t n) { return (n + 7) & ~uint64_t{7}; }

// Appends a record header (CRC 0) to `out`.
void AppendRecordHeader(std::string* out, uint16_t type, uint32_t length,
                        uint64_t epoch, uint64_t seq) {
  Put<uint32_t>(out, kRecordMagic);
  Put<uint16_t>(out, kVersion);
  Put<uint16_t>(out, type);
  Put<uint32_t>(out, length);
  Put<uint32_t>(out, 0);
  Put<uint64_t>(out, epoch);
  Put<uint64_t>(out, seq);
}

}  // namespace

void AppendJournalMessageRecord(std::string* out, const JournalRecordRef& r,
                                uint64_t epoch, uint64_t seq) {
  size_t start = out->size();
  uint64_t len = JournalRecordSize(r);
  AppendRecordHeader(out, kTypeMessage, static_cast<uint32_t>(len), epoch, seq);
  Put<uint32_t>(out, static_cast<uint32_t>(r.maildir.size()));
  Put<uint32_t>(out, static_cast<uint32_t>(r.name.size()));
  Put<uint64_t>(out, r.prefix.size() + r.body.size());
  out->append(r.maildir.data(), r.maildir.size());
  out->append(r.name.data(), r.name.size());
  out->append(r.prefix.data(), r.prefix.size());
  out->append(r.body.data(), r.body.size());
  out->resize(start + len, '\0');
  PutAt<uint32_t>(out, start + 12, Crc32c(out->data() + start, len));
}

void AppendJournalWrapRecord(std::string* out, uint64_t length, uint64_t epoch,
                             uint64_t seq) {
  size_t start = out->size();
  AppendRecordHeader(out, kTypeWrap, static_cast<uint32_t>(length), epoch, seq);
  PutAt<uint32_t>(out, start + 12,
                  Crc32c(out->data() + start, kJournalRecordHeaderBytes));
}

uint64_t JournalRecordSize(const JournalRecordRef& r) {
  return Align8(kJournalRecordHeaderBytes + kMessageFixed + r.maildir.size() +
                r.name.size() + r.prefix.size() + r.body.size());
}

std::string JournalPath(std::string_view data_dir, int core) {
  return absl::StrCat(AbslView(data_dir), "/journal/core-", core, ".wal");
}

std::string EncodeJournalHeader(const JournalFile& f) {
  std::string out;
  Put<uint32_t>(&out, kHeaderMagic);
  Put<uint16_t>(&out, kVersion);
  Put<uint16_t>(&out, 0);
  Put<uint64_t>(&out, f.file_size);
  Put<uint64_t>(&out, f.epoch);
  Put<uint64_t>(&out, f.checkpoint_offset);
  Put<uint64_t>(&out, f.checkpoint_seq);
  Put<uint64_t>(&out, f.generation);
  Put<uint32_t>(&out, Crc32c(out.data(), out.size()));
  assert(out.size() == kHeaderSlotBytes);
  return out;
}

bool DecodeJournalHeader(std::string_view s, JournalFile* out) {
  if (s.size() < kHeaderSlotBytes) return false;
  const char* p = s.data();
  if (Get<uint32_t>(p) != kHeaderMagic || Get<uint16_t>(p + 4) != kVersion)
    return false;
  if (Get<uint32_t>(p + 48) != Crc32c(p, 48)) return false;
  JournalFile f;
  f.file_size = Get<uint64_t>(p + 8);
  f.epoch = Get<uint64_t>(p + 16);
  f.checkpoint_offset = Get<uint64_t>(p + 24);
  f.checkpoint_seq = Get<uint64_t>(p + 32);
  f.generation = Get<uint64_t>(p + 40);
  if (f.file_size < kJournalMinSize || f.checkpoint_offset < kJournalHeaderBytes ||
      f.checkpoint_offset > f.file_size) {
    return false;
  }
  *out = f;
  return true;
}

bool PickJournalHeader(std::string_view block, JournalFile* out, uint64_t* slot_offset) {
  JournalFile a, b;
  bool va = DecodeJournalHeader(block.substr(0, kHeaderSlotBytes), &a);
  bool vb = block.size() >= kJournalHeaderSlot1 + kHeaderSlotBytes &&
            DecodeJournalHeader(block.substr(kJournalHeaderSlot1, kHeaderSlotBytes), &b);
  if (!va && !vb) return false;
  const bool first = va && (!vb || a.generation >= b.generation);
  *out = first ? a : b;
  if (slot_offset != nullptr) *slot_offset = first ? 0 : kJournalHeaderSlot1;
  return true;
}

uint64_t JournalRecordCrcSpan(std::string_view header, const JournalFile& f,
                              uint64_t offset, uint64_t seq) {
  if (header.size() < kJournalRecordHeaderBytes || offset > f.file_size) return 0;
  const char* p = header.data();
  const uint64_t len = Get<uint32_t>(p + 8);
  const uint16_t type = Get<uint16_t>(p + 6);
  if (Get<uint32_t>(p) != kRecordMagic || Get<uint16_t>(p + 4) != kVersion ||
      Get<uint64_t>(p + 16) != f.epoch || Get<uint64_t>(p + 24) != seq ||
      len < kJournalRecordHeaderBytes || len % 8 != 0 || len > f.file_size - offset ||
      (type != kTypeMessage && type != kTypeWrap)) {
    return 0;
  }
  return type == kTypeMessage ? len : kJournalRecordHeaderBytes;
}

bool JournalRecordCrcOk(std::string_view record) {
  if (record.size() < kJournalRecordHeaderBytes) return false;
  const char* p = record.data();
  const char zero[4] = {};
  uint32_t crc = Crc32c(p, 12);
  crc = Crc32c(zero, sizeof(zero), crc);
  crc = Crc32c(p + 16, record.size() - 16, crc);
  return crc == Get<uint32_t>(p + 12);
}

std::vector<JournalRecord> ScanJournal(std::string_view file,
                                       const JournalFile& hdr,
                                       const LogFn& log) {
  std::vector<JournalRecord> out;
  const uint64_t end = std::min<uint64_t>(hdr.file_size, file.size());
  if (end <= kJournalHeaderBytes) return out;
  const uint64_t data_size = end - kJournalHeaderBytes;
  uint64_t pos = hdr.checkpoint_offset;
  uint64_t seq = hdr.checkpoint_seq;
  uint64_t consumed = 0;
  auto stop = [&](std::string_view why) {
    if (log) {
      log(absl::StrCat("journal: log ends at offset ", pos, " seq ", seq, " (",
                       AbslView(why), ")"));
    }
  };
  while (consumed < data_size) {
    if (end - pos < kJournalRecordHeaderBytes) {
      consumed += end - pos;
      pos = kJournalHeaderBytes;
      continue;
    }
    const char* p = file.data() + pos;
    if (Get<uint32_t>(p) != kRecordMagic) {
      stop(Get<uint32_t>(p) == 0 ? "empty" : "bad magic");
      break;
    }
    uint16_t type = Get<uint16_t>(p + 6);
    uint64_t len = Get<uint32_t>(p + 8);
    if (Get<uint16_t>(p + 4) != kVersion || Get<uint64_t>(p + 16) != hdr.epoch ||
        Get<uint64_t>(p + 24) != seq) {
      stop("older record");
      break;
    }
    if (len < kJournalRecordHeaderBytes || len % 8 != 0 || len > end - pos ||
        consumed + len > data_size) {
      stop("bad length");
      break;
    }
    uint32_t want = Get<uint32_t>(p + 12);
    std::string head(p, kJournalRecordHeaderBytes);
    PutAt<uint32_t>(&head, 12, 0);
    uint32_t crc = Crc32c(head.data(), head.size());
    if (type == kTypeMessage) {
      crc = Crc32c(p + kJournalRecordHeaderBytes, len - kJournalRecordHeaderBytes, crc);
    }
    if (crc != want || (type != kTypeMessage && type != kTypeWrap)) {
      stop("bad checksum");
      break;
    }
    if (type == kTypeWrap) {
      consumed += end - pos;
      pos = kJournalHeaderBytes;
      ++seq;
      continue;
    }
    // A good CRC does not make the size fields true (tampering, or a bug in
    // a writer): each is checked against the octets the record has left,
    // never summed, so no record length can make a read leave the record
    // or a huge content_len wrap the check into range.
    if (len < kJournalRecordHeaderBytes + kMessageFixed) {
      stop("bad payload");
      break;
    }
    const char* q = p + kJournalRecordHeaderBytes;
    const uint64_t mlen = Get<uint32_t>(q), nlen = Get<uint32_t>(q + 4);
    const uint64_t clen = Get<uint64_t>(q + 8);
    uint64_t left = len - kJournalRecordHeaderBytes - kMessageFixed;
    auto take = [&left](uint64_t n) {
      if (n > left) return false;
      left -= n;
      return true;
    };
    if (!take(mlen) || !take(nlen) || !take(clen)) {
      stop("bad payload");
      break;
    }
    JournalRecord r;
    r.seq = seq;
    r.offset = pos;
    q += kMessageFixed;
    r.maildir.assign(q, mlen);
    r.name.assign(q + mlen, nlen);
    r.content.assign(q + mlen + nlen, clen);
    out.push_back(std::move(r));
    pos += len;
    consumed += len;
    ++seq;
  }
  return out;
}

}  // namespace ringmail::storage
