#include "server/privileges.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace ringmail::server {
namespace {

// getpw*_r/getgr*_r want a caller buffer; entries with many group members
// need more than sysconf's hint, so the buffer grows on ERANGE up to this.
constexpr size_t kMaxNssBufferBytes = 1 << 20;

absl::string_view AV(std::string_view s) { return {s.data(), s.size()}; }

bool ParseId(std::string_view text, uint32_t* id) {
  return !text.empty() && text.find_first_not_of("0123456789") == std::string_view::npos &&
         absl::SimpleAtoi(AV(text), id);
}

std::string Errno(const char* call, int err) {
  return absl::StrCat(call, ": ", std::strerror(err));
}

}  // namespace

absl::StatusOr<RunAs> ResolveRunAs(std::string_view user, std::string_view group) {
  RunAs as;
  as.user = std::string(user);
  std::vector<char> buf(16 * 1024);
  uint32_t id = 0;
  if (ParseId(user, &id)) {
    as.uid = id;
    // A numeric user still has a primary group if NSS knows it.
    passwd pw{};
    passwd* found = nullptr;
    if (getpwuid_r(as.uid, &pw, buf.data(), buf.size(), &found) == 0 && found != nullptr) {
      as.gid = pw.pw_gid;
    } else if (group.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("user: ", AV(user), " is a number no passwd entry knows; set group too"));
    }
  } else {
    while (true) {
      passwd pw{};
      passwd* found = nullptr;
      int r = getpwnam_r(std::string(user).c_str(), &pw, buf.data(), buf.size(), &found);
      if (r == ERANGE && buf.size() < kMaxNssBufferBytes) {
        buf.resize(buf.size() * 2);
        continue;
      }
      if (r != 0) return absl::UnavailableError(absl::StrCat("user: ", Errno("getpwnam_r", r)));
      if (found == nullptr) return absl::NotFoundError(absl::StrCat("user: no such user: ", AV(user)));
      as.uid = pw.pw_uid;
      as.gid = pw.pw_gid;
      break;
    }
  }
  if (!group.empty()) {
    if (ParseId(group, &id)) {
      as.gid = id;
    } else {
      while (true) {
        struct group gr{};
        struct group* found = nullptr;
        int r = getgrnam_r(std::string(group).c_str(), &gr, buf.data(), buf.size(), &found);
        if (r == ERANGE && buf.size() < kMaxNssBufferBytes) {
          buf.resize(buf.size() * 2);
          continue;
        }
        if (r != 0) return absl::UnavailableError(absl::StrCat("group: ", Errno("getgrnam_r", r)));
        if (found == nullptr) {
          return absl::NotFoundError(absl::StrCat("group: no such group: ", AV(group)));
        }
        as.gid = gr.gr_gid;
        break;
      }
    }
  }
  {
    struct group gr{};
    struct group* found = nullptr;
    as.group = getgrgid_r(as.gid, &gr, buf.data(), buf.size(), &found) == 0 && found != nullptr
                   ? std::string(gr.gr_name)
                   : absl::StrCat(as.gid);
  }
  if (as.uid == 0 || as.gid == 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "user/group: ", as.user, ":", as.group,
        " is root; name an unprivileged user (or set allow_root to stay root)"));
  }
  return as;
}

PrivilegePlan PlanPrivileges(uid_t euid, bool user_configured, bool allow_root) {
  if (euid != 0) return PrivilegePlan::kStayUnprivileged;
  if (user_configured) return PrivilegePlan::kDrop;
  return allow_root ? PrivilegePlan::kStayRoot : PrivilegePlan::kRefuse;
}

absl::Status DropPrivileges(const RunAs& as) {
  // Groups first: once the UID is not 0, setgroups and setresgid fail.
  if (setgroups(1, &as.gid) != 0) {
    return absl::InternalError(Errno("setgroups", errno));
  }
  if (setresgid(as.gid, as.gid, as.gid) != 0) {
    return absl::InternalError(Errno("setresgid", errno));
  }
  // From root to a non-zero UID in all three IDs, the kernel clears the
  // permitted, effective and ambient capability sets (capabilities(7),
  // "Effect of user ID changes on capabilities"; no SECBIT_KEEP_CAPS set).
  if (setresuid(as.uid, as.uid, as.uid) != 0) {
    return absl::InternalError(Errno("setresuid", errno));
  }
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    return absl::InternalError(Errno("prctl(PR_SET_NO_NEW_PRIVS)", errno));
  }
  // Belt and braces: the way back must be closed.
  if (setuid(0) == 0 || seteuid(0) == 0) {
    return absl::InternalError("setuid(0) succeeded after the drop");
  }
  return VerifyUnprivileged(as.uid, as.gid);
}

absl::Status VerifyUnprivileged(uid_t uid, gid_t gid) {
  std::ifstream in("/proc/self/status");
  if (!in) return absl::UnavailableError("cannot read /proc/self/status");
  std::stringstream text;
  text << in.rdbuf();
  return VerifyUnprivilegedStatus(text.str(), uid, gid);
}

absl::Status VerifyUnprivilegedStatus(std::string_view status, uid_t uid, gid_t gid) {
  bool seen_uid = false, seen_gid = false, seen_groups = false, seen_nnp = false;
  bool seen_caps[3] = {false, false, false};
  const char* cap_fields[3] = {"CapPrm", "CapEff", "CapAmb"};
  for (absl::string_view line : absl::StrSplit(AV(status), '\n')) {
    size_t colon = line.find(':');
    if (colon == absl::string_view::npos) continue;
    absl::string_view key = line.substr(0, colon);
    absl::string_view value = absl::StripAsciiWhitespace(line.substr(colon + 1));
    std::vector<absl::string_view> fields =
        absl::StrSplit(value, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    auto all_equal = [&](uint32_t want) {
      if (fields.size() != 4) return false;
      for (absl::string_view f : fields) {
        uint32_t v;
        if (!absl::SimpleAtoi(f, &v) || v != want) return false;
      }
      return true;
    };
    if (key == "Uid") {
      seen_uid = true;
      if (!all_equal(uid)) {
        return absl::FailedPreconditionError(absl::StrCat("Uid is ", value, ", want ", uid));
      }
    } else if (key == "Gid") {
      seen_gid = true;
      if (!all_equal(gid)) {
        return absl::FailedPreconditionError(absl::StrCat("Gid is ", value, ", want ", gid));
      }
    } else if (key == "Groups") {
      seen_groups = true;
      for (absl::string_view f : fields) {
        uint32_t v;
        if (!absl::SimpleAtoi(f, &v) || v != gid) {
          return absl::FailedPreconditionError(
              absl::StrCat("supplementary groups are ", value, ", want at most ", gid));
        }
      }
    } else if (key == "NoNewPrivs") {
      seen_nnp = true;
      if (value != "1") return absl::FailedPreconditionError("NoNewPrivs is not set");
    } else {
      for (int i = 0; i < 3; ++i) {
        if (key != cap_fields[i]) continue;
        seen_caps[i] = true;
        if (value.find_first_not_of('0') != absl::string_view::npos) {
          return absl::FailedPreconditionError(
              absl::StrCat(cap_fields[i], " is ", value, ": capabilities left"));
        }
      }
    }
  }
  if (!seen_uid || !seen_gid || !seen_groups || !seen_nnp || !seen_caps[0] ||
      !seen_caps[1] || !seen_caps[2]) {
    return absl::FailedPreconditionError("status lacks Uid, Gid, Groups, Cap* or NoNewPrivs");
  }
  return absl::OkStatus();
}

}  // namespace ringmail::server
