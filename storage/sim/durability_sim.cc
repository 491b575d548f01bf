// The durability simulation (durability_sim.h). Layout of this file:
//   Config      what a seed chooses
//   World       the simulated machine, the oracle's knowledge, one run
//     Boot      the real start-up sequence through SimBlockingFs
//     Check*    the invariants after a start-up
//     Epoch     the workload until the power cut (or a graceful shutdown)
//   RunSeeds    one child process per seed
#include "storage/sim/durability_sim.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "engine/testing/sim_fs.h"
#include "storage/maildir/delivery_queue.h"
#include "storage/maildir/journal_format.h"
#include "storage/maildir/journal_recovery.h"
#include "storage/maildir/maildir_name.h"
#include "storage/maildir/recovery.h"
#include "storage/queue/queue_file.h"
#include "storage/queue/spool.h"
#include "storage/queue/spool_layout.h"
#include "storage/queue/state_log.h"
#include "storage/queue/state_record.h"

namespace ringmail::storage::sim {
namespace {

using engine::testing::SimBlockingFs;
using engine::testing::SimCutMode;
using engine::testing::SimCutModeName;
using engine::testing::SimFaults;
using engine::testing::SimFileIo;
using engine::testing::SimFs;
using engine::testing::SimLoop;
using engine::testing::SimRng;
using queue::IsFinal;
using queue::LoadedMessage;
using queue::RecipientState;
using queue::RecipientStatus;
using queue::StateRecord;

constexpr char kDataDir[] = "/var/ringmail";
constexpr char kMailRoot[] = "/mail";
constexpr char kAttemptTag[] = "X-Sim-Attempt: ";
constexpr uint64_t kJournalSize = 1 << 20;
constexpr uint64_t kMaxStepsPerEpoch = 4'000'000;
constexpr size_t kMaxLogLines = 400;

std::string UserMaildir(int u) {
  return absl::StrCat(kMailRoot, "/example.com/u", u, "/Maildir");
}

// ---- Config

struct Config {
  bool journal = true;
  bool tmpfile = true;
  size_t chunk_size = 4096;
  size_t max_chunks = 8;
  absl::Duration commit_delay;
  size_t max_batch = 256;
  size_t max_dir_fds = 64;
  uint64_t journal_max_msg = 512 << 10;
  size_t batches_in_flight = 4;
  absl::Duration checkpoint = absl::Seconds(1);
  size_t state_batch_bytes = 256 << 10;
  int users = 4;
  int sessions = 3;
  int messages = 30;  // per session and epoch, at most
  int epochs = 2;
  double relay_share = 0.3;
  double abort_share = 0.05;
  // relay.queue_dir: under the data directory (the default) or elsewhere
  // (then the spool's creation no longer syncs the data directory).
  std::string queue_root = "/var/ringmail/queue";
  // Failures injected into start-up's blocking calls (on half of the
  // start-ups, or on all with boot_fault_always).
  double boot_fault = 0;
  bool boot_fault_always = false;
  // Sessions that send several pieces at once (back-pressure kicks in).
  bool bursty = false;
  std::string fault_profile = "none";
  SimFaults faults;

  template <typename T>
  static T Pick(SimRng& rng, std::initializer_list<T> options) {
    return *(options.begin() + rng.Below(options.size()));
  }

  static Config Draw(SimRng& rng) {
    Config c;
    c.journal = rng.Chance(0.7);
    c.tmpfile = c.journal && rng.Chance(0.75);
    c.chunk_size = Pick<size_t>(rng, {512, 4096, 65536});
    c.max_chunks = Pick<size_t>(rng, {1, 2, 8});
    c.commit_delay = Pick(rng, {absl::ZeroDuration(), absl::Milliseconds(1)});
    c.max_batch = Pick<size_t>(rng, {1, 4, 256});
    c.max_dir_fds = Pick<size_t>(rng, {1, 2, 64});
    c.journal_max_msg = Pick<uint64_t>(rng, {4096, 64 << 10, 512 << 10});
    c.batches_in_flight = Pick<size_t>(rng, {1, 2, 4});
    c.checkpoint = Pick(rng, {absl::Milliseconds(2), absl::Milliseconds(20),
                              absl::Milliseconds(200), absl::Seconds(1)});
    c.state_batch_bytes = Pick<size_t>(rng, {200, 4096, 256 << 10});
    c.users = static_cast<int>(rng.Between(1, 4));
    c.sessions = static_cast<int>(rng.Between(1, 6));
    c.messages = static_cast<int>(rng.Between(1, 25));
    c.epochs = static_cast<int>(rng.Between(1, 4));
    c.bursty = rng.Chance(0.3);
    c.relay_share = Pick(rng, {0.0, 0.3, 0.8});
    c.queue_root = rng.Chance(0.5) ? "/var/ringmail/queue" : "/var/spool/rmq";
    switch (rng.Below(10)) {
      case 0: case 1: case 2: case 3:
        break;
      case 4: case 5: case 6: {
        c.fault_profile = "light";
        double p = 0.002;
        c.faults = {p, p, p, p, p, p, p};
        c.boot_fault = rng.Chance(0.5) ? 0.003 : 0;
        break;
      }
      case 7: case 8: {
        c.fault_profile = "heavy";
        double p = 0.02;
        c.faults = {p, p, p, p, p, p / 4, p};
        c.boot_fault = rng.Chance(0.5) ? 0.01 : 0;
        break;
      }
      default: {
        // Start-up under fire: every start-up gets errors (up to three
        // failed starts in a row), the runtime a few.
        c.fault_profile = "boot";
        double p = 0.004;
        c.faults = {p, p, p, p, p, p, p};
        c.boot_fault = 0.04;
        c.boot_fault_always = true;
        break;
      }
    }
    return c;
  }

  std::string Describe() const {
    return absl::StrCat(
        journal ? (tmpfile ? "journal+tmpfile" : "journal") : "fsync",
        " chunk=", chunk_size, " chunks=", max_chunks,
        " commit_delay=", absl::FormatDuration(commit_delay), " batch=", max_batch,
        " dirfds=", max_dir_fds, " jmax=", journal_max_msg,
        " inflight=", batches_in_flight,
        " checkpoint=", absl::FormatDuration(checkpoint),
        " statebatch=", state_batch_bytes, " users=", users,
        " sessions=", sessions, " messages=", messages, " epochs=", epochs,
        " relay=", relay_share, " queue=", queue_root, " faults=", fault_profile,
        boot_fault > 0 && !boot_fault_always ? "+boot" : "", bursty ? " bursty" : "");
  }
};

// ---- What the oracle knows

enum class Status { kInFlight, kAcked, kFailed, kAborted };
const char* StatusName(Status s) {
  switch (s) {
    case Status::kInFlight: return "in flight";
    case Status::kAcked: return "acknowledged (250)";
    case Status::kFailed: return "failed (4xx)";
    case Status::kAborted: return "aborted";
  }
  return "?";
}

// Whether a target's file may or must be present after the next start-up.
enum class Presence {
  kMaybe,     // not acknowledged (yet): 0 or 1 copies
  kMust,      // acknowledged, or found after a start-up: exactly 1
  kExpunged,  // removed by the IMAP client: 0 or 1 (un-expunge allowed)
  kGone,      // found absent after a start-up: never again
};

struct TargetInfo {
  std::string maildir;
  std::string prefix;
  bool queue = false;
  Presence presence = Presence::kMaybe;
  std::string name;      // the new/ name, once known
  std::string location;  // "new/<name>" or "cur/<name>:2,<flags>", "" unknown
  bool busy = false;     // an IMAP operation on it is in flight
};

struct Attempt {
  uint64_t id = 0;
  int epoch = 0;
  Status status = Status::kInFlight;
  std::string body;
  std::vector<TargetInfo> targets;
  std::string Content(size_t t) const { return targets[t].prefix + body; }
  int QueueTarget() const {
    for (size_t t = 0; t < targets.size(); ++t) {
      if (targets[t].queue) return static_cast<int>(t);
    }
    return -1;
  }
};

struct QueueMsg {
  uint64_t attempt = 0;
  std::vector<RecipientStatus> rcpts;  // state as appended
  std::vector<bool> durable_final;     // a final record was reported durable
  std::vector<int> sends;              // remote deliveries so far
  bool busy = false;
  bool frozen = false;  // unreadable at the last start-up: not scheduled
  bool removed_appended = false;
  bool removed_durable = false;
  bool unlinked = false;
  uint64_t unlink_checkpoints = 0;
};

std::optional<uint64_t> AttemptIdOf(std::string_view content) {
  size_t at = content.find(kAttemptTag);
  if (at == std::string_view::npos) return std::nullopt;
  at += sizeof(kAttemptTag) - 1;
  uint64_t id = 0;
  size_t digits = 0;
  while (at < content.size() && content[at] >= '0' && content[at] <= '9' && digits < 18) {
    id = id * 10 + static_cast<uint64_t>(content[at] - '0');
    ++at;
    ++digits;
  }
  if (digits == 0 || at >= content.size() || content[at] != '\n') return std::nullopt;
  return id;
}

std::string DescribeDiff(const std::string& got, const std::string& want) {
  size_t i = 0;
  while (i < got.size() && i < want.size() && got[i] == want[i]) ++i;
  return absl::StrCat(got.size(), " bytes, expected ", want.size(),
                      ", first difference at offset ", i);
}

// ---- The simulated machine and one run

class World {
 public:
  World(uint64_t seed, const SimRunOptions& options)
      : seed_(seed),
        options_(options),
        rng_(seed),
        fs_(&rng_),
        loop_(&rng_),
        io_(&fs_, &loop_),
        bfs_(&fs_),
        cfg_(Config::Draw(rng_)) {
    if (options_.trace_io) {
      loop_.set_trace([this](std::string_view e) { Log(absl::StrCat("  io ", std::string(e))); });
    }
  }

  SimRunResult Run() {
    Log(absl::StrCat("seed ", seed_, ": ", cfg_.Describe()));
    Setup();
    for (int epoch = 0; epoch <= cfg_.epochs && failure_.empty(); ++epoch) {
      if (!Boot(epoch)) break;
      if (!CheckAfterBoot()) break;
      if (epoch == cfg_.epochs) break;  // the last start-up is only checked
      Epoch(epoch);
    }
    SimRunResult r;
    r.ok = failure_.empty();
    r.failure = failure_;
    r.trace_hash = loop_.trace_hash();
    r.summary = absl::StrCat(
        cfg_.Describe(), " | steps=", loop_.steps(), " acked=", stats_.acked,
        " failed=", stats_.failed, " aborted=", stats_.aborted,
        " cuts=", stats_.cuts, " boot_cuts=", stats_.boot_cuts,
        " graceful=", stats_.graceful, " replayed=", stats_.replayed,
        " sends=", stats_.sends, " resent=", stats_.resent,
        " moves=", stats_.moves, " expunges=", stats_.expunges,
        " compactions=", stats_.compactions, " faults=", io_.faults_injected(),
        " boot_failures=", stats_.boot_failures, " set_aside=", stats_.set_aside,
        " journal_unusable=", stats_.fsync_mode_epochs);
    if (options_.verbose || !r.ok) {
      for (const std::string& l : log_lines_) absl::StrAppend(&r.log, l, "\n");
    }
    return r;
  }

 private:
  struct Session {
    int id = 0;
    int left = 0;
    std::unique_ptr<IncomingMessage> msg;
    uint64_t attempt = 0;
    size_t fed = 0;
    size_t abort_at = SIZE_MAX;
    bool retry = false;  // the current message is a retry of a failed one
    bool paused = false;  // waiting for the resume callback (back-pressure)
    bool finishing = false;  // Finish called, waiting for `done`
  };
  // What one run of "ringmaild" owns; after a power cut it is never
  // destroyed (its destructors would assert on work in flight, like a
  // process that died with it), only parked.
  struct Process {
    std::unique_ptr<DeliveryQueue> dq;
    std::unique_ptr<queue::StateLog> slog;
    std::vector<std::unique_ptr<Session>> sessions;
    int sessions_active = 0;
    int attempts_in_flight = 0;
    int imap_busy = 0;
    int relay_busy = 0;
    bool stopping = false;
    bool relay_stopped = false;
  };

  std::string SpoolDir() const { return queue::CoreSpoolDir(cfg_.queue_root, 0); }

  struct Stats {
    uint64_t acked = 0, failed = 0, aborted = 0, cuts = 0, boot_cuts = 0,
             graceful = 0, replayed = 0, sends = 0, resent = 0, moves = 0,
             expunges = 0, compactions = 0, boot_failures = 0, set_aside = 0,
             fsync_mode_epochs = 0;
  };

  // ---- logging and failures

  void Log(std::string line) {
    if (!options_.verbose && log_lines_.size() >= kMaxLogLines) log_lines_.pop_front();
    log_lines_.push_back(std::move(line));
  }
  LogFn StorageLog() {
    return [this](std::string_view line) { Log(absl::StrCat("  storage: ", std::string(line))); };
  }
  void Fail(std::string what) {
    if (!failure_.empty()) return;
    failure_ = absl::StrCat("epoch ", epoch_, ", step ", loop_.steps(), ": ", what);
    Log(absl::StrCat("VIOLATION: ", failure_));
  }
  bool failed() const { return !failure_.empty(); }

  // ---- set-up, power cuts

  void Setup() {
    fs_.set_now(loop_.now());
    fs_.Mkdir(AT_FDCWD, "/var", 0755);
    fs_.Mkdir(AT_FDCWD, kDataDir, 0700);
    fs_.Mkdir(AT_FDCWD, kMailRoot, 0755);
    fs_.Syncfs();
  }

  SimCutMode DrawCutMode() {
    switch (rng_.Below(3)) {
      case 0: return SimCutMode::kDropVolatile;
      case 1: return SimCutMode::kPrefix;
      default: return SimCutMode::kScatter;
    }
  }

  void PowerCut(std::string_view why) {
    SimCutMode mode = DrawCutMode();
    Log(absl::StrCat("power cut (", std::string(why), ", ", std::string(SimCutModeName(mode)),
                     ") at step ", loop_.steps(), ": ", fs_.Summary()));
    loop_.Clear();
    fs_.PowerCut(mode);
    if (options_.verbose) {
      std::string image;
      if (fs_.ReadFile(JournalPath(kDataDir, 0), &image)) {
        JournalFile h0, h1;
        std::string_view v(image);
        bool v0 = v.size() >= 64 && DecodeJournalHeader(v.substr(0, 64), &h0);
        bool v1 = v.size() >= 2048 + 64 && DecodeJournalHeader(v.substr(2048, 64), &h1);
        Log(absl::StrCat("  journal after the cut: ", image.size(), " bytes, slot 0 ",
                         v0 ? absl::StrCat("gen ", h0.generation, " epoch ", h0.epoch,
                                           " size ", h0.file_size)
                            : std::string("invalid"),
                         ", slot 1 ",
                         v1 ? absl::StrCat("gen ", h1.generation, " epoch ", h1.epoch,
                                           " size ", h1.file_size)
                            : std::string("invalid")));
      }
    }
    if (proc_ != nullptr) graveyard_.push_back(std::move(proc_));
    ++stats_.cuts;
    // Whatever was in flight is now "not answered".
    for (auto& [id, a] : attempts_) {
      if (a.status == Status::kInFlight) a.status = Status::kFailed;
      for (TargetInfo& t : a.targets) t.busy = false;
    }
    for (auto& [file, q] : queue_) q.busy = false;
    for (auto& [file, q] : queue_) q.frozen = false;
  }

  // ---- start-up

  // The start-up sequence of server/main.cc until it succeeds. A power cut
  // may end it early (then it starts again on what survived); an injected
  // error in a step that makes ringmaild exit (the spool, the state log)
  // ends it too, and the operator starts it again.
  bool Boot(int epoch) {
    epoch_ = epoch;
    int crashes = 0, exits = 0;
    for (;;) {
      fs_.set_now(loop_.now());
      bfs_.set_dead(false);
      const uint64_t base = bfs_.ops();
      if (crashes < 2 && rng_.Chance(0.3)) {
        uint64_t at = base + rng_.Between(1, 120);
        bfs_.set_op_hook([at](uint64_t op) { return op >= at; });
      } else {
        bfs_.set_op_hook(nullptr);
      }
      SimFaults faults;
      if (exits < 3 && cfg_.boot_fault > 0 && (cfg_.boot_fault_always || rng_.Chance(0.5))) {
        double p = cfg_.boot_fault;
        faults = {p, p, p, p, p, p, p};
      }
      bfs_.set_faults(faults);
      std::string err;
      bool ok = BootOnce(&err);
      bfs_.set_faults(SimFaults());
      if (bfs_.dead()) {
        ++crashes;
        ++stats_.boot_cuts;
        Log(absl::StrCat("start-up ", epoch, " cut short after ", bfs_.ops() - base,
                         " file-system calls"));
        bfs_.set_op_hook(nullptr);
        bfs_.set_dead(false);
        PowerCut("during start-up");
        continue;
      }
      bfs_.set_op_hook(nullptr);
      if (!ok && faults.any() && exits < 3) {
        ++exits;
        ++stats_.boot_failures;
        Log(absl::StrCat("start-up ", epoch, " exited (injected error): ", err));
        // ringmaild exited; its fds are gone. Sometimes the machine goes
        // down too before the restart.
        if (rng_.Chance(0.3)) {
          PowerCut("after a failed start-up");
        } else {
          fs_.CloseAll();
        }
        continue;
      }
      if (!ok) {
        Fail(absl::StrCat("start-up failed: ", err));
        return false;
      }
      return true;
    }
  }

  bool BootOnce(std::string* err) {
    LogFn log = StorageLog();
    slog_file_ = queue::StateLogFile();
    journal_file_ = JournalFile();
    loaded_.clear();
    journal_records_ = 0;
    // 1. journals (they may write files back into Maildirs and the spool)
    JournalDirOptions jopts;
    jopts.data_dir = kDataDir;
    jopts.journal_mode = cfg_.journal;
    jopts.cores = 1;
    jopts.journal_size = kJournalSize;
    jopts.now = loop_.now();
    const bool faults = bfs_faults_on();
    bool journal_failed = false;
    for (const JournalDirResult& r : RecoverJournalDir(jopts, log, bfs_)) {
      if (bfs_.dead()) return false;
      if (!r.set_aside.empty()) {
        ++stats_.set_aside;
        Log(absl::StrCat("journal recovery failed (", r.first_error.ToString(),
                         "); set aside as ", r.set_aside));
      }
      if (!r.stats.ok() || !r.set_aside.empty()) journal_failed = true;
      if (!r.first_error.ok() || !r.stats.ok()) {
        // ringmaild logs this and goes on; OpenJournalFile decides below.
        if (!faults) {
          *err = absl::StrCat("journal ", r.path, ": ",
                              (!r.first_error.ok() ? r.first_error : r.stats.status()).ToString());
          return false;
        }
        continue;
      }
      journal_records_ += r.stats->records;
      stats_.replayed += r.stats->replayed;
      Log(absl::StrCat("journal recovery: ", r.stats->records, " records, ",
                       r.stats->replayed, " replayed, ", r.stats->present, " present"));
    }
    if (bfs_.dead()) return false;
    ReadUnrecoveredJournals(journal_failed);
    // 2. stale tmp/ files (none is 36 hours old here: this only walks)
    auto rec = RecoverMailRoot(kMailRoot, loop_.now(), RecoveryLimits(), log, bfs_);
    if (bfs_.dead()) return false;
    if (!rec.ok() && !faults) {  // logged by ringmaild, never fatal
      *err = absl::StrCat("RecoverMailRoot: ", rec.status().ToString());
      return false;
    }
    // 3.-4. the spool
    queue::PrepareOptions popts;
    popts.log = log;
    popts.fs = &bfs_;
    popts.keep_removed_records = journal_failed;  // as server/main.cc
    absl::Status s = queue::PrepareSpool(cfg_.queue_root, 1, popts);
    if (bfs_.dead()) return false;
    if (!s.ok()) {
      *err = absl::StrCat("PrepareSpool: ", s.ToString());
      return false;
    }
    queue::LoadOptions lopts;
    lopts.log = log;
    lopts.fs = &bfs_;
    lopts.stats = &load_stats_;
    lopts.keep_removed_records = journal_failed;
    auto loaded = queue::LoadCoreSpool(cfg_.queue_root, 0, lopts);
    if (bfs_.dead()) return false;
    if (!loaded.ok()) {
      *err = absl::StrCat("LoadCoreSpool: ", loaded.status().ToString());
      return false;
    }
    loaded_ = std::move(*loaded);
    Log(absl::StrCat("spool loaded: ", load_stats_.messages, " messages, ",
                     load_stats_.records, " records, ", load_stats_.bad_records, " bad, ",
                     load_stats_.orphan_records, " orphan, ", load_stats_.removed_unlinked,
                     " removed files unlinked, ", load_stats_.tmp_removed, " tmp removed",
                     load_stats_.torn_tail ? ", torn tail" : ""));
    auto slog = queue::OpenStateLogFile(SpoolDir(), log, bfs_);
    if (bfs_.dead()) return false;
    if (!slog.ok()) {
      *err = absl::StrCat("OpenStateLogFile: ", slog.status().ToString());
      return false;
    }
    slog_file_ = *slog;
    if (cfg_.journal) {
      auto jf = OpenJournalFile(JournalPath(kDataDir, 0), kJournalSize, bfs_);
      if (bfs_.dead()) return false;
      if (jf.ok()) {
        journal_file_ = *jf;
      } else if (faults) {
        // As smtp_service.cc: the core runs in fsync mode.
        ++stats_.fsync_mode_epochs;
        Log(absl::StrCat("journal unusable (", jf.status().ToString(), "): fsync mode"));
      } else {
        *err = absl::StrCat("OpenJournalFile: ", jf.status().ToString());
        return false;
      }
    }
    return true;
  }

  bool bfs_faults_on() const { return bfs_.faults().any(); }

  // The files named by valid records of journals whose recovery did not
  // complete: every core-0.wal.unreplayed.* (set aside for the operator,
  // for good) and, if this start-up's recovery failed, core-0.wal itself
  // (replayed by the next start that succeeds). Until then such a file may
  // be missing or incomplete (docs/durability.md, "Recovery").
  void ReadUnrecoveredJournals(bool current_failed) {
    unrecovered_ = set_aside_;
    unrecovered_attempts_ = set_aside_attempts_;
    const std::string dir = absl::StrCat(kDataDir, "/journal");
    for (const std::string& name : fs_.List(dir)) {
      bool aside = name.find(".unreplayed.") != std::string::npos;
      if (!aside && !(current_failed && name == "core-0.wal")) continue;
      std::string image;
      if (!fs_.ReadFile(absl::StrCat(dir, "/", name), &image)) continue;
      JournalFile a, b;
      std::string_view v(image);
      bool va = v.size() >= 64 && DecodeJournalHeader(v.substr(0, 64), &a);
      bool vb = v.size() >= 2048 + 64 && DecodeJournalHeader(v.substr(2048, 64), &b);
      if (!va && !vb) continue;
      JournalFile hdr = (va && (!vb || a.generation >= b.generation)) ? a : b;
      for (const JournalRecord& r : ScanJournal(image, hdr, nullptr)) {
        std::optional<uint64_t> id = AttemptIdOf(r.content);
        if (aside) {
          set_aside_[{r.maildir, r.name}] = id.value_or(0);
          if (id) set_aside_attempts_.insert({*id, r.maildir});
        }
        unrecovered_[{r.maildir, r.name}] = id.value_or(0);
        ever_unrecovered_.insert({r.maildir, r.name});
        if (id) unrecovered_attempts_.insert({*id, r.maildir});
      }
    }
  }

  // ---- invariants after a start-up

  bool CheckAfterBoot() {
    if (expect_clean_journal_ && journal_records_ != 0) {
      Fail(absl::StrCat("after a graceful shutdown the journal still had ",
                        journal_records_, " records to replay (no final checkpoint)"));
    }
    expect_clean_journal_ = false;
    size_t expected_fds = 1 + (journal_file_.fd >= 0 ? 1 : 0);
    if (fs_.open_fds() != expected_fds) {
      Fail(absl::StrCat("start-up left ", fs_.open_fds(), " fds open, expected ",
                        expected_fds, " (state log, journal)"));
    }
    CheckMaildirs(/*after_boot=*/true);
    CheckQueue();
    Log(absl::StrCat("start-up ", epoch_, " checked: ", loaded_.size(),
                     " queued messages, ", fs_.Summary()));
    return !failed();
  }

  // Every file in new/ and cur/ of every user Maildir: complete, known,
  // named after its size. With `after_boot`, also presence and counts.
  void CheckMaildirs(bool after_boot) {
    std::map<std::pair<uint64_t, size_t>, std::vector<std::string>> found;
    for (int u = 0; u < cfg_.users && !failed(); ++u) {
      const std::string md = UserMaildir(u);
      for (const char* sub : {"new", "cur"}) {
        for (const std::string& name : fs_.List(absl::StrCat(md, "/", sub))) {
          std::string path = absl::StrCat(md, "/", sub, "/", name);
          std::string content;
          if (!fs_.ReadFile(path, &content)) {
            Fail(absl::StrCat(path, ": not a regular file"));
            return;
          }
          if ((unrecovered_.count({md, name.substr(0, name.find(":2,"))}) ||
                             unrecovered_attempts_.count(
                                 {AttemptIdOf(content).value_or(0), md}))) {
            // Its record waits in a journal that was not recovered: it
            // may be incomplete until then. Not counted.
            continue;
          }
          std::optional<uint64_t> id = AttemptIdOf(content);
          auto it = id ? attempts_.find(*id) : attempts_.end();
          if (it == attempts_.end()) {
            Fail(absl::StrCat("partial or unknown file visible: ", path, " (",
                              content.size(), " bytes)"));
            return;
          }
          Attempt& a = it->second;
          size_t t = 0;
          while (t < a.targets.size() && a.targets[t].maildir != md) ++t;
          if (t == a.targets.size()) {
            Fail(absl::StrCat(path, ": attempt ", a.id, " was not for this Maildir"));
            return;
          }
          const std::string want = a.Content(t);
          if (content != want) {
            Fail(absl::StrCat("partial or corrupt file visible: ", path, " of attempt ",
                              a.id, " (", StatusName(a.status), "): ",
                              DescribeDiff(content, want)));
            return;
          }
          auto parsed = ParseMaildirName(name);
          uint64_t lf = static_cast<uint64_t>(std::count(want.begin(), want.end(), '\n'));
          if (!parsed.ok() || parsed->size != want.size() ||
              parsed->vsize != want.size() + lf || parsed->has_info != (sub[0] == 'c')) {
            Fail(absl::StrCat(path, ": name does not match the content (S=/W=/info)"));
            return;
          }
          std::string base_name = name.substr(0, name.find(":2,"));
          if (!a.targets[t].name.empty() && a.targets[t].name != base_name) {
            Fail(absl::StrCat(path, ": attempt ", a.id, " was acknowledged as ",
                              a.targets[t].name));
            return;
          }
          found[{a.id, t}].push_back(absl::StrCat(sub, "/", name));
        }
      }
    }
    if (!after_boot || failed()) return;
    for (auto& [id, a] : attempts_) {
      for (size_t t = 0; t < a.targets.size(); ++t) {
        TargetInfo& ti = a.targets[t];
        if (ti.queue) continue;
        auto f = found.find({id, t});
        size_t n = f == found.end() ? 0 : f->second.size();
        std::string where = absl::StrCat("attempt ", id, " (", StatusName(a.status),
                                         ", epoch ", a.epoch, ") in ", ti.maildir);
        if (n == 0 && unrecovered_attempts_.count({id, ti.maildir})) {
          // Its record waits in a journal not recovered (yet): it may be
          // missing or incomplete (not counted) until a start-up replays
          // it; what we know about it stays as it was.
          Log(absl::StrCat(where, ": not checked, its record is in a journal "
                                  "not recovered (yet)"));
          continue;
        }
        if (n > 1) {
          Fail(absl::StrCat("duplicate: ", where, " is there ", n, " times: ",
                            f->second[0], ", ", f->second[1]));
          return;
        }
        switch (ti.presence) {
          case Presence::kMust:
            if (n == 0) {
              Fail(absl::StrCat("lost: ", where, " (", ti.name, ") is gone; new/ holds ",
                                fs_.List(ti.maildir + "/new").size(), " files, cur/ ",
                                fs_.List(ti.maildir + "/cur").size(),
                                fs_.IsDir(ti.maildir) ? "" : " (no Maildir)"));
              return;
            }
            break;
          case Presence::kGone:
            if (n != 0) {
              Fail(absl::StrCat("resurrected: ", where, " came back as ", f->second[0]));
              return;
            }
            break;
          case Presence::kMaybe:
            if (n != 0 && a.status == Status::kAborted) {
              Fail(absl::StrCat("aborted message visible: ", where));
              return;
            }
            break;
          case Presence::kExpunged:
            break;
        }
        if (n == 1) {
          ti.presence = Presence::kMust;
          ti.location = f->second[0];
          std::string nm = ti.location.substr(4);
          ti.name = nm.substr(0, nm.find(":2,"));
        } else {
          ti.presence = Presence::kGone;
          ti.location.clear();
        }
      }
    }
  }

  void CheckQueue() {
    if (failed()) return;
    const std::string dir = SpoolDir();
    std::map<std::string, const LoadedMessage*> live;
    for (const LoadedMessage& m : loaded_) live[m.file] = &m;
    std::set<std::string> unreadable;  // present, not loaded (read error)
    for (const std::string& name : fs_.List(dir + "/new")) {
      if (!live.count(name)) {
        if (unreadable.size() < load_stats_.unreadable) {
          unreadable.insert(name);
          continue;
        }
        Fail(absl::StrCat(dir, "/new/", name, ": left in the queue but not loaded"));
        return;
      }
    }
    for (const std::string& name : fs_.List(dir + "/corrupt")) {
      // A partial file whose record waits in a journal not recovered may
      // be set aside as corrupt; the replay writes it to new/ again.
      // MoveAside names it <name> or <name>.<n>.
      std::string base = name;
      size_t dot = base.rfind('.');
      if (!unrecovered_.count({dir, base}) && dot != std::string::npos &&
          dot > base.find(",W=") &&
          base.find_first_not_of("0123456789", dot + 1) == std::string::npos) {
        base.resize(dot);
      }
      if (unrecovered_.count({dir, base}) || ever_unrecovered_.count({dir, base})) continue;
      Fail(absl::StrCat("a queue file was moved to corrupt/ (it was partial or damaged): ",
                        name));
      return;
    }
    // Every live file: complete, of a known attempt that may be there.
    std::map<std::string, uint64_t> live_attempt;
    std::set<std::string> suspect;  // may be partial: not relayed this epoch
    for (const auto& [name, m] : live) {
      std::string content;
      fs_.ReadFile(absl::StrCat(dir, "/new/", name), &content);
      auto u = unrecovered_.find({dir, name});
      if (u != unrecovered_.end() && u->second != 0 && attempts_.count(u->second) &&
          content != attempts_[u->second].Content(
                         static_cast<size_t>(attempts_[u->second].QueueTarget()))) {
        // Its record waits in a journal not recovered: it may be partial
        // until a start-up replays it (ringmaild would relay it as it is:
        // docs/durability.md, "Recovery"). Not relayed here.
        live_attempt[name] = u->second;
        suspect.insert(name);
        continue;
      }
      std::optional<uint64_t> id = AttemptIdOf(content);
      auto it = id ? attempts_.find(*id) : attempts_.end();
      if (it == attempts_.end() || it->second.QueueTarget() < 0) {
        Fail(absl::StrCat("queue file ", name, " is partial or unknown (", content.size(),
                          " bytes)"));
        return;
      }
      Attempt& a = it->second;
      size_t qt = static_cast<size_t>(a.QueueTarget());
      if (content != a.Content(qt)) {
        Fail(absl::StrCat("queue file ", name, " of attempt ", a.id, " is partial: ",
                          DescribeDiff(content, a.Content(qt))));
        return;
      }
      TargetInfo& ti = a.targets[qt];
      if (ti.presence == Presence::kGone) {
        Fail(absl::StrCat("queue file of attempt ", a.id, " came back: ", name));
        return;
      }
      if (a.status == Status::kAborted) {
        Fail(absl::StrCat("aborted message queued: attempt ", a.id));
        return;
      }
      live_attempt[name] = a.id;
    }
    // Every message the relay knew: not lost, not resurrected, no recipient
    // with a durable final outcome back to pending.
    for (const auto& [file, q] : queue_) {
      auto l = live.find(file);
      if (q.removed_durable) {
        if (l != live.end()) {
          Fail(absl::StrCat("queue file ", file, " (attempt ", q.attempt,
                            ") was finished (removed record durable) but is queued "
                            "again: its recipients would be sent twice"));
          return;
        }
        continue;
      }
      if (l == live.end()) {
        // A `removed` record appended but not (yet) reported durable may
        // have reached the disk anyway: it is true (every recipient was
        // final), so the file may be gone.
        if (q.removed_appended) continue;
        if (unreadable.count(file)) continue;  // still there, not readable now
        if (unrecovered_.count({dir, file}) || unrecovered_attempts_.count({q.attempt, dir})) {
          continue;  // its record was not replayed (yet)
        }
        Fail(absl::StrCat("queued message lost: ", file, " (attempt ", q.attempt, ")"));
        return;
      }
      const LoadedMessage& m = *l->second;
      if (m.recipients.size() != q.rcpts.size()) {
        Fail(absl::StrCat("queue file ", file, ": ", m.recipients.size(),
                          " recipients loaded, ", q.rcpts.size(), " expected"));
        return;
      }
      for (size_t r = 0; r < q.rcpts.size(); ++r) {
        if (q.durable_final[r] && m.recipients[r].state != q.rcpts[r].state) {
          Fail(absl::StrCat("queue file ", file, " recipient ", r, ": outcome ",
                            std::string(RecipientStateName(q.rcpts[r].state)),
                            " was durable, loaded as ",
                            std::string(RecipientStateName(m.recipients[r].state)),
                            m.recipients[r].state == RecipientState::kDelivered ||
                                    m.recipients[r].state == RecipientState::kFailed
                                ? ""
                                : " (it would be sent again)"));
          return;
        }
      }
    }
    // The relay's knowledge from now on: what was loaded, and (untouched
    // until a start-up can read them) the unreadable files.
    std::map<std::string, QueueMsg> next;
    for (const std::string& file : unreadable) {
      auto old = queue_.find(file);
      if (old == queue_.end()) continue;
      QueueMsg q = old->second;
      q.busy = true;  // frozen for this epoch
      q.frozen = true;
      next[file] = std::move(q);
    }
    for (const auto& [file, m] : live) {
      QueueMsg q;
      q.attempt = live_attempt[file];
      if (suspect.count(file)) q.busy = q.frozen = true;
      q.rcpts = m->recipients;
      for (const RecipientStatus& r : q.rcpts) q.durable_final.push_back(IsFinal(r.state));
      auto old = queue_.find(file);
      q.sends = old != queue_.end() ? old->second.sends
                                    : std::vector<int>(q.rcpts.size(), 0);
      Attempt& a = attempts_[q.attempt];
      next[file] = std::move(q);
      TargetInfo& ti = a.targets[static_cast<size_t>(a.QueueTarget())];
      ti.presence = Presence::kMust;
      ti.name = file;
    }
    for (auto& [id, a] : attempts_) {
      int qt = a.QueueTarget();
      if (qt < 0) continue;
      TargetInfo& ti = a.targets[static_cast<size_t>(qt)];
      bool present = false;
      for (const auto& [file, q] : next) present |= q.attempt == id;
      if (!present && fs_.Exists(absl::StrCat(dir, "/new/", ti.name))) present = true;
      if (!present && !unrecovered_attempts_.count({id, dir})) ti.presence = Presence::kGone;
    }
    queue_ = std::move(next);
  }

  // ---- one epoch: the workload until the power cut

  DeliveryOptions MakeDeliveryOptions() {
    DeliveryOptions o;
    o.hostname = "sim";
    o.core_id = 0;
    o.pid = 4242;
    o.chunk_size = cfg_.chunk_size;
    o.max_chunks_in_flight = cfg_.max_chunks;
    o.commit_delay = cfg_.commit_delay;
    o.max_batch_messages = cfg_.max_batch;
    o.max_open_dir_fds = cfg_.max_dir_fds;
    o.log = StorageLog();
    o.durability = cfg_.journal ? Durability::kJournal : Durability::kFsync;
    o.journal = journal_file_;
    o.checkpoint_interval = cfg_.checkpoint;
    o.journal_max_message_bytes = cfg_.journal_max_msg;
    o.max_batches_in_flight = cfg_.batches_in_flight;
    o.sync_fs = [this](std::vector<std::string>, engine::IoCallback done) {
      io_.SyncFs(std::move(done));
    };
    o.tmpfile = cfg_.tmpfile;
    return o;
  }

  void Epoch(int epoch) {
    epoch_ = epoch;
    auto p = std::make_unique<Process>();
    Process* proc = p.get();
    proc_ = std::move(p);
    auto run_after = [this](absl::Duration d, absl::AnyInvocable<void()> fn) {
      loop_.RunAfter(d, std::move(fn));
    };
    proc->dq = std::make_unique<DeliveryQueue>(
        &io_, MakeDeliveryOptions(), [this] { return loop_.now(); }, run_after);
    journal_file_.fd = -1;  // owned by the queue now
    queue::StateLogOptions sopts;
    sopts.max_batch_bytes = cfg_.state_batch_bytes;
    sopts.log = StorageLog();
    proc->slog = std::make_unique<queue::StateLog>(&io_, SpoolDir(), slog_file_,
                                                   std::move(sopts), run_after);
    slog_file_.fd = -1;
    io_.set_faults(cfg_.faults);
    for (int s = 0; s < cfg_.sessions; ++s) {
      auto session = std::make_unique<Session>();
      session->id = s;
      session->left = static_cast<int>(rng_.Between(1, static_cast<uint64_t>(cfg_.messages)));
      Session* raw = session.get();
      proc->sessions.push_back(std::move(session));
      ++proc->sessions_active;
      loop_.RunAfter(absl::Microseconds(static_cast<int64_t>(rng_.Below(3000))),
                     [this, proc, raw] { StartMessage(proc, raw); });
    }
    ScheduleRelay(proc);
    ScheduleImap(proc);
    const uint64_t start = loop_.steps();
    const bool cut_early = rng_.Chance(0.85);
    const uint64_t budget =
        static_cast<uint64_t>(cfg_.sessions) * static_cast<uint64_t>(cfg_.messages) * 80 + 200;
    const uint64_t cut_at = start + rng_.Between(1, budget);
    Log(absl::StrCat("epoch ", epoch, " starts at step ", start,
                     cut_early ? absl::StrCat(", power cut planned at step ", cut_at)
                               : std::string(", no early power cut")));
    uint64_t next_scan = start + 200;
    while (!failed()) {
      if (cut_early && loop_.steps() >= cut_at) {
        PowerCut("planned");
        return;
      }
      if (loop_.steps() >= next_scan) {
        next_scan = loop_.steps() + 100 + rng_.Below(400);
        CheckMaildirs(/*after_boot=*/false);  // nothing partial, even now
        if (failed()) return;
      }
      if (proc->sessions_active == 0 && proc->attempts_in_flight == 0) {
        proc->stopping = true;
        if (proc->imap_busy == 0 && proc->relay_busy == 0) break;
      }
      if (loop_.steps() - start > kMaxStepsPerEpoch) {
        std::string detail;
        for (const auto& session : proc->sessions) {
          if (session->left <= 0) continue;
          const Attempt& a = attempts_[session->attempt];
          absl::StrAppend(&detail, "; session ", session->id, ": attempt ", a.id, " ",
                          session->fed, "/", a.body.size(), " bytes fed",
                          session->paused ? ", paused (waiting for resume)" : "",
                          session->finishing ? ", finished (waiting for the reply)" : "");
        }
        Fail(absl::StrCat("no progress: ", proc->attempts_in_flight,
                          " messages still unanswered after ", kMaxStepsPerEpoch,
                          " steps", detail));
        return;
      }
      if (!loop_.Step()) {
        if (proc->sessions_active > 0 || proc->attempts_in_flight > 0) {
          Fail(absl::StrCat("stalled: nothing pending but ", proc->attempts_in_flight,
                            " messages unanswered and ", proc->sessions_active,
                            " sessions open"));
          return;
        }
        break;
      }
    }
    if (failed()) return;
    if (rng_.Chance(0.5)) {
      PowerCut("idle");
      return;
    }
    GracefulShutdown(proc);
  }

  void GracefulShutdown(Process* proc) {
    Log(absl::StrCat("graceful shutdown at step ", loop_.steps()));
    bool dq_done = false, slog_done = false;
    proc->dq->Shutdown([&dq_done] { dq_done = true; });
    proc->slog->Shutdown([&slog_done] { slog_done = true; });
    uint64_t guard = loop_.steps() + kMaxStepsPerEpoch;
    while ((!dq_done || !slog_done) && loop_.steps() < guard && loop_.Step()) {
    }
    if (!dq_done || !slog_done) {
      Fail(absl::StrCat("shutdown did not complete (delivery queue ",
                        dq_done ? "done" : "pending", ", state log ",
                        slog_done ? "done" : "pending", ")"));
      return;
    }
    // The final checkpoint ran unless the journal broke (an injected
    // error): only then must the next start-up find nothing to replay.
    const bool journal_ok = proc->dq->journal() != nullptr && !proc->dq->journal()->broken();
    // Destroying them now checks that nothing is left in flight.
    proc->dq.reset();
    proc->slog.reset();
    loop_.RunUntilIdle(loop_.now(), 10000);
    ++stats_.graceful;
    expect_clean_journal_ = cfg_.journal && journal_ok;
    PowerCut("after graceful shutdown");
  }

  // ---- SMTP-like sessions

  std::string MakeBody(uint64_t id) {
    size_t size;
    uint64_t r = rng_.Below(10);
    if (r < 7) {
      size = rng_.Between(0, 4000);
    } else if (r < 9) {
      size = rng_.Between(4000, 40000);
    } else {
      size = rng_.Between(40000, 200000);
    }
    std::string body = absl::StrCat(kAttemptTag, id, "\nSubject: sim ", id, "\n\n");
    while (body.size() < size) {
      size_t line = rng_.Between(0, 120);
      for (size_t i = 0; i < line; ++i) {
        body.push_back(static_cast<char>('!' + rng_.Below(94)));
      }
      body.push_back('\n');
    }
    return body;
  }

  void StartMessage(Process* proc, Session* s) {
    if (s->left <= 0) {
      --proc->sessions_active;
      return;
    }
    uint64_t id = next_attempt_++;
    Attempt& a = attempts_[id];
    a.id = id;
    a.epoch = epoch_;
    a.body = MakeBody(id);
    std::vector<int> users;
    for (int u = 0; u < cfg_.users; ++u) users.push_back(u);
    size_t n = rng_.Between(1, std::min<uint64_t>(3, users.size()));
    std::vector<DeliveryTarget> targets;
    for (size_t i = 0; i < n; ++i) {
      size_t k = rng_.Below(users.size());
      int u = users[k];
      users.erase(users.begin() + static_cast<long>(k));
      TargetInfo ti;
      ti.maildir = UserMaildir(u);
      ti.prefix = absl::StrCat("Return-Path: <s@example.org>\nDelivered-To: u", u,
                               "@example.com\n");
      a.targets.push_back(ti);
    }
    bool relay_ok = proc->slog != nullptr && !proc->slog->broken() && !proc->relay_stopped;
    if (relay_ok && rng_.Chance(cfg_.relay_share)) {
      queue::QueueEnvelope env;
      env.id = absl::StrCat("SIM", id);
      env.arrival = absl::FromUnixMicros(absl::ToUnixMicros(loop_.now()));
      env.sender = "s@example.org";
      env.client_ip = "192.0.2.1";
      env.helo = "sim";
      size_t rcpts = rng_.Between(1, 3);
      for (size_t r = 0; r < rcpts; ++r) {
        env.recipients.push_back({absl::StrCat("r", r, "@remote", r, ".example"), "", ""});
      }
      TargetInfo ti;
      ti.maildir = SpoolDir();
      ti.queue = true;
      ti.prefix = absl::StrCat(queue::EncodeQueuePrefix(env), "Received: from sim\n");
      a.targets.push_back(ti);
    }
    // Random target order: the queue target is not always last.
    for (size_t i = a.targets.size(); i > 1; --i) {
      std::swap(a.targets[i - 1], a.targets[rng_.Below(i)]);
    }
    for (const TargetInfo& ti : a.targets) targets.push_back({ti.maildir, ti.prefix});
    auto msg = proc->dq->Begin(std::move(targets));
    if (!msg.ok()) {
      Fail(absl::StrCat("Begin failed: ", msg.status().ToString()));
      return;
    }
    s->msg = std::move(*msg);
    s->attempt = id;
    s->fed = 0;
    s->abort_at = rng_.Chance(cfg_.abort_share) ? rng_.Below(a.body.size() + 1) : SIZE_MAX;
    ++proc->attempts_in_flight;
    Feed(proc, s);
  }

  // Stops reading until the queue resumes us (the only Feed scheduled).
  void WaitForResume(Process* proc, Session* s) {
    s->paused = true;
    s->msg->SetResumeCallback([this, proc, s] {
      s->paused = false;
      loop_.RunAfter(absl::ZeroDuration(), [this, proc, s] { Feed(proc, s); });
    });
  }

  void Feed(Process* proc, Session* s) {
    Attempt& a = attempts_[s->attempt];
    IncomingMessage& m = *s->msg;
    if (m.WantsPause()) return WaitForResume(proc, s);
    if (s->fed >= s->abort_at) {
      m.Abort();
      s->msg.reset();
      a.status = Status::kAborted;
      ++stats_.aborted;
      Answered(proc, s, false);
      return;
    }
    if (s->fed < a.body.size()) {
      // One piece, or (bursty) several in a row while the queue takes them.
      const uint64_t pieces = cfg_.bursty ? rng_.Between(1, 8) : 1;
      for (uint64_t i = 0; i < pieces && s->fed < a.body.size(); ++i) {
        if (i > 0 && s->fed >= s->abort_at) break;
        if (i > 0 && m.WantsPause()) return WaitForResume(proc, s);
        size_t piece = std::min<size_t>(rng_.Between(1, 3 * cfg_.chunk_size / 2),
                                        a.body.size() - s->fed);
        while (piece > 0) {
          absl::Span<char> span = m.Reserve(std::min(piece, cfg_.chunk_size));
          size_t k = std::min(piece, span.size());
          std::memcpy(span.data(), a.body.data() + s->fed, k);
          m.Commit(k);
          s->fed += k;
          piece -= k;
        }
      }
      if (s->fed < a.body.size() || rng_.Chance(0.5)) {
        loop_.RunAfter(absl::Microseconds(static_cast<int64_t>(rng_.Below(300))),
                       [this, proc, s] { Feed(proc, s); });
        return;
      }
    }
    uint64_t id = s->attempt;
    s->finishing = true;
    m.Finish([this, proc, s, id](DeliveryResult result) { Done(proc, s, id, std::move(result)); });
    s->msg.reset();
  }

  void Done(Process* proc, Session* s, uint64_t id, DeliveryResult result) {
    Attempt& a = attempts_[id];
    s->finishing = false;
    if (result.status.ok()) {
      if (result.new_names.size() != a.targets.size()) {
        Fail(absl::StrCat("attempt ", id, ": ", result.new_names.size(), " names for ",
                          a.targets.size(), " targets"));
        return;
      }
      a.status = Status::kAcked;
      ++stats_.acked;
      for (size_t t = 0; t < a.targets.size(); ++t) {
        TargetInfo& ti = a.targets[t];
        ti.presence = Presence::kMust;
        ti.name = result.new_names[t];
        ti.location = absl::StrCat("new/", ti.name);
        if (ti.queue) {
          QueueMsg q;
          q.attempt = id;
          size_t n = ParseQueuePrefixRcpts(a.Content(t));
          q.rcpts.assign(n, RecipientStatus());
          q.durable_final.assign(n, false);
          q.sends.assign(n, 0);
          queue_[ti.name] = std::move(q);
        }
      }
      // The file must be in new/ with its content right now.
      for (size_t t = 0; t < a.targets.size(); ++t) {
        std::string content;
        std::string path = absl::StrCat(a.targets[t].maildir, "/new/", a.targets[t].name);
        if (!fs_.ReadFile(path, &content) || content != a.Content(t)) {
          Fail(absl::StrCat("acknowledged but not complete in new/: ", path));
          return;
        }
      }
      Answered(proc, s, true);
    } else {
      a.status = Status::kFailed;
      ++stats_.failed;
      Answered(proc, s, false, /*retryable=*/true);
    }
  }

  static size_t ParseQueuePrefixRcpts(const std::string& content) {
    auto parsed = queue::ParseQueuePrefix(content);
    return parsed.ok() ? parsed->envelope.recipients.size() : 0;
  }

  void Answered(Process* proc, Session* s, bool ok, bool retryable = false) {
    --proc->attempts_in_flight;
    // A client retries a 4xx once (that is where SMTP's duplicates come
    // from); otherwise it goes on with its next message.
    if (!ok && retryable && !s->retry) {
      s->retry = true;
    } else {
      s->retry = false;
      --s->left;
    }
    loop_.RunAfter(absl::Microseconds(static_cast<int64_t>(rng_.Below(2000))),
                   [this, proc, s] { StartMessage(proc, s); });
  }

  // ---- the relay: reads queue files, records outcomes, removes

  void ScheduleRelay(Process* proc) {
    loop_.RunAfter(absl::Microseconds(static_cast<int64_t>(rng_.Between(200, 5000))),
                   [this, proc] { RelayTick(proc); });
  }

  uint64_t Checkpoints(Process* proc) {
    const JournalWriter* j = proc->dq != nullptr ? proc->dq->journal() : nullptr;
    return j == nullptr ? 0 : j->checkpoints();
  }

  void RelayTick(Process* proc) {
    if (proc->stopping) return;
    ScheduleRelay(proc);
    if (proc->relay_stopped || proc->slog->broken()) return;
    if (!proc->slog->compacting() && rng_.Chance(0.15)) Compact(proc);
    std::vector<std::string> ready;
    for (auto& [file, q] : queue_) {
      if (!q.busy && !q.removed_appended) ready.push_back(file);
    }
    if (ready.empty()) return;
    std::string file = ready[rng_.Below(ready.size())];
    QueueMsg& q = queue_[file];
    q.busy = true;
    ++proc->relay_busy;
    Attempt& a = attempts_[q.attempt];
    auto want = std::make_shared<std::string>(a.Content(static_cast<size_t>(a.QueueTarget())));
    std::string path = absl::StrCat(SpoolDir(), "/new/", file);
    io_.OpenAt(AT_FDCWD, path, O_RDONLY | O_CLOEXEC, 0, [this, proc, file, want, path](int fd) {
      if (fd < 0) {
        if (fd == -ENOENT) Fail(absl::StrCat("queue file vanished: ", path));
        return RelayDone(proc, file);
      }
      auto buf = std::make_shared<std::string>(want->size() + 1, '\0');
      io_.Read(fd, buf->data(), buf->size(), 0, [this, proc, file, want, buf, fd, path](int r) {
        io_.Close(fd, [](int) {});
        if (r < 0) return RelayDone(proc, file);  // an injected read error: try later
        buf->resize(static_cast<size_t>(r));
        if (*buf != *want) {
          Fail(absl::StrCat("relay read a partial queue file ", path, ": ",
                            DescribeDiff(*buf, *want)));
          return RelayDone(proc, file);
        }
        Outcomes(proc, file);
      });
    });
  }

  void RelayDone(Process* proc, const std::string& file) {
    queue_[file].busy = false;
    --proc->relay_busy;
  }

  void Outcomes(Process* proc, const std::string& file) {
    QueueMsg& q = queue_[file];
    std::vector<StateRecord> records;
    std::vector<size_t> finals;
    for (size_t r = 0; r < q.rcpts.size(); ++r) {
      RecipientStatus& st = q.rcpts[r];
      if (IsFinal(st.state)) continue;
      uint64_t roll = rng_.Below(10);
      st.attempts += 1;
      st.last_attempt = absl::FromUnixMicros(absl::ToUnixMicros(loop_.now()));
      if (roll < 5) {
        if (q.durable_final[r]) {
          Fail(absl::StrCat("relay about to resend ", file, " recipient ", r,
                            " whose outcome is durable"));
          return;
        }
        st.state = RecipientState::kDelivered;
        st.last_reply = "250 ok";
        if (++q.sends[r] > 1) ++stats_.resent;
        ++stats_.sends;
      } else if (roll < 7) {
        st.state = RecipientState::kFailed;
        st.last_reply = "550 no";
      } else {
        st.state = RecipientState::kDeferred;
        st.last_reply = "451 later";
        st.next_attempt = st.last_attempt + absl::Seconds(1);
      }
      StateRecord rec;
      rec.kind = StateRecord::Kind::kRecipient;
      rec.file = file;
      rec.rcpt = static_cast<uint32_t>(r);
      rec.status = st;
      records.push_back(std::move(rec));
      if (IsFinal(st.state)) finals.push_back(r);
    }
    bool all_final = std::all_of(q.rcpts.begin(), q.rcpts.end(),
                                 [](const RecipientStatus& s) { return IsFinal(s.state); });
    if (all_final) {
      StateRecord rec;
      rec.kind = StateRecord::Kind::kRemoved;
      rec.file = file;
      records.push_back(std::move(rec));
      q.removed_appended = true;
    }
    if (records.empty()) return RelayDone(proc, file);
    if (options_.verbose) {
      std::string what;
      for (const StateRecord& r : records) {
        absl::StrAppend(&what, " ", r.kind == StateRecord::Kind::kRemoved
                                        ? std::string("removed")
                                        : absl::StrCat(r.rcpt, "=", std::string(RecipientStateName(r.status.state))));
      }
      Log(absl::StrCat("relay ", file, ":", what));
    }
    for (size_t i = 0; i + 1 < records.size(); ++i) {
      proc->slog->Append(records[i], [](absl::Status) {});
    }
    proc->slog->Append(records.back(), [this, proc, file, finals, all_final](absl::Status s) {
      QueueMsg& q = queue_[file];
      if (options_.verbose) Log(absl::StrCat("relay ", file, ": durable: ", s.ToString()));
      if (!s.ok()) {
        // Broken log: the relay stops on this core; the files stay.
        proc->relay_stopped = true;
        return RelayDone(proc, file);
      }
      for (size_t r : finals) q.durable_final[r] = true;
      if (!all_final) return RelayDone(proc, file);
      q.removed_durable = true;
      std::string path = absl::StrCat(SpoolDir(), "/new/", file);
      io_.UnlinkAt(AT_FDCWD, path, 0, [this, proc, file, path](int r) {
        QueueMsg& q = queue_[file];
        if (r == -ENOENT) Fail(absl::StrCat("finished queue file already gone: ", path));
        if (r == 0) {
          q.unlinked = true;
          q.unlink_checkpoints = Checkpoints(proc);
        }
        RelayDone(proc, file);
      });
    });
  }

  // docs/queue.md, "Compaction" and "removed records and journal mode".
  void Compact(Process* proc) {
    std::vector<StateRecord> live;
    const JournalWriter* j = proc->dq->journal();
    const bool journal_broken = j != nullptr && j->broken();
    for (const auto& [file, q] : queue_) {
      bool keep_removed;
      if (!q.removed_appended) {
        queue::AppendFileStateRecords(file, q.rcpts, false, false, 0, &live);
        continue;
      } else if (!q.unlinked) {
        keep_removed = true;  // the unlink has not completed
      } else if (!cfg_.journal) {
        keep_removed = false;
      } else {
        keep_removed = j == nullptr || journal_broken ||
                       j->checkpoints() < q.unlink_checkpoints + 2;
      }
      if (keep_removed) {
        StateRecord rec;
        rec.kind = StateRecord::Kind::kRemoved;
        rec.file = file;
        live.push_back(std::move(rec));
      }
    }
    ++stats_.compactions;
    proc->slog->Compact(std::move(live), [](absl::Status) {});
  }

  // ---- an IMAP-like client: moves to cur/, changes flags, expunges

  void ScheduleImap(Process* proc) {
    loop_.RunAfter(absl::Microseconds(static_cast<int64_t>(rng_.Between(200, 8000))),
                   [this, proc] { ImapTick(proc); });
  }

  void ImapTick(Process* proc) {
    if (proc->stopping) return;
    ScheduleImap(proc);
    std::vector<std::pair<uint64_t, size_t>> candidates;
    for (auto& [id, a] : attempts_) {
      for (size_t t = 0; t < a.targets.size(); ++t) {
        const TargetInfo& ti = a.targets[t];
        if (!ti.queue && !ti.busy && ti.presence == Presence::kMust && !ti.location.empty() &&
            !unrecovered_attempts_.count({id, ti.maildir})) {
          candidates.emplace_back(id, t);
        }
      }
    }
    if (candidates.empty()) return;
    auto [id, t] = candidates[rng_.Below(candidates.size())];
    TargetInfo& ti = attempts_[id].targets[t];
    const std::string from = absl::StrCat(ti.maildir, "/", ti.location);
    std::string content;
    if (!fs_.ReadFile(from, &content) || content != attempts_[id].Content(t)) {
      Fail(absl::StrCat("IMAP sees ", from, " missing or incomplete"));
      return;
    }
    ti.busy = true;
    ++proc->imap_busy;
    uint64_t roll = rng_.Below(10);
    auto finish = [this, proc, id, t, from](int r, std::string to) {
      TargetInfo& ti = attempts_[id].targets[t];
      ti.busy = false;
      --proc->imap_busy;
      if (r == -ENOENT) {
        Fail(absl::StrCat("acknowledged file vanished under the IMAP client: ", from));
        return;
      }
      if (r < 0) return;  // injected failure: nothing changed
      if (to.empty()) {
        ti.presence = Presence::kExpunged;
        ti.location.clear();
        ++stats_.expunges;
      } else {
        ti.location = std::move(to);
        ++stats_.moves;
      }
    };
    if (roll < 2) {
      io_.UnlinkAt(AT_FDCWD, from, 0, [finish](int r) mutable { finish(r, ""); });
      return;
    }
    std::string flags = roll < 6 ? "S" : (roll < 8 ? "RS" : "FS");
    std::string to = absl::StrCat("cur/", ti.name, ":2,", flags);
    if (to == ti.location) {
      to = absl::StrCat("cur/", ti.name, ":2,T");
    }
    io_.RenameAt(AT_FDCWD, from, AT_FDCWD, absl::StrCat(ti.maildir, "/", to),
                 [finish, to](int r) mutable { finish(r, to); });
  }

  // ---- state

  const uint64_t seed_;
  const SimRunOptions options_;
  SimRng rng_;
  SimFs fs_;
  SimLoop loop_;
  SimFileIo io_;
  SimBlockingFs bfs_;
  const Config cfg_;
  int epoch_ = 0;
  uint64_t next_attempt_ = 1;
  std::map<uint64_t, Attempt> attempts_;
  std::map<std::string, QueueMsg> queue_;
  // From the last start-up.
  std::vector<LoadedMessage> loaded_;
  queue::LoadStats load_stats_;
  queue::StateLogFile slog_file_;
  JournalFile journal_file_;
  uint64_t journal_records_ = 0;
  std::map<std::pair<std::string, std::string>, uint64_t> set_aside_;
  // (maildir, name) -> attempt id (0: unknown), for this start-up.
  std::map<std::pair<std::string, std::string>, uint64_t> unrecovered_;
  std::set<std::pair<uint64_t, std::string>> set_aside_attempts_;  // (attempt, maildir)
  // Every file ever named by an unrecovered journal: while it was partial,
  // LoadCoreSpool may have moved it to corrupt/ (the replay then writes it
  // to new/ again; the damaged copy stays there for the operator).
  std::set<std::pair<std::string, std::string>> ever_unrecovered_;
  std::set<std::pair<uint64_t, std::string>> unrecovered_attempts_;
  bool expect_clean_journal_ = false;
  std::unique_ptr<Process> proc_;
  std::vector<std::unique_ptr<Process>> graveyard_;
  Stats stats_;
  std::string failure_;
  std::deque<std::string> log_lines_;
};

}  // namespace

SimRunResult RunSimulation(uint64_t seed, const SimRunOptions& options) {
  // The World is never destroyed: processes cut by a power failure are
  // parked in it with work in flight (their destructors assert otherwise).
  static std::vector<World*>* parked = new std::vector<World*>();
  World* world = new World(seed, options);
  parked->push_back(world);  // reachable: not a leak for LeakSanitizer
  return world->Run();
}

namespace {
volatile sig_atomic_t stop_requested = 0;
}  // namespace

void RequestStop() { stop_requested = 1; }

double ChildCpuSeconds() {
  struct rusage ru;
  if (getrusage(RUSAGE_CHILDREN, &ru) != 0) return 0;
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

SeedBatchResult RunSeeds(uint64_t first, uint64_t count, int jobs,
                         double max_seconds, bool verbose, std::ostream& out) {
  SeedBatchResult result;
  const auto start = std::chrono::steady_clock::now();
  const double cpu_at_start = ChildCpuSeconds();
  auto last_progress = start;
  auto elapsed = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  struct Child {
    pid_t pid;
    uint64_t seed;
    int fd;  // read end: the child's report
  };
  std::vector<Child> running;
  uint64_t next = first;
  const uint64_t end = first + count;
  jobs = std::max(1, jobs);
  auto reap_one = [&] {
    int status = 0;
    pid_t pid = ::waitpid(-1, &status, 0);
    if (pid <= 0) return;
    auto it = std::find_if(running.begin(), running.end(),
                           [&](const Child& c) { return c.pid == pid; });
    if (it == running.end()) return;
    std::string report;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(it->fd, buf, sizeof(buf))) > 0) report.append(buf, static_cast<size_t>(n));
    ::close(it->fd);
    bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    ++result.run;
    if (ok) {
      ++result.passed;
      if (verbose) out << "seed " << it->seed << ": ok " << report << "\n";
    } else {
      ++result.failed;
      result.failed_seeds.push_back(it->seed);
      std::string why = report;
      if (WIFSIGNALED(status)) {
        why = absl::StrCat("crashed with signal ", WTERMSIG(status), " ", report);
      } else if (report.empty()) {
        why = absl::StrCat("exited with status ", WEXITSTATUS(status));
      }
      out << "FAIL seed " << it->seed << ": " << why << "\n"
          << "  replay: tools/sim --seed " << it->seed << " --verbose\n";
    }
    out.flush();
    running.erase(it);
    auto now = std::chrono::steady_clock::now();
    if (now - last_progress >= std::chrono::minutes(5)) {
      last_progress = now;
      out << "progress: " << result.run << " seeds run, " << result.passed << " passed, "
          << result.failed << " failed, " << static_cast<int64_t>(ChildCpuSeconds() - cpu_at_start)
          << " CPU seconds" << std::endl;
    }
  };
  while (next < end || !running.empty()) {
    bool time_left = (max_seconds <= 0 || elapsed() < max_seconds) && !stop_requested;
    if (next < end && time_left && static_cast<int>(running.size()) < jobs) {
      int fds[2];
      if (::pipe(fds) != 0) break;
      out.flush();
      pid_t pid = ::fork();
      if (pid == 0) {
        ::close(fds[0]);
        ::signal(SIGINT, SIG_IGN);  // ^C stops the batch, not the seeds in flight
        SimRunResult r = RunSimulation(next, SimRunOptions());
        if (r.ok && next % 8 == 0) {
          // Every 8th seed: a second run must take exactly the same steps
          // (else a failing seed could not be replayed).
          SimRunResult again = RunSimulation(next, SimRunOptions());
          if (again.trace_hash != r.trace_hash || again.summary != r.summary) {
            r.ok = false;
            r.failure = "not deterministic: a second run of the seed took other steps";
          }
        }
        std::string report = r.ok ? r.summary : r.failure;
        ssize_t ignored = ::write(fds[1], report.data(), report.size());
        (void)ignored;
        ::_exit(r.ok ? 0 : 1);  // no destructors, no leak check: see RunSimulation
      }
      ::close(fds[1]);
      if (pid < 0) {
        ::close(fds[0]);
        break;
      }
      running.push_back({pid, next, fds[0]});
      ++next;
      continue;
    }
    if (running.empty()) break;
    reap_one();
  }
  result.cpu_seconds = ChildCpuSeconds() - cpu_at_start;
  return result;
}

}  // namespace ringmail::storage::sim
