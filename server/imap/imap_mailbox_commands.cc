// Authenticated-state commands: SELECT/EXAMINE, CREATE, DELETE, RENAME,
// SUBSCRIBE, LIST/LSUB, STATUS, NAMESPACE and APPEND (RFC 3501 §6.3).
#include <sys/stat.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "engine/log.h"
#include "protocols/imap/args.h"
#include "protocols/imap/list_pattern.h"
#include "protocols/imap/mutf7.h"
#include "server/imap/blocking.h"
#include "server/imap/fetch_render.h"
#include "server/imap/flags.h"
#include "server/imap/imap_session.h"
#include "server/imap/unique_name.h"
#include "storage/mailbox/folder_sync.h"
#include "storage/mailbox/folder_tree.h"
#include "storage/mailbox/message_ops.h"
#include "storage/mailbox/subscriptions.h"
#include "storage/maildir/maildir_name.h"

namespace ringmail::server::imap {
namespace {

// BLOCKING: the user's Maildir root with tmp/, new/, cur/ (a user who never
// received mail has none yet), then the SPECIAL-USE default folders.
absl::Status EnsureRootAndDefaults(const std::string& root,
                                   const storage::FolderNameOptions& opts) {
  std::string path;
  for (size_t i = 1; i <= root.size(); ++i) {
    if (i == root.size() || root[i] == '/') {
      path.assign(root, 0, i);
      if (mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) {
        return absl::UnavailableError(absl::StrCat("mkdir ", path, ": ", strerror(errno)));
      }
    }
  }
  for (const char* sub : {"/tmp", "/new", "/cur"}) {
    path = root + sub;
    if (mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) {
      return absl::UnavailableError(absl::StrCat("mkdir ", path, ": ", strerror(errno)));
    }
  }
  auto created = storage::EnsureDefaultFoldersBlocking(root, opts);
  return created.ok() ? absl::OkStatus() : created.status();
}

// Maps a storage error to the response code clients act on.
std::string_view CodeFor(const absl::Status& s) {
  if (absl::IsNotFound(s)) return ringmail::imap::kCodeNonExistent;
  if (absl::IsAlreadyExists(s)) return ringmail::imap::kCodeAlreadyExists;
  if (absl::IsInvalidArgument(s) || absl::IsFailedPrecondition(s)) {
    return ringmail::imap::kCodeCannot;
  }
  if (absl::IsResourceExhausted(s)) return ringmail::imap::kCodeLimit;
  return "SERVERBUG";
}

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

void ImapSession::EnsureDefaultFolders(absl::AnyInvocable<void()> then) {
  if (user_->defaults_checked) {
    then();
    return;
  }
  RunBlocking<absl::Status>(
      svc_->ctx().pool, svc_->loop(),
      [root = user_->root(), opts = user_->options()]() {
        return EnsureRootAndDefaults(root, opts);
      },
      [this, alive = alive_, then = std::move(then)](absl::Status s) mutable {
        if (!*alive) return;
        if (!s.ok()) {
          LOG_WARNING("imap: preparing mailbox of ", user_->user(), ": ", s.ToString());
        } else {
          user_->defaults_checked = true;
        }
        then();
      });
}

void ImapSession::Unselect() {
  if (!view_) return;
  FolderState* f = view_->folder();
  view_.reset();
  if (f->view_count() == 0) f->SaveIfDirty();
}

void ImapSession::CmdSelect(const ringmail::imap::Command& cmd, bool read_only) {
  CloseForSelect();  // RFC 3501 §6.3.1: a failed SELECT leaves none selected
  if (cmd.args.size() < 1) return FinishBad("Missing mailbox name.");
  std::string name;
  ringmail::imap::ArgError err;
  if (!ringmail::imap::ParseMailbox(cmd.args[0], carry_.utf8_accept, &name, &err)) {
    return FinishBad(err.text);
  }
  ringmail::imap::SelectParams params;  // (CONDSTORE), (QRESYNC ...)
  if (!ParseSelectArgs(cmd, &params)) return;
  EnsureDefaultFolders([this, alive = alive_, name, read_only, params] {
    if (!*alive) return;
    auto folder = user_->Open(name);
    if (!folder.ok()) return FinishNo(ringmail::imap::kCodeNonExistent, "Mailbox doesn't exist.");
    FolderState* f = *folder;
    f->Sync([this, alive, f, read_only, name, params](absl::Status s) {
      if (!*alive) return;
      if (absl::IsNotFound(s)) {
        user_->Forget(name);
        return FinishNo(ringmail::imap::kCodeNonExistent, "Mailbox doesn't exist.");
      }
      if (!s.ok()) return FinishNo(ringmail::imap::kCodeServerBug, "Internal error.");
      view_ = std::make_unique<FolderView>(f, read_only);
      const storage::FolderIndex& idx = f->index();
      ringmail::imap::AppendFlags(&out(), MailboxFlags(f->keywords()));
      ringmail::imap::AppendUntaggedStatus(&out(), ringmail::imap::Status::kOk,
                                 PermanentFlagsCode(f->keywords(), read_only),
                                 "Flags permitted.");
      ringmail::imap::AppendExists(&out(), view_->exists());
      ringmail::imap::AppendRecent(&out(), view_->recent_count());
      for (size_t i = 0; i < idx.size(); ++i) {
        if (!(idx.at(i).flags & storage::kFlagSeen)) {
          ringmail::imap::AppendUntaggedStatus(&out(), ringmail::imap::Status::kOk,
                                     ringmail::imap::CodeUnseen(static_cast<uint32_t>(i + 1)),
                                     "First unseen.");
          break;
        }
      }
      ringmail::imap::AppendUntaggedStatus(&out(), ringmail::imap::Status::kOk,
                                 ringmail::imap::CodeUidValidity(idx.uid_validity()), "UIDs valid");
      ringmail::imap::AppendUntaggedStatus(&out(), ringmail::imap::Status::kOk,
                                 ringmail::imap::CodeUidNext(idx.next_uid()), "Predicted next UID");
      FinishSelect(params, read_only);  // HIGHESTMODSEQ, QRESYNC, tagged OK
    });
  });
}

void ImapSession::CmdCreate(const ringmail::imap::Command& cmd) {
  if (cmd.args.size() != 1) return FinishBad("CREATE takes one mailbox name.");
  std::string name;
  ringmail::imap::ArgError err;
  if (!ringmail::imap::ParseMailbox(cmd.args[0], carry_.utf8_accept, &name, &err)) {
    return FinishBad(err.text);
  }
  // RFC 3501 §6.3.3: a trailing delimiter only says the name will have
  // children; the folder itself is created without it.
  char delim = user_->options().delimiter;
  while (!name.empty() && name.back() == delim) name.pop_back();
  if (storage::IsInboxName(name)) {
    return FinishNo(ringmail::imap::kCodeAlreadyExists, "Mailbox already exists.");
  }
  EnsureDefaultFolders([this, alive = alive_, name] {
    if (!*alive) return;
    RunBlocking<absl::Status>(
        svc_->ctx().pool, svc_->loop(),
        [root = user_->root(), name, opts = user_->options()]() {
          return storage::CreateFolderBlocking(root, name, opts);
        },
        [this, alive](absl::Status s) {
          if (!*alive) return;
          if (!s.ok()) {
            return FinishNo(CodeFor(s), absl::IsAlreadyExists(s)
                                            ? "Mailbox already exists."
                                            : "Cannot create mailbox.");
          }
          Finish(ringmail::imap::Status::kOk, "", "Create completed.");
        });
  });
}

void ImapSession::CmdDelete(const ringmail::imap::Command& cmd) {
  if (cmd.args.size() != 1) return FinishBad("DELETE takes one mailbox name.");
  std::string name;
  ringmail::imap::ArgError err;
  if (!ringmail::imap::ParseMailbox(cmd.args[0], carry_.utf8_accept, &name, &err)) {
    return FinishBad(err.text);
  }
  if (storage::IsInboxName(name)) return FinishNo(ringmail::imap::kCodeCannot, "INBOX can't be deleted.");
  FolderState* open = user_->FindOpen(name);
  if (open != nullptr && open->view_count() > 0) {
    if (view_ && view_->folder() == open) Unselect();
    if (open->view_count() > 0) {
      return FinishNo("INUSE", "Mailbox is selected by another session.");
    }
  }
  RunBlocking<absl::Status>(
      svc_->ctx().pool, svc_->loop(),
      [root = user_->root(), name, opts = user_->options()]() {
        return storage::DeleteFolderBlocking(root, name, opts, {});
      },
      [this, alive = alive_, name](absl::Status s) {
        if (!*alive) return;
        if (!s.ok()) {
          return FinishNo(CodeFor(s), absl::IsNotFound(s) ? "Mailbox doesn't exist."
                                                          : "Cannot delete mailbox.");
        }
        user_->Forget(name);
        // Its messages are gone: maildirsize is recounted before the reply.
        RecalculateQuota(quota_env(), user_->quota, [this, alive] {
          if (*alive) Finish(ringmail::imap::Status::kOk, "", "Delete completed.");
        });
      });
}

void ImapSession::CmdRename(const ringmail::imap::Command& cmd) {
  if (cmd.args.size() != 2) return FinishBad("RENAME takes two mailbox names.");
  std::string from, to;
  ringmail::imap::ArgError err;
  if (!ringmail::imap::ParseMailbox(cmd.args[0], carry_.utf8_accept, &from, &err) ||
      !ringmail::imap::ParseMailbox(cmd.args[1], carry_.utf8_accept, &to, &err)) {
    return FinishBad(err.text);
  }
  FolderState* open = user_->FindOpen(from);
  if (open != nullptr && open->view_count() > 0 && !storage::IsInboxName(from)) {
    return FinishNo("INUSE", "Mailbox is selected.");
  }
  RunBlocking<absl::Status>(
      svc_->ctx().pool, svc_->loop(),
      [root = user_->root(), from, to, opts = user_->options()]() {
        return storage::RenameFolderBlocking(root, from, to, opts, {});
      },
      [this, alive = alive_, from, to](absl::Status s) {
        if (!*alive) return;
        if (!s.ok()) {
          return FinishNo(CodeFor(s), absl::IsNotFound(s) ? "Mailbox doesn't exist."
                                      : absl::IsAlreadyExists(s) ? "Target mailbox exists."
                                                                 : "Cannot rename mailbox.");
        }
        user_->Forget(from);
        user_->Forget(to);
        // Renaming INBOX moved its messages: selected INBOX views resync.
        if (FolderState* inbox = user_->FindOpen("INBOX")) {
          inbox->Sync([](absl::Status) {});
        }
        Finish(ringmail::imap::Status::kOk, "", "Rename completed.");
      });
}

void ImapSession::CmdSubscribe(const ringmail::imap::Command& cmd, bool subscribe) {
  if (cmd.args.size() != 1) return FinishBad("Expected one mailbox name.");
  std::string name;
  ringmail::imap::ArgError err;
  if (!ringmail::imap::ParseMailbox(cmd.args[0], carry_.utf8_accept, &name, &err)) {
    return FinishBad(err.text);
  }
  RunBlocking<absl::StatusOr<storage::Subscriptions>>(
      svc_->ctx().pool, svc_->loop(),
      [root = user_->root(), name, subscribe, opts = user_->options()]() {
        return storage::SetSubscribedBlocking(root, name, subscribe, opts,
                                              storage::DotlockOptions{});
      },
      [this, alive = alive_, subscribe](absl::StatusOr<storage::Subscriptions> s) {
        if (!*alive) return;
        if (!s.ok()) return FinishNo(CodeFor(s.status()), "Cannot update subscriptions.");
        Finish(ringmail::imap::Status::kOk, "",
               subscribe ? "Subscribe completed." : "Unsubscribe completed.");
      });
}

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
  EnsureDefaultFolders([this, alive = alive_, pattern, lsub, delim, command] {
    if (!*alive) return;
    RunBlocking<Listing>(
        svc_->ctx().pool, svc_->loop(),
        [root = user_->root(), opts = user_->options()]() {
          Listing l;
          l.folders = storage::ListFolders(root, opts, {});
          l.subs = storage::ReadSubscriptionsFile(root, opts);
          return l;
        },
        [this, alive, pattern, lsub, delim, command](Listing l) {
          if (!*alive) return;
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
          Finish(ringmail::imap::Status::kOk, "", lsub ? "Lsub completed." : "List completed.");
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
  auto folder = user_->Open(name);
  if (!folder.ok()) return FinishNo(ringmail::imap::kCodeNonExistent, "Mailbox doesn't exist.");
  FolderState* f = *folder;
  f->Sync([this, alive = alive_, f, items, name](absl::Status s) {
    if (!*alive) return;
    if (absl::IsNotFound(s)) {
      user_->Forget(name);
      return FinishNo(ringmail::imap::kCodeNonExistent, "Mailbox doesn't exist.");
    }
    if (!s.ok()) return FinishNo(ringmail::imap::kCodeServerBug, "Internal error.");
    const storage::FolderIndex& idx = f->index();
    uint32_t unseen = 0, recent = 0;
    for (size_t i = 0; i < idx.size(); ++i) {
      if (!(idx.at(i).flags & storage::kFlagSeen)) ++unseen;
      if (idx.at(i).recent) ++recent;
    }
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
    std::string wire = name;
    if (!carry_.utf8_accept) ringmail::imap::Utf8ToMutf7(name, &wire);
    ringmail::imap::AppendStatus(&out(), wire, list);
    Finish(ringmail::imap::Status::kOk, "", "Status completed.");
  });
}

void ImapSession::CmdNamespace() {
  ringmail::imap::AppendNamespace(&out(), "", user_->options().delimiter);
  Finish(ringmail::imap::Status::kOk, "", "Namespace completed.");
}

// ------------------------------------------------------------ APPEND

void ImapSession::AppendBegin(const ringmail::imap::Command& cmd) {
  tag_.assign(cmd.tag.data(), cmd.tag.size());
  spec_ = cmd.spec;
  uid_cmd_ = false;
  if (std::string_view bad = state_.CheckAllowed(*cmd.spec); !bad.empty()) {
    reader_.RejectAppend();
    busy_ = true;
    return FinishBad(bad);
  }
  auto st = std::make_unique<AppendState>();
  ringmail::imap::ArgError err;
  if (!ringmail::imap::ParseAppend(cmd.args, carry_.utf8_accept, &st->args, &err)) {
    reader_.RejectAppend();
    busy_ = true;
    return FinishBad(err.text);
  }
  auto path = user_->FolderPath(st->args.mailbox);
  if (!path.ok()) {
    reader_.RejectAppend();
    busy_ = true;
    return FinishNo(ringmail::imap::kCodeTryCreate, "Mailbox doesn't exist.");
  }
  st->data.reserve(std::min<uint64_t>(reader_.literal_size(), 1 << 20));
  append_ = std::move(st);
  // Whether the folder exists decides between the continuation and
  // TRYCREATE (RFC 3501 §6.3.11) before any message octet is read; stat
  // runs on a helper, and input waits meanwhile.
  busy_ = true;
  bool sync_literal = reader_.literal_sync();
  RunBlocking<bool>(
      svc_->ctx().pool, svc_->loop(),
      [cur = *path + "/cur"]() {
        struct stat sb;
        return stat(cur.c_str(), &sb) == 0;
      },
      [this, alive = alive_, sync_literal](bool exists) {
        if (!*alive) return;
        if (!exists) {
          append_.reset();
          reader_.RejectAppend();
          return FinishNo(ringmail::imap::kCodeTryCreate, "Mailbox doesn't exist.");
        }
        busy_ = false;
        if (sync_literal) out() += ringmail::imap::kLiteralContinuation;
        FlushOutput();
        PumpPending();
      });
}

void ImapSession::AppendData(std::string_view chunk) {
  if (!append_) return;
  // Stored with LF endings like every Maildir message: drop the CR of CRLF.
  AppendState& st = *append_;
  st.crlf_size += chunk.size();
  for (char c : chunk) {
    if (st.pending_cr) {
      st.pending_cr = false;
      if (c != '\n') st.data.push_back('\r');
    }
    if (c == '\r') {
      st.pending_cr = true;
    } else {
      st.data.push_back(c);
    }
  }
}

void ImapSession::AppendEnd() {
  busy_ = true;
  if (!reader_.append_ok() || !append_) {
    append_.reset();
    out() += reader_.error_reply();
    busy_ = false;
    return;
  }
  std::unique_ptr<AppendState> st = std::move(append_);
  if (st->pending_cr) st->data.push_back('\r');
  const uint64_t stored_size = st->data.size();
  storage::MaildirKeywords* table = nullptr;
  auto folder = user_->Open(st->args.mailbox);
  if (!folder.ok()) return FinishNo(ringmail::imap::kCodeTryCreate, "Mailbox doesn't exist.");
  FolderState* f = *folder;
  table = &f->keywords();
  // Keywords the folder does not know yet are assigned letters first.
  std::vector<std::string> unknown = UnknownKeywords(st->args.flags, *table);
  auto store = [this, alive = alive_, f,
                st = std::shared_ptr<AppendState>(std::move(st))]() {
    if (!*alive) return;
    storage::AppendRequest req;
    req.folder = f->path();
    req.base = NewMessageBase(svc_->loop()->id(), svc_->ctx().config->hostname);
    req.vsize = CrlfSize(st->data);
    StoreOutcome o = ApplyStore(0, 0, ringmail::imap::StoreMode::kReplace, st->args.flags,
                                f->keywords());
    req.flags = o.flags;
    req.keywords = o.keywords;
    req.internal_date =
        st->args.internal_date.value_or(absl::ToUnixSeconds(absl::Now()));
    req.data = std::make_shared<const std::string>(std::move(st->data));
    auto* mtime_fn = new storage::SetMtimeFn(
        [pool = svc_->ctx().pool, loop = svc_->loop()](
            std::string path, int64_t mtime, absl::AnyInvocable<void(int)> done) {
          RunBlocking<int>(pool, loop,
                           [path = std::move(path), mtime]() {
                             return storage::SetMtimeBlocking(path, mtime);
                           },
                           std::move(done));
        });
    storage::AppendMessageAsync(
        &svc_->loop()->file_io(), mtime_fn, std::move(req),
        [this, alive, f, mtime_fn](absl::StatusOr<std::string> name) {
          svc_->loop()->Defer([mtime_fn] { delete mtime_fn; });
          if (!*alive) return;
          if (!name.ok()) {
            LOG_WARNING("imap: APPEND to ", f->path(), " failed: ", name.status().ToString());
            return FinishNo(absl::IsResourceExhausted(name.status()) ? ringmail::imap::kCodeOverQuota
                                                                     : ringmail::imap::kCodeServerBug,
                            "Append failed.");
          }
          // A full sync assigns the UID (for APPENDUID, RFC 4315) in Maildir
          // time order together with anything delivered meanwhile, as
          // Dovecot does, and shows the message to every open session.
          // maildirsize (quota) is updated first.
          std::string key(storage::MaildirKey(*name));
          NoteQuotaChange(static_cast<int64_t>(MaildirNameSize(*name)), 1, [this, alive, f, key] {
            f->Sync([this, alive, f, key](absl::Status s) {
              if (!*alive) return;
              const storage::MessageEntry* e = s.ok() ? f->index().FindByKey(key) : nullptr;
              if (e == nullptr) return Finish(ringmail::imap::Status::kOk, "", "Append completed.");
              Finish(ringmail::imap::Status::kOk,
                     ringmail::imap::CodeAppendUid(f->index().uid_validity(), e->uid),
                     "Append completed.");
            });
          });
        });
  };
  // RFC 9208 §4.3: a message that does not fit the quota is not stored.
  auto checked_store = [this, stored_size, store = std::move(store)]() mutable {
    CheckQuota(stored_size, 1, [this, store = std::move(store)](bool fits) mutable {
      if (!fits) return FinishOverQuota();
      store();
    });
  };
  if (unknown.empty()) return checked_store();
  RunBlocking<absl::StatusOr<storage::MaildirKeywords>>(
      svc_->ctx().pool, svc_->loop(),
      [path = f->path(), unknown]() {
        return storage::AssignKeywordsBlocking(path, unknown, storage::DotlockOptions{});
      },
      [this, alive = alive_, f, store = std::move(checked_store)](
          absl::StatusOr<storage::MaildirKeywords> kw) mutable {
        if (!*alive) return;
        if (kw.ok()) f->keywords() = std::move(*kw);
        store();
      });
}

}  // namespace ringmail::server::imap
