// Per-core delivery journal (write-ahead log): its on-disk layout, the
// header and record codec, and the scanner. See docs/durability.md.
//
// One preallocated, zero-filled ring file per core:
// <data_dir>/journal/core-<N>.wal. In `durability = "journal"` mode a
// delivered message is made durable by appending one record per target
// (Maildir, final new/ name, full file content) to the ring and issuing ONE
// fdatasync per batch; the Maildir files themselves are written without
// fsync and made durable later, in bulk, by a checkpoint (syncfs), which
// then retires the records.
//
// File layout (all integers little-endian; x86-64/aarch64 hosts):
//   [0, 4096)       header block: two 48+4-byte header slots at 0 and 2048,
//                   written alternately (generation parity); the valid slot
//                   with the highest generation wins, so a torn header
//                   write never loses the previous checkpoint.
//   [4096, size)    the ring of records. A record never straddles the end:
//                   a "wrap" record (or, when fewer than 32 bytes are left,
//                   nothing) sends the reader back to offset 4096.
// Header slot: magic "RRMH", version, file_size, epoch, checkpoint offset
// (physical), checkpoint seq, generation, CRC32C.
// Record: magic "RRMJ", version, type (1 message, 2 wrap), length (8-aligned,
// whole record), CRC32C (over the record with the CRC field zeroed; for a
// wrap record over its 32-byte header only), epoch, seq, then for a message
// u32 maildir_len, u32 name_len, u64 content_len, maildir, name, content.
//
// The valid log is the chain of records that starts at the checkpoint
// (offset, seq), each with the header's epoch and seq = previous + 1, a
// good CRC and a sane length. The first record that breaks the chain ends
// the log (a torn tail after a crash is expected). Every start-up bumps the
// epoch and resets the checkpoint, so records of earlier runs can never be
// mistaken for new ones.
//
// The journal's other parts: journal_recovery.h (blocking start-up:
// replay, reset, open), journal_writer.h (the runtime writer, one per
// core), journal_sync.h (making the Maildir files durable for a
// checkpoint).
//
// Pure functions, thread-safe.
#ifndef RINGMAIL_STORAGE_MAILDIR_JOURNAL_FORMAT_H_
#define RINGMAIL_STORAGE_MAILDIR_JOURNAL_FORMAT_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "storage/maildir/errors.h"

namespace ringmail::storage {

inline constexpr uint64_t kJournalHeaderBytes = 4096;
// Offset of the second header slot (the first is at 0).
inline constexpr uint64_t kJournalHeaderSlot1 = 2048;
inline constexpr uint64_t kJournalRecordHeaderBytes = 32;
inline constexpr uint64_t kJournalMinSize = 1 << 20;
inline constexpr uint64_t kJournalDefaultSize = 64 << 20;

// One record to append: the file `<maildir>/new/<name>` whose content is
// prefix + body.
struct JournalRecordRef {
  std::string_view maildir;
  std::string_view name;
  std::string_view prefix;
  std::string_view body;
};
// Bytes the record occupies in the ring (header + payload, 8-aligned).
uint64_t JournalRecordSize(const JournalRecordRef& r);

// A decoded record (recovery, tests).
struct JournalRecord {
  uint64_t seq = 0;
  uint64_t offset = 0;  // physical offset in the file
  std::string maildir;
  std::string name;
  std::string content;
};

// The durable state of a journal file, as read from its header.
struct JournalFile {
  int fd = -1;  // O_RDWR; owned by whoever holds this
  uint64_t file_size = 0;
  uint64_t epoch = 0;
  uint64_t checkpoint_offset = kJournalHeaderBytes;  // physical
  uint64_t checkpoint_seq = 0;
  uint64_t generation = 0;
};

// "<data_dir>/journal/core-<N>.wal".
std::string JournalPath(std::string_view data_dir, int core);

// Encodes a header slot (52 bytes used of the slot; `f.fd` is not part of
// it) / decodes one: false unless `slot` starts with a header of this
// version whose CRC is good and whose sizes are sane (file_size at least
// kJournalMinSize, checkpoint_offset within [kJournalHeaderBytes,
// file_size]); *out is left alone then.
std::string EncodeJournalHeader(const JournalFile& f);
bool DecodeJournalHeader(std::string_view slot, JournalFile* out);

// The header of a whole-file image or of its header block: the valid slot
// (at 0 or kJournalHeaderSlot1) with the higher generation (slot 0 on a
// tie). False if neither slot is valid. `slot_offset`, if given, gets the
// picked slot's offset (0 or kJournalHeaderSlot1).
bool PickJournalHeader(std::string_view block, JournalFile* out,
                       uint64_t* slot_offset = nullptr);

// Appends the record for `r` (JournalRecordSize(r) octets, zero-padded,
// CRC set) with `epoch` and `seq` to *out.
void AppendJournalMessageRecord(std::string* out, const JournalRecordRef& r,
                                uint64_t epoch, uint64_t seq);
// Appends a wrap record (kJournalRecordHeaderBytes octets, CRC over them)
// whose length field says `length`: the rest of the ring up to its end,
// which the reader skips.
void AppendJournalWrapRecord(std::string* out, uint64_t length, uint64_t epoch,
                             uint64_t seq);

// For the kJournalRecordHeaderBytes octets `header` read at physical
// `offset` of the journal `f`: if they are the header of a record of f's
// epoch with sequence number `seq`, a known type and a length that is
// 8-aligned and fits between `offset` and the end of the file, the number
// of octets from `offset` that its CRC covers (the whole record for a
// message, the header for a wrap); otherwise 0. The CRC is not checked.
uint64_t JournalRecordCrcSpan(std::string_view header, const JournalFile& f,
                              uint64_t offset, uint64_t seq);
// Whether `record` (the JournalRecordCrcSpan octets of a record) holds
// the CRC-32C of itself with its CRC field zeroed.
bool JournalRecordCrcOk(std::string_view record);

// Every valid record after the checkpoint of the journal image `file`
// (whole file content) whose header is `hdr`, in order. The first record
// that breaks the chain ends the log (logged through `log`, if set, with
// the reason); the size fields of a message record are checked against
// the record's length before they are read, so any image is safe to scan.
std::vector<JournalRecord> ScanJournal(std::string_view file,
                                       const JournalFile& hdr,
                                       const LogFn& log);

}  // namespace ringmail::storage

#endif  // RINGMAIL_STORAGE_MAILDIR_JOURNAL_FORMAT_H_
