// The ringmail-index file, version 3 (binary, docs/mailbox-index.md):
// a fixed header, then one section per column, so a reader maps the file
// and copies only the columns it keeps in memory.
//
// IndexImage is one such file, mapped read-only. It is immutable: files are
// only ever replaced by rename (never written in place), so the mapping
// keeps the version it was opened on. Helpers and the core share it
// (std::shared_ptr<const IndexImage>); it is unmapped with the last
// reference.
//
// Checksums (CRC-32C): the header and the expunge log are checked by Map,
// the columns a FolderIndex copies at open (UIDs, flags, keywords,
// mod-sequences) while they are copied (CopyHotColumns). The cold columns (dates, sizes, file names), most of the file,
// are checked by VerifyColdBlocking, which the server runs on a helper
// right after opening, so an open reads only what it keeps; every access
// to them is bounds-checked, so a damaged file can only give wrong values
// until that check sends the folder to a rebuild.
#ifndef RINGMAIL_STORAGE_MAILBOX_INDEX_FILE_H_
#define RINGMAIL_STORAGE_MAILBOX_INDEX_FILE_H_

#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "storage/mailbox/folder_index.h"

namespace ringmail::storage {

inline constexpr std::string_view kIndexMagic = "RMINDEX3";
inline constexpr uint32_t kIndexVersion = 3;

class IndexImage {
 public:
  // Owner token length (NewUidlistGuid(): 32 hex digits).
  static constexpr size_t kTokenLength = 32;

  // A mapped file's identity, for ColdVerified.
  struct FileId {
    uint64_t dev = 0, ino = 0, size = 0;
    int64_t mtime_ns = 0;
    bool operator==(const FileId&) const = default;
    template <typename H>
    friend H AbslHashValue(H h, const FileId& f) {
      return H::combine(std::move(h), f.dev, f.ino, f.size, f.mtime_ns);
    }
  };

  // BLOCKING: maps the file open as `fd` (not kept) and checks the header
  // and the hot columns. DataLoss on any corruption or a message count
  // above `max_messages`.
  static absl::StatusOr<std::shared_ptr<const IndexImage>> MapFd(int fd,
                                                                 size_t max_messages);
  // The same from bytes in memory (copied), for tests and for the
  // migration path.
  static absl::StatusOr<std::shared_ptr<const IndexImage>> FromBytes(
      std::string_view data, size_t max_messages);
  ~IndexImage();
  IndexImage(const IndexImage&) = delete;
  IndexImage& operator=(const IndexImage&) = delete;

  // BLOCKING (reads every page): checks the cold columns' checksums and
  // the file names' offsets. DataLoss when damaged. On success the file is
  // remembered as checked (see ColdVerified).
  absl::Status VerifyColdBlocking() const;
  // Whether this file's cold columns are known to be intact: this process
  // wrote it, or checked it since it was written. Remembered per file
  // (device, inode, size, mtime) for the process's lifetime, bounded, so a
  // folder reopened again and again is checked once. Thread-safe.
  bool ColdVerified() const;
  void MarkColdVerified() const;
  // BLOCKING (a syscall whose cost grows with the pages mapped): drops this
  // process's page-table entries for the file (madvise MADV_DONTNEED). The
  // pages stay in the page cache and the next access maps them again (a
  // minor fault); until then they are not part of the process's memory.
  // For a folder nobody reads (and after VerifyColdBlocking, which reads
  // every page).
  void ReleasePages() const;

  size_t count() const { return count_; }
  uint32_t uid_validity() const { return uid_validity_; }
  uint32_t next_uid() const { return next_uid_; }
  uint64_t highest_modseq() const { return highest_modseq_; }
  uint64_t complete_from() const { return complete_from_; }
  const std::string& close_token() const { return close_token_; }
  const DirStamp& new_stamp() const { return new_stamp_; }
  const DirStamp& cur_stamp() const { return cur_stamp_; }
  const DirStamp& uidlist_stamp() const { return uidlist_stamp_; }
  size_t file_bytes() const { return len_; }

  // Hot columns (checked by Map), by row (< count()).
  uint32_t uid(size_t row) const { return Load<uint32_t>(kUids, row); }
  uint8_t bits(size_t row) const { return Load<uint8_t>(kBits, row); }
  uint32_t keywords(size_t row) const { return Load<uint32_t>(kKeywords, row); }
  uint64_t modseq(size_t row) const { return Load<uint64_t>(kModSeqs, row); }
  // Appends the hot columns to the vectors (empty on entry), checking each
  // one's CRC-32C and values (UIDs strictly ascending below UIDNEXT, no
  // unknown flag bit, mod-sequences in 1..H) in the same pass over the
  // copy: DataLoss on any violation.
  absl::Status CopyHotColumns(std::vector<uint32_t>* uids, std::vector<uint8_t>* bits,
                              std::vector<uint32_t>* keywords,
                              std::vector<uint64_t>* modseqs) const;
  // The expunge log as stored (checked by Map).
  const ExpungeLog& expunges() const { return expunges_; }

  // Cold columns, by row (< count()).
  int64_t date(size_t row) const { return Load<int64_t>(kDates, row); }
  uint64_t size(size_t row) const { return Load<uint64_t>(kSizes, row); }
  uint64_t vsize(size_t row) const { return Load<uint64_t>(kVsizes, row); }
  // Empty when the offsets are out of bounds (a damaged file).
  std::string_view name(size_t row) const;

  // Section numbers, in file order.
  enum Section : int {
    kUids, kBits, kKeywords, kModSeqs, kDates, kSizes, kVsizes,
    kNameOffsets, kNames, kExpunges, kSectionCount
  };

 private:
  IndexImage() = default;
  static absl::StatusOr<std::shared_ptr<const IndexImage>> Parse(
      std::shared_ptr<IndexImage> img, size_t max_messages);
  // memcpy: the bytes were written as chars (or come from the kernel), so
  // they are read without type punning; it compiles to one load.
  template <typename T>
  T Load(Section s, size_t row) const {
    T v;
    std::memcpy(&v, data_ + sections_[s].offset + row * sizeof(T), sizeof(T));
    return v;
  }

  struct SectionInfo {
    uint64_t offset = 0;
    uint64_t bytes = 0;
    uint32_t crc = 0;
  };
  const char* data_ = nullptr;
  size_t len_ = 0;
  std::optional<FileId> file_id_;  // mapped files only
  bool mapped_ = false;  // else data_ points into owned_
  std::string owned_;
  size_t count_ = 0;
  uint32_t uid_validity_ = 0;
  uint32_t next_uid_ = 1;
  uint64_t highest_modseq_ = 1;
  uint64_t complete_from_ = 0;
  std::string close_token_;
  DirStamp new_stamp_, cur_stamp_, uidlist_stamp_;
  SectionInfo sections_[kSectionCount];
  ExpungeLog expunges_;
};

// BLOCKING: writes `save` as a version 3 file to `fd` (from offset 0) with
// `close_token` as owner token (empty: none).
absl::Status WriteIndexImageToFd(int fd, const IndexSave& save,
                                 std::string_view close_token);
// The same into memory (tests, FolderIndex::Serialize).
std::string IndexImageBytes(const IndexSave& save, std::string_view close_token);

// The text formats (versions 1 and 2), read for migration only.
bool IsTextIndex(std::string_view data);
absl::StatusOr<FolderIndex> ParseTextIndex(std::string_view data, size_t max_messages);

}  // namespace ringmail::storage

#endif  // RINGMAIL_STORAGE_MAILBOX_INDEX_FILE_H_
