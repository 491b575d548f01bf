// Running as an unprivileged user (docs/operations.md, "Users and
// permissions"). Started as root, ringmaild does what needs root first —
// binds its listeners (ports below 1024), reads the passwd-file and the TLS
// key — and then drops to `user`/`group` for good, before it creates or
// opens any mail, queue or state file, and before any other thread exists.
// Afterwards nothing can give root back: the real, effective and saved IDs
// are all the target's, the supplementary groups are the target group only,
// no capability is permitted or effective, and PR_SET_NO_NEW_PRIVS makes
// exec of a set-ID program useless.
#ifndef RINGMAIL_SERVER_PRIVILEGES_H_
#define RINGMAIL_SERVER_PRIVILEGES_H_

#include <sys/types.h>

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace ringmail::server {

// Who ringmaild runs as after start-up.
struct RunAs {
  uid_t uid = 0;
  gid_t gid = 0;
  std::string user;   // as configured (a name, or a number)
  std::string group;  // the group's name, or its number if it has none
};

// Resolves the `user` and `group` keys through NSS (getpwnam_r,
// getgrnam_r; a decimal number is taken as an ID without lookup). An empty
// `group` means the user's primary group. NotFound names the key whose
// value does not exist; InvalidArgument when the result would be root
// (uid 0 or gid 0): dropping to root is no drop.
absl::StatusOr<RunAs> ResolveRunAs(std::string_view user, std::string_view group);

// What start-up does about privileges, from the effective UID and the
// configuration. kRefuse: root without `user` and without `allow_root`.
enum class PrivilegePlan { kStayUnprivileged, kDrop, kStayRoot, kRefuse };
PrivilegePlan PlanPrivileges(uid_t euid, bool user_configured, bool allow_root);

// Drops to `as` for the whole process: setgroups to {as.gid}, setresgid,
// setresuid, PR_SET_NO_NEW_PRIVS; then verifies (VerifyUnprivileged) that
// it took. Call it while the process has one thread (glibc would apply the
// IDs to every thread, but a thread started earlier may already hold a
// root-owned file descriptor it was not meant to have). Any failure is
// returned with the call that failed; the caller must exit then, as the
// process is in an unknown half-dropped state.
absl::Status DropPrivileges(const RunAs& as);

// Checks the process as the kernel sees it (/proc/self/status): every UID
// equals `uid`, every GID `gid`, no supplementary group but `gid`, CapPrm,
// CapEff and CapAmb zero, NoNewPrivs 1. FailedPrecondition naming the first
// field that is not so.
absl::Status VerifyUnprivileged(uid_t uid, gid_t gid);

// The same check on the text of a /proc/PID/status file (exposed for tests).
absl::Status VerifyUnprivilegedStatus(std::string_view status, uid_t uid, gid_t gid);

}  // namespace ringmail::server

#endif  // RINGMAIL_SERVER_PRIVILEGES_H_
