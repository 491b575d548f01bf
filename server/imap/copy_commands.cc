// COPY and MOVE (RFC 3501 §6.4.7, RFC 6851): hard links into the target
// (also another owner's shared folder, RFC 4314 §4 rights), COPYUID (RFC
// 4315 §3), quota checks and charges against the target's owner (RFC 9208).
#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "protocols/imap/args.h"
#include "server/imap/acl_flags.h"
#include "server/imap/blocking.h"
#include "server/imap/flags.h"
#include "server/imap/imap_session.h"
#include "server/imap/unique_name.h"
#include "storage/mailbox/acl.h"
#include "storage/mailbox/keywords.h"
#include "storage/mailbox/message_ops.h"
#include "storage/maildir/maildir_name.h"

namespace ringmail::server::imap {

// ------------------------------------------------------------ COPY / MOVE

void ImapSession::CmdCopy(const ringmail::imap::Command& cmd, bool move) {
  if (cmd.args.size() != 2) return FinishBad("Expected a message set and a mailbox.");
  if (move && view_->read_only()) return FinishNo(ringmail::imap::kCodeReadOnly, "Mailbox is read-only.");
  auto uids = std::make_shared<std::vector<uint32_t>>();
  if (!ResolveSet(cmd.args[0].text, uid_cmd_, uids.get())) return;
  std::string target;
  ringmail::imap::ArgError err;
  if (!ringmail::imap::ParseMailbox(cmd.args[1], carry_.utf8_accept, &target, &err)) {
    return FinishBad(err.text);
  }
  // RFC 4314 §4: MOVE takes the messages away from the source, which needs
  // "t" and "e" there (RFC 6851 §3.3: like STORE \Deleted + EXPUNGE).
  if (move && !HasSelectedRight(storage::kAclWriteDeleted | storage::kAclExpunge)) {
    return FinishNo("NOPERM", "Permission denied.");
  }
  WithAccess(target, [this, uids, move](MailboxAccess a) {
    // RFC 4314 §4: the target needs "i"; one the user may not see is
    // answered as missing.
    if (a.owner == nullptr) return FinishNo(ringmail::imap::kCodeTryCreate, "Mailbox doesn't exist.");
    if (!RequireRights(a, storage::kAclInsert, ringmail::imap::kCodeTryCreate)) return;
    FolderState* src = view_->folder();
    std::string dst_path = a.path;
    std::string target = a.folder;
    MailUser* dst_owner = a.owner;  // leased for the command when not ours
    const bool same_owner = dst_owner == selected_owner();
    // RFC 4314 §4: the copies keep only the flags the user may set in the
    // target (\Seen "s", \Deleted "t", others "w"); see acl_flags.h.
    const storage::AclRights dst_rights = a.rights;
    // Keyword letters are per folder (dovecot-keywords): the names the copied
    // messages carry must exist in the target's table before linking.
    std::vector<std::string> names;
    {
      uint32_t used = 0;
      for (uint32_t uid : *uids) {
        if (auto pos = src->index().PositionOfUid(uid)) used |= src->index().keywords(*pos);
      }
      if (!(dst_rights & storage::kAclWrite)) used = 0;  // none carried over
      for (std::string_view n : KeywordNames(used, src->keywords())) names.emplace_back(n);
    }
    struct Target {
      bool exists = false;
      absl::StatusOr<storage::MaildirKeywords> keywords;
    };
    RunBlocking<Target>(
        svc_->ctx().pool, svc_->loop(),
        [dst_path, names]() {
          Target t;
          struct stat sb;
          t.exists = stat((dst_path + "/cur").c_str(), &sb) == 0;
          t.keywords = !t.exists ? storage::MaildirKeywords()
                       : names.empty()
                           ? storage::ReadKeywordsFile(dst_path)
                           : storage::AssignKeywordsBlocking(dst_path, names,
                                                             storage::DotlockOptions{});
          return t;
        },
        [this, alive = gate_.token(), uids, src, dst_path, target, move, dst_owner,
         same_owner, dst_rights](Target t) {
          if (!alive) return;
          if (!t.exists) return FinishNo(ringmail::imap::kCodeTryCreate, "Mailbox doesn't exist.");
          if (!t.keywords.ok()) return FinishNo(ringmail::imap::kCodeLimit, "Too many keywords.");
          auto dst_keywords =
              std::make_shared<storage::MaildirKeywords>(std::move(*t.keywords));
          // Link every message into the target's cur/ (same inode: flags and
          // internal date are kept), then assign UIDs there in one locked
          // uidlist update.
          struct Copied {
            uint32_t src_uid;
            std::string name;
          };
          auto copied = std::make_shared<std::vector<Copied>>();
          auto next = std::make_shared<size_t>(0);
          auto step = std::make_shared<absl::AnyInvocable<void()>>();
          *step = [this, alive, uids, src, dst_path, target, move, copied, next, step,
                   dst_keywords, dst_owner, dst_rights]() {
            if (!alive) return;
            while (*next < uids->size()) {
              uint32_t uid = (*uids)[(*next)++];
              auto pos = src->index().PositionOfUid(uid);
              if (!pos) continue;
              storage::MessageEntry entry = src->index().Entry(*pos);
              uint32_t mask = 0;
              for (std::string_view n : KeywordNames(entry.keywords, src->keywords())) {
                if (auto i = dst_keywords->IndexOf(n)) mask |= 1u << *i;
              }
              entry.keywords = mask;
              DropUnsettableFlags(dst_rights, &entry.flags, &entry.keywords);
              auto plan = storage::PlanCopy(
                  src->path(), entry, dst_path,
                  NewMessageBase(svc_->loop()->id(), svc_->ctx().config->hostname,
                                 svc_->loop()->now()));
              if (!plan.ok()) continue;
              svc_->loop()->file_io().LinkAt(
                  AT_FDCWD, plan->from, AT_FDCWD, plan->to, 0,
                  [alive, step, copied, uid, name = plan->new_filename](int res) {
                    if (!alive) return void(*step = nullptr);  // break the cycle
                    if (res == 0) copied->push_back({uid, name});
                    (*step)();
                  });
              return;
            }
            // The self-reference is broken in the completion below, not here:
            // resetting *step now would destroy this closure (and `copied`,
            // `target`, ...) while it still runs.
            // Sync the target: UIDs go to the copies (and to anything
            // delivered there meanwhile) in Maildir time order, as Dovecot
            // assigns them.
            // The copies count against the quota; a MOVE gives the space
            // back when it expunges the originals below.
            uint64_t copied_bytes = 0;
            for (const Copied& c : *copied) {
              auto p = src->index().PositionOfUid(c.src_uid);
              if (p) copied_bytes += src->index().message_size(*p);
            }
            auto state = dst_owner->Open(target);
            if (!state.ok()) {
              NoteQuotaChange(static_cast<int64_t>(copied_bytes),
                              static_cast<int64_t>(copied->size()), nullptr,
                              &dst_owner->quota);
              *step = nullptr;
              return Finish(ringmail::imap::Status::kNo, "", "Copy failed.");
            }
            FolderState* dst = *state;
            dst->Sync([this, alive, copied, target, move, step, dst, dst_owner,
                       copied_bytes](absl::Status s) {
                  *step = nullptr;  // the step closure has returned by now
                  if (!alive) return;
                  std::string code;
                  if (s.ok() && !copied->empty()) {
                    std::string src_set, dst_set;
                    size_t n = 0;
                    std::vector<std::string_view> keys;
                    keys.reserve(copied->size());
                    for (const Copied& c : *copied) keys.push_back(storage::MaildirKey(c.name));
                    const std::vector<std::optional<size_t>> found =
                        dst->index().PositionsOfKeys(keys);
                    for (size_t i = 0; i < copied->size(); ++i) {
                      if (!found[i]) continue;
                      // COPYUID pairs the sets in order (RFC 4315 §3).
                      absl::StrAppend(&src_set, n ? "," : "", (*copied)[i].src_uid);
                      absl::StrAppend(&dst_set, n ? "," : "", dst->index().uid(*found[i]));
                      ++n;
                    }
                    if (n > 0) {
                      code = ringmail::imap::CodeCopyUid(dst->index().uid_validity(),
                                                         src_set, dst_set);
                    }
                  }
                  const auto copied_count = static_cast<int64_t>(copied->size());
                  if (!move) {
                    return NoteQuotaChange(
                        static_cast<int64_t>(copied_bytes), copied_count, [this, code] {
                          Finish(ringmail::imap::Status::kOk, code, "Copy completed.");
                        }, &dst_owner->quota);
                  }
                  // RFC 6851 §4.3: COPYUID in an untagged OK, then EXPUNGEs.
                  if (!code.empty()) {
                    ringmail::imap::AppendUntaggedStatus(&out(), ringmail::imap::Status::kOk, code, "Moved UIDs.");
                  }
                  std::vector<uint32_t> moved;
                  for (const Copied& c : *copied) moved.push_back(c.src_uid);
                  std::sort(moved.begin(), moved.end());
                  // The copies count first; the expunge gives the space back.
                  NoteQuotaChange(static_cast<int64_t>(copied_bytes), copied_count,
                                  [this, alive, moved = std::move(moved)]() mutable {
                    ExpungeUids(std::move(moved), true, [this, alive](bool) {
                      if (alive) Finish(ringmail::imap::Status::kOk, "", "Move completed.");
                    });
                  }, &dst_owner->quota);
            });
          };
          // RFC 9208 §4.3: a COPY over quota stores nothing. A MOVE within
          // one owner's folders does not grow the usage and is not checked
          // (Dovecot neither): a full mailbox can still move mail to Trash.
          if (move && same_owner) return (*step)();
          CheckQuota(StoredBytes(*src, *uids), uids->size(), [this, step](bool fits) {
            if (fits) return (*step)();
            *step = nullptr;  // break the self-reference
            FinishOverQuota();
          }, &dst_owner->quota);
        });
  });
}

}  // namespace ringmail::server::imap
