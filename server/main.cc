// ringmaild: the ringmail daemon.
//
// Start-up, in order: configuration, kernel probe, user directory, data
// directory recovery, listening sockets (one SO_REUSEPORT socket per core
// per address), one thread per core, then the ports file. The main thread
// then only waits for signals: SIGTERM/SIGINT shut down gracefully, SIGHUP
// reloads the TLS certificate on every core (open sessions keep theirs);
// between signals it rotates the session-ticket keys when due.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/log.h"
#include "engine/loop.h"
#include "engine/tcp.h"
#include "server/config.h"
#include "server/connection_limits.h"
#include "server/control_server.h"
#include "server/directory.h"
#include "server/privileges.h"
#include "server/quota_service.h"
#include "engine/helper_pool.h"
#include "server/auth_service.h"
#include "server/auth_throttle.h"
#include "server/tls_setup.h"
#include "server/trusted_networks.h"
#include "server/imap/imap_service.h"
#include "server/pop3/pop3_service.h"
#include "server/recovery.h"
#include "server/relay/relay_service.h"
#include "storage/queue/spool.h"
#include "storage/queue/spool_layout.h"
#include "storage/queue/state_log.h"
#include "server/smtp_service.h"
#include "storage/maildir/mail_location.h"

namespace ringmail::server {
namespace {

constexpr int kExitConfig = 2;
constexpr int kExitRuntime = 1;

[[noreturn]] void Die(int code, const std::string& message) {
  std::fprintf(stderr, "ringmaild: %s\n", message.c_str());
  std::exit(code);
}

// The per-core objects main needs to reach (by posting tasks to the core).
struct CoreSlot {
  std::atomic<bool> ready{false};
  std::string error;
  engine::Loop* loop = nullptr;
  std::unique_ptr<engine::Loop> owned_loop;
  SmtpService* smtp = nullptr;
  engine::TlsContext* tls = nullptr;  // this core's; null when TLS is off
  imap::ImapService* imap = nullptr;
  pop3::Pop3Service* pop3 = nullptr;
  relay::RelayService* relay = nullptr;
};

// Helper threads for password hashing and directory scans.
constexpr int kHelperThreads = 2;

// The process's wall clock, in one place. The cores read it through their
// loops (LoopOptions::wall_clock, once per iteration); code that has no loop
// to ask -- start-up recovery before the cores exist, the throttle's epoch,
// the main thread's ticket-key rotation -- reads it here, so every part of
// the server is on the same clock and a fake one would reach all of them.
constexpr absl::Time (*kWallClock)() = &absl::Now;

struct Listening {
  std::string proto;
  std::string bound;                  // ADDR:PORT actually bound
  std::vector<int> fds;               // one per core
};

// Opens one socket per core for `text`. Port 0 is resolved by the first
// socket; the others join it through SO_REUSEPORT.
// jemalloc's mallctl, when jemalloc is the allocator (not under
// --config=asan, where the system allocator is): weak, so the binary links
// either way.
extern "C" int mallctl(const char* name, void* oldp, size_t* oldlenp, void* newp,
                       size_t newlen) __attribute__((weak));

// Turns jemalloc's background threads on or off; returns whether they were
// on before (false without jemalloc).
bool SetAllocatorBackgroundThreads(bool on) {
  if (mallctl == nullptr) return false;
  bool was = false;
  size_t len = sizeof(was);
  if (mallctl("background_thread", &was, &len, &on, sizeof(on)) != 0) return false;
  return was;
}

Listening OpenListener(const std::string& proto, const std::string& flag,
                       const std::string& text, int cores) {
  auto addr = engine::SocketAddress::Parse(text);
  if (!addr.ok()) Die(kExitConfig, absl::StrCat(flag, ": ", addr.status().message()));
  Listening l;
  l.proto = proto;
  for (int i = 0; i < cores; ++i) {
    auto fd = engine::CreateListenSocket(*addr, 1024);
    if (!fd.ok()) Die(kExitConfig, absl::StrCat(flag, ": ", fd.status().message()));
    if (i == 0) {
      auto bound = engine::BoundAddress(*fd);
      if (!bound.ok()) Die(kExitConfig, absl::StrCat(flag, ": ", bound.status().message()));
      addr->set_port(bound->port());
      l.bound = bound->ToString();
    }
    l.fds.push_back(*fd);
  }
  return l;
}

void WritePortsFile(const std::string& path, const std::vector<Listening>& ls) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    for (const Listening& l : ls) out << l.proto << " " << l.bound << "\n";
    if (!out) Die(kExitConfig, absl::StrCat("ports_file: cannot write ", tmp));
  }
  // Readers poll for the file: rename makes it appear complete.
  if (rename(tmp.c_str(), path.c_str()) != 0) {
    Die(kExitConfig, absl::StrCat("ports_file: rename to ", path, " failed: ",
                                  std::strerror(errno)));
  }
}

int Main(int argc, char** argv) {
  // Whatever mode a call asks for, nothing ringmaild creates is readable by
  // anyone but its user: files 0600, directories 0700.
  umask(077);
  auto config_or = LoadConfig(argc, argv);
  if (!config_or.ok()) {
    if (absl::IsNotFound(config_or.status())) {
      std::fputs(std::string(config_or.status().message()).c_str(), stdout);
      return 0;
    }
    Die(kExitConfig, std::string(config_or.status().message()));
  }
  const Config config = std::move(*config_or);
  if (config.log_level == "debug") engine::SetLogLevel(engine::LogLevel::kDebug);
  if (config.log_level == "warning") engine::SetLogLevel(engine::LogLevel::kWarning);
  if (config.log_level == "error") engine::SetLogLevel(engine::LogLevel::kError);

  // Decided before anything is read or bound, so a refusal touches nothing.
  const PrivilegePlan privileges =
      PlanPrivileges(geteuid(), !config.user.empty(), config.allow_root);
  if (privileges == PrivilegePlan::kRefuse) {
    Die(kExitConfig,
        "started as root without `user`: set user (and group) to the account ringmaild "
        "should run as, or allow_root = true to stay root on purpose");
  }
  std::optional<RunAs> run_as;
  if (privileges == PrivilegePlan::kDrop) {
    absl::StatusOr<RunAs> as = ResolveRunAs(config.user, config.group);
    if (!as.ok()) Die(kExitConfig, std::string(as.status().message()));
    run_as = *as;
  }

  if (absl::Status s = engine::ProbeKernel(); !s.ok()) {
    Die(kExitRuntime, absl::StrCat("kernel check failed: ", s.message()));
  }
  auto directory = Directory::Load(config.passwd_file, config.local_domains);
  if (!directory.ok()) {
    Die(kExitConfig, absl::StrCat("passwd_file: ", directory.status().message()));
  }
  // RCPT TO:<Postmaster> must be deliverable (RFC 5321 §4.5.1): a
  // configured postmaster that is no local mailbox is a configuration error.
  if (auto pm = FindPostmaster(config, **directory); pm.has_value()) {
    LOG_INFO("RCPT TO:<Postmaster> delivers to ", pm->local_part, "@", pm->domain);
  } else if (!config.postmaster.empty()) {
    Die(kExitConfig, absl::StrCat("postmaster: ", config.postmaster,
                                  " is not a user of the passwd-file"));
  } else {
    LOG_WARNING("no postmaster mailbox (set postmaster, or add a postmaster@ user): "
                "RCPT TO:<Postmaster> gets 550");
  }
  // Per-user quotas: every passwd-file quota rule is checked now.
  auto quota = QuotaPolicy::Create(
      **directory, storage::QuotaLimits{config.quota.storage, config.quota.messages});
  if (!quota.ok()) {
    Die(kExitConfig, absl::StrCat("passwd_file: ", quota.status().message()));
  }
  auto location = storage::MailLocation::Create(config.mail_location);
  if (!location.ok()) {
    Die(kExitConfig, absl::StrCat("mail_location: ", location.status().message()));
  }
  // TLS files are checked once here so a bad path or key stops start-up
  // with one line; each core then builds its own context from them.
  absl::StatusOr<TlsPem> tls_pem = CheckTlsConfig(config.tls);
  if (!tls_pem.ok()) Die(kExitConfig, std::string(tls_pem.status().message()));
  auto trusted = TrustedNetworks::Parse(config.auth.trusted_networks);
  if (!trusted.ok()) Die(kExitConfig, std::string(trusted.status().message()));
  auto relay_trusted = TrustedNetworks::Parse(config.relay.trusted_networks);
  if (!relay_trusted.ok()) {
    Die(kExitConfig, absl::StrCat("relay.trusted_networks: ",
                                  relay_trusted.status().message()));
  }
  const int cores = static_cast<int>(config.threads);
  std::vector<Listening> listening;
  for (const std::string& a : config.smtp.listen) {
    listening.push_back(OpenListener("smtp", "smtp_listen", a, cores));
  }
  // Submission ports are SMTP listeners too (before first_imap).
  for (const std::string& a : config.smtp.submission_listen) {
    listening.push_back(OpenListener("submission", "submission_listen", a, cores));
  }
  if (config.tls.enabled()) {
    for (const std::string& a : config.smtp.smtps_listen) {
      listening.push_back(OpenListener("smtps", "smtps_listen", a, cores));
    }
  } else if (!config.smtp.smtps_listen.empty()) {
    LOG_WARNING("smtps_listen: no tls_cert configured; implicit-TLS submission "
                "is off (submission accepts AUTH from trusted networks only)");
  }
  for (const std::string& a : config.smtp.lmtp_listen) {
    listening.push_back(OpenListener("lmtp", "lmtp_listen", a, cores));
  }
  size_t first_imap = listening.size();
  for (const std::string& a : config.imap.listen) {
    listening.push_back(OpenListener("imap", "imap_listen", a, cores));
  }
  // Implicit-TLS IMAP/POP3 listeners ("imaps"/"pop3s", sorted out by name
  // below) only with a certificate.
  if (config.tls.enabled()) {
    for (const std::string& a : config.imap.imaps_listen) {
      listening.push_back(OpenListener("imaps", "imaps_listen", a, cores));
    }
  }
  size_t first_pop3 = listening.size();
  for (const std::string& a : config.pop3.listen) {
    listening.push_back(OpenListener("pop3", "pop3_listen", a, cores));
  }
  if (config.tls.enabled()) {
    for (const std::string& a : config.pop3.pop3s_listen) {
      listening.push_back(OpenListener("pop3s", "pop3s_listen", a, cores));
    }
  }

  // Everything that may need root is done once the listeners are bound
  // (ports below 1024): from here on ringmaild runs as `user`, so every
  // file and directory it makes is that user's (server/privileges.h).
  // Before any thread is started.
  if (run_as.has_value()) {
    // PR_SET_NO_NEW_PRIVS is per thread and inherited only by threads made
    // later: jemalloc's purging thread (third_party/jemalloc_conf.cc) is
    // stopped for the drop and started again after it.
    const bool allocator_threads = SetAllocatorBackgroundThreads(false);
    if (absl::Status s = DropPrivileges(*run_as); !s.ok()) {
      Die(kExitRuntime, absl::StrCat("cannot drop root to ", run_as->user, ":", run_as->group,
                                     ": ", s.message()));
    }
    LOG_INFO("running as ", run_as->user, ":", run_as->group, " (uid ", run_as->uid, ", gid ",
             run_as->gid, "; no capabilities, no_new_privs)");
    if (allocator_threads) SetAllocatorBackgroundThreads(true);
  } else if (privileges == PrivilegePlan::kStayRoot) {
    LOG_WARNING("running as root (allow_root): mail, queue and state files are root's");
  }
  if (mkdir(config.data_dir.c_str(), 0700) != 0 && errno != EEXIST) {
    Die(kExitConfig, absl::StrCat("data_dir: cannot create ", config.data_dir,
                                  ": ", std::strerror(errno)));
  }
  // Say it in one line rather than through the first write that fails.
  if (access(config.data_dir.c_str(), W_OK | X_OK) != 0) {
    Die(kExitConfig, absl::StrCat("data_dir: ", config.data_dir, " is not writable by uid ",
                                  geteuid(), ": ", std::strerror(errno),
                                  " (chown it to the user ringmaild runs as)"));
  }
  // Before any core serves: blocking directory scans are fine here. The
  // journal replay comes first: it may complete queue files too.
  const bool journals_recovered =
      RecoverMailStore(config, **directory, *location, kWallClock());
  const int spool_cores = static_cast<int>(config.threads);
  // A journal not recovered may write finished queue files back later:
  // keep their `removed` records (docs/queue.md).
  storage::queue::PrepareOptions prepare;
  prepare.keep_removed_records = !journals_recovered;
  if (absl::Status s =
          storage::queue::PrepareSpool(config.relay.queue_dir, spool_cores, prepare);
      !s.ok()) {
    Die(kExitRuntime, absl::StrCat("queue_dir: ", s.message()));
  }
  std::vector<std::vector<storage::queue::LoadedMessage>> queued(spool_cores);
  std::vector<storage::queue::StateLogFile> state_logs(spool_cores);
  for (int i = 0; i < spool_cores; ++i) {
    storage::queue::LoadOptions load;
    load.keep_removed_records = !journals_recovered;
    auto loaded = storage::queue::LoadCoreSpool(config.relay.queue_dir, i, load);
    if (!loaded.ok()) {
      Die(kExitRuntime, absl::StrCat("queue_dir: core ", i, ": ",
                                     loaded.status().message()));
    }
    queued[i] = std::move(*loaded);
    auto log = storage::queue::OpenStateLogFile(
        storage::queue::CoreSpoolDir(config.relay.queue_dir, i),
        storage::StderrLog());
    if (!log.ok()) Die(kExitRuntime, std::string(log.status().message()));
    state_logs[i] = *log;
  }

  // Signals are taken synchronously by the main thread only; core threads
  // inherit the blocked mask. SIGPIPE is ignored (sends use MSG_NOSIGNAL).
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  // One count per service: a client's LMTP or submission sessions must not
  // use up its port 25 slots (nor the other way round).
  const uint32_t v6_prefix = config.connection_ipv6_prefix;
  ConnectionLimits limits(config.smtp.max_connections,
                          config.smtp.max_connections_per_ip, v6_prefix);
  ConnectionLimits submission_limits(config.smtp.max_connections,
                                     config.smtp.max_connections_per_ip, v6_prefix);
  ConnectionLimits lmtp_limits(config.smtp.max_connections,
                               config.smtp.max_connections_per_ip, v6_prefix);
  ConnectionLimits imap_limits(config.imap.max_connections,
                               config.imap.max_connections_per_ip, v6_prefix);
  ConnectionLimits pop3_limits(config.pop3.max_connections,
                               config.pop3.max_connections_per_ip, v6_prefix);

  // Sources: the cores, the helper threads, the main thread, then the
  // control-socket thread.
  const int main_source = cores + kHelperThreads;
  const int control_source = cores + kHelperThreads + 1;
  engine::Mesh mesh(cores, kHelperThreads + 2);
  // Helpers post replies into core loops, so the loops must outlive them:
  // the pool is stopped explicitly before the loops (owned by the slots)
  // are destroyed.
  auto helpers = std::make_unique<engine::HelperPool>(&mesh, cores, kHelperThreads);
  AuthService auth(directory->get(), helpers.get());
  AuthThrottleOptions throttle_opts;
  throttle_opts.max_failures = config.auth.max_failures;
  throttle_opts.window = config.auth.failure_window;
  throttle_opts.base_delay = config.auth.failure_delay;
  throttle_opts.ipv6_prefix = config.connection_ipv6_prefix;
  // All cores, all protocols. Its epoch is on the clock the loops pass in.
  AuthThrottle auth_throttle(throttle_opts, kWallClock());
  // Process-wide session-ticket keys (null when TLS is off).
  std::shared_ptr<engine::TicketKeys> ticket_keys = MakeTicketKeys(config.tls);
  std::vector<imap::ImapService*> imap_services(cores, nullptr);
  imap::ImapContext imap_ctx;
  imap_ctx.config = &config;
  imap_ctx.directory = directory->get();
  imap_ctx.location = &*location;
  imap_ctx.limits = &imap_limits;
  imap_ctx.auth = &auth;
  imap_ctx.pool = helpers.get();
  imap_ctx.services = &imap_services;
  imap_ctx.trusted = &*trusted;
  imap_ctx.throttle = &auth_throttle;
  imap_ctx.quota = quota->get();
  // POP3 shares IMAP's per-user mail state on the home core.
  std::vector<pop3::Pop3Service*> pop3_services(cores, nullptr);
  pop3::Pop3Context pop3_ctx;
  pop3_ctx.config = &config;
  pop3_ctx.limits = &pop3_limits;
  pop3_ctx.auth = &auth;
  pop3_ctx.pool = helpers.get();
  pop3_ctx.services = &pop3_services;
  pop3_ctx.imap_services = &imap_services;
  pop3_ctx.trusted = &*trusted;
  pop3_ctx.throttle = &auth_throttle;

  std::vector<relay::RelayService*> relays(cores, nullptr);
  // Bound now so a bad path stops start-up; served once the cores are up.
  ControlServer control(&mesh, control_source, &relays, config.relay.control_socket);
  if (absl::Status s = control.Bind(); !s.ok()) Die(kExitConfig, std::string(s.message()));
  relay::RelayContext relay_ctx;
  relay_ctx.config = &config;
  relay_ctx.directory = directory->get();
  relay_ctx.location = &*location;
  SmtpContext ctx{&config, directory->get(), &*location, &limits};
  ctx.submission_limits = &submission_limits;
  ctx.lmtp_limits = &lmtp_limits;
  ctx.relays = &relays;
  ctx.relay_trusted = &*relay_trusted;
  ctx.auth = &auth;
  ctx.throttle = &auth_throttle;
  ctx.trusted = &*trusted;
  ctx.quota = quota->get();
  ctx.pool = helpers.get();
  // Delivered mail wakes the IMAP sessions of the recipient on its home core.
  ctx.on_delivered = [&imap_services](engine::Loop* from,
                                      const Directory::Mailbox& user) {
    int home = imap_services[0]->HomeCore(user);
    imap::ImapService* target = imap_services[home];
    from->Post(home, [target, user] { target->OnDelivered(user); });
  };
  relay_ctx.on_delivered = ctx.on_delivered;  // bounces to local senders
  std::vector<std::unique_ptr<CoreSlot>> slots;
  for (int i = 0; i < cores; ++i) slots.push_back(std::make_unique<CoreSlot>());
  std::vector<std::thread> threads;
  std::atomic<bool> all_ready{false};
  for (int i = 0; i < cores; ++i) {
    std::vector<SmtpListenSocket> fds;
    std::vector<int> imap_fds, pop3_fds, imaps_fds, pop3s_fds;
    for (size_t k = 0; k < listening.size(); ++k) {
      if (k < first_imap) {
        const std::string& p = listening[k].proto;
        fds.push_back({listening[k].fds[i],
                       p == "submission" ? SmtpPort::kSubmission
                       : p == "smtps"    ? SmtpPort::kSubmissions
                       : p == "lmtp"     ? SmtpPort::kLmtp
                                         : SmtpPort::kMx});
        continue;
      }
      const std::string& p = listening[k].proto;
      (p == "imaps"   ? imaps_fds
       : p == "pop3s" ? pop3s_fds
       : k < first_pop3 ? imap_fds
                        : pop3_fds)
          .push_back(listening[k].fds[i]);
    }
    threads.emplace_back([&, i, fds, imap_fds, pop3_fds, imaps_fds, pop3s_fds] {
      CoreSlot& slot = *slots[i];
      engine::LoopOptions opts;
      opts.ring.entries = config.ring_entries;
      opts.buffers.count = config.recv_buffers;
      opts.buffers.buffer_size = config.recv_buffer_size;
      opts.ring.max_file_workers = config.max_file_workers;
      opts.sched_batch = config.sched_batch;
      opts.wall_clock = kWallClock;
      auto loop = engine::Loop::Create(i, &mesh, opts);
      if (!loop.ok()) {
        slot.error = std::string(loop.status().message());
        slot.ready.store(true);
        slot.ready.notify_all();
        return;
      }
      // Built on this core's thread; declared before the services so it
      // outlives them.
      auto tls = CreateCoreTlsContext(config.tls, *tls_pem, ticket_keys);
      if (!tls.ok()) {
        slot.error = std::string(tls.status().message());
        slot.ready.store(true);
        slot.ready.notify_all();
        return;
      }
      slot.tls = tls->get();
      SmtpService smtp(loop->get(), ctx, fds, tls->get());
      imap::ImapService imap_service(loop->get(), imap_ctx, imap_fds);
      imap_services[i] = &imap_service;
      pop3::Pop3Service pop3_service(loop->get(), pop3_ctx, pop3_fds);
      pop3_services[i] = &pop3_service;
      relay::RelayService relay(loop->get(), relay_ctx, &smtp.delivery(),
                                std::move(queued[i]), state_logs[i]);
      relays[i] = &relay;
      if (tls->get() != nullptr) {  // STARTTLS/STLS and the implicit ports
        imap_service.EnableTls(tls->get(), imaps_fds);
        pop3_service.EnableTls(tls->get(), pop3s_fds);
      }
      slot.loop = loop->get();
      slot.smtp = &smtp;
      slot.imap = &imap_service;
      slot.pop3 = &pop3_service;
      slot.relay = &relay;
      LOG_INFO("core ", i, ": io_uring flags ", (*loop)->ring().DescribeFlags());
      slot.ready.store(true);
      slot.ready.notify_all();
      // Serve only once every core's services exist: sessions move between
      // cores and delivery notifications cross them.
      mesh.WaitForLoops();
      while (!all_ready.load(std::memory_order_acquire)) all_ready.wait(false);
      smtp.Start();
      if (absl::Status s = relay.Start(); !s.ok()) {
        LOG_ERROR("core ", i, ": relay off: ", s.message());
      }
      imap_service.Start();
      pop3_service.Start();
      (*loop)->Run();
      slot.owned_loop = std::move(*loop);  // destroyed by main, after the helpers
    });
  }
  for (auto& slot : slots) {
    slot->ready.wait(false);
    if (!slot->error.empty()) Die(kExitRuntime, absl::StrCat("core start failed: ", slot->error));
  }
  all_ready.store(true, std::memory_order_release);
  all_ready.notify_all();
  control.Start();  // every relays[i] is set (each slot was ready)
  if (!config.ports_file.empty()) WritePortsFile(config.ports_file, listening);
  for (const Listening& l : listening) {
    LOG_INFO("listening: ", l.proto, " ", l.bound);
  }
  LOG_INFO("ringmaild ready: ", cores, " cores, ", (*directory)->user_count(),
           " users, data_dir ", config.data_dir);

  // The main thread owns the ticket-key timer: it wakes at least once a
  // minute to rotate keys that are due.
  const timespec tick{60, 0};
  while (true) {
    if (ticket_keys != nullptr && ticket_keys->RotateIfDue(kWallClock())) {
      LOG_INFO("tls: session-ticket keys rotated");
    }
    const int sig = sigtimedwait(&signals, nullptr, &tick);
    if (sig < 0) continue;  // timeout (EAGAIN) or EINTR
    if (sig == SIGHUP) {
      if (!config.tls.enabled()) {
        LOG_INFO("SIGHUP: TLS is off; nothing to reload");
        continue;
      }
      LOG_INFO("SIGHUP: reloading the TLS certificate on every core");
      for (int i = 0; i < cores; ++i) {
        mesh.PostFromThread(main_source, i, [slot = slots[i].get(), i] {
          if (slot->tls == nullptr) return;
          // Open sessions keep the SSL_CTX they started with.
          if (absl::Status s = slot->tls->Reload(); !s.ok()) {
            LOG_ERROR("core ", i, ": SIGHUP: ", s.message(),
                      "; keeping the previous certificate");
          }
        });
      }
      continue;
    }
    LOG_INFO("signal ", sig, ": shutting down");
    break;
  }
  // Before the cores stop: its requests are answered by tasks on them.
  control.Stop();
  for (int i = 0; i < cores; ++i) {
    mesh.PostFromThread(main_source, i, [slot = slots[i].get()] {
      engine::Loop* loop = slot->loop;
      // Every service drains, then the loop stops.
      auto remaining = std::make_shared<int>(4);
      auto one_done = [loop, remaining] {
        if (--*remaining == 0) loop->Stop();
      };
      slot->smtp->Shutdown(one_done);
      slot->imap->Shutdown(one_done);
      slot->pop3->Shutdown(one_done);
      slot->relay->Shutdown(one_done);
    });
  }
  for (auto& t : threads) t.join();
  helpers.reset();
  slots.clear();
  LOG_INFO("ringmaild stopped");
  return 0;
}

}  // namespace
}  // namespace ringmail::server

int main(int argc, char** argv) { return ringmail::server::Main(argc, argv); }
