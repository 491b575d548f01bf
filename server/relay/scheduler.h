// The outbound queue of one core, in memory: which recipients of which
// message go to which destination domain and when, the per-destination
// shaping (concurrent sessions, messages per session, messages per minute,
// back-off), retries, expiry and what must be reported to the sender.
//
// Pure bookkeeping: no I/O and no clock of its own (callers pass `now`), so
// tests drive it with fake time. The relay service does the I/O and feeds
// results back; every decision that must reach the disk comes back as
// StateRecords in an Outcome, which the service appends to the state log.
//
// Ownership: the Scheduler owns its Messages. A Job names a message by its
// sequence number; if the message is deleted while the job runs, Complete
// quietly ignores the job.
#ifndef RINGMAIL_SERVER_RELAY_SCHEDULER_H_
#define RINGMAIL_SERVER_RELAY_SCHEDULER_H_

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <queue>
#include <string>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "server/config.h"
#include "storage/queue/queue_file.h"
#include "storage/queue/state_record.h"

namespace ringmail::server::relay {

using storage::queue::QueueEnvelope;
using storage::queue::RecipientState;
using storage::queue::RecipientStatus;
using storage::queue::StateRecord;

// Message::file_bytes when the length is not known (reads stop at EOF).
inline constexpr uint64_t kUnknownFileBytes = UINT64_MAX;

struct Message {
  uint64_t seq = 0;        // in-memory handle, never reused
  std::string file;        // name in the core's spool new/
  QueueEnvelope env;
  size_t content_offset = 0;
  uint64_t file_bytes = 0;
  uint64_t size = 0;       // CRLF octets when known (SIZE=), else 0
  std::vector<RecipientStatus> rcpts;
  std::vector<bool> in_flight;  // per recipient: a session is sending it
  bool held = false;
  bool delay_warned = false;
  bool removing = false;   // finished; waiting for the removal record
  // Earliest next_attempt among waiting recipients, as last scheduled.
  absl::Time wake = absl::InfiniteFuture();
};

// One unit of sending: recipients of one message at one domain.
struct Job {
  uint64_t seq = 0;
  std::string domain;
  std::vector<uint32_t> rcpts;
};

// What happened to one recipient of a Job, as the SMTP client saw it.
struct RecipientResult {
  enum class Kind : uint8_t { kDelivered, kDeferred, kFailed };
  Kind kind = Kind::kDeferred;
  std::string reply;        // one line: "550 5.1.1 <x>: no such user"
  std::string status;       // RFC 3463 code, e.g. "5.1.1"
  std::string remote_host;  // MX host that answered, or ""
  bool remote_has_dsn = false;  // the server took our NOTIFY/ORCPT itself
};

// A DSN the service must generate and send to the message's sender.
struct DsnRequest {
  enum class Kind : uint8_t { kFailed, kDelayed, kRelayed };
  uint64_t seq = 0;
  Kind kind = Kind::kFailed;
  std::vector<uint32_t> rcpts;
  std::vector<RecipientResult> results;  // parallel to rcpts
};

// Consequences of Complete/Tick the service must carry out, in order:
// append `records` (and wait for them to be durable before acting on
// `remove`), generate `dsns`, then unlink the finished messages.
struct Outcome {
  std::vector<StateRecord> records;
  std::vector<DsnRequest> dsns;
  std::vector<uint64_t> finished;  // every recipient final: remove
};

struct DestinationStats {
  std::string domain;
  size_t queued_recipients = 0;
  size_t active_sessions = 0;
  absl::Time oldest = absl::InfiniteFuture();
  absl::Time backoff_until = absl::InfinitePast();
  std::string last_error;
};

class Scheduler {
 public:
  // `config` must outlive the scheduler.
  explicit Scheduler(const RelayConfig* config);

  // Adds a message (accepted now or loaded from the spool). Recipients in
  // a final state stay final. Returns its sequence number.
  uint64_t Add(std::string file, QueueEnvelope env, size_t content_offset,
               uint64_t file_bytes, uint64_t size,
               std::vector<RecipientStatus> rcpts, bool held, bool delay_warned,
               absl::Time now);

  // Moves recipients whose retry time has come to their domains' ready
  // lists. Call when NextWake() has passed. (Expiry is decided when an
  // attempt fails: retries are clamped to the expiry time, so the last
  // attempt happens at it.)
  void Tick(absl::Time now);
  absl::Time NextWake() const;

  // Domains that have ready work and may open another session now.
  std::vector<std::string> DomainsToStart(absl::Time now);
  // When the earliest rate-limited or backed-off domain may start again.
  // (Only times after `now`; InfiniteFuture when nothing waits on time.)
  absl::Time NextDomainWake(absl::Time now) const;

  // Session accounting for `domain` (OpenSession before connecting,
  // CloseSession when it is gone).
  void OpenSession(const std::string& domain);
  void CloseSession(const std::string& domain);
  // Whether a session to `domain` that has sent `sent` messages may take
  // another job now (per-connection and per-minute limits, back-off).
  bool MayTakeJob(const std::string& domain, uint32_t sent, absl::Time now) const;
  // The next ready job for `domain`, or nullopt. Charges the rate limit.
  std::optional<Job> TakeJob(const std::string& domain, absl::Time now);

  // A job's results (parallel to job.rcpts).
  Outcome Complete(const Job& job, const std::vector<RecipientResult>& results,
                   absl::Time now);
  // Every session attempt to `domain` failed before any transaction (DNS,
  // connect, greeting): the domain's ready recipients are deferred (or
  // failed, when `permanent`, e.g. NXDOMAIN or a null MX).
  Outcome FailDomain(const std::string& domain, const RecipientResult& why,
                     absl::Time now);
  // The service reports that a 421 ended a session to `domain`.
  void BackOff(const std::string& domain, const std::string& why, absl::Time now);

  // Administration (ringctl). Each returns the records to append.
  Outcome Delete(uint64_t seq);
  Outcome SetHeld(uint64_t seq, bool held, absl::Time now);
  // Makes every waiting recipient (of `domain`, or all when empty) due now.
  void Flush(const std::string& domain, absl::Time now);
  // The message record was appended durably and the file unlinked.
  void Forget(uint64_t seq);

  const Message* Find(uint64_t seq) const;
  const Message* FindById(std::string_view id) const;
  // Messages in file order after `after` (paging for ringctl list).
  std::vector<const Message*> Page(std::string_view after, size_t limit) const;
  std::vector<DestinationStats> Stats(absl::Time now) const;
  size_t message_count() const { return by_seq_.size(); }
  const RelayPolicy& PolicyFor(const std::string& domain) const;

  // The domain part of a recipient address, lower-cased.
  static std::string DomainOf(std::string_view address);

 private:
  struct Destination {
    std::string domain;
    const RelayPolicy* policy = nullptr;
    std::deque<uint64_t> ready;   // message seqs with due recipients here
    size_t active = 0;            // open sessions
    absl::Time next_send = absl::InfinitePast();  // rate limit spacing
    absl::Time backoff_until = absl::InfinitePast();
    uint32_t deferrals_in_a_row = 0;
    std::string last_error;
  };
  struct Wake {
    absl::Time when;
    uint64_t seq;
    bool operator>(const Wake& o) const {
      return when != o.when ? when > o.when : seq > o.seq;
    }
  };

  Destination& Dest(const std::string& domain);
  // Puts `m`'s due recipients on their domains' ready lists and schedules
  // a wake-up for the others.
  void Schedule(Message* m, absl::Time now);
  bool Due(const Message& m, size_t i, absl::Time now) const;
  absl::Duration RetryDelay(uint32_t attempts) const;
  // Applies one recipient result; adds records and DSN entries.
  void Apply(Message* m, uint32_t rcpt, const RecipientResult& r,
             absl::Time now, Outcome* out, DsnRequest* failed,
             DsnRequest* delayed, DsnRequest* relayed);
  void FinishIfDone(Message* m, Outcome* out);
  static bool Notify(const Message& m, size_t i, std::string_view what);
  StateRecord RecipientRecord(const Message& m, uint32_t i) const;
  void EmitDsns(Message* m, DsnRequest failed, DsnRequest delayed,
                DsnRequest relayed, Outcome* out);

  const RelayConfig* config_;
  uint64_t next_seq_ = 1;
  absl::flat_hash_map<uint64_t, std::unique_ptr<Message>> by_seq_;
  absl::btree_map<std::string, uint64_t> by_file_;
  absl::flat_hash_map<std::string, uint64_t> by_id_;
  absl::flat_hash_map<std::string, Destination> dests_;
  absl::flat_hash_map<std::string, RelayPolicy> policies_;
  size_t active_total_ = 0;
  std::priority_queue<Wake, std::vector<Wake>, std::greater<>> wakes_;
};

}  // namespace ringmail::server::relay

#endif  // RINGMAIL_SERVER_RELAY_SCHEDULER_H_
