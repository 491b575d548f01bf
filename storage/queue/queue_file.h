// The queue file: one message waiting for outbound delivery, as stored in
// `<spool>/c<N>/new/<name>` (docs/queue.md). Pure encoding and parsing of
// its envelope prefix; no I/O; thread-safe.
//
// A queue file is prefix + content. The prefix is
//
//   "RMQ1 " <decimal length of the rest of the prefix> LF
//   "id " <v> LF  "arrival " <unix micros> LF  "sender " <v> LF
//   "ret " <v> LF  "envid " <v> LF  "8bit " 0|1 LF  "smtputf8 " 0|1 LF
//   "client " <v> LF  "helo " <v> LF  "auth " <v> LF  "dsn " 0|1 LF
//   ("rcpt " <address> " " <notify> " " <orcpt> LF)+     (index = order)
//
// where every <v> is escaped (queue_text.h: "+XX" for space, controls, DEL
// and '+'), so it never holds a space or LF and may be empty. Each key
// appears exactly once (any order; the encoder uses this one), at least one
// rcpt. The content — the Received field and the message, LF line endings —
// starts right after the prefix. The length in the first line lets a reader
// fetch exactly the prefix without scanning the content.
#ifndef RINGMAIL_STORAGE_QUEUE_QUEUE_FILE_H_
#define RINGMAIL_STORAGE_QUEUE_QUEUE_FILE_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace ringmail::storage::queue {

// Whole prefix, first line included. Note DeliveryOptions::
// max_header_prefix_bytes (64 KiB by default) also bounds the prefix plus
// the Received field when the file is written through the DeliveryQueue.
inline constexpr size_t kMaxQueuePrefixBytes = 1 << 20;
inline constexpr size_t kMaxQueueRecipients = 10'000;
// Any single decoded value (address, ORCPT, ENVID, HELO, ...).
inline constexpr size_t kMaxQueueValueBytes = 4096;
// "RMQ1 " + at most 7 digits (kMaxQueuePrefixBytes) + LF; a reader that
// has this many bytes always knows the prefix length.
inline constexpr size_t kQueueFirstLineMaxBytes = 5 + 7 + 1;
// What LoadCoreSpool reads first; larger prefixes cost a second pread.
inline constexpr size_t kQueuePrefixReadBytes = 4096;

struct QueueRecipient {
  std::string address;  // forward path without <>, e.g. "bob@example.org"
  std::string notify;   // RFC 3461 NOTIFY as given ("" = not given)
  std::string orcpt;    // RFC 3461 ORCPT as given, "rfc822;..." ("" = none)

  bool operator==(const QueueRecipient&) const = default;
};

struct QueueEnvelope {
  std::string id;          // queue id shown in logs and ringctl; not empty
  absl::Time arrival;      // when the message was accepted (microseconds)
  std::string sender;      // reverse path without <>; "" = null sender
  std::string ret;         // RFC 3461 RET ("FULL", "HDRS" or "")
  std::string envid;       // RFC 3461 ENVID ("" = none)
  bool eight_bit = false;  // BODY=8BITMIME
  bool smtputf8 = false;   // SMTPUTF8 (RFC 6531)
  std::string client_ip;
  std::string helo;
  std::string auth_user;   // "" = not authenticated
  bool is_dsn = false;     // a bounce/DSN we generated: never bounce it
  std::vector<QueueRecipient> recipients;

  bool operator==(const QueueEnvelope&) const = default;
};

// OK if `env` can be stored and read back: non-empty id, finite arrival,
// 1..kMaxQueueRecipients recipients with non-empty addresses, every value
// at most kMaxQueueValueBytes, the encoded prefix at most
// kMaxQueuePrefixBytes. InvalidArgument naming the problem otherwise.
absl::Status CheckQueueEnvelope(const QueueEnvelope& env);

// The prefix for `env`. Requires CheckQueueEnvelope(env).ok() (a prefix
// that breaks a limit would be refused by ParseQueuePrefix and the file
// moved aside at the next start).
std::string EncodeQueuePrefix(const QueueEnvelope& env);

// The total prefix length (== content offset) announced by the first line
// of `head`, the first bytes of a file. OutOfRange("need N bytes") when
// `head` is a valid but incomplete first line; InvalidArgument when it is
// not a queue file or announces more than kMaxQueuePrefixBytes.
absl::StatusOr<size_t> QueuePrefixSize(std::string_view head);

struct ParsedPrefix {
  QueueEnvelope envelope;
  size_t content_offset = 0;
};

// Parses the prefix at the start of `head` (more bytes after it are
// ignored). OutOfRange("need N bytes") when `head` is shorter than the
// prefix — read N bytes and call again; InvalidArgument (the file is
// corrupt: data loss) on any grammar error or broken limit.
absl::StatusOr<ParsedPrefix> ParseQueuePrefix(std::string_view head);

}  // namespace ringmail::storage::queue

#endif  // RINGMAIL_STORAGE_QUEUE_QUEUE_FILE_H_
