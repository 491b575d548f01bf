// One io_uring instance, set up with explicitly chosen flags, plus the
// start-up kernel probe.
//
// A Ring belongs to the thread that created it (IORING_SETUP_SINGLE_ISSUER):
// every method must be called from that thread.
#ifndef RINGMAIL_ENGINE_RING_H_
#define RINGMAIL_ENGINE_RING_H_

#include <liburing.h>

#include <cstdint>
#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace ringmail::engine {

// Something waiting for one CQE (or a stream of them, for multishot ops).
// The SQE's user_data is the Operation's address; the owner keeps the object
// alive until the final completion (one without IORING_CQE_F_MORE) arrives.
class Operation {
 public:
  virtual ~Operation() = default;
  // `res` is the CQE result (>= 0 or -errno); `flags` the CQE flags.
  virtual void Complete(int res, uint32_t flags) = 0;
};

struct RingOptions {
  unsigned entries = 1024;       // SQ size; the CQ is four times that
  // Cap on the kernel's io-wq workers for blocking file work (open, rename,
  // fsync) of this ring; 0 keeps the kernel default. Many workers creating
  // files in one directory mostly spin on its inode lock, so a small cap
  // saves CPU without losing throughput.
  unsigned max_file_workers = 0;
};

class Ring {
 public:
  // Creates the ring on the calling thread. Flags are tried from the most
  // capable set down, so an older kernel still works (the probe has already
  // checked the minimum). Fails with the errno text if io_uring is unusable.
  static absl::StatusOr<std::unique_ptr<Ring>> Create(const RingOptions& opts);
  ~Ring();
  Ring(const Ring&) = delete;
  Ring& operator=(const Ring&) = delete;

  // An SQE to fill, its user_data cleared (completions of it are ignored).
  // When the SQ is full, pending SQEs are submitted first so this never
  // fails while the kernel accepts submissions.
  io_uring_sqe* GetSqe();
  // Convenience: an SQE whose completion goes to `op` (nullptr: ignored).
  io_uring_sqe* GetSqe(Operation* op) {
    io_uring_sqe* sqe = GetSqe();
    io_uring_sqe_set_data(sqe, op);
    return sqe;
  }

  // Submits pending SQEs and waits for at least one CQE or until `timeout`
  // (infinite when absl::InfiniteDuration()), then dispatches every available
  // CQE to its Operation. Returns the number of CQEs dispatched.
  int SubmitAndDispatch(absl::Duration timeout);

  // An Operation whose owner went away while its final completion is still
  // due (it deletes itself then) is registered here, so that if the ring is
  // torn down first the operation is deleted with it instead of leaking.
  // Forget() when it completes normally.
  void Orphan(Operation* op) { orphans_.insert(op); }
  void Forget(Operation* op) { orphans_.erase(op); }

  io_uring* raw() { return &ring_; }
  unsigned setup_flags() const { return setup_flags_; }
  // Human-readable list of the setup flags in use, for the start-up log.
  std::string DescribeFlags() const;

 private:
  Ring() = default;
  io_uring ring_{};
  unsigned setup_flags_ = 0;
  absl::flat_hash_set<Operation*> orphans_;
};

// Checks, once at start-up, that the kernel offers everything the engine uses:
// io_uring itself (not disabled by sysctl kernel.io_uring_disabled or seccomp),
// every opcode, provided buffer rings, multishot accept and multishot recv.
// Returns FailedPrecondition naming what is missing.
absl::Status ProbeKernel();

}  // namespace ringmail::engine

#endif  // RINGMAIL_ENGINE_RING_H_
