#include "storage/queue/queue_file.h"

#include <algorithm>
#include <array>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "storage/queue/queue_text.h"

namespace ringmail::storage::queue {
namespace {

constexpr std::string_view kMagic = "RMQ1 ";

absl::Status Corrupt(std::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("corrupt queue prefix: ", absl::string_view(why.data(), why.size())));
}

void AppendLine(std::string* out, std::string_view key, std::string_view value) {
  out->append(key);
  out->push_back(' ');
  AppendEscaped(value, out);
  out->push_back('\n');
}

void AppendFlag(std::string* out, std::string_view key, bool value) {
  out->append(key);
  out->append(value ? " 1\n" : " 0\n");
}

// The lines after the first one.
std::string EncodeBody(const QueueEnvelope& env) {
  std::string out;
  AppendLine(&out, "id", env.id);
  absl::StrAppend(&out, "arrival ", absl::ToUnixMicros(env.arrival), "\n");
  AppendLine(&out, "sender", env.sender);
  AppendLine(&out, "ret", env.ret);
  AppendLine(&out, "envid", env.envid);
  AppendFlag(&out, "8bit", env.eight_bit);
  AppendFlag(&out, "smtputf8", env.smtputf8);
  AppendLine(&out, "client", env.client_ip);
  AppendLine(&out, "helo", env.helo);
  AppendLine(&out, "auth", env.auth_user);
  AppendFlag(&out, "dsn", env.is_dsn);
  for (const QueueRecipient& r : env.recipients) {
    out.append("rcpt ");
    AppendEscaped(r.address, &out);
    out.push_back(' ');
    AppendEscaped(r.notify, &out);
    out.push_back(' ');
    AppendEscaped(r.orcpt, &out);
    out.push_back('\n');
  }
  return out;
}

// ---- Parsing: one handler per key (the "command table" of the prefix).

using Handler = bool (*)(std::string_view value, QueueEnvelope* env);

bool ParseString(std::string_view v, std::string* out) {
  std::optional<std::string> s = Unescape(v, kMaxQueueValueBytes);
  if (!s) return false;
  *out = std::move(*s);
  return true;
}

bool ParseFlag(std::string_view v, bool* out) {
  if (v != "0" && v != "1") return false;
  *out = v == "1";
  return true;
}

struct KeyRule {
  std::string_view key;
  Handler handler;
};

constexpr std::array<KeyRule, 11> kScalarKeys = {{
    {"id",
     [](std::string_view v, QueueEnvelope* e) {
       return ParseString(v, &e->id) && !e->id.empty();
     }},
    {"arrival",
     [](std::string_view v, QueueEnvelope* e) {
       std::optional<int64_t> us = ParseSignedDecimal(v);
       if (!us) return false;
       e->arrival = absl::FromUnixMicros(*us);
       return true;
     }},
    {"sender", [](std::string_view v, QueueEnvelope* e) { return ParseString(v, &e->sender); }},
    {"ret", [](std::string_view v, QueueEnvelope* e) { return ParseString(v, &e->ret); }},
    {"envid", [](std::string_view v, QueueEnvelope* e) { return ParseString(v, &e->envid); }},
    {"8bit", [](std::string_view v, QueueEnvelope* e) { return ParseFlag(v, &e->eight_bit); }},
    {"smtputf8", [](std::string_view v, QueueEnvelope* e) { return ParseFlag(v, &e->smtputf8); }},
    {"client", [](std::string_view v, QueueEnvelope* e) { return ParseString(v, &e->client_ip); }},
    {"helo", [](std::string_view v, QueueEnvelope* e) { return ParseString(v, &e->helo); }},
    {"auth", [](std::string_view v, QueueEnvelope* e) { return ParseString(v, &e->auth_user); }},
    {"dsn", [](std::string_view v, QueueEnvelope* e) { return ParseFlag(v, &e->is_dsn); }},
}};

bool ParseRecipient(std::string_view v, QueueEnvelope* env) {
  std::optional<std::vector<std::string_view>> f = SplitFields(v, 3);
  if (!f || f->size() != 3) return false;
  QueueRecipient r;
  if (!ParseString((*f)[0], &r.address) || r.address.empty()) return false;
  if (!ParseString((*f)[1], &r.notify)) return false;
  if (!ParseString((*f)[2], &r.orcpt)) return false;
  env->recipients.push_back(std::move(r));
  return true;
}

}  // namespace

absl::Status CheckQueueEnvelope(const QueueEnvelope& env) {
  if (env.id.empty()) return absl::InvalidArgumentError("queue id is empty");
  if (env.arrival == absl::InfinitePast() ||
      env.arrival == absl::InfiniteFuture()) {
    return absl::InvalidArgumentError("arrival time is not finite");
  }
  if (env.recipients.empty()) {
    return absl::InvalidArgumentError("no recipients");
  }
  if (env.recipients.size() > kMaxQueueRecipients) {
    return absl::InvalidArgumentError("too many recipients");
  }
  for (const std::string* v : {&env.id, &env.sender, &env.ret, &env.envid,
                               &env.client_ip, &env.helo, &env.auth_user}) {
    if (v->size() > kMaxQueueValueBytes) {
      return absl::InvalidArgumentError("envelope value too long");
    }
  }
  // Escaping at most triples a value: encode only when this bound says the
  // prefix might be too large.
  size_t bound = kQueueFirstLineMaxBytes + 64 +
                 3 * (env.id.size() + env.sender.size() + env.ret.size() +
                      env.envid.size() + env.client_ip.size() +
                      env.helo.size() + env.auth_user.size());
  for (const QueueRecipient& r : env.recipients) {
    if (r.address.empty()) {
      return absl::InvalidArgumentError("empty recipient address");
    }
    if (r.address.size() > kMaxQueueValueBytes ||
        r.notify.size() > kMaxQueueValueBytes ||
        r.orcpt.size() > kMaxQueueValueBytes) {
      return absl::InvalidArgumentError("recipient value too long");
    }
    bound += 8 + 3 * (r.address.size() + r.notify.size() + r.orcpt.size());
  }
  if (bound > kMaxQueuePrefixBytes &&
      EncodeQueuePrefix(env).size() > kMaxQueuePrefixBytes) {
    return absl::InvalidArgumentError("envelope too large for a queue file");
  }
  return absl::OkStatus();
}

std::string EncodeQueuePrefix(const QueueEnvelope& env) {
  std::string body = EncodeBody(env);
  std::string out = absl::StrCat("RMQ1 ", body.size(), "\n");
  out.append(body);
  return out;
}

absl::StatusOr<size_t> QueuePrefixSize(std::string_view head) {
  size_t m = std::min(head.size(), kMagic.size());
  if (head.substr(0, m) != kMagic.substr(0, m)) {
    return Corrupt("not a queue file (bad magic)");
  }
  size_t nl = m < kMagic.size() ? std::string_view::npos
                                : head.find('\n', kMagic.size());
  if (nl == std::string_view::npos) {
    if (head.size() >= kQueueFirstLineMaxBytes) {
      return Corrupt("first line too long");
    }
    for (size_t i = m; i < head.size(); ++i) {
      if (head[i] < '0' || head[i] > '9') return Corrupt("bad length");
    }
    return absl::OutOfRangeError(
        absl::StrCat("need ", kQueueFirstLineMaxBytes, " bytes"));
  }
  std::string_view digits = head.substr(kMagic.size(), nl - kMagic.size());
  std::optional<uint64_t> rest = ParseDecimal(digits, kMaxQueuePrefixBytes);
  if (!rest || *rest == 0) return Corrupt("bad length");
  size_t total = nl + 1 + static_cast<size_t>(*rest);
  if (total > kMaxQueuePrefixBytes) return Corrupt("prefix too long");
  return total;
}

absl::StatusOr<ParsedPrefix> ParseQueuePrefix(std::string_view head) {
  absl::StatusOr<size_t> total = QueuePrefixSize(head);
  if (!total.ok()) return total.status();
  if (head.size() < *total) {
    return absl::OutOfRangeError(absl::StrCat("need ", *total, " bytes"));
  }
  size_t first = head.find('\n') + 1;
  std::string_view body = head.substr(first, *total - first);
  if (body.back() != '\n') return Corrupt("last line not terminated");

  ParsedPrefix out;
  out.content_offset = *total;
  QueueEnvelope& env = out.envelope;
  uint32_t seen = 0;  // bit i: kScalarKeys[i]
  size_t pos = 0;
  while (pos < body.size()) {
    size_t nl = body.find('\n', pos);  // exists: body ends with LF
    std::string_view line = body.substr(pos, nl - pos);
    pos = nl + 1;
    size_t sp = line.find(' ');
    if (sp == std::string_view::npos) return Corrupt("line without value");
    std::string_view key = line.substr(0, sp);
    std::string_view value = line.substr(sp + 1);
    if (key == "rcpt") {
      if (env.recipients.size() >= kMaxQueueRecipients) {
        return Corrupt("too many recipients");
      }
      if (!ParseRecipient(value, &env)) return Corrupt("bad rcpt line");
      continue;
    }
    size_t i = 0;
    while (i < kScalarKeys.size() && kScalarKeys[i].key != key) ++i;
    if (i == kScalarKeys.size()) {
      return Corrupt("unknown key");
    }
    if (seen & (1u << i)) return Corrupt("duplicate key");
    seen |= 1u << i;
    if (!kScalarKeys[i].handler(value, &env)) {
      return Corrupt(absl::StrCat("bad value for ", absl::string_view(key.data(), key.size())));
    }
  }
  if (seen != (1u << kScalarKeys.size()) - 1) return Corrupt("missing key");
  if (env.recipients.empty()) return Corrupt("no recipients");
  return out;
}

}  // namespace ringmail::storage::queue
