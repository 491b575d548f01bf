// IMAP THREAD (RFC 5256 §4): command parsing, per-message thread data from
// header values, the ORDEREDSUBJECT and REFERENCES algorithms and the
// "* THREAD" response. Pure: the server gathers the header values.
#ifndef RINGMAIL_PROTOCOLS_IMAP_THREAD_H_
#define RINGMAIL_PROTOCOLS_IMAP_THREAD_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "protocols/imap/arg.h"
#include "protocols/imap/args.h"
#include "protocols/imap/search.h"
#include "protocols/imap/sort.h"

namespace ringmail::imap {

// Message ids kept from one References value: the first and the last
// kMaxThreadReferences - 1 (the truncation RFC 5322 §3.6.4 suggests to
// MUAs; step 1 of REFERENCES is written to cope with it).
inline constexpr size_t kMaxThreadReferences = 64;
// Parent-pointer steps REFERENCES may take, in total, checking that a link
// would not make a loop (§4 step 1A/1B). Past it, links that need a check
// are not made: hostile References chains degrade the threading, not the
// server. Ordinary mailboxes take a few steps per message.
inline constexpr uint64_t kMaxThreadLinkSteps = 64ull << 20;

enum class ThreadAlgorithm : uint8_t { kOrderedSubject, kReferences };

struct ThreadCommand {
  ThreadAlgorithm algorithm = ThreadAlgorithm::kReferences;
  SearchProgram search;
};

// args: thread-alg SP charset 1*(SP search-key). An algorithm other than
// ORDEREDSUBJECT or REFERENCES is kBad ("Unknown thread algorithm");
// charsets as for SORT.
SearchStatus ParseThread(ArgList args, ThreadCommand* out, ArgError* err);

// One message to be threaded. The caller sets seq and number;
// FillThreadRecord sets the rest.
struct ThreadRecord {
  uint32_t seq = 0;        // mailbox order: the tie-breaker of §2.2
  uint32_t number = 0;     // reported: sequence number or UID
  int64_t sent = 0;        // §2.2 sent date
  std::string base_subject;  // §2.1, upper-cased
  bool reply_or_forward = false;
  // REFERENCES only: the first valid Message-ID ("" if none) and the ids of
  // References, oldest first, or else the first id of In-Reply-To.
  std::string message_id;
  std::vector<std::string> references;
};
void FillThreadRecord(ThreadAlgorithm algorithm, const SortHeaders& headers,
                      int64_t internal_date, ThreadRecord* record);
// Octets a record holds (for the caller's memory budget).
size_t ThreadRecordBytes(const ThreadRecord& record);

// A thread forest in response order: nodes linked by index. A node whose
// number is kDummy stands for a message that is not in the result (only
// at the top level, with at least two children, as §4 step 3 leaves them).
struct ThreadForest {
  static constexpr uint32_t kDummy = 0;
  struct Node {
    uint32_t number = kDummy;
    int32_t first_child = -1;
    int32_t next_sibling = -1;
  };
  std::vector<Node> nodes;
  std::vector<int32_t> roots;  // top-level threads, in order
};

// ORDEREDSUBJECT: messages grouped by base subject, each group a thread
// whose first message (by sent date) is the parent of all the others, in
// sent-date order; threads ordered by the date of their first message.
ThreadForest ThreadOrderedSubject(const std::vector<ThreadRecord>& records);

// REFERENCES: §4 steps 1-6 (parent/child links from References or
// In-Reply-To with dummies for missing ids, pruning, subject merging of
// top-level threads, siblings sorted by sent date). `max_link_steps`: see
// kMaxThreadLinkSteps. The records must be in ascending seq order (the
// first of messages sharing a Message-ID keeps it, §4 step 1A).
ThreadForest ThreadReferences(const std::vector<ThreadRecord>& records,
                              uint64_t max_link_steps = kMaxThreadLinkSteps);

// The thread-list text: "(2)(3 6 (4 23)(44 7 96))", "" for no threads.
// Iterative: chains of any depth need no stack.
std::string FormatThreads(const ThreadForest& forest);
// "* THREAD (2)(3 6 (4 23)(44 7 96))\r\n"; "* THREAD\r\n" when empty.
void AppendThread(std::string* out, const ThreadForest& forest);

}  // namespace ringmail::imap

#endif  // RINGMAIL_PROTOCOLS_IMAP_THREAD_H_
