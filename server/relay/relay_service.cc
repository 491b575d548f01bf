#include "server/relay/relay_service.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "engine/log.h"
#include "protocols/smtp/dsn.h"
#include "server/file_read.h"
#include "server/relay/outbound_session.h"
#include "storage/maildir/maildir_name.h"
#include "storage/queue/spool_layout.h"

namespace ringmail::server::relay {
namespace {

// Sessions started by one Dispatch call, so a huge ready backlog cannot
// hold the core for long; the rest start on the next round.
constexpr size_t kMaxStartsPerDispatch = 256;
// How much of the original a DSN reads back (RET=FULL); beyond, headers.
constexpr size_t kMaxReturnedBytes = 10 << 20;
// RET=HDRS or too big: this much is read to find the header's end.
constexpr size_t kHeaderReadBytes = 256 << 10;

}  // namespace

RelayService::RelayService(engine::Loop* loop, const RelayContext& ctx,
                           storage::DeliveryQueue* delivery,
                           std::vector<storage::queue::LoadedMessage> loaded,
                           storage::queue::StateLogFile log_file)
    : loop_(loop),
      ctx_(ctx),
      delivery_(delivery),
      spool_dir_(storage::queue::CoreSpoolDir(ctx.config->relay.queue_dir,
                                              loop->id())),
      scheduler_(&ctx.config->relay),
      pending_load_(std::move(loaded)) {
  log_ = std::make_unique<storage::queue::StateLog>(
      &loop->file_io(), spool_dir_, log_file, storage::queue::StateLogOptions{},
      [loop](absl::Duration d, absl::AnyInvocable<void()> fn) {
        if (d <= absl::ZeroDuration()) {
          loop->Defer(std::move(fn));
        } else {
          loop->AddTimer(d, std::move(fn));
        }
      });
  id_base_ = static_cast<uint64_t>(absl::ToUnixMicros(loop->now()));
}

RelayService::~RelayService() {
  loop_->CancelTimer(timer_);
  // Sessions are gone after Shutdown; any left (no Shutdown) are leaked on
  // purpose rather than deleted under a pending completion.
}

absl::Status RelayService::Start() {
  engine::DnsOptions dns;
  dns.servers = absl::StrJoin(ctx_.config->relay.dns_servers, ",");
  auto resolver = engine::DnsResolver::Create(loop_, dns);
  if (!resolver.ok()) return resolver.status();
  resolver_ = std::move(*resolver);
  engine::TlsClientOptions tls_options;
  tls_options.ca_file = ctx_.config->relay.tls_ca_file;
  auto tls = engine::TlsClientContext::Create(tls_options);
  if (!tls.ok() && !tls_options.ca_file.empty()) {
    // Config validation made sure the file is readable when a destination
    // uses "verify"; otherwise (e.g. no system bundle installed) go on
    // without trust anchors: opportunistic STARTTLS does not need them.
    LOG_WARNING("relay: ", tls.status().message(), "; no trust anchors for outbound TLS");
    tls_options.ca_file.clear();
    tls = engine::TlsClientContext::Create(tls_options);
  }
  if (tls.ok()) {
    tls_client_ = std::move(*tls);
  } else {
    LOG_WARNING("relay: no TLS client (", tls.status().message(),
                "); outbound STARTTLS off");
  }
  const absl::Time now = loop_->now();
  for (storage::queue::LoadedMessage& m : pending_load_) {
    scheduler_.Add(std::move(m.file), std::move(m.envelope), m.content_offset,
                   m.file_bytes, m.size, std::move(m.recipients), m.held,
                   m.delay_warned, now);
  }
  if (!pending_load_.empty()) {
    LOG_INFO("relay: core ", loop_->id(), ": ", pending_load_.size(),
             " queued messages loaded");
  }
  pending_load_.clear();
  pending_load_.shrink_to_fit();
  Dispatch();
  return absl::OkStatus();
}

bool RelayService::accepting() const {
  return !shutting_down_ && resolver_ != nullptr && !log_->broken();
}

storage::DeliveryTarget RelayService::QueueTarget(
    const storage::queue::QueueEnvelope& env, std::string_view received_lf) const {
  storage::DeliveryTarget t;
  t.maildir = spool_dir_;
  t.header_prefix = storage::queue::EncodeQueuePrefix(env);
  t.header_prefix.append(received_lf);
  return t;
}

std::string RelayService::NewQueueId() {
  return absl::StrFormat("%X%02X%04X", id_base_, loop_->id() & 0xff,
                         ++id_counter_ & 0xffff);
}

void RelayService::Accepted(std::string file, storage::queue::QueueEnvelope env,
                            uint64_t crlf_size) {
  const size_t offset = storage::queue::EncodeQueuePrefix(env).size();
  // DeliveryQueue names the file with its exact length (S= is prefix plus
  // content): with it the body is read with one buffer of the right size
  // and no extra read to find the end. Without it (never expected) reads
  // go on until end of file, 256 KiB at a time.
  uint64_t file_bytes = kUnknownFileBytes;
  if (auto name = storage::ParseMaildirName(file); name.ok() && name->size.has_value() &&
                                                   *name->size >= offset) {
    file_bytes = *name->size;
  }
  if (crlf_size != 0) {
    storage::queue::StateRecord r;
    r.kind = storage::queue::StateRecord::Kind::kSize;
    r.file = file;
    r.size = crlf_size;
    AppendRecords({std::move(r)}, [](absl::Status) {});
  }
  scheduler_.Add(std::move(file), std::move(env), offset, file_bytes, crlf_size,
                 {}, false, false, loop_->now());
  if (!dispatching_) {
    dispatching_ = true;
    loop_->Defer([this] {
      dispatching_ = false;
      Dispatch();
    });
  }
}

void RelayService::Kick() { Dispatch(); }

void RelayService::Dispatch() {
  if (shutting_down_ || resolver_ == nullptr) return;
  const absl::Time now = loop_->now();
  scheduler_.Tick(now);
  size_t started = 0;
  while (started < kMaxStartsPerDispatch) {
    std::vector<std::string> domains = scheduler_.DomainsToStart(now);
    if (domains.empty()) break;
    for (std::string& d : domains) {
      if (started == kMaxStartsPerDispatch) break;
      scheduler_.OpenSession(d);
      auto* s = new OutboundSession(this, std::move(d));
      s->index = sessions_.size();
      sessions_.push_back(s);
      ++started;
      s->Start();
    }
  }
  absl::Time next = std::min(scheduler_.NextWake(), scheduler_.NextDomainWake(now));
  if (started == kMaxStartsPerDispatch) next = now;
  ArmTimer(next);
}

void RelayService::ArmTimer(absl::Time when) {
  if (when == absl::InfiniteFuture()) return;
  when = std::max(when, loop_->now());
  if (timer_ != 0 && timer_at_ <= when) return;
  loop_->CancelTimer(timer_);
  timer_at_ = when;
  timer_ = loop_->AddTimer(when, [this] {
    timer_ = 0;
    timer_at_ = absl::InfiniteFuture();
    Dispatch();
  });
}

void RelayService::OnSessionGone(OutboundSession* s) {
  assert(s->index < sessions_.size() && sessions_[s->index] == s);
  scheduler_.CloseSession(s->domain());
  OutboundSession* last = sessions_.back();
  sessions_[s->index] = last;
  last->index = s->index;
  sessions_.pop_back();
  // Deleted later: this may run inside the session's own callbacks.
  loop_->Defer([s] { delete s; });
  if (shutting_down_) {
    if (sessions_.empty() && shutdown_done_) {
      auto done = std::move(shutdown_done_);
      shutdown_done_ = nullptr;
      log_->Shutdown(std::move(done));
    }
    return;
  }
  loop_->Defer([this] { Dispatch(); });
}

void RelayService::Shutdown(absl::AnyInvocable<void()> done) {
  shutting_down_ = true;
  loop_->CancelTimer(timer_);
  timer_ = 0;
  if (sessions_.empty()) {
    log_->Shutdown(std::move(done));
    return;
  }
  shutdown_done_ = std::move(done);
  std::vector<OutboundSession*> copy = sessions_;
  for (OutboundSession* s : copy) s->Shutdown();
}

void RelayService::AppendRecords(
    std::vector<storage::queue::StateRecord> records,
    absl::AnyInvocable<void(absl::Status)> durable) {
  if (records.empty()) {
    loop_->Defer([d = std::move(durable)]() mutable { d(absl::OkStatus()); });
    return;
  }
  // Callbacks run in append order, so the last one means all are durable
  // (a broken log fails every one of them alike).
  for (size_t i = 0; i + 1 < records.size(); ++i) {
    log_->Append(records[i], [](absl::Status) {});
  }
  log_->Append(records.back(), std::move(durable));
  MaybeCompact();
}

void RelayService::MaybeCompact() {
  if (log_->compacting() || log_->broken() ||
      log_->bytes() < 2 * log_->compacted_bytes() + (4 << 20)) {
    return;
  }
  std::vector<storage::queue::StateRecord> live;
  const absl::Time keep_after =
      loop_->now() - 4 * ctx_.config->checkpoint_interval - absl::Seconds(5);
  while (!recently_removed_.empty() && recently_removed_.front().first < keep_after) {
    recently_removed_.pop_front();
  }
  for (const auto& [when, file] : recently_removed_) {
    storage::queue::StateRecord r;
    r.kind = storage::queue::StateRecord::Kind::kRemoved;
    r.file = file;
    live.push_back(std::move(r));
  }
  for (const Message* m = nullptr;;) {
    std::vector<const Message*> page =
        scheduler_.Page(m == nullptr ? std::string_view() : m->file, 4096);
    if (page.empty()) break;
    for (const Message* p : page) {
      storage::queue::AppendFileStateRecords(p->file, p->rcpts, p->held,
                                             p->delay_warned, p->size, &live);
    }
    m = page.back();
  }
  log_->Compact(std::move(live), [](absl::Status s) {
    if (!s.ok()) LOG_WARNING("relay: state log compaction: ", s.message());
  });
}

void RelayService::Carry(Outcome out) {
  if (out.records.empty() && out.dsns.empty() && out.finished.empty()) return;
  if (out.dsns.empty() && !out.finished.empty()) {
    // No bounce has to become durable first, so the outcome and the
    // `removed` records go out in the same group commit: one fdatasync per
    // batch of finished messages instead of two in a row. If a crash tears
    // the batch, each surviving line is still true: a `removed` line means
    // every recipient was final, with or without its `rcpt` lines.
    std::vector<uint64_t> removing;
    for (uint64_t seq : out.finished) {
      if (const Message* m = scheduler_.Find(seq); m != nullptr) {
        storage::queue::StateRecord r;
        r.kind = storage::queue::StateRecord::Kind::kRemoved;
        r.file = m->file;
        out.records.push_back(std::move(r));
        removing.push_back(seq);
      }
    }
    AppendRecords(std::move(out.records),
                  [this, removing = std::move(removing)](absl::Status s) {
                    if (!s.ok()) {
                      LOG_ERROR("relay: state log append failed: ", s.message());
                      return;  // the files stay; the restart replays the log
                    }
                    for (uint64_t seq : removing) UnlinkRemoved(seq);
                  });
    return;
  }
  AppendRecords(
      std::move(out.records),
      [this, dsns = std::move(out.dsns),
       finished = std::move(out.finished)](absl::Status s) mutable {
        if (!s.ok()) {
          LOG_ERROR("relay: state log append failed: ", s.message());
          // The files stay; the restart replays what reached the disk.
          return;
        }
        auto remaining = std::make_shared<size_t>(dsns.size() + 1);
        auto all_ok = std::make_shared<bool>(true);
        auto finish = [this, remaining, all_ok,
                       finished = std::move(finished)](bool ok) mutable {
          *all_ok &= ok;
          if (--*remaining != 0) return;
          // A message leaves the queue only once its bounces are durable.
          for (uint64_t seq : finished) {
            if (*all_ok) RemoveFinished(seq);
          }
        };
        auto shared_finish = std::make_shared<decltype(finish)>(std::move(finish));
        for (DsnRequest& r : dsns) {
          SendDsn(std::move(r), [shared_finish](bool ok) { (*shared_finish)(ok); });
        }
        (*shared_finish)(true);
      });
}

void RelayService::RemoveFinished(uint64_t seq) {
  const Message* m = scheduler_.Find(seq);
  if (m == nullptr) return;
  storage::queue::StateRecord r;
  r.kind = storage::queue::StateRecord::Kind::kRemoved;
  r.file = m->file;
  std::string path = absl::StrCat(spool_dir_, "/new/", m->file);
  AppendRecords({std::move(r)}, [this, seq](absl::Status s) {
    if (!s.ok()) return;  // stays; replay finishes it
    UnlinkRemoved(seq);
  });
}

void RelayService::UnlinkRemoved(uint64_t seq) {
  const Message* m = scheduler_.Find(seq);
  if (m == nullptr) return;
  std::string path = absl::StrCat(spool_dir_, "/new/", m->file);
  loop_->file_io().UnlinkAt(AT_FDCWD, path, 0, [this, seq, path](int res) {
    if (res < 0 && res != -ENOENT) {
      LOG_ERROR("relay: unlink(", path, ") failed: ", strerror(-res));
    }
    recently_removed_.emplace_back(loop_->now(), path.substr(path.rfind('/') + 1));
    while (recently_removed_.front().first < loop_->now() - absl::Minutes(1)) {
      recently_removed_.pop_front();  // bounded: the journal checkpoints every ~1 s
    }
    scheduler_.Forget(seq);
  });
}

// ---- bounces

namespace {

smtp::DsnAction ActionFor(DsnRequest::Kind k) {
  switch (k) {
    case DsnRequest::Kind::kFailed:
      return smtp::DsnAction::kFailed;
    case DsnRequest::Kind::kDelayed:
      return smtp::DsnAction::kDelayed;
    case DsnRequest::Kind::kRelayed:
      break;
  }
  return smtp::DsnAction::kRelayed;
}

}  // namespace

void RelayService::SendDsn(DsnRequest req, absl::AnyInvocable<void(bool ok)> done) {
  const Message* m = scheduler_.Find(req.seq);
  if (m == nullptr || m->env.sender.empty() || m->env.is_dsn) {
    done(true);  // never bounce a bounce
    return;
  }
  const bool full = m->env.ret != "HDRS" && req.kind == DsnRequest::Kind::kFailed;
  std::string path = absl::StrCat(spool_dir_, "/new/", m->file);
  FileReadOptions read;
  read.offset = m->content_offset;
  // One byte more than is returned, so the DSN builder sees "too big".
  read.max_bytes = full ? kMaxReturnedBytes + 1 : kHeaderReadBytes;
  read.truncate = true;
  ReadFile(
      &loop_->file_io(), path, read,
      [this, req = std::move(req), full,
       done = std::move(done)](absl::StatusOr<std::string> original) mutable {
        const Message* m = scheduler_.Find(req.seq);
        if (m == nullptr) {
          done(true);
          return;
        }
        if (!original.ok()) {
          LOG_ERROR("relay: reading ", m->file, " for a DSN failed: ",
                    original.status().message());
          original = std::string();
        }
        const std::string& host = ctx_.config->hostname;
        smtp::DsnInput in;
        in.reporting_mta = host;
        in.from_address = absl::StrCat("MAILER-DAEMON@", host);
        in.to_address = m->env.sender;
        if (!m->env.envid.empty()) {
          in.envid = smtp::XtextDecode(m->env.envid).value_or(std::string());
        }
        in.queue_id = m->env.id;
        in.arrival = m->env.arrival;
        in.now = loop_->now();
        for (size_t k = 0; k < req.rcpts.size(); ++k) {
          const RecipientResult& r = req.results[k];
          smtp::DsnRecipient d;
          d.final_recipient = m->env.recipients[req.rcpts[k]].address;
          d.original_recipient = m->env.recipients[req.rcpts[k]].orcpt;
          d.action = ActionFor(req.kind);
          d.status = r.status;
          d.remote_mta = r.remote_host;
          (r.remote_host.empty() ? d.reason : d.diagnostic) = r.reply;
          d.last_attempt = in.now;
          if (req.kind == DsnRequest::Kind::kDelayed) {
            d.will_retry_until = m->env.arrival + ctx_.config->relay.queue_lifetime;
          }
          in.recipients.push_back(std::move(d));
        }
        in.original_message = *original;
        in.return_full = full;
        in.max_returned_bytes = kMaxReturnedBytes;
        in.boundary = absl::StrFormat("%016x%016x", absl::Uniform<uint64_t>(random_),
                                      absl::Uniform<uint64_t>(random_));
        DeliverDsn(*m, smtp::BuildDsn(in), std::move(done));
      });
}

void RelayService::DeliverDsn(const Message& m, std::string text,
                              absl::AnyInvocable<void(bool ok)> done) {
  const std::string& to = m.env.sender;
  size_t at = to.rfind('@');
  std::string domain = Scheduler::DomainOf(to);
  std::string local = at == std::string::npos ? to : to.substr(0, at);
  std::vector<storage::DeliveryTarget> targets;
  std::optional<Directory::Mailbox> mbox;
  storage::queue::QueueEnvelope env;
  if (ctx_.directory->IsLocalDomain(domain)) {
    mbox = ctx_.directory->FindMailbox(local, domain);
    if (!mbox) {
      LOG_WARNING("relay: DSN for ", m.env.id, " dropped: sender <", to,
                  "> is no local user");
      done(true);
      return;
    }
    auto path = ctx_.location->Expand(mbox->local_part, mbox->domain);
    if (!path.ok()) {
      LOG_ERROR("relay: mail location for <", to, ">: ", path.status().message());
      done(false);
      return;
    }
    storage::DeliveryTarget t;
    t.maildir = std::move(*path);
    t.header_prefix = absl::StrCat("Return-Path: <>\nDelivered-To: ",
                                   mbox->local_part, "@", mbox->domain, "\n");
    targets.push_back(std::move(t));
  } else {
    env.id = NewQueueId();
    env.arrival = loop_->now();
    env.is_dsn = true;
    env.recipients.push_back({to, "NEVER", ""});
    env.smtputf8 = m.env.smtputf8;
    targets.push_back(QueueTarget(env, ""));
  }
  auto msg = delivery_->Begin(std::move(targets));
  if (!msg.ok()) {
    LOG_ERROR("relay: DSN delivery: ", msg.status().message());
    done(false);
    return;
  }
  std::unique_ptr<storage::IncomingMessage> in = std::move(*msg);
  size_t pos = 0;
  while (pos < text.size()) {
    absl::Span<char> space = in->Reserve(1);
    size_t n = std::min(space.size(), text.size() - pos);
    std::memcpy(space.data(), text.data() + pos, n);
    in->Commit(n);
    pos += n;
  }
  storage::IncomingMessage* raw = in.release();
  raw->Finish([this, raw, mbox, env = std::move(env), size = text.size(),
               done = std::move(done)](storage::DeliveryResult r) mutable {
    delete raw;
    if (!r.status.ok()) {
      LOG_ERROR("relay: DSN delivery failed: ", r.status.ToString());
      done(false);
      return;
    }
    if (mbox) {
      if (ctx_.on_delivered) ctx_.on_delivered(loop_, *mbox);
    } else {
      Accepted(r.new_names.at(0), std::move(env), size);
    }
    done(true);
  });
}

}  // namespace ringmail::server::relay
