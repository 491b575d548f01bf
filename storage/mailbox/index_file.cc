// The ringmail-index file: version 3 (binary, mapped) and the text
// versions 1 and 2, still read for migration. Layout in
// docs/mailbox-index.md.
#include "storage/mailbox/index_file.h"

#include <errno.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <cstdio>
#include <cstring>
#include <functional>
#include <optional>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/crc32c.h"
#include "storage/maildir/errors.h"

namespace ringmail::storage {
namespace {

using common::Crc32c;

constexpr size_t kHeaderBytes = 512;
constexpr size_t kStampBytes = 40;
constexpr size_t kStampsAt = 88;
constexpr size_t kSectionsAt = kStampsAt + 3 * kStampBytes;  // 208
constexpr size_t kSectionEntryBytes = 24;
constexpr size_t kHeaderCrcAt = kHeaderBytes - 4;
// A Maildir file name is one directory entry.
constexpr size_t kMaxNameBytes = 255;
// The bits column holds the MessageFlag bits and the in-cur/ bit.
constexpr uint8_t kStoredBits = kAllMessageFlags | 0x40;

absl::Status Corrupt(std::string_view why) {
  return absl::DataLossError(
      absl::StrCat("ringmail-index corrupted: ", AbslView(why)));
}

template <typename T>
T Get(const char* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}
template <typename T>
void Put(char* p, T v) {
  std::memcpy(p, &v, sizeof(T));
}

uint64_t Align8(uint64_t n) { return (n + 7) & ~uint64_t{7}; }

bool ValidToken(std::string_view t) {
  if (t.size() != IndexImage::kTokenLength) return false;
  for (char c : t) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

void PutStamp(char* p, const DirStamp& s) {
  Put<uint64_t>(p, s.ino);
  Put<uint64_t>(p + 8, s.size);
  Put<int64_t>(p + 16, s.mtime_sec);
  Put<int64_t>(p + 24, s.mtime_nsec);
  Put<int64_t>(p + 32, s.checked_at);
}
DirStamp GetStamp(const char* p) {
  DirStamp s;
  s.ino = Get<uint64_t>(p);
  s.size = Get<uint64_t>(p + 8);
  s.mtime_sec = Get<int64_t>(p + 16);
  s.mtime_nsec = Get<int64_t>(p + 24);
  s.checked_at = Get<int64_t>(p + 32);
  return s;
}

// Expected bytes of a fixed-width section for `n` messages and `e`
// expunge entries; nullopt for the names (any length).
std::optional<uint64_t> FixedBytes(int s, uint64_t n, uint64_t e) {
  switch (s) {
    case IndexImage::kUids: return 4 * n;
    case IndexImage::kBits: return n;
    case IndexImage::kKeywords: return 4 * n;
    case IndexImage::kModSeqs:
    case IndexImage::kDates:
    case IndexImage::kSizes:
    case IndexImage::kVsizes: return 8 * n;
    case IndexImage::kNameOffsets: return 4 * (n + 1);
    case IndexImage::kExpunges: return 16 * e;
    default: return std::nullopt;
  }
}

// Where the bytes of a file being written go: (data, length, offset).
using Sink = std::function<absl::Status(const char*, size_t, uint64_t)>;

// Streams one section through a bounded buffer: its CRC, then the sink.
class SectionWriter {
 public:
  SectionWriter(const Sink& sink, uint64_t offset) : sink_(sink), off_(offset) {}
  void Append(const void* p, size_t n) {
    if (n == 0) return;  // an empty column's data() may be null
    const char* c = static_cast<const char*>(p);
    crc_ = Crc32c(c, n, crc_);
    bytes_ += n;
    if (buf_.size() + n > kChunk) Flush();
    if (n >= kChunk) {
      Emit(c, n);
    } else {
      buf_.append(c, n);
    }
  }
  template <typename T>
  void AppendValue(T v) {
    Append(&v, sizeof(v));
  }
  // Pads with zeros to the next multiple of 8 (where the next section
  // starts; the file ends aligned too) and writes out what is buffered.
  absl::Status Finish() {
    static constexpr char kZeros[8] = {};
    if (const size_t pad = Align8(bytes_) - bytes_; pad > 0) buf_.append(kZeros, pad);
    Flush();
    return status_;
  }
  uint64_t bytes() const { return bytes_; }
  uint32_t crc() const { return crc_; }

 private:
  static constexpr size_t kChunk = 1 << 20;
  void Flush() {
    if (!buf_.empty()) Emit(buf_.data(), buf_.size());
    buf_.clear();
  }
  void Emit(const char* p, size_t n) {
    if (status_.ok()) status_ = sink_(p, n, off_);
    off_ += n;
  }
  const Sink& sink_;
  uint64_t off_;
  uint64_t bytes_ = 0;
  uint32_t crc_ = 0;
  std::string buf_;
  absl::Status status_;
};

absl::Status WriteImage(const Sink& sink, const IndexSave& s, std::string_view token) {
  assert(token.empty() || ValidToken(token));
  const size_t n = s.uids.size();
  assert(s.bits.size() == n && s.keywords.size() == n && s.modseqs.size() == n &&
         (s.rows_identity ? s.rows.empty() : s.rows.size() == n));
  const ColdRecord* extras = s.extras ? s.extras->data() : nullptr;
  auto row = [&](size_t i) -> uint32_t {
    return s.rows_identity ? static_cast<uint32_t>(i) : s.rows[i];
  };
  auto cold = [&](size_t i) -> const ColdRecord* {
    const uint32_t r = row(i);
    return r >= kIndexExtraRow ? &extras[r - kIndexExtraRow] : nullptr;
  };
  char header[kHeaderBytes] = {};
  uint64_t off = kHeaderBytes;
  for (int sec = 0; sec < IndexImage::kSectionCount; ++sec) {
    SectionWriter w(sink, off);
    switch (sec) {
      case IndexImage::kUids: w.Append(s.uids.data(), 4 * n); break;
      case IndexImage::kBits:
        for (size_t i = 0; i < n; ++i) {
          w.AppendValue<uint8_t>(static_cast<uint8_t>(s.bits[i] & kStoredBits));
        }
        break;
      case IndexImage::kKeywords: w.Append(s.keywords.data(), 4 * n); break;
      case IndexImage::kModSeqs: w.Append(s.modseqs.data(), 8 * n); break;
      case IndexImage::kDates:
        for (size_t i = 0; i < n; ++i) {
          const ColdRecord* c = cold(i);
          w.AppendValue<int64_t>(c ? c->internal_date : s.base->date(row(i)));
        }
        break;
      case IndexImage::kSizes:
        for (size_t i = 0; i < n; ++i) {
          const ColdRecord* c = cold(i);
          w.AppendValue<uint64_t>(c ? c->size : s.base->size(row(i)));
        }
        break;
      case IndexImage::kVsizes:
        for (size_t i = 0; i < n; ++i) {
          const ColdRecord* c = cold(i);
          w.AppendValue<uint64_t>(c ? c->vsize : s.base->vsize(row(i)));
        }
        break;
      case IndexImage::kNameOffsets: {
        uint64_t at = 0;
        w.AppendValue<uint32_t>(0);
        for (size_t i = 0; i < n; ++i) {
          const ColdRecord* c = cold(i);
          at += c ? c->filename.size() : s.base->name(row(i)).size();
          if (at > UINT32_MAX) return absl::ResourceExhaustedError("file names too long");
          w.AppendValue<uint32_t>(static_cast<uint32_t>(at));
        }
        break;
      }
      case IndexImage::kNames:
        for (size_t i = 0; i < n; ++i) {
          const ColdRecord* c = cold(i);
          std::string_view name = c ? std::string_view(c->filename) : s.base->name(row(i));
          w.Append(name.data(), name.size());
        }
        break;
      case IndexImage::kExpunges:
        for (const ExpungeLog::Entry& x : s.expunges.entries()) {
          w.AppendValue<uint32_t>(x.uids.first);
          w.AppendValue<uint32_t>(x.uids.last);
          w.AppendValue<uint64_t>(x.modseq);
        }
        break;
    }
    if (absl::Status st = w.Finish(); !st.ok()) return st;
    char* e = header + kSectionsAt + sec * kSectionEntryBytes;
    Put<uint64_t>(e, off);
    Put<uint64_t>(e + 8, w.bytes());
    Put<uint32_t>(e + 16, w.crc());
    off = Align8(off + w.bytes());
  }
  std::memcpy(header, kIndexMagic.data(), 8);
  Put<uint32_t>(header + 8, kIndexVersion);
  Put<uint32_t>(header + 12, kHeaderBytes);
  Put<uint32_t>(header + 16, s.uid_validity);
  Put<uint32_t>(header + 20, s.next_uid);
  Put<uint64_t>(header + 24, n);
  Put<uint64_t>(header + 32, s.highest_modseq);
  Put<uint64_t>(header + 40, s.expunges.complete_from());
  Put<uint64_t>(header + 48, s.expunges.entries().size());
  if (!token.empty()) std::memcpy(header + 56, token.data(), token.size());
  PutStamp(header + kStampsAt, s.new_stamp);
  PutStamp(header + kStampsAt + kStampBytes, s.cur_stamp);
  PutStamp(header + kStampsAt + 2 * kStampBytes, s.uidlist_stamp);
  Put<uint32_t>(header + kHeaderCrcAt, Crc32c(header, kHeaderCrcAt));
  return sink(header, kHeaderBytes, 0);
}

}  // namespace

// ------------------------------------------------------------ IndexImage

IndexImage::~IndexImage() {
  if (mapped_ && data_ != nullptr) munmap(const_cast<char*>(data_), len_);
}

absl::StatusOr<std::shared_ptr<const IndexImage>> IndexImage::MapFd(int fd,
                                                                    size_t max_messages) {
  struct stat st;
  if (fstat(fd, &st) != 0) {
    return absl::InternalError(absl::StrCat("fstat failed: ", ErrnoText(errno)));
  }
  if (st.st_size < static_cast<off_t>(kHeaderBytes)) return Corrupt("truncated");
  auto img = std::shared_ptr<IndexImage>(new IndexImage());
  img->len_ = static_cast<size_t>(st.st_size);
  img->file_id_ = FileId{static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino),
                         static_cast<uint64_t>(st.st_size),
                         st.st_mtim.tv_sec * int64_t{1000000000} + st.st_mtim.tv_nsec};
  void* p = mmap(nullptr, img->len_, PROT_READ, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) {
    return absl::InternalError(absl::StrCat("mmap failed: ", ErrnoText(errno)));
  }
  img->data_ = static_cast<const char*>(p);
  img->mapped_ = true;
  return Parse(std::move(img), max_messages);
}

absl::StatusOr<std::shared_ptr<const IndexImage>> IndexImage::FromBytes(
    std::string_view data, size_t max_messages) {
  auto img = std::shared_ptr<IndexImage>(new IndexImage());
  // std::string's buffer comes from operator new: aligned for every column.
  img->owned_ = std::string(data);
  img->data_ = img->owned_.data();
  img->len_ = img->owned_.size();
  return Parse(std::move(img), max_messages);
}

absl::StatusOr<std::shared_ptr<const IndexImage>> IndexImage::Parse(
    std::shared_ptr<IndexImage> img, size_t max_messages) {
  const char* h = img->data_;
  if (img->len_ < kHeaderBytes) return Corrupt("truncated");
  if (std::string_view(h, 8) != kIndexMagic) return Corrupt("bad magic");
  if (Get<uint32_t>(h + 8) != kIndexVersion || Get<uint32_t>(h + 12) != kHeaderBytes) {
    return Corrupt("unknown version");
  }
  if (Get<uint32_t>(h + kHeaderCrcAt) != Crc32c(h, kHeaderCrcAt)) {
    return Corrupt("header checksum mismatch");
  }
  img->uid_validity_ = Get<uint32_t>(h + 16);
  img->next_uid_ = Get<uint32_t>(h + 20);
  const uint64_t n = Get<uint64_t>(h + 24);
  img->highest_modseq_ = Get<uint64_t>(h + 32);
  img->complete_from_ = Get<uint64_t>(h + 40);
  const uint64_t e = Get<uint64_t>(h + 48);
  if (img->next_uid_ == 0 || img->highest_modseq_ == 0 ||
      img->highest_modseq_ > kMaxModSeq || img->complete_from_ > img->highest_modseq_ ||
      e > img->expunges_.max_entries()) {
    return Corrupt("bad header");
  }
  if (n > max_messages || n >= kIndexExtraRow) return Corrupt("too many messages");
  img->count_ = static_cast<size_t>(n);
  std::string_view token(h + 56, kTokenLength);
  if (token != std::string_view("\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"
                                "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", kTokenLength)) {
    if (!ValidToken(token)) return Corrupt("bad owner token");
    img->close_token_ = std::string(token);
  }
  img->new_stamp_ = GetStamp(h + kStampsAt);
  img->cur_stamp_ = GetStamp(h + kStampsAt + kStampBytes);
  img->uidlist_stamp_ = GetStamp(h + kStampsAt + 2 * kStampBytes);
  for (int s = 0; s < kSectionCount; ++s) {
    const char* p = h + kSectionsAt + s * kSectionEntryBytes;
    SectionInfo& si = img->sections_[s];
    si.offset = Get<uint64_t>(p);
    si.bytes = Get<uint64_t>(p + 8);
    si.crc = Get<uint32_t>(p + 16);
    if (si.offset < kHeaderBytes || si.offset % 8 != 0 || si.offset > img->len_ ||
        si.bytes > img->len_ - si.offset) {
      return Corrupt("bad section");
    }
    std::optional<uint64_t> want = FixedBytes(s, n, e);
    if (want && *want != si.bytes) return Corrupt("bad section size");
  }
  if (img->sections_[kNames].bytes > UINT32_MAX) return Corrupt("bad section size");
  // The expunge log (the hot columns are checked as they are copied).
  {
    const SectionInfo& si = img->sections_[kExpunges];
    if (Crc32c(img->data_ + si.offset, si.bytes) != si.crc) {
      return Corrupt("checksum mismatch");
    }
  }
  const char* x = img->data_ + img->sections_[kExpunges].offset;
  for (uint64_t i = 0; i < e; ++i, x += 16) {
    ExpungeLog::Entry entry;
    entry.uids.first = Get<uint32_t>(x);
    entry.uids.last = Get<uint32_t>(x + 4);
    entry.modseq = Get<uint64_t>(x + 8);
    if (entry.uids.last >= img->next_uid_ || entry.modseq > img->highest_modseq_ ||
        !img->expunges_.Restore(entry)) {
      return Corrupt("bad expunge entry");
    }
  }
  img->expunges_.RestoreCompleteFrom(img->complete_from_);
  return std::shared_ptr<const IndexImage>(std::move(img));
}

namespace {

// Files whose cold columns are known intact (IndexImage::ColdVerified).
// Cleared when full: forgetting only costs a check again.
constexpr size_t kMaxVerifiedFiles = 16384;
absl::Mutex verified_mu;
absl::flat_hash_set<IndexImage::FileId>* verified_files = nullptr;

}  // namespace

bool IndexImage::ColdVerified() const {
  if (!file_id_) return false;
  absl::MutexLock l(&verified_mu);
  return verified_files != nullptr && verified_files->contains(*file_id_);
}

void IndexImage::MarkColdVerified() const {
  if (!file_id_) return;
  absl::MutexLock l(&verified_mu);
  if (verified_files == nullptr) verified_files = new absl::flat_hash_set<FileId>();
  if (verified_files->size() >= kMaxVerifiedFiles) verified_files->clear();
  verified_files->insert(*file_id_);
}

void IndexImage::ReleasePages() const {
  if (mapped_ && data_ != nullptr) madvise(const_cast<char*>(data_), len_, MADV_DONTNEED);
}

absl::Status IndexImage::VerifyColdBlocking() const {
  for (Section s : {kDates, kSizes, kVsizes, kNameOffsets, kNames}) {
    const SectionInfo& si = sections_[s];
    if (Crc32c(data_ + si.offset, si.bytes) != si.crc) return Corrupt("checksum mismatch");
  }
  const uint64_t names = sections_[kNames].bytes;
  if (Load<uint32_t>(kNameOffsets, 0) != 0 || Load<uint32_t>(kNameOffsets, count_) != names) {
    return Corrupt("bad name offsets");
  }
  for (size_t i = 0; i < count_; ++i) {
    const uint32_t b = Load<uint32_t>(kNameOffsets, i), e = Load<uint32_t>(kNameOffsets, i + 1);
    if (e <= b || e - b > kMaxNameBytes) return Corrupt("bad name offsets");
    std::string_view nm = name(i);
    if (nm.find('/') != std::string_view::npos || nm.find('\0') != std::string_view::npos) {
      return Corrupt("bad filename");
    }
  }
  MarkColdVerified();
  ReleasePages();  // read once for the check, not kept for it
  return absl::OkStatus();
}

namespace {

// Appends column `src` (n elements) to `out` in chunks, each checked
// (CRC-32C, then `check` per element) while it is still in the cache.
// The mapping's sections are 8-aligned in a page-aligned mapping (or an
// operator-new buffer), so they are read as T arrays.
template <typename T, typename Check>
bool CopyChecked(const char* src, size_t n, uint32_t want_crc, std::vector<T>* out,
                 Check check) {
  constexpr size_t kChunk = (64 << 10) / sizeof(T);
  const T* p = reinterpret_cast<const T*>(src);
  out->reserve(n);
  uint32_t crc = 0;
  for (size_t i = 0; i < n; i += kChunk) {
    const size_t m = std::min(kChunk, n - i);
    const size_t at = out->size();
    out->insert(out->end(), p + i, p + i + m);
    const T* c = out->data() + at;
    crc = Crc32c(c, m * sizeof(T), crc);
    for (size_t k = 0; k < m; ++k) {
      if (!check(c[k])) return false;
    }
  }
  return crc == want_crc;
}

}  // namespace

absl::Status IndexImage::CopyHotColumns(std::vector<uint32_t>* uids, std::vector<uint8_t>* bits,
                                        std::vector<uint32_t>* keywords,
                                        std::vector<uint64_t>* modseqs) const {
  auto at = [this](Section s) { return data_ + sections_[s].offset; };
  uint32_t last = 0;
  const uint32_t next = next_uid_;
  if (!CopyChecked<uint32_t>(at(kUids), count_, sections_[kUids].crc, uids,
                             [&last, next](uint32_t u) {
                               const bool ok = u > last && u < next;
                               last = u;
                               return ok;
                             })) {
    return Corrupt("UIDs damaged");
  }
  if (!CopyChecked<uint8_t>(at(kBits), count_, sections_[kBits].crc, bits,
                            [](uint8_t b) { return (b & ~kStoredBits) == 0; })) {
    return Corrupt("flags damaged");
  }
  if (!CopyChecked<uint32_t>(at(kKeywords), count_, sections_[kKeywords].crc, keywords,
                             [](uint32_t) { return true; })) {
    return Corrupt("keywords damaged");
  }
  const uint64_t highest = highest_modseq_;
  if (!CopyChecked<uint64_t>(at(kModSeqs), count_, sections_[kModSeqs].crc, modseqs,
                             [highest](uint64_t m) { return m != 0 && m <= highest; })) {
    return Corrupt("mod-sequences damaged");
  }
  return absl::OkStatus();
}

std::string_view IndexImage::name(size_t row) const {
  const uint32_t b = Load<uint32_t>(kNameOffsets, row), e = Load<uint32_t>(kNameOffsets, row + 1);
  if (b > e || e > sections_[kNames].bytes || e - b > kMaxNameBytes) return {};
  return std::string_view(data_ + sections_[kNames].offset + b, e - b);
}

absl::Status WriteIndexImageToFd(int fd, const IndexSave& save, std::string_view close_token) {
  Sink sink = [fd](const char* p, size_t n, uint64_t off) -> absl::Status {
    while (n > 0) {
      ssize_t w = pwrite(fd, p, n, static_cast<off_t>(off));
      if (w < 0) {
        if (errno == EINTR) continue;
        return absl::InternalError(absl::StrCat("write failed: ", ErrnoText(errno)));
      }
      p += w;
      n -= static_cast<size_t>(w);
      off += static_cast<uint64_t>(w);
    }
    return absl::OkStatus();
  };
  return WriteImage(sink, save, close_token);
}

std::string IndexImageBytes(const IndexSave& save, std::string_view close_token) {
  std::string out;
  Sink sink = [&out](const char* p, size_t n, uint64_t off) {
    if (out.size() < off + n) out.resize(off + n, '\0');
    std::memcpy(out.data() + off, p, n);
    return absl::OkStatus();
  };
  absl::Status st = WriteImage(sink, save, close_token);
  assert(st.ok());
  (void)st;
  return out;
}

// ------------------------------------------------------------ text (v1, v2)

namespace {

constexpr std::string_view kTextMagic = "RINGMAIL-INDEX ";

uint64_t Fnv1a64(std::string_view data) {
  uint64_t h = 1469598103934665603ull;
  for (char c : data) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ull;
  }
  return h;
}

std::string_view NextToken(std::string_view& s) {
  size_t sp = s.find(' ');
  std::string_view tok = s.substr(0, sp);
  s = sp == std::string_view::npos ? std::string_view() : s.substr(sp + 1);
  return tok;
}

template <typename T>
bool ParseNum(std::string_view s, T* out) {
  return !s.empty() && s.size() <= 20 && absl::SimpleAtoi(AbslView(s), out);
}

template <typename T>
bool ParseHex(std::string_view s, T* out) {
  return !s.empty() && s.size() <= 16 && absl::SimpleHexAtoi(AbslView(s), out);
}

// "<letter><number>" header field.
template <typename T>
bool Field(std::string_view tok, char letter, T* out) {
  return tok.size() >= 2 && tok[0] == letter && ParseNum(tok.substr(1), out);
}

}  // namespace

bool IsTextIndex(std::string_view data) {
  return data.substr(0, kTextMagic.size()) == kTextMagic;
}

absl::StatusOr<FolderIndex> ParseTextIndex(std::string_view data, size_t max_messages) {
  // Checksum line: "X<16 hex>\n" at the very end.
  if (data.size() < 18 || data.back() != '\n') return Corrupt("truncated");
  size_t xpos = data.rfind('\n', data.size() - 2);
  if (xpos == std::string_view::npos) return Corrupt("no checksum");
  std::string_view body = data.substr(0, xpos + 1);
  std::string_view sumline = data.substr(xpos + 1, data.size() - xpos - 2);
  uint64_t sum = 0;
  if (sumline.size() != 17 || sumline[0] != 'X' ||
      !ParseHex(sumline.substr(1), &sum) || sum != Fnv1a64(body)) {
    return Corrupt("checksum mismatch");
  }
  size_t nl = body.find('\n');
  std::string_view header = body.substr(0, nl);
  body.remove_prefix(nl + 1);
  if (!IsTextIndex(header)) return Corrupt("bad magic");
  header.remove_prefix(kTextMagic.size());
  int version = 0;
  if (!ParseNum(NextToken(header), &version) || (version != 1 && version != 2)) {
    return Corrupt("unknown version");
  }
  const bool v1 = version == 1;
  size_t count = 0, expunge_count = 0;
  uint64_t complete_from = 0, highest = 1;
  uint32_t validity = 0, next_uid = 0;
  std::string close_token;
  ExpungeLog log;
  if (!Field(NextToken(header), 'V', &validity) || !Field(NextToken(header), 'N', &next_uid) ||
      !Field(NextToken(header), 'C', &count) || next_uid == 0) {
    return Corrupt("bad header");
  }
  if (!v1) {
    if (!Field(NextToken(header), 'H', &highest) ||
        !Field(NextToken(header), 'F', &complete_from) ||
        !Field(NextToken(header), 'E', &expunge_count) || highest == 0 ||
        highest > kMaxModSeq || complete_from > highest ||
        expunge_count > log.max_entries()) {
      return Corrupt("bad header");
    }
    std::string_view k = NextToken(header);
    if (k.size() < 2 || k[0] != 'K') return Corrupt("bad header");
    k.remove_prefix(1);
    if (k != "-") {
      if (!ValidToken(k)) return Corrupt("bad owner token");
      close_token = std::string(k);
    }
  }
  if (!header.empty()) return Corrupt("bad header");
  if (count > max_messages) return Corrupt("too many messages");
  FolderIndex index;
  index.SetLoadedHeader(validity, next_uid, highest, close_token, v1);
  absl::flat_hash_set<std::string_view> keys;
  keys.reserve(count);
  size_t loaded = 0;
  uint32_t last_uid = 0;
  while (!body.empty() && (v1 || body[0] != 'E')) {
    nl = body.find('\n');
    std::string_view line = body.substr(0, nl);
    body.remove_prefix(nl + 1);
    MessageEntry e;
    std::string_view vs, dir;
    uint32_t flags = 0;
    if (!ParseNum(NextToken(line), &e.uid) || !ParseHex(NextToken(line), &flags) ||
        flags > kAllMessageFlags || !ParseHex(NextToken(line), &e.keywords) ||
        !ParseNum(NextToken(line), &e.internal_date) || !ParseNum(NextToken(line), &e.size)) {
      return Corrupt("bad message line");
    }
    e.flags = static_cast<uint8_t>(flags);
    vs = NextToken(line);
    if (vs != "-" && !ParseNum(vs, &e.vsize)) return Corrupt("bad vsize");
    if (v1) {
      e.modseq = 1;
    } else if (!ParseNum(NextToken(line), &e.modseq) || e.modseq == 0 || e.modseq > highest) {
      return Corrupt("bad modseq");
    }
    dir = NextToken(line);
    if (dir != "c" && dir != "n") return Corrupt("bad directory");
    e.in_cur = dir == "c";
    if (line.empty() || line.find('/') != std::string_view::npos ||
        line.size() > kMaxNameBytes) {
      return Corrupt("bad filename");
    }
    if (e.uid == 0 || e.uid >= next_uid || e.uid <= last_uid) {
      return Corrupt("UIDs not ascending");
    }
    last_uid = e.uid;
    if (loaded >= count) return Corrupt("count mismatch");
    if (!keys.insert(MaildirKey(line)).second) return Corrupt("duplicate key");
    e.filename = std::string(line);
    index.AppendLoaded(e);
    ++loaded;
  }
  if (loaded != count) return Corrupt("count mismatch");
  while (!body.empty()) {
    nl = body.find('\n');
    std::string_view line = body.substr(0, nl);
    body.remove_prefix(nl + 1);
    line.remove_prefix(1);  // 'E'
    size_t colon = line.find(':');
    ExpungeLog::Entry x;
    std::string_view range = NextToken(line);
    if (colon == std::string_view::npos || colon >= range.size() ||
        !ParseNum(range.substr(0, colon), &x.uids.first) ||
        !ParseNum(range.substr(colon + 1), &x.uids.last) || !ParseNum(line, &x.modseq) ||
        x.uids.last >= next_uid || x.modseq > highest ||
        !index.mutable_expunge_log().Restore(x)) {
      return Corrupt("bad expunge line");
    }
  }
  if (index.expunge_log().entries().size() != expunge_count) {
    return Corrupt("expunge count mismatch");
  }
  index.mutable_expunge_log().RestoreCompleteFrom(complete_from);
  return index;
}

}  // namespace ringmail::storage
