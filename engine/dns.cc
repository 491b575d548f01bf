#include "engine/dns.h"

#include <ares.h>
#include <poll.h>

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <optional>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "engine/dns_cache.h"
#include "engine/dns_names.h"
#include "engine/log.h"

namespace ringmail::engine {
namespace {

constexpr int kClassIn = 1;
constexpr int kRcodeNxdomain = 3;

const char* TypeName(dns::RecordType t) {
  switch (t) {
    case dns::RecordType::kA: return "A";
    case dns::RecordType::kMx: return "MX";
    case dns::RecordType::kAaaa: return "AAAA";
  }
  return "?";
}

void InitAresOnce() {
  static std::once_flag once;
  std::call_once(once, [] { ares_library_init(ARES_LIB_INIT_ALL); });
}

}  // namespace

class DnsResolver::Impl {
 public:
  using Waiter = absl::AnyInvocable<void(const dns::Answer&)>;

  Impl(Loop* loop, const DnsOptions& opts)
      : loop_(loop), opts_(opts), cache_(opts.max_cache_entries) {}
  ~Impl();

  absl::Status Init();
  // Answers from the cache, joins an identical query in flight, or sends one.
  void Lookup(dns::Key key, Waiter waiter);
  void DeferOne(Waiter waiter, dns::Answer answer);
  Loop* loop() const { return loop_; }
  const std::shared_ptr<bool>& alive() const { return alive_; }
  size_t cache_size() const { return cache_.size(); }
  absl::Duration max_ttl() const { return opts_.max_ttl; }

 private:
  class SocketOp;
  struct QueryContext {
    Impl* impl;
    dns::Key key;
  };

  static void OnSocketState(void* data, ares_socket_t fd, int readable, int writable);
  static void OnReply(void* arg, int status, int timeouts, unsigned char* abuf, int alen);
  void SocketReady(int fd, int res);
  void Finish(const dns::Key& key, int status, const unsigned char* abuf, int alen);
  dns::Answer Interpret(const dns::Key& key, int status, const unsigned char* abuf,
                        int alen);
  void UpdateTimer();
  void OnTimer();

  Loop* const loop_;
  const DnsOptions opts_;
  ares_channel channel_ = nullptr;
  // False once destruction starts: queued deliveries check it, so no
  // callback runs after ~DnsResolver.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  absl::flat_hash_map<int, SocketOp*> sockets_;  // c-ares' open sockets
  absl::flat_hash_map<dns::Key, std::vector<Waiter>> pending_;
  dns::Cache cache_;
  Loop::TimerId timer_ = 0;
  absl::Time timer_deadline_;
};

// Keeps one one-shot POLL_ADD armed on a c-ares socket for the events c-ares
// wants. It outlives its owner when a poll is in flight at detach time (the
// kernel still holds the request), orphaned on the ring until it completes.
class DnsResolver::Impl::SocketOp final : public Operation {
 public:
  SocketOp(Impl* owner, Ring* ring, int fd) : owner_(owner), ring_(ring), fd_(fd) {}

  // c-ares wants these events now.
  void Want(bool read, bool write) {
    want_ = static_cast<unsigned>((read ? POLLIN : 0) | (write ? POLLOUT : 0));
    if (in_callback_) return;  // Complete re-arms with the latest mask
    if (!armed_) {
      Arm();
    } else if ((want_ & ~armed_mask_) != 0 && !cancelling_) {
      // The armed poll misses an event (POLLOUT for a TCP connect): cancel
      // it; its -ECANCELED completion re-arms with the new mask.
      Cancel();
    }
  }

  // c-ares closed (or is about to close) the socket.
  void Detach() {
    owner_ = nullptr;
    if (armed_) {
      ring_->Orphan(this);
      if (!cancelling_) Cancel();
    } else if (!in_callback_) {
      delete this;
    }
  }

  void Complete(int res, uint32_t) override {
    armed_ = false;
    cancelling_ = false;
    if (owner_ == nullptr) {
      ring_->Forget(this);
      delete this;
      return;
    }
    if (res != -ECANCELED && res != -EINTR) {
      in_callback_ = true;
      owner_->SocketReady(fd_, res);  // may Detach this
      in_callback_ = false;
      if (owner_ == nullptr) {
        delete this;
        return;
      }
      if (res < 0) {
        // Not re-armed: a persistent error would spin. c-ares' own timeout
        // ends the queries on this socket and closes it.
        LOG_WARNING("dns: poll on socket ", fd_, " failed: ", std::strerror(-res));
        return;
      }
    }
    Arm();
  }

 private:
  void Arm() {
    if (want_ == 0) return;
    armed_mask_ = want_;
    armed_ = true;
    io_uring_prep_poll_add(ring_->GetSqe(this), fd_, armed_mask_);
  }
  void Cancel() {
    cancelling_ = true;
    io_uring_prep_cancel64(ring_->GetSqe(), reinterpret_cast<uint64_t>(this), 0);
  }

  Impl* owner_;
  Ring* const ring_;
  const int fd_;
  unsigned want_ = 0;
  unsigned armed_mask_ = 0;
  bool armed_ = false;
  bool cancelling_ = false;
  bool in_callback_ = false;
};

absl::Status DnsResolver::Impl::Init() {
  InitAresOnce();
  ares_options o{};
  int mask = ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_SOCK_STATE_CB;
  o.timeout = static_cast<int>(
      std::clamp<int64_t>(absl::ToInt64Milliseconds(opts_.timeout), 1, 3600 * 1000));
  o.tries = opts_.tries;
  o.sock_state_cb = &Impl::OnSocketState;
  o.sock_state_cb_data = this;
  int rc = ares_init_options(&channel_, &o, mask);
  if (rc != ARES_SUCCESS) {
    channel_ = nullptr;
    return absl::UnavailableError(absl::StrCat("dns: ares_init_options: ", ares_strerror(rc)));
  }
  if (!opts_.servers.empty()) {
    auto servers = dns::ParseServers(opts_.servers);
    if (!servers.ok()) return servers.status();
    std::vector<ares_addr_port_node> nodes(servers->size());
    for (size_t i = 0; i < nodes.size(); ++i) {
      const SocketAddress& a = (*servers)[i];
      ares_addr_port_node& n = nodes[i];
      n.next = i + 1 < nodes.size() ? &nodes[i + 1] : nullptr;
      n.family = a.storage.ss_family;
      if (n.family == AF_INET) {
        n.addr.addr4 = reinterpret_cast<const sockaddr_in*>(&a.storage)->sin_addr;
      } else {
        std::memcpy(&n.addr.addr6, &reinterpret_cast<const sockaddr_in6*>(&a.storage)->sin6_addr,
                    sizeof(n.addr.addr6));
      }
      n.udp_port = n.tcp_port = a.port();
    }
    rc = ares_set_servers_ports(channel_, nodes.data());
    if (rc != ARES_SUCCESS) {
      return absl::UnavailableError(
          absl::StrCat("dns: ares_set_servers_ports: ", ares_strerror(rc)));
    }
  }
  return absl::OkStatus();
}

DnsResolver::Impl::~Impl() {
  *alive_ = false;
  if (timer_ != 0) loop_->CancelTimer(timer_);
  // Ends every query with ARES_EDESTRUCTION (OnReply frees its context) and
  // closes every socket, reporting each through OnSocketState.
  if (channel_ != nullptr) ares_destroy(channel_);
  for (auto& [fd, op] : sockets_) op->Detach();
  sockets_.clear();
}

void DnsResolver::Impl::OnSocketState(void* data, ares_socket_t fd, int readable,
                                      int writable) {
  auto* self = static_cast<Impl*>(data);
  auto it = self->sockets_.find(fd);
  if (!readable && !writable) {
    if (it != self->sockets_.end()) {
      it->second->Detach();
      self->sockets_.erase(it);
    }
    return;
  }
  if (it == self->sockets_.end()) {
    it = self->sockets_.emplace(fd, new SocketOp(self, &self->loop_->ring(), fd)).first;
  }
  it->second->Want(readable != 0, writable != 0);
}

void DnsResolver::Impl::SocketReady(int fd, int res) {
  // An error (POLLERR/POLLHUP or a failed poll) goes both ways: c-ares'
  // read or write then sees it and closes the socket.
  bool err = res < 0 || (res & (POLLERR | POLLHUP)) != 0;
  ares_socket_t r = (err || (res & POLLIN)) ? fd : ARES_SOCKET_BAD;
  ares_socket_t w = (err || (res & POLLOUT)) ? fd : ARES_SOCKET_BAD;
  ares_process_fd(channel_, r, w);
  UpdateTimer();
}

void DnsResolver::Impl::UpdateTimer() {
  timeval tv{};
  if (ares_timeout(channel_, nullptr, &tv) == nullptr) {
    if (timer_ != 0) loop_->CancelTimer(timer_);
    timer_ = 0;
    return;
  }
  absl::Duration wait = std::max(absl::DurationFromTimeval(tv), absl::Milliseconds(1));
  absl::Time deadline = loop_->now() + wait;
  // Re-arm only for an earlier deadline: a timer that fires early just
  // finds nothing due and re-arms, while moving it on every call would pile
  // cancelled entries into the loop's timer heap.
  if (timer_ != 0 && timer_deadline_ <= deadline) return;
  if (timer_ != 0) loop_->CancelTimer(timer_);
  timer_deadline_ = deadline;
  timer_ = loop_->AddTimer(deadline, [this] { OnTimer(); });
}

void DnsResolver::Impl::OnTimer() {
  timer_ = 0;
  ares_process_fd(channel_, ARES_SOCKET_BAD, ARES_SOCKET_BAD);  // timeouts
  UpdateTimer();
}

void DnsResolver::Impl::DeferOne(Waiter waiter, dns::Answer answer) {
  loop_->Defer([alive = alive_, waiter = std::move(waiter),
                answer = std::move(answer)]() mutable {
    if (*alive) waiter(answer);
  });
}

void DnsResolver::Impl::Lookup(dns::Key key, Waiter waiter) {
  absl::Time now = loop_->now();
  if (const dns::Answer* cached = cache_.Find(key, now)) {
    DeferOne(std::move(waiter), *cached);
    return;
  }
  auto busy = [&](std::string_view why) {
    DeferOne(std::move(waiter),
             dns::Answer{absl::UnavailableError(absl::StrCat(
                             "dns: ", key.name, " ", TypeName(key.type), ": ",
                             std::string(why))),
                         {}, {}, now});
  };
  if (auto it = pending_.find(key); it != pending_.end()) {
    if (it->second.size() >= kMaxDnsWaitersPerQuery) return busy("too many waiters");
    it->second.push_back(std::move(waiter));
    return;
  }
  if (pending_.size() >= opts_.max_pending_queries) return busy("too many queries in flight");
  pending_[key].push_back(std::move(waiter));
  // Registered first: c-ares may call OnReply before ares_query returns.
  ares_query(channel_, key.name.c_str(), kClassIn, static_cast<int>(key.type),
             &Impl::OnReply, new QueryContext{this, key});
  UpdateTimer();
}

void DnsResolver::Impl::OnReply(void* arg, int status, int, unsigned char* abuf,
                                int alen) {
  std::unique_ptr<QueryContext> ctx(static_cast<QueryContext*>(arg));
  if (status == ARES_EDESTRUCTION || status == ARES_ECANCELLED) return;
  ctx->impl->Finish(ctx->key, status, abuf, alen);
}

void DnsResolver::Impl::Finish(const dns::Key& key, int status, const unsigned char* abuf,
                               int alen) {
  dns::Answer answer = Interpret(key, status, abuf, alen);
  if (!absl::IsUnavailable(answer.status)) cache_.Store(key, answer, loop_->now());
  auto it = pending_.find(key);
  assert(it != pending_.end());
  if (it == pending_.end()) return;
  std::vector<Waiter> waiters = std::move(it->second);
  pending_.erase(it);
  // One task for all waiters; each may destroy the resolver, after which
  // the rest are dropped.
  loop_->Defer([alive = alive_, waiters = std::move(waiters),
                answer = std::move(answer)]() mutable {
    for (Waiter& w : waiters) {
      if (!*alive) return;
      w(answer);
    }
  });
}

dns::Answer DnsResolver::Impl::Interpret(const dns::Key& key, int status,
                                         const unsigned char* abuf, int alen) {
  absl::Time now = loop_->now();
  std::string what = absl::StrCat(key.name, " ", TypeName(key.type));
  dns::Answer a;
  a.expires = now;
  bool answered = status == ARES_SUCCESS || status == ARES_ENODATA || status == ARES_ENOTFOUND;
  if (!answered) {
    a.status = absl::UnavailableError(
        absl::StrCat("dns: ", what, ": ", ares_strerror(status)));
    return a;
  }
  std::optional<dns::ParsedReply> parsed;
  if (abuf != nullptr && alen > 0) {
    auto p = dns::ParseReply(abuf, static_cast<size_t>(alen), key.name, key.type);
    if (!p.ok()) {
      a.status = absl::UnavailableError(absl::StrCat("dns: ", what, ": ", p.status().message()));
      return a;
    }
    parsed = std::move(*p);
  }
  absl::Duration negative = opts_.negative_ttl;
  if (parsed && parsed->negative_ttl) {
    negative = std::min(negative, absl::Seconds(*parsed->negative_ttl));
  }
  negative = std::min(negative, opts_.max_ttl);
  if (status == ARES_ENOTFOUND || (parsed && parsed->rcode == kRcodeNxdomain)) {
    a.status = absl::NotFoundError(absl::StrCat("dns: ", what, ": no such domain"));
    a.expires = now + negative;
    return a;
  }
  a.status = absl::OkStatus();
  if (parsed) {
    a.mx = std::move(parsed->mx);
    a.addresses = std::move(parsed->addresses);
  }
  if (a.mx.empty() && a.addresses.empty()) {
    a.expires = now + negative;  // NODATA (RFC 2308 §2.2)
  } else {
    a.expires = now + std::min(absl::Seconds(*parsed->answer_ttl), opts_.max_ttl);
  }
  return a;
}

// ------------------------------------------------------------- DnsResolver

DnsResolver::DnsResolver(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
DnsResolver::~DnsResolver() = default;

absl::StatusOr<std::unique_ptr<DnsResolver>> DnsResolver::Create(
    Loop* loop, const DnsOptions& options) {
  if (options.tries < 1) return absl::InvalidArgumentError("dns: tries must be >= 1");
  if (options.timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("dns: timeout must be positive");
  }
  if (options.max_pending_queries == 0) {
    return absl::InvalidArgumentError("dns: max_pending_queries must be >= 1");
  }
  auto impl = std::make_unique<Impl>(loop, options);
  if (absl::Status s = impl->Init(); !s.ok()) return s;
  return std::unique_ptr<DnsResolver>(new DnsResolver(std::move(impl)));
}

size_t DnsResolver::cache_size() const { return impl_->cache_size(); }

void DnsResolver::ResolveMx(std::string_view domain,
                            absl::AnyInvocable<void(const MxAnswer&)> done) {
  std::string name = dns::NormalizeName(domain);
  Impl::Waiter waiter = [done = std::move(done)](const dns::Answer& a) mutable {
    done(MxAnswer{a.status, a.mx, a.expires});
  };
  if (!dns::IsQueryableName(name)) {
    impl_->DeferOne(std::move(waiter),
                    dns::Answer{absl::NotFoundError(absl::StrCat(
                                    "dns: '", name, "' is not a valid domain name")),
                                {}, {}, impl_->loop()->now()});
    return;
  }
  impl_->Lookup(dns::Key{std::move(name), dns::RecordType::kMx}, std::move(waiter));
}

namespace {

// Joins the A and AAAA answers of one ResolveAddresses call.
struct AddressJoin {
  absl::AnyInvocable<void(const AddressAnswer&)> done;
  std::optional<dns::Answer> v4, v6;

  void MaybeFinish() {
    if (!v4 || !v6) return;
    AddressAnswer out;
    out.addresses = v4->addresses;
    out.addresses.insert(out.addresses.end(), v6->addresses.begin(), v6->addresses.end());
    const dns::Answer* failed = !v4->status.ok() && !absl::IsNotFound(v4->status) ? &*v4
                                : !v6->status.ok() && !absl::IsNotFound(v6->status) ? &*v6
                                                                                     : nullptr;
    // Stale as soon as any contributing answer is; a failed family's answer
    // (expires = now) does not cut short the other's.
    out.expires = absl::InfiniteFuture();
    for (const dns::Answer* a : {&*v4, &*v6}) {
      if (a != failed) out.expires = std::min(out.expires, a->expires);
    }
    if (!out.addresses.empty()) {
      out.status = absl::OkStatus();
    } else if (failed != nullptr) {
      out.status = failed->status;
      out.expires = failed->expires;
    } else if (absl::IsNotFound(v4->status) && absl::IsNotFound(v6->status)) {
      out.status = v4->status;
    } else {
      out.status = absl::OkStatus();  // NODATA for both (or NXDOMAIN + NODATA)
    }
    done(out);
  }
};

}  // namespace

void DnsResolver::ResolveAddresses(std::string_view host,
                                   absl::AnyInvocable<void(const AddressAnswer&)> done) {
  absl::Time now = impl_->loop()->now();
  std::optional<SocketAddress> literal = dns::ParseAddressLiteral(host);
  std::string name = dns::NormalizeName(host);
  if (literal || !dns::IsQueryableName(name)) {
    AddressAnswer out;
    if (literal) {
      out.addresses.push_back(*literal);
      out.expires = now + impl_->max_ttl();
    } else {
      out.status = absl::NotFoundError(
          absl::StrCat("dns: '", name, "' is not a valid host name"));
      out.expires = now;
    }
    impl_->loop()->Defer([alive = impl_->alive(), done = std::move(done),
                          out = std::move(out)]() mutable {
      if (*alive) done(out);
    });
    return;
  }
  auto join = std::make_shared<AddressJoin>();
  join->done = std::move(done);
  impl_->Lookup(dns::Key{name, dns::RecordType::kA}, [join](const dns::Answer& a) {
    join->v4 = a;
    join->MaybeFinish();
  });
  impl_->Lookup(dns::Key{std::move(name), dns::RecordType::kAaaa},
                [join](const dns::Answer& a) {
                  join->v6 = a;
                  join->MaybeFinish();
                });
}

}  // namespace ringmail::engine
