// The IMAP command table: one row per command carrying its policy (states,
// UID variant, pipelining class, handler id), so the server's dispatcher has
// no per-command special cases for sequencing.
#ifndef RINGMAIL_PROTOCOLS_IMAP_COMMAND_TABLE_H_
#define RINGMAIL_PROTOCOLS_IMAP_COMMAND_TABLE_H_

#include <cstdint>
#include <string_view>

namespace ringmail::imap {

// Handler ids: the server switches on these.
enum class CommandId : uint8_t {
  kCapability, kNoop, kLogout, kStarttls, kAuthenticate, kLogin,
  kSelect, kExamine, kCreate, kDelete, kRename, kSubscribe, kUnsubscribe,
  kList, kLsub, kStatus, kAppend, kNamespace, kEnable, kId, kIdle,
  kCheck, kClose, kUnselect, kExpunge, kSearch, kFetch, kStore, kCopy, kMove,
  kSort, kThread,  // RFC 5256
  kGetQuota, kGetQuotaRoot, kSetQuota,  // RFC 9208
  kSetAcl, kDeleteAcl, kGetAcl, kListRights, kMyRights,  // RFC 4314
};

// RFC 3501 §3 states a command may be issued in (bit set).
enum StateBit : uint8_t {
  kStateNotAuthenticated = 1 << 0,
  kStateAuthenticated = 1 << 1,
  kStateSelected = 1 << 2,
  kStateAny = kStateNotAuthenticated | kStateAuthenticated | kStateSelected,
  kStateAuthOrSelected = kStateAuthenticated | kStateSelected,
};

enum class UidPolicy : uint8_t {
  kNone,      // "UID X" is a syntax error
  kOptional,  // X and UID X both exist (FETCH, STORE, SEARCH, COPY, MOVE)
  kRequired,  // only "UID X" exists (EXPUNGE with a set, RFC 4315 §2.1)
};

// RFC 3501 §5.5 pipelining classes.
enum class Concurrency : uint8_t {
  // Changes session state or mailbox view (SELECT, LOGIN, EXPUNGE, ...):
  // it waits for everything before it and nothing starts until it is done.
  kExclusive,
  // Reads or changes messages without changing the view: may overlap other
  // kShared commands, subject to the sequence-number rule below.
  kShared,
};

struct CommandSpec {
  std::string_view name;   // canonical upper case
  CommandId id;
  uint8_t states;          // StateBit set
  UidPolicy uid;
  Concurrency concurrency;
  // The command (non-UID form) names messages by sequence number, so it must
  // not run while a command that may send EXPUNGE is in progress (§5.5).
  bool uses_msn;
  // The command may send untagged EXPUNGE (NOOP, CHECK, EXPUNGE, MOVE...).
  bool may_expunge;
};

// Case-insensitive lookup of the command name (without "UID"). Returns
// nullptr for commands we do not implement.
const CommandSpec* LookupCommand(std::string_view name);

// RFC 3501 §5.5: may `next` start while `running` has not completed? Both
// flags say whether the command was given in its UID form.
bool MayRunConcurrently(const CommandSpec& running, bool running_uid,
                        const CommandSpec& next, bool next_uid);

}  // namespace ringmail::imap

#endif  // RINGMAIL_PROTOCOLS_IMAP_COMMAND_TABLE_H_
