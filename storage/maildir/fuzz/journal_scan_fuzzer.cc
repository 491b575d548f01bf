// libFuzzer: ScanJournal, the start-up reader of a core's write-ahead
// journal, on arbitrary ring contents. The journal is ringmail's own file,
// but after a crash, a torn write, a bad disk or an operator's mistake its
// tail is arbitrary bytes, and recovery must read it without trusting it.
//
// Input: byte 0 flags (bit 0: repair the CRC-32C of every record the
// scanner will reach, so the fuzzer gets past the checksums to the record
// decoding; bit 1: log callback set), bytes 1-2 the checkpoint offset into
// the ring, byte 3 the checkpoint seq, bytes 4-11 the epoch; the rest is
// the ring (after a 4096-byte header block the scanner does not read). The
// header is one DecodeJournalHeader could return for this image:
// file_size == image size, checkpoint within [4096, file_size].
//
// Invariants: no out-of-bounds read (ASan), deterministic; records come
// with increasing seq from the checkpoint's, at offsets inside the ring;
// each record's maildir, name and content are the bytes at its offset;
// the records fit in the ring (their total size is at most the ring's);
// the log callback runs at most once.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/crc32c.h"
#include "storage/maildir/journal_format.h"
#include "tools/lib/fuzz_check.h"

namespace {

using ringmail::storage::JournalFile;
using ringmail::storage::JournalRecord;
using ringmail::storage::kJournalHeaderBytes;
using ringmail::storage::kJournalRecordHeaderBytes;
using ringmail::storage::ScanJournal;

// The record format of journal_format.h.
constexpr uint32_t kRecordMagic = 0x4A4D5252;  // "RRMJ"
constexpr uint16_t kTypeMessage = 1;
constexpr uint16_t kTypeWrap = 2;
constexpr uint64_t kMessageFixed = 16;  // u32 maildir_len, u32 name_len, u64 content_len

template <typename T>
T Get(const char* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

// Visits the records along the path the scanner takes (the same walk,
// without the checks that need a good CRC, epoch or seq, so a superset of
// the records it reads): fn(record pointer, type, length).
template <typename Fn>
void WalkRecords(std::string* image, const JournalFile& hdr, Fn fn) {
  const uint64_t end = image->size();
  const uint64_t data_size = end - kJournalHeaderBytes;
  uint64_t pos = hdr.checkpoint_offset, consumed = 0;
  for (int steps = 0; consumed < data_size && steps < 4096; ++steps) {
    if (end - pos < kJournalRecordHeaderBytes) {
      consumed += end - pos;
      pos = kJournalHeaderBytes;
      continue;
    }
    char* p = image->data() + pos;
    const uint16_t type = Get<uint16_t>(p + 6);
    const uint64_t len = Get<uint32_t>(p + 8);
    if (Get<uint32_t>(p) != kRecordMagic || len < kJournalRecordHeaderBytes || len % 8 != 0 ||
        len > end - pos || consumed + len > data_size) {
      return;
    }
    fn(p, type, len);
    if (type == kTypeWrap) {
      consumed += end - pos;
      pos = kJournalHeaderBytes;
    } else {
      pos += len;
      consumed += len;
    }
  }
}

// Rewrites the CRC-32C of each record the scanner may reach.
void RepairCrcs(std::string* image, const JournalFile& hdr) {
  WalkRecords(image, hdr, [](char* p, uint16_t type, uint64_t len) {
    std::memset(p + 12, 0, 4);
    uint32_t crc = ringmail::common::Crc32c(p, kJournalRecordHeaderBytes);
    if (type == kTypeMessage) {
      crc = ringmail::common::Crc32c(p + kJournalRecordHeaderBytes,
                                     len - kJournalRecordHeaderBytes, crc);
    }
    std::memcpy(p + 12, &crc, 4);
  });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 12) return 0;
  const bool repair = data[0] & 1;
  const bool with_log = data[0] & 2;
  std::string image(kJournalHeaderBytes, '\0');
  image.append(reinterpret_cast<const char*>(data) + 12, size - 12);
  const uint64_t ring = image.size() - kJournalHeaderBytes;

  JournalFile hdr;
  hdr.file_size = image.size();
  hdr.checkpoint_offset = kJournalHeaderBytes + (data[1] | data[2] << 8) % (ring + 1);
  hdr.checkpoint_seq = data[3];
  hdr.epoch = Get<uint64_t>(reinterpret_cast<const char*>(data) + 4);
  if (repair) RepairCrcs(&image, hdr);

  int logged = 0;
  const ringmail::storage::LogFn log = [&](std::string_view line) {
    FUZZ_CHECK(!line.empty());
    ++logged;
  };
  // An allocation of exactly the image's size, so ASan sees any read past
  // its end (a std::string may have spare capacity there).
  const std::unique_ptr<char[]> exact(new char[image.size()]);
  std::memcpy(exact.get(), image.data(), image.size());
  const std::string_view file(exact.get(), image.size());
  const std::vector<JournalRecord> records =
      ScanJournal(file, hdr, with_log ? log : ringmail::storage::LogFn());
  FUZZ_CHECK(logged <= 1);

  uint64_t total = 0, last_seq = 0;
  for (size_t i = 0; i < records.size(); ++i) {
    const JournalRecord& r = records[i];
    FUZZ_CHECK(i == 0 ? r.seq >= hdr.checkpoint_seq : r.seq > last_seq);
    last_seq = r.seq;
    FUZZ_CHECK(r.offset >= kJournalHeaderBytes && r.offset < image.size());
    const uint64_t payload = r.maildir.size() + r.name.size() + r.content.size();
    const uint64_t size_here = kJournalRecordHeaderBytes + kMessageFixed + payload;
    FUZZ_CHECK(size_here <= image.size() - r.offset);
    total += size_here;
    const char* q = image.data() + r.offset + kJournalRecordHeaderBytes + kMessageFixed;
    FUZZ_CHECK(std::memcmp(q, r.maildir.data(), r.maildir.size()) == 0);
    FUZZ_CHECK(std::memcmp(q + r.maildir.size(), r.name.data(), r.name.size()) == 0);
    FUZZ_CHECK(std::memcmp(q + r.maildir.size() + r.name.size(), r.content.data(),
                           r.content.size()) == 0);
  }
  FUZZ_CHECK(total <= ring);

  const std::vector<JournalRecord> again = ScanJournal(file, hdr, nullptr);
  FUZZ_CHECK(again.size() == records.size());
  for (size_t i = 0; i < again.size(); ++i) {
    FUZZ_CHECK(again[i].seq == records[i].seq && again[i].offset == records[i].offset &&
               again[i].content == records[i].content);
  }
  return 0;
}
