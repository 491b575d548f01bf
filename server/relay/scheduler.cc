#include "server/relay/scheduler.h"

#include <algorithm>
#include <cassert>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace ringmail::server::relay {
namespace {

// RFC 5321 §4.5.3.1.8: servers must take at least 100 recipients per
// transaction; more go in a further transaction on the same session.
constexpr size_t kMaxRecipientsPerJob = 100;

bool Waiting(const RecipientStatus& s) {
  return s.state == RecipientState::kPending ||
         s.state == RecipientState::kDeferred;
}

}  // namespace

Scheduler::Scheduler(const RelayConfig* config) : config_(config) {
  for (const auto& [domain, policy] : config->destinations) {
    policies_[domain] = policy;
  }
}

std::string Scheduler::DomainOf(std::string_view address) {
  size_t at = address.rfind('@');
  std::string_view d = at == std::string_view::npos ? std::string_view()
                                                    : address.substr(at + 1);
  return absl::AsciiStrToLower(absl::string_view(d.data(), d.size()));
}

const RelayPolicy& Scheduler::PolicyFor(const std::string& domain) const {
  auto it = policies_.find(domain);
  return it != policies_.end() ? it->second : config_->default_policy;
}

Scheduler::Destination& Scheduler::Dest(const std::string& domain) {
  auto [it, inserted] = dests_.try_emplace(domain);
  if (inserted) {
    it->second.domain = domain;
    it->second.policy = &PolicyFor(domain);
  }
  return it->second;
}

uint64_t Scheduler::Add(std::string file, QueueEnvelope env,
                        size_t content_offset, uint64_t file_bytes,
                        uint64_t size, std::vector<RecipientStatus> rcpts,
                        bool held, bool delay_warned, absl::Time now) {
  auto m = std::make_unique<Message>();
  m->seq = next_seq_++;
  m->file = std::move(file);
  m->env = std::move(env);
  m->content_offset = content_offset;
  m->file_bytes = file_bytes;
  m->size = size;
  m->rcpts = std::move(rcpts);
  m->rcpts.resize(m->env.recipients.size());
  m->in_flight.assign(m->rcpts.size(), false);
  m->held = held;
  m->delay_warned = delay_warned;
  Message* raw = m.get();
  by_file_[raw->file] = raw->seq;
  if (!raw->env.id.empty()) by_id_[raw->env.id] = raw->seq;
  by_seq_[raw->seq] = std::move(m);
  Schedule(raw, now);
  return raw->seq;
}

bool Scheduler::Due(const Message& m, size_t i, absl::Time now) const {
  return !m.held && !m.removing && !m.in_flight[i] && Waiting(m.rcpts[i]) &&
         m.rcpts[i].next_attempt <= now;
}

void Scheduler::Schedule(Message* m, absl::Time now) {
  if (m->held || m->removing) return;
  absl::Time earliest = absl::InfiniteFuture();
  // Domains are few per message; a small linear set keeps this cheap.
  std::vector<std::string> due_domains;
  for (size_t i = 0; i < m->rcpts.size(); ++i) {
    if (m->in_flight[i] || !Waiting(m->rcpts[i])) continue;
    if (m->rcpts[i].next_attempt <= now) {
      std::string d = DomainOf(m->env.recipients[i].address);
      if (std::find(due_domains.begin(), due_domains.end(), d) ==
          due_domains.end()) {
        due_domains.push_back(std::move(d));
      }
    } else {
      earliest = std::min(earliest, m->rcpts[i].next_attempt);
    }
  }
  for (const std::string& d : due_domains) Dest(d).ready.push_back(m->seq);
  if (earliest < m->wake || m->wake <= now) {
    m->wake = earliest;
    if (earliest != absl::InfiniteFuture()) wakes_.push({earliest, m->seq});
  }
}

void Scheduler::Tick(absl::Time now) {
  while (!wakes_.empty() && wakes_.top().when <= now) {
    Wake w = wakes_.top();
    wakes_.pop();
    auto it = by_seq_.find(w.seq);
    if (it == by_seq_.end()) continue;
    Message* m = it->second.get();
    if (m->wake != w.when) continue;  // superseded by an earlier wake
    m->wake = absl::InfiniteFuture();
    Schedule(m, now);
  }
}

absl::Time Scheduler::NextWake() const {
  return wakes_.empty() ? absl::InfiniteFuture() : wakes_.top().when;
}

std::vector<std::string> Scheduler::DomainsToStart(absl::Time now) {
  std::vector<std::string> out;
  for (auto& [domain, d] : dests_) {
    if (d.ready.empty() || active_total_ + out.size() >= config_->max_connections) {
      continue;
    }
    if (d.active >= d.policy->max_connections || d.active >= d.ready.size()) {
      continue;
    }
    if (now < d.backoff_until || now < d.next_send) continue;
    out.push_back(domain);
  }
  return out;
}

absl::Time Scheduler::NextDomainWake(absl::Time now) const {
  absl::Time t = absl::InfiniteFuture();
  for (const auto& [domain, d] : dests_) {
    // Only waits on time count: a domain at its session limit is woken by
    // a session ending, not by a timer.
    if (d.ready.empty() || d.active >= d.policy->max_connections) continue;
    absl::Time when = std::max(d.backoff_until, d.next_send);
    if (when > now) t = std::min(t, when);
  }
  return t;
}

void Scheduler::OpenSession(const std::string& domain) {
  ++Dest(domain).active;
  ++active_total_;
}

void Scheduler::CloseSession(const std::string& domain) {
  Destination& d = Dest(domain);
  assert(d.active > 0 && active_total_ > 0);
  --d.active;
  --active_total_;
}

bool Scheduler::MayTakeJob(const std::string& domain, uint32_t sent,
                           absl::Time now) const {
  auto it = dests_.find(domain);
  if (it == dests_.end()) return false;
  const Destination& d = it->second;
  return sent < d.policy->max_messages_per_connection && now >= d.backoff_until &&
         now >= d.next_send && !d.ready.empty();
}

std::optional<Job> Scheduler::TakeJob(const std::string& domain, absl::Time now) {
  Destination& d = Dest(domain);
  while (!d.ready.empty()) {
    uint64_t seq = d.ready.front();
    d.ready.pop_front();
    auto it = by_seq_.find(seq);
    if (it == by_seq_.end()) continue;
    Message* m = it->second.get();
    Job job;
    job.seq = seq;
    job.domain = domain;
    bool more = false;
    for (size_t i = 0; i < m->rcpts.size(); ++i) {
      if (!Due(*m, i, now) || DomainOf(m->env.recipients[i].address) != domain) {
        continue;
      }
      if (job.rcpts.size() == kMaxRecipientsPerJob) {
        more = true;
        break;
      }
      job.rcpts.push_back(static_cast<uint32_t>(i));
    }
    if (job.rcpts.empty()) continue;  // stale entry
    if (more) d.ready.push_front(seq);
    for (uint32_t i : job.rcpts) m->in_flight[i] = true;
    if (d.policy->max_messages_per_minute > 0) {
      absl::Duration spacing = absl::Minutes(1) / d.policy->max_messages_per_minute;
      d.next_send = std::max(now, d.next_send) + spacing;
    }
    return job;
  }
  return std::nullopt;
}

absl::Duration Scheduler::RetryDelay(uint32_t attempts) const {
  const auto& s = config_->retry_schedule;
  assert(!s.empty());
  size_t i = attempts == 0 ? 0 : std::min<size_t>(attempts - 1, s.size() - 1);
  return s[i];
}

bool Scheduler::Notify(const Message& m, size_t i, std::string_view what) {
  if (m.env.sender.empty() || m.env.is_dsn) return false;  // never bounce a bounce
  const std::string& n = m.env.recipients[i].notify;
  // RFC 3461 §4.1: without NOTIFY, FAILURE (and, at our choice, DELAY).
  if (n.empty()) return what == "FAILURE" || what == "DELAY";
  if (absl::StrContains(n, "NEVER")) return false;
  return absl::StrContains(n, absl::string_view(what.data(), what.size()));
}

StateRecord Scheduler::RecipientRecord(const Message& m, uint32_t i) const {
  StateRecord r;
  r.kind = StateRecord::Kind::kRecipient;
  r.file = m.file;
  r.rcpt = i;
  r.status = m.rcpts[i];
  return r;
}

void Scheduler::Apply(Message* m, uint32_t i, const RecipientResult& r,
                      absl::Time now, Outcome* out, DsnRequest* failed,
                      DsnRequest* delayed, DsnRequest* relayed) {
  RecipientStatus& s = m->rcpts[i];
  s.attempts++;
  s.last_attempt = now;
  s.last_reply = r.reply;
  RecipientResult effective = r;
  switch (r.kind) {
    case RecipientResult::Kind::kDelivered:
      s.state = RecipientState::kDelivered;
      // RFC 3461 §5.2.2: a server that took NOTIFY reports success itself;
      // otherwise we say "relayed".
      if (!r.remote_has_dsn && Notify(*m, i, "SUCCESS")) {
        relayed->rcpts.push_back(i);
        relayed->results.push_back(r);
      }
      break;
    case RecipientResult::Kind::kDeferred: {
      const absl::Time expiry = m->env.arrival + config_->queue_lifetime;
      if (now >= expiry) {
        // Postfix-like: the attempt at (or after) the lifetime is the last.
        s.state = RecipientState::kFailed;
        effective.kind = RecipientResult::Kind::kFailed;
        effective.reply = absl::StrCat(r.reply, " (delivery time expired)");
        s.last_reply = effective.reply;
        if (Notify(*m, i, "FAILURE")) {
          failed->rcpts.push_back(i);
          failed->results.push_back(effective);
        }
        s.notified = true;
        break;
      }
      s.state = RecipientState::kDeferred;
      s.next_attempt = std::min(now + RetryDelay(s.attempts), expiry);
      if (config_->delay_warning > absl::ZeroDuration() && !m->delay_warned &&
          now - m->env.arrival >= config_->delay_warning &&
          Notify(*m, i, "DELAY")) {
        delayed->rcpts.push_back(i);
        delayed->results.push_back(r);
      }
      break;
    }
    case RecipientResult::Kind::kFailed:
      s.state = RecipientState::kFailed;
      if (Notify(*m, i, "FAILURE")) {
        failed->rcpts.push_back(i);
        failed->results.push_back(r);
      }
      s.notified = true;
      break;
  }
  out->records.push_back(RecipientRecord(*m, i));
}

void Scheduler::EmitDsns(Message* m, DsnRequest failed, DsnRequest delayed,
                         DsnRequest relayed, Outcome* out) {
  if (!failed.rcpts.empty()) {
    failed.seq = m->seq;
    failed.kind = DsnRequest::Kind::kFailed;
    out->dsns.push_back(std::move(failed));
  }
  if (!delayed.rcpts.empty()) {
    delayed.seq = m->seq;
    delayed.kind = DsnRequest::Kind::kDelayed;
    out->dsns.push_back(std::move(delayed));
    m->delay_warned = true;
    StateRecord r;
    r.kind = StateRecord::Kind::kDelayWarned;
    r.file = m->file;
    out->records.push_back(std::move(r));
  }
  if (!relayed.rcpts.empty()) {
    relayed.seq = m->seq;
    relayed.kind = DsnRequest::Kind::kRelayed;
    out->dsns.push_back(std::move(relayed));
  }
}

void Scheduler::FinishIfDone(Message* m, Outcome* out) {
  if (m->removing) return;
  for (size_t i = 0; i < m->rcpts.size(); ++i) {
    if (m->in_flight[i] || Waiting(m->rcpts[i])) return;
  }
  m->removing = true;
  out->finished.push_back(m->seq);
}

Outcome Scheduler::Complete(const Job& job,
                            const std::vector<RecipientResult>& results,
                            absl::Time now) {
  assert(results.size() == job.rcpts.size());
  Outcome out;
  auto it = by_seq_.find(job.seq);
  if (it == by_seq_.end()) return out;  // deleted while in flight
  Message* m = it->second.get();
  DsnRequest failed, delayed, relayed;
  bool any_delivered = false, all_deferred = !results.empty();
  for (size_t k = 0; k < job.rcpts.size(); ++k) {
    uint32_t i = job.rcpts[k];
    if (i >= m->rcpts.size()) continue;
    m->in_flight[i] = false;
    Apply(m, i, results[k], now, &out, &failed, &delayed, &relayed);
    any_delivered |= results[k].kind == RecipientResult::Kind::kDelivered;
    all_deferred &= results[k].kind == RecipientResult::Kind::kDeferred;
  }
  Destination& d = Dest(job.domain);
  if (any_delivered) d.deferrals_in_a_row = 0;
  if (all_deferred) {
    d.last_error = results.front().reply;
    if (++d.deferrals_in_a_row >= config_->backoff_after_deferrals &&
        config_->backoff_after_deferrals > 0) {
      d.backoff_until = now + config_->backoff;
      d.deferrals_in_a_row = 0;
    }
  } else if (!results.empty() &&
             results.front().kind == RecipientResult::Kind::kFailed) {
    d.last_error = results.front().reply;
  }
  EmitDsns(m, std::move(failed), std::move(delayed), std::move(relayed), &out);
  Schedule(m, now);
  FinishIfDone(m, &out);
  return out;
}

Outcome Scheduler::FailDomain(const std::string& domain,
                              const RecipientResult& why, absl::Time now) {
  Outcome out;
  Destination& d = Dest(domain);
  d.last_error = why.reply;
  std::deque<uint64_t> ready;
  ready.swap(d.ready);
  for (uint64_t seq : ready) {
    // Each message is handled once even if listed twice.
    auto it = by_seq_.find(seq);
    if (it == by_seq_.end()) continue;
    Message* m = it->second.get();
    DsnRequest failed, delayed, relayed;
    bool any = false;
    for (size_t i = 0; i < m->rcpts.size(); ++i) {
      if (!Due(*m, i, now) || DomainOf(m->env.recipients[i].address) != domain) {
        continue;
      }
      Apply(m, static_cast<uint32_t>(i), why, now, &out, &failed, &delayed,
            &relayed);
      any = true;
    }
    if (!any) continue;
    EmitDsns(m, std::move(failed), std::move(delayed), std::move(relayed), &out);
    Schedule(m, now);
    FinishIfDone(m, &out);
  }
  if (why.kind == RecipientResult::Kind::kDeferred &&
      config_->backoff_after_deferrals > 0 &&
      ++d.deferrals_in_a_row >= config_->backoff_after_deferrals) {
    d.backoff_until = now + config_->backoff;
    d.deferrals_in_a_row = 0;
  }
  return out;
}

void Scheduler::BackOff(const std::string& domain, const std::string& why,
                        absl::Time now) {
  Destination& d = Dest(domain);
  d.backoff_until = now + config_->backoff;
  d.last_error = why;
}

Outcome Scheduler::Delete(uint64_t seq) {
  Outcome out;
  auto it = by_seq_.find(seq);
  if (it == by_seq_.end()) return out;
  Message* m = it->second.get();
  if (!m->removing) {
    m->removing = true;
    out.finished.push_back(seq);
  }
  return out;
}

Outcome Scheduler::SetHeld(uint64_t seq, bool held, absl::Time now) {
  Outcome out;
  auto it = by_seq_.find(seq);
  if (it == by_seq_.end() || it->second->removing) return out;
  Message* m = it->second.get();
  if (m->held == held) return out;
  m->held = held;
  StateRecord r;
  r.kind = held ? StateRecord::Kind::kHold : StateRecord::Kind::kRelease;
  r.file = m->file;
  out.records.push_back(std::move(r));
  if (!held) {
    m->wake = absl::InfiniteFuture();
    Schedule(m, now);
  }
  return out;
}

void Scheduler::Flush(const std::string& domain, absl::Time now) {
  if (domain.empty()) {
    for (auto& [name, d] : dests_) d.backoff_until = absl::InfinitePast();
  } else {
    Dest(domain).backoff_until = absl::InfinitePast();
  }
  for (auto& [seq, m] : by_seq_) {
    bool touched = false;
    for (size_t i = 0; i < m->rcpts.size(); ++i) {
      if (!Waiting(m->rcpts[i]) || m->in_flight[i]) continue;
      if (!domain.empty() && DomainOf(m->env.recipients[i].address) != domain) {
        continue;
      }
      if (m->rcpts[i].next_attempt > now) {
        m->rcpts[i].next_attempt = now;
        touched = true;
      }
    }
    if (touched) {
      m->wake = absl::InfiniteFuture();
      Schedule(m.get(), now);
    }
  }
}

void Scheduler::Forget(uint64_t seq) {
  auto it = by_seq_.find(seq);
  if (it == by_seq_.end()) return;
  by_file_.erase(it->second->file);
  if (!it->second->env.id.empty()) by_id_.erase(it->second->env.id);
  by_seq_.erase(it);
}

const Message* Scheduler::Find(uint64_t seq) const {
  auto it = by_seq_.find(seq);
  return it == by_seq_.end() ? nullptr : it->second.get();
}

const Message* Scheduler::FindById(std::string_view id) const {
  auto it = by_id_.find(absl::string_view(id.data(), id.size()));
  if (it != by_id_.end()) return Find(it->second);
  auto f = by_file_.find(std::string(id));
  return f == by_file_.end() ? nullptr : Find(f->second);
}

std::vector<const Message*> Scheduler::Page(std::string_view after,
                                            size_t limit) const {
  std::vector<const Message*> out;
  auto it = after.empty() ? by_file_.begin() : by_file_.upper_bound(std::string(after));
  for (; it != by_file_.end() && out.size() < limit; ++it) {
    if (const Message* m = Find(it->second)) out.push_back(m);
  }
  return out;
}

std::vector<DestinationStats> Scheduler::Stats(absl::Time now) const {
  absl::flat_hash_map<std::string, DestinationStats> by_domain;
  for (const auto& [seq, m] : by_seq_) {
    if (m->removing) continue;
    for (size_t i = 0; i < m->rcpts.size(); ++i) {
      if (!Waiting(m->rcpts[i])) continue;
      std::string d = DomainOf(m->env.recipients[i].address);
      DestinationStats& s = by_domain[d];
      s.domain = d;
      s.queued_recipients++;
      s.oldest = std::min(s.oldest, m->env.arrival);
    }
  }
  for (const auto& [domain, d] : dests_) {
    if (d.active == 0 && d.last_error.empty() && !by_domain.contains(domain)) {
      continue;
    }
    DestinationStats& s = by_domain[domain];
    s.domain = domain;
    s.active_sessions = d.active;
    s.backoff_until = d.backoff_until > now ? d.backoff_until : absl::InfinitePast();
    s.last_error = d.last_error;
  }
  std::vector<DestinationStats> out;
  for (auto& [k, v] : by_domain) out.push_back(std::move(v));
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.domain < b.domain; });
  return out;
}

}  // namespace ringmail::server::relay
