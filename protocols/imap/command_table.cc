#include "protocols/imap/command_table.h"

#include <array>

#include "protocols/imap/arg.h"

namespace ringmail::imap {
namespace {

using C = Concurrency;
using U = UidPolicy;
constexpr uint8_t kAny = kStateAny;
constexpr uint8_t kAuth = kStateAuthOrSelected;
constexpr uint8_t kPre = kStateNotAuthenticated;
constexpr uint8_t kSel = kStateSelected;

constexpr std::array<CommandSpec, 40> kTable = {{
    // name, id, states, uid, concurrency, uses_msn, may_expunge
    {"CAPABILITY", CommandId::kCapability, kAny, U::kNone, C::kShared, false, false},
    {"NOOP", CommandId::kNoop, kAny, U::kNone, C::kExclusive, false, true},
    {"LOGOUT", CommandId::kLogout, kAny, U::kNone, C::kExclusive, false, false},
    {"STARTTLS", CommandId::kStarttls, kPre, U::kNone, C::kExclusive, false, false},
    {"AUTHENTICATE", CommandId::kAuthenticate, kPre, U::kNone, C::kExclusive, false, false},
    {"LOGIN", CommandId::kLogin, kPre, U::kNone, C::kExclusive, false, false},
    {"SELECT", CommandId::kSelect, kAuth, U::kNone, C::kExclusive, false, false},
    {"EXAMINE", CommandId::kExamine, kAuth, U::kNone, C::kExclusive, false, false},
    {"CREATE", CommandId::kCreate, kAuth, U::kNone, C::kShared, false, false},
    {"DELETE", CommandId::kDelete, kAuth, U::kNone, C::kExclusive, false, false},
    {"RENAME", CommandId::kRename, kAuth, U::kNone, C::kExclusive, false, false},
    {"SUBSCRIBE", CommandId::kSubscribe, kAuth, U::kNone, C::kShared, false, false},
    {"UNSUBSCRIBE", CommandId::kUnsubscribe, kAuth, U::kNone, C::kShared, false, false},
    {"LIST", CommandId::kList, kAuth, U::kNone, C::kShared, false, false},
    {"LSUB", CommandId::kLsub, kAuth, U::kNone, C::kShared, false, false},
    {"STATUS", CommandId::kStatus, kAuth, U::kNone, C::kShared, false, false},
    {"APPEND", CommandId::kAppend, kAuth, U::kNone, C::kShared, false, false},
    {"NAMESPACE", CommandId::kNamespace, kAuth, U::kNone, C::kShared, false, false},
    {"ENABLE", CommandId::kEnable, kAuth, U::kNone, C::kExclusive, false, false},
    {"ID", CommandId::kId, kAny, U::kNone, C::kShared, false, false},
    {"IDLE", CommandId::kIdle, kAuth, U::kNone, C::kExclusive, false, true},
    {"CHECK", CommandId::kCheck, kSel, U::kNone, C::kExclusive, false, true},
    {"CLOSE", CommandId::kClose, kSel, U::kNone, C::kExclusive, false, false},
    {"UNSELECT", CommandId::kUnselect, kSel, U::kNone, C::kExclusive, false, false},
    {"EXPUNGE", CommandId::kExpunge, kSel, U::kOptional, C::kExclusive, false, true},
    {"SEARCH", CommandId::kSearch, kSel, U::kOptional, C::kShared, true, false},
    {"FETCH", CommandId::kFetch, kSel, U::kOptional, C::kShared, true, false},
    {"STORE", CommandId::kStore, kSel, U::kOptional, C::kShared, true, false},
    {"COPY", CommandId::kCopy, kSel, U::kOptional, C::kShared, true, false},
    {"MOVE", CommandId::kMove, kSel, U::kOptional, C::kExclusive, true, true},
    {"SORT", CommandId::kSort, kSel, U::kOptional, C::kShared, true, false},
    {"THREAD", CommandId::kThread, kSel, U::kOptional, C::kShared, true, false},
    {"GETQUOTA", CommandId::kGetQuota, kAuth, U::kNone, C::kShared, false, false},
    {"GETQUOTAROOT", CommandId::kGetQuotaRoot, kAuth, U::kNone, C::kShared, false, false},
    {"SETQUOTA", CommandId::kSetQuota, kAuth, U::kNone, C::kShared, false, false},
    // RFC 4314 ACL commands. Exclusive: a rights change must not race the
    // commands it restricts.
    {"SETACL", CommandId::kSetAcl, kAuth, U::kNone, C::kExclusive, false, false},
    {"DELETEACL", CommandId::kDeleteAcl, kAuth, U::kNone, C::kExclusive, false, false},
    {"GETACL", CommandId::kGetAcl, kAuth, U::kNone, C::kShared, false, false},
    {"LISTRIGHTS", CommandId::kListRights, kAuth, U::kNone, C::kShared, false, false},
    {"MYRIGHTS", CommandId::kMyRights, kAuth, U::kNone, C::kShared, false, false},
}};

}  // namespace

const CommandSpec* LookupCommand(std::string_view name) {
  for (const CommandSpec& s : kTable) {
    if (EqualsIgnoreCase(s.name, name)) return &s;
  }
  return nullptr;
}

bool MayRunConcurrently(const CommandSpec& running, bool running_uid,
                        const CommandSpec& next, bool next_uid) {
  if (running.concurrency == C::kExclusive ||
      next.concurrency == C::kExclusive) {
    return false;
  }
  // §5.5: a command that may expunge changes sequence numbers under a
  // concurrent command that names messages by number, in either order.
  const bool next_msn = next.uses_msn && !next_uid;
  const bool running_msn = running.uses_msn && !running_uid;
  if ((next_msn && running.may_expunge) || (running_msn && next.may_expunge)) {
    return false;
  }
  // Two STOREs to the same messages could interleave; keep them ordered
  // (the server cannot cheaply tell whether the sets overlap).
  if (running.id == CommandId::kStore && next.id == CommandId::kStore) {
    return false;
  }
  return true;
}

}  // namespace ringmail::imap
