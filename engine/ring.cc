#include "engine/ring.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace ringmail::engine {
namespace {

// Tried in order; the first set the kernel accepts wins.
//  SUBMIT_ALL:     keep submitting a batch after one SQE fails, so one bad
//                  request never strands the ones queued behind it.
//  SINGLE_ISSUER:  only the core's own thread submits (thread-per-core), so
//                  the kernel can skip submission-side locking.
//  DEFER_TASKRUN:  completion work runs only when we enter to wait, in one
//                  batch, instead of interrupting the core mid-request.
//  COOP_TASKRUN:   (fallback when DEFER_TASKRUN is absent) no IPI to force
//                  task work; we enter the kernel often enough anyway.
constexpr unsigned kFlagSets[] = {
    IORING_SETUP_SUBMIT_ALL | IORING_SETUP_SINGLE_ISSUER |
        IORING_SETUP_DEFER_TASKRUN,
    IORING_SETUP_SUBMIT_ALL | IORING_SETUP_SINGLE_ISSUER |
        IORING_SETUP_COOP_TASKRUN,
    IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN,
    0,
};

std::string ErrnoText(int err) { return std::strerror(err < 0 ? -err : err); }

}  // namespace

absl::StatusOr<std::unique_ptr<Ring>> Ring::Create(const RingOptions& opts) {
  std::unique_ptr<Ring> ring(new Ring());
  int last = 0;
  for (unsigned flags : kFlagSets) {
    io_uring_params params{};
    // A CQ four times the SQ: multishot accept/recv can post many CQEs per
    // SQE; the kernel also buffers overflow (IORING_FEAT_NODROP).
    params.flags = flags | IORING_SETUP_CQSIZE;
    params.cq_entries = opts.entries * 4;
    last = io_uring_queue_init_params(opts.entries, &ring->ring_, &params);
    if (last == 0) {
      ring->setup_flags_ = flags;
      if (opts.max_file_workers > 0) {
        // [0]: bounded workers (regular-file I/O), [1]: unbounded (sockets,
        // left at the kernel default).
        unsigned limits[2] = {opts.max_file_workers, 0};
        int r = io_uring_register_iowq_max_workers(&ring->ring_, limits);
        if (r < 0) {
          return absl::FailedPreconditionError(absl::StrCat(
              "io_uring_register_iowq_max_workers failed: ", ErrnoText(r)));
        }
      }
      return ring;
    }
    if (last != -EINVAL) break;  // EPERM/ENOMEM/ENOSYS: flags are not the cause
  }
  return absl::FailedPreconditionError(
      absl::StrCat("io_uring_queue_init failed: ", ErrnoText(last),
                   last == -EPERM ? " (io_uring disabled by sysctl "
                                    "kernel.io_uring_disabled or seccomp?)"
                                  : ""));
}

Ring::~Ring() {
  // The kernel stops every request before queue_exit returns, so nothing
  // writes into an orphan's buffers once they are freed here.
  io_uring_queue_exit(&ring_);
  for (Operation* op : orphans_) delete op;
}

io_uring_sqe* Ring::GetSqe() {
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
  while (sqe == nullptr) {
    // SQ full: hand what we have to the kernel and retry.
    io_uring_submit(&ring_);
    sqe = io_uring_get_sqe(&ring_);
  }
  // liburing's prep helpers leave user_data alone, so a recycled SQE slot
  // would otherwise carry a stale Operation pointer into a fire-and-forget
  // request (cancel, wake-up write) and complete a freed object.
  io_uring_sqe_set_data(sqe, nullptr);
  return sqe;
}

int Ring::SubmitAndDispatch(absl::Duration timeout) {
  io_uring_cqe* cqe = nullptr;
  int ret;
  if (timeout == absl::InfiniteDuration()) {
    ret = io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, nullptr, nullptr);
  } else {
    if (timeout < absl::ZeroDuration()) timeout = absl::ZeroDuration();
    timespec t = absl::ToTimespec(timeout);
    __kernel_timespec ts{.tv_sec = t.tv_sec, .tv_nsec = t.tv_nsec};
    ret = io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, &ts, nullptr);
  }
  // -ETIME (timer ran out) and -EINTR (signal) are normal wake-ups; any CQEs
  // already posted are still dispatched below.
  (void)ret;
  int count = 0;
  // Dispatch in bounded rounds: a callback may post more work, and each CQE
  // must be consumed before its slot is reused.
  while (true) {
    unsigned head;
    unsigned seen = 0;
    io_uring_cqe* c;
    io_uring_for_each_cqe(&ring_, head, c) {
      auto* op = static_cast<Operation*>(io_uring_cqe_get_data(c));
      int res = c->res;
      uint32_t flags = c->flags;
      ++seen;
      // Advance before dispatch so a callback that destroys state or
      // re-enters the ring never sees this CQE again.
      io_uring_cq_advance(&ring_, 1);
      if (op != nullptr) op->Complete(res, flags);
      if (seen >= 256) break;
    }
    count += seen;
    if (seen < 256) break;
  }
  return count;
}

std::string Ring::DescribeFlags() const {
  std::vector<std::string> names;
  if (setup_flags_ & IORING_SETUP_SUBMIT_ALL) names.push_back("SUBMIT_ALL");
  if (setup_flags_ & IORING_SETUP_SINGLE_ISSUER) names.push_back("SINGLE_ISSUER");
  if (setup_flags_ & IORING_SETUP_DEFER_TASKRUN) names.push_back("DEFER_TASKRUN");
  if (setup_flags_ & IORING_SETUP_COOP_TASKRUN) names.push_back("COOP_TASKRUN");
  return names.empty() ? "none" : absl::StrJoin(names, "|");
}

namespace {

// Opcodes the engine submits, with the name the error message uses.
struct NeededOp {
  int opcode;
  const char* name;
};
constexpr NeededOp kNeededOps[] = {
    {IORING_OP_ACCEPT, "ACCEPT"},     {IORING_OP_RECV, "RECV"},
    {IORING_OP_SEND, "SEND"},         {IORING_OP_READ, "READ"},
    {IORING_OP_WRITE, "WRITE"},       {IORING_OP_WRITEV, "WRITEV"},
    {IORING_OP_FSYNC, "FSYNC"},
    {IORING_OP_OPENAT, "OPENAT"},     {IORING_OP_CLOSE, "CLOSE"},
    {IORING_OP_RENAMEAT, "RENAMEAT"}, {IORING_OP_UNLINKAT, "UNLINKAT"},
    {IORING_OP_MKDIRAT, "MKDIRAT"},   {IORING_OP_LINKAT, "LINKAT"},
    {IORING_OP_ASYNC_CANCEL, "ASYNC_CANCEL"},
    {IORING_OP_SHUTDOWN, "SHUTDOWN"},
};

// Waits for one CQE with a deadline so a probe can never hang start-up.
absl::StatusOr<io_uring_cqe> WaitOne(io_uring* ring) {
  io_uring_cqe* cqe = nullptr;
  __kernel_timespec ts{.tv_sec = 2, .tv_nsec = 0};
  int ret = io_uring_submit_and_wait_timeout(ring, &cqe, 1, &ts, nullptr);
  if (ret < 0 && cqe == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("probe wait failed: ", ErrnoText(ret)));
  }
  io_uring_cqe copy = *cqe;
  io_uring_cqe_seen(ring, cqe);
  return copy;
}

// Multishot recv into a provided buffer ring, on a socketpair.
absl::Status ProbeBufferRingRecv(io_uring* ring) {
  constexpr unsigned kEntries = 2;
  constexpr int kGroup = 7;
  int err = 0;
  io_uring_buf_reg reg{};
  void* mem = nullptr;
  size_t ring_bytes = kEntries * sizeof(io_uring_buf);
  if (posix_memalign(&mem, 4096, ring_bytes) != 0) {
    return absl::ResourceExhaustedError("probe: out of memory");
  }
  absl::Cleanup free_mem = [mem] { free(mem); };
  auto* br = static_cast<io_uring_buf_ring*>(mem);
  io_uring_buf_ring_init(br);
  reg.ring_addr = reinterpret_cast<uint64_t>(br);
  reg.ring_entries = kEntries;
  reg.bgid = kGroup;
  err = io_uring_register_buf_ring(ring, &reg, 0);
  if (err != 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "kernel lacks provided buffer rings (IORING_REGISTER_PBUF_RING): ",
        ErrnoText(err)));
  }
  absl::Cleanup unreg = [ring] { io_uring_unregister_buf_ring(ring, kGroup); };
  static char bufs[kEntries][64];
  for (unsigned i = 0; i < kEntries; ++i) {
    io_uring_buf_ring_add(br, bufs[i], sizeof(bufs[i]), i,
                          io_uring_buf_ring_mask(kEntries), i);
  }
  io_uring_buf_ring_advance(br, kEntries);

  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    return absl::FailedPreconditionError("probe: socketpair failed");
  }
  absl::Cleanup close_sv = [sv] {
    close(sv[0]);
    close(sv[1]);
  };
  io_uring_sqe* sqe = io_uring_get_sqe(ring);
  io_uring_prep_recv_multishot(sqe, sv[0], nullptr, 0, 0);
  sqe->flags |= IOSQE_BUFFER_SELECT;
  sqe->buf_group = kGroup;
  if (write(sv[1], "x", 1) != 1) {
    return absl::FailedPreconditionError("probe: write failed");
  }
  auto cqe = WaitOne(ring);
  if (!cqe.ok()) return cqe.status();
  if (cqe->res != 1 || !(cqe->flags & IORING_CQE_F_BUFFER) ||
      !(cqe->flags & IORING_CQE_F_MORE)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "kernel lacks multishot recv with provided buffers (res=", cqe->res,
        cqe->res < 0 ? ": " + ErrnoText(cqe->res) : std::string(), ")"));
  }
  // Cancel the still-armed multishot recv and reap its final CQE.
  sqe = io_uring_get_sqe(ring);
  io_uring_prep_cancel_fd(sqe, sv[0], 0);
  for (int i = 0; i < 2; ++i) {
    if (!WaitOne(ring).ok()) break;
  }
  return absl::OkStatus();
}

// Multishot accept on a loopback listener.
absl::Status ProbeMultishotAccept(io_uring* ring) {
  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (lfd < 0) return absl::FailedPreconditionError("probe: socket failed");
  absl::Cleanup close_l = [lfd] { close(lfd); };
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      listen(lfd, 4) != 0 ||
      getsockname(lfd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("probe: loopback listen failed: ", ErrnoText(errno)));
  }
  io_uring_sqe* sqe = io_uring_get_sqe(ring);
  io_uring_prep_multishot_accept(sqe, lfd, nullptr, nullptr, SOCK_CLOEXEC);
  io_uring_submit(ring);
  int cfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  absl::Cleanup close_c = [cfd] { close(cfd); };
  if (connect(cfd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    return absl::FailedPreconditionError("probe: loopback connect failed");
  }
  auto cqe = WaitOne(ring);
  if (!cqe.ok()) return cqe.status();
  if (cqe->res < 0 || !(cqe->flags & IORING_CQE_F_MORE)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "kernel lacks multishot accept (res=", cqe->res, ")"));
  }
  close(cqe->res);
  sqe = io_uring_get_sqe(ring);
  io_uring_prep_cancel_fd(sqe, lfd, 0);
  for (int i = 0; i < 2; ++i) {
    if (!WaitOne(ring).ok()) break;
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ProbeKernel() {
  io_uring ring;
  int ret = io_uring_queue_init(8, &ring, 0);
  if (ret != 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "io_uring is unavailable: ", ErrnoText(ret),
        ret == -EPERM || ret == -ENOSYS
            ? " (check sysctl kernel.io_uring_disabled and seccomp policy)"
            : ""));
  }
  absl::Cleanup exit_ring = [&ring] { io_uring_queue_exit(&ring); };
  io_uring_probe* probe = io_uring_get_probe_ring(&ring);
  if (probe == nullptr) {
    return absl::FailedPreconditionError(
        "kernel does not support IORING_REGISTER_PROBE (needs Linux >= 5.6)");
  }
  std::vector<std::string> missing;
  for (const NeededOp& op : kNeededOps) {
    if (!io_uring_opcode_supported(probe, op.opcode)) missing.push_back(op.name);
  }
  io_uring_free_probe(probe);
  if (!missing.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("kernel io_uring lacks opcodes: ", absl::StrJoin(missing, ", ")));
  }
  if (absl::Status s = ProbeBufferRingRecv(&ring); !s.ok()) return s;
  if (absl::Status s = ProbeMultishotAccept(&ring); !s.ok()) return s;
  return absl::OkStatus();
}

}  // namespace ringmail::engine
