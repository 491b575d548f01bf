#include "storage/queue/state_record.h"

#include <array>
#include <cassert>
#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/crc32c.h"
#include "storage/queue/queue_file.h"
#include "storage/queue/queue_text.h"

namespace ringmail::storage::queue {
namespace {

// " ~" + 8 hex digits.
constexpr size_t kChecksumSuffixBytes = 10;

struct KindName {
  StateRecord::Kind kind;
  std::string_view name;
  size_t fields;  // including the keyword and the file
};

constexpr std::array<KindName, 6> kKinds = {{
    {StateRecord::Kind::kRecipient, "rcpt", 9},
    {StateRecord::Kind::kHold, "hold", 2},
    {StateRecord::Kind::kRelease, "release", 2},
    {StateRecord::Kind::kDelayWarned, "delay-warned", 2},
    {StateRecord::Kind::kSize, "size", 3},
    {StateRecord::Kind::kRemoved, "removed", 2},
}};

constexpr std::array<std::string_view, 4> kStateNames = {
    "pending", "delivered", "deferred", "failed"};

const KindName& KindInfo(StateRecord::Kind kind) {
  for (const KindName& k : kKinds) {
    if (k.kind == kind) return k;
  }
  assert(false && "unknown StateRecord kind");
  return kKinds[0];
}

void AppendTime(absl::Time t, std::string* out) {
  if (t == absl::InfinitePast()) {
    out->push_back('-');
  } else if (t == absl::InfiniteFuture()) {
    out->push_back('+');
  } else {
    absl::StrAppend(out, absl::ToUnixMicros(t));
  }
}

std::optional<absl::Time> ParseTime(std::string_view s) {
  if (s == "-") return absl::InfinitePast();
  if (s == "+") return absl::InfiniteFuture();
  std::optional<int64_t> us = ParseSignedDecimal(s);
  if (!us) return std::nullopt;
  return absl::FromUnixMicros(*us);
}

uint32_t Checksum(std::string_view body) {
  return common::Crc32c(body.data(), body.size());
}

absl::Status Bad(std::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(
      "bad queue state record: ", absl::string_view(why.data(), why.size())));
}

}  // namespace

std::string_view RecipientStateName(RecipientState s) {
  return kStateNames[static_cast<size_t>(s)];
}

bool IsValidQueueFileName(std::string_view name) {
  return !name.empty() && name.size() <= kMaxQueueFileNameBytes &&
         name != "." && name != ".." &&
         name.find('/') == std::string_view::npos &&
         name.find('\0') == std::string_view::npos;
}

void AppendStateRecord(const StateRecord& r, std::string* out) {
  assert(IsValidQueueFileName(r.file));
  const size_t start = out->size();
  out->append(KindInfo(r.kind).name);
  out->push_back(' ');
  AppendEscaped(r.file, out);
  switch (r.kind) {
    case StateRecord::Kind::kRecipient: {
      const RecipientStatus& s = r.status;
      absl::StrAppend(out, " ", r.rcpt, " ");
      out->append(RecipientStateName(s.state));
      absl::StrAppend(out, " ", s.attempts, " ");
      AppendTime(s.last_attempt, out);
      out->push_back(' ');
      AppendTime(s.next_attempt, out);
      out->append(s.notified ? " 1 " : " 0 ");
      AppendEscaped(TruncateUtf8(s.last_reply, kMaxLastReplyBytes), out);
      break;
    }
    case StateRecord::Kind::kSize:
      absl::StrAppend(out, " ", r.size);
      break;
    case StateRecord::Kind::kHold:
    case StateRecord::Kind::kRelease:
    case StateRecord::Kind::kDelayWarned:
    case StateRecord::Kind::kRemoved:
      break;
  }
  uint32_t crc = Checksum(std::string_view(*out).substr(start));
  absl::StrAppendFormat(out, " ~%08x\n", crc);
}

std::string EncodeStateRecord(const StateRecord& r) {
  std::string out;
  AppendStateRecord(r, &out);
  return out;
}

absl::StatusOr<StateRecord> DecodeStateRecord(std::string_view line) {
  if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
  if (line.size() > kMaxStateLineBytes) return Bad("line too long");
  if (line.size() < kChecksumSuffixBytes ||
      line.substr(line.size() - kChecksumSuffixBytes, 2) != " ~") {
    return absl::DataLossError("queue state record without checksum");
  }
  std::string_view body = line.substr(0, line.size() - kChecksumSuffixBytes);
  std::string_view hex = line.substr(line.size() - 8);
  uint32_t want = 0;
  for (char c : hex) {
    int v = (c >= '0' && c <= '9') ? c - '0'
            : (c >= 'a' && c <= 'f') ? c - 'a' + 10
                                     : -1;
    if (v < 0) return absl::DataLossError("queue state record: bad checksum");
    want = want << 4 | static_cast<uint32_t>(v);
  }
  if (Checksum(body) != want) {
    return absl::DataLossError("queue state record: checksum mismatch");
  }

  std::optional<std::vector<std::string_view>> f = SplitFields(body, 9);
  if (!f || f->size() < 2) return Bad("wrong number of fields");
  const KindName* kind = nullptr;
  for (const KindName& k : kKinds) {
    if (k.name == (*f)[0]) kind = &k;
  }
  if (kind == nullptr) return Bad("unknown kind");
  if (f->size() != kind->fields) return Bad("wrong number of fields");

  StateRecord r;
  r.kind = kind->kind;
  std::optional<std::string> file = Unescape((*f)[1], kMaxQueueFileNameBytes);
  if (!file || !IsValidQueueFileName(*file)) return Bad("bad file name");
  r.file = std::move(*file);

  if (r.kind == StateRecord::Kind::kSize) {
    std::optional<uint64_t> size = ParseDecimal((*f)[2], UINT64_MAX);
    if (!size) return Bad("bad size");
    r.size = *size;
  } else if (r.kind == StateRecord::Kind::kRecipient) {
    std::optional<uint64_t> rcpt =
        ParseDecimal((*f)[2], kMaxQueueRecipients - 1);
    if (!rcpt) return Bad("bad recipient index");
    r.rcpt = static_cast<uint32_t>(*rcpt);
    RecipientStatus& s = r.status;
    size_t st = 0;
    while (st < kStateNames.size() && kStateNames[st] != (*f)[3]) ++st;
    if (st == kStateNames.size()) return Bad("bad recipient state");
    s.state = static_cast<RecipientState>(st);
    std::optional<uint64_t> attempts = ParseDecimal((*f)[4], UINT32_MAX);
    if (!attempts) return Bad("bad attempts");
    s.attempts = static_cast<uint32_t>(*attempts);
    std::optional<absl::Time> last = ParseTime((*f)[5]);
    std::optional<absl::Time> next = ParseTime((*f)[6]);
    if (!last || !next) return Bad("bad time");
    s.last_attempt = *last;
    s.next_attempt = *next;
    if ((*f)[7] != "0" && (*f)[7] != "1") return Bad("bad notified flag");
    s.notified = (*f)[7] == "1";
    std::optional<std::string> reply = Unescape((*f)[8], kMaxLastReplyBytes);
    if (!reply) return Bad("bad reply");
    s.last_reply = std::move(*reply);
  }
  return r;
}

void AppendFileStateRecords(std::string_view file,
                            absl::Span<const RecipientStatus> recipients,
                            bool held, bool delay_warned, uint64_t size,
                            std::vector<StateRecord>* out) {
  const RecipientStatus initial;
  auto record = [&](StateRecord::Kind kind) {
    StateRecord r;
    r.kind = kind;
    r.file = std::string(file);
    return r;
  };
  if (size != 0) {
    StateRecord r = record(StateRecord::Kind::kSize);
    r.size = size;
    out->push_back(std::move(r));
  }
  if (held) out->push_back(record(StateRecord::Kind::kHold));
  if (delay_warned) out->push_back(record(StateRecord::Kind::kDelayWarned));
  for (size_t i = 0; i < recipients.size(); ++i) {
    if (recipients[i] == initial) continue;
    StateRecord r = record(StateRecord::Kind::kRecipient);
    r.rcpt = static_cast<uint32_t>(i);
    r.status = recipients[i];
    out->push_back(std::move(r));
  }
}

}  // namespace ringmail::storage::queue
