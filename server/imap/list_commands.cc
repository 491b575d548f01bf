// Mailbox listing and status: LIST and LSUB (RFC 3501 §6.3.8-9, with the
// shared namespace appended by ListShared), STATUS (§6.3.10, RFC 7162
// HIGHESTMODSEQ) and NAMESPACE (RFC 2342).
#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "protocols/imap/acl.h"
#include "protocols/imap/args.h"
#include "protocols/imap/list_pattern.h"
#include "protocols/imap/mutf7.h"
#include "server/imap/blocking.h"
#include "server/imap/imap_session.h"
#include "server/imap/mailbox_access.h"
#include "storage/mailbox/acl.h"
#include "storage/mailbox/folder_tree.h"
#include "storage/mailbox/subscriptions.h"

namespace ringmail::server::imap {
namespace {

uint32_t SpecialUseAttr(storage::SpecialUse use) {
  switch (use) {
    case storage::SpecialUse::kSent: return ringmail::imap::kAttrSent;
    case storage::SpecialUse::kDrafts: return ringmail::imap::kAttrDrafts;
    case storage::SpecialUse::kTrash: return ringmail::imap::kAttrTrash;
    case storage::SpecialUse::kJunk: return ringmail::imap::kAttrJunk;
    case storage::SpecialUse::kArchive: return ringmail::imap::kAttrArchive;
    case storage::SpecialUse::kNone: return 0;
  }
  return 0;
}

}  // namespace

void ImapSession::CmdList(const ringmail::imap::Command& cmd, bool lsub) {
  if (cmd.args.size() != 2) return FinishBad("LIST takes a reference and a pattern.");
  std::string ref_scratch, pat_scratch;
  std::string_view ref, pat;
  if (!ringmail::imap::AstringValue(cmd.args[0], &ref_scratch, &ref) ||
      !ringmail::imap::AstringValue(cmd.args[1], &pat_scratch, &pat)) {
    return FinishBad("Invalid arguments.");
  }
  char delim = user_->options().delimiter;
  const char* command = lsub ? "LSUB" : "LIST";
  if (pat.empty() && !lsub) {
    // RFC 3501 §6.3.8: the delimiter and root name.
    ringmail::imap::AppendList(&out(), command, ringmail::imap::kAttrNoselect, delim, "");
    return Finish(ringmail::imap::Status::kOk, "", "List completed.");
  }
  std::string pattern = ringmail::imap::CombineListReference(ref, pat, delim);
  // Patterns arrive in modified UTF-7 unless UTF8=ACCEPT; names on our side
  // are UTF-8, so compare on the wire form.
  struct Listing {
    absl::StatusOr<std::vector<storage::FolderInfo>> folders;
    absl::StatusOr<storage::Subscriptions> subs;
  };
  EnsureDefaultFolders([this, alive = gate_.token(), pattern, lsub, delim, command] {
    if (!alive) return;
    RunBlocking<Listing>(
        svc_->ctx().pool, svc_->loop(),
        [root = user_->root(), opts = user_->options()]() {
          Listing l;
          l.folders = storage::ListFolders(root, opts, {});
          l.subs = storage::ReadSubscriptionsFile(root, opts);
          return l;
        },
        [this, alive, pattern, lsub, delim, command](Listing l) {
          if (!alive) return;
          if (!l.folders.ok()) return FinishNo(ringmail::imap::kCodeServerBug, "Internal error.");
          std::vector<std::string> subscribed_order;
          if (l.subs.ok()) subscribed_order = l.subs->names;
          auto wire_name = [this](const std::string& name, std::string* wire) {
            if (carry_.utf8_accept) {
              *wire = name;
              return true;
            }
            return ringmail::imap::Utf8ToMutf7(name, wire);
          };
          if (lsub) {
            // RFC 3501 §6.3.9: every subscribed name matching the pattern,
            // whether or not it exists; missing or unselectable ones are
            // \Noselect.
            absl::flat_hash_map<std::string, const storage::FolderInfo*> by_name;
            for (const storage::FolderInfo& f : *l.folders) by_name[f.name] = &f;
            for (const std::string& name : subscribed_order) {
              std::string wire;
              if (!wire_name(name, &wire) ||
                  !ringmail::imap::ListPatternMatches(pattern, wire, delim)) {
                continue;
              }
              auto it = by_name.find(name);
              uint32_t attrs = ringmail::imap::kAttrNoselect;
              if (it != by_name.end() && !it->second->noselect) {
                attrs = SpecialUseAttr(it->second->special_use);
              }
              // Shared folders are not in the user's tree; whether they
              // are still visible is LIST's business (checking every ACL
              // here would make LSUB as costly as LIST of shared/*).
              std::string_view rest;
              if (SplitSharedName(name, delim, &rest) && !rest.empty()) attrs = 0;
              ringmail::imap::AppendList(&out(), command, attrs, delim, wire);
            }
          } else {
            for (const storage::FolderInfo& f : *l.folders) {
              std::string wire;
              if (!wire_name(f.name, &wire) ||
                  !ringmail::imap::ListPatternMatches(pattern, wire, delim)) {
                continue;
              }
              uint32_t attrs = SpecialUseAttr(f.special_use);
              if (f.noselect) attrs |= ringmail::imap::kAttrNoselect;
              attrs |= f.has_children ? ringmail::imap::kAttrHasChildren
                                      : ringmail::imap::kAttrHasNoChildren;
              ringmail::imap::AppendList(&out(), command, attrs, delim, wire);
            }
          }
          if (lsub) return Finish(ringmail::imap::Status::kOk, "", "Lsub completed.");
          ListShared(pattern, lsub, [this, alive] {
            if (alive) Finish(ringmail::imap::Status::kOk, "", "List completed.");
          });
        });
  });
}

void ImapSession::CmdStatus(const ringmail::imap::Command& cmd) {
  std::string name;
  uint8_t items = 0;
  ringmail::imap::ArgError err;
  if (!ringmail::imap::ParseStatus(cmd.args, carry_.utf8_accept, &name, &items, &err)) {
    return FinishBad(err.text);
  }
  WithAccess(name, [this, items, name](MailboxAccess a) {
    if (a.owner == nullptr) {
      return FinishNo(ringmail::imap::kCodeNonExistent, "Mailbox doesn't exist.");
    }
    // RFC 4314 §4: STATUS needs "r".
    if (!RequireRights(a, storage::kAclRead, ringmail::imap::kCodeNonExistent)) return;
    auto folder = a.owner->Open(a.folder);
    if (!folder.ok()) return FinishNo(ringmail::imap::kCodeNonExistent, "Mailbox doesn't exist.");
    FolderState* f = *folder;
    f->Sync([this, alive = gate_.token(), f, items, name, owner = a.owner,
             canonical = a.folder](absl::Status s) {
      if (!alive) return;
      if (absl::IsNotFound(s)) {
        owner->Forget(canonical);
        return FinishNo(ringmail::imap::kCodeNonExistent, "Mailbox doesn't exist.");
      }
      if (!s.ok()) return FinishNo(ringmail::imap::kCodeServerBug, "Internal error.");
      const storage::FolderIndex& idx = f->index();
      const uint32_t unseen = idx.CountUnseen(), recent = idx.CountRecent();
      std::string list;
      auto add = [&list](std::string_view k, uint64_t v) {
        absl::StrAppend(&list, list.empty() ? "" : " ", std::string(k), " ", v);
      };
      if (items & ringmail::imap::kStatusMessages) add("MESSAGES", idx.size());
      if (items & ringmail::imap::kStatusRecent) add("RECENT", recent);
      if (items & ringmail::imap::kStatusUidNext) add("UIDNEXT", idx.next_uid());
      if (items & ringmail::imap::kStatusUidValidity) add("UIDVALIDITY", idx.uid_validity());
      if (items & ringmail::imap::kStatusUnseen) add("UNSEEN", unseen);
      if (items & ringmail::imap::kStatusHighestModSeq) {
        // RFC 7162 §3.1.6: 0 when mod-sequences are not permanent.
        EnableCondstore();
        add("HIGHESTMODSEQ", f->persistent_modseqs() ? idx.highest_modseq() : 0);
      }
      ringmail::imap::AppendStatus(&out(), FormatMailboxName(name), list);
      Finish(ringmail::imap::Status::kOk, "", "Status completed.");
    });
  });
}

void ImapSession::CmdNamespace() {
  // RFC 2342: the personal namespace and the shared one (other users'
  // folders shared with this user, RFC 4314), no "other users" namespace.
  const char d = user_->options().delimiter;
  ringmail::imap::AppendNamespaceWithShared(
      &out(), "", absl::StrCat(absl::string_view(kSharedPrefix.data(), kSharedPrefix.size()),
                               std::string(1, d)),
      d);
  Finish(ringmail::imap::Status::kOk, "", "Namespace completed.");
}

}  // namespace ringmail::server::imap
