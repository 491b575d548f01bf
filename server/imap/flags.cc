#include "server/imap/flags.h"

#include <cassert>
#include <utility>

#include "protocols/imap/response.h"
#include "protocols/mime/header.h"

namespace ringmail::server::imap {
namespace {

namespace proto = ::ringmail::imap;

// Storage letter bit <-> IMAP system flag bit.
constexpr std::pair<uint8_t, uint8_t> kFlagMap[] = {
    {storage::kFlagSeen, proto::kFlagSeen},
    {storage::kFlagAnswered, proto::kFlagAnswered},
    {storage::kFlagFlagged, proto::kFlagFlagged},
    {storage::kFlagDeleted, proto::kFlagDeleted},
    {storage::kFlagDraft, proto::kFlagDraft},
};

// Storage bits that IMAP cannot name; STORE leaves them alone.
constexpr uint8_t kStorageOnly = storage::kFlagPassed;

uint32_t KnownKeywordMask(const storage::MaildirKeywords& table) {
  uint32_t mask = 0;
  for (int i = 0; i < storage::kMaxMaildirKeywords; ++i) {
    if (!table.NameAt(i).empty()) mask |= uint32_t{1} << i;
  }
  return mask;
}

}  // namespace

uint8_t ImapFlagsFromStorage(uint8_t storage_flags, bool recent) {
  uint8_t out = recent ? proto::kFlagRecent : 0;
  for (const auto& [s, i] : kFlagMap) {
    if (storage_flags & s) out |= i;
  }
  return out;
}

uint8_t StorageFlagsFromImap(uint8_t imap_flags, uint8_t keep) {
  uint8_t out = keep & kStorageOnly;
  for (const auto& [s, i] : kFlagMap) {
    if (imap_flags & i) out |= s;
  }
  return out;
}

std::vector<std::string_view> KeywordNames(
    uint32_t mask, const storage::MaildirKeywords& table) {
  std::vector<std::string_view> out;
  for (int i = 0; i < storage::kMaxMaildirKeywords && mask != 0; ++i) {
    if (!(mask & (uint32_t{1} << i))) continue;
    mask &= ~(uint32_t{1} << i);
    std::string_view name = table.NameAt(i);
    if (!name.empty()) out.push_back(name);
  }
  return out;
}

void SetViewFlags(const storage::MessageEntry& entry,
                  const storage::MaildirKeywords& table, MessageView* view) {
  view->imap_flags = ImapFlagsFromStorage(entry.flags, entry.recent);
  view->keywords = KeywordNames(entry.keywords, table);
}

void AppendFlagList(std::string* out, uint8_t imap_flags,
                    const std::vector<std::string_view>& keywords) {
  // Same order as proto::FormatFlagList so every FLAGS reply looks alike.
  static constexpr std::pair<uint8_t, std::string_view> kNames[] = {
      {proto::kFlagAnswered, "\\Answered"}, {proto::kFlagFlagged, "\\Flagged"},
      {proto::kFlagDeleted, "\\Deleted"},   {proto::kFlagSeen, "\\Seen"},
      {proto::kFlagDraft, "\\Draft"},       {proto::kFlagRecent, "\\Recent"},
  };
  out->push_back('(');
  bool first = true;
  for (const auto& [bit, name] : kNames) {
    if (!(imap_flags & bit)) continue;
    if (!first) out->push_back(' ');
    out->append(name);
    first = false;
  }
  for (std::string_view k : keywords) {
    if (!first) out->push_back(' ');
    out->append(k);
    first = false;
  }
  out->push_back(')');
}

std::vector<std::string> UnknownKeywords(
    const proto::FlagSet& set, const storage::MaildirKeywords& table) {
  std::vector<std::string> out;
  for (const std::string& k : set.keywords) {
    if (table.IndexOf(k)) continue;
    bool dup = false;
    for (const std::string& seen : out) {
      if (mime::EqualsIgnoreCase(seen, k)) {
        dup = true;
        break;
      }
    }
    if (!dup) out.push_back(k);
  }
  return out;
}

StoreOutcome ApplyStore(uint8_t storage_flags, uint32_t keyword_mask,
                        proto::StoreMode mode, const proto::FlagSet& set,
                        const storage::MaildirKeywords& table) {
  StoreOutcome r;
  const uint8_t sys = StorageFlagsFromImap(set.system & kSystemFlags, 0);
  uint32_t kw = 0;
  for (const std::string& k : set.keywords) {
    if (std::optional<int> i = table.IndexOf(k)) {
      kw |= uint32_t{1} << *i;
    } else if (mode != proto::StoreMode::kRemove) {
      bool dup = false;
      for (const std::string& u : r.unknown_keywords) {
        dup = dup || mime::EqualsIgnoreCase(u, k);
      }
      if (!dup) r.unknown_keywords.push_back(k);
    }
  }
  switch (mode) {
    case proto::StoreMode::kReplace:
      r.flags = static_cast<uint8_t>((storage_flags & kStorageOnly) | sys);
      // Bits without a name in the table cannot be seen by any client; keep
      // them rather than silently dropping another writer's data.
      r.keywords = (keyword_mask & ~KnownKeywordMask(table)) | kw;
      break;
    case proto::StoreMode::kAdd:
      r.flags = storage_flags | sys;
      r.keywords = keyword_mask | kw;
      break;
    case proto::StoreMode::kRemove:
      r.flags = static_cast<uint8_t>(storage_flags & ~sys);
      r.keywords = keyword_mask & ~kw;
      break;
  }
  r.changed = r.flags != storage_flags || r.keywords != keyword_mask;
  return r;
}

proto::FlagSet MailboxFlags(const storage::MaildirKeywords& table) {
  proto::FlagSet f;
  f.system = kSystemFlags;
  for (int i = 0; i < storage::kMaxMaildirKeywords; ++i) {
    std::string_view name = table.NameAt(i);
    if (!name.empty()) f.keywords.emplace_back(name);
  }
  return f;
}

std::string PermanentFlagsCode(const storage::MaildirKeywords& table,
                               bool read_only) {
  if (read_only) return proto::CodePermanentFlags(proto::FlagSet(), false);
  proto::FlagSet f = MailboxFlags(table);
  const bool room = f.keywords.size() < storage::kMaxMaildirKeywords;
  return proto::CodePermanentFlags(f, room);
}

}  // namespace ringmail::server::imap
