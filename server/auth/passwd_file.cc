#include "server/auth/passwd_file.h"

#include <argon2.h>
#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <memory>
#include <string>

#include "absl/cleanup/cleanup.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace ringmail::auth {
namespace {

// Debian's abseil has its own absl::string_view (not std::string_view).
absl::string_view A(std::string_view s) {
  return absl::string_view(s.data(), s.size());
}

std::string Lower(std::string_view s) { return absl::AsciiStrToLower(A(s)); }

bool HasControl(std::string_view s) {
  for (char c : s) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return true;
  }
  return false;
}

// Constant-time equality: the time depends only on the lengths.
bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  }
  return diff == 0;
}

std::string Key(std::string_view local, std::string_view domain) {
  return domain.empty() ? std::string(local)
                        : absl::StrCat(A(local), "@", A(domain));
}

// Splits off the next ':'-separated field; the last field takes the rest.
std::string_view NextField(std::string_view& rest, bool last = false) {
  size_t pos = last ? std::string_view::npos : rest.find(':');
  std::string_view field = rest.substr(0, pos);
  rest = pos == std::string_view::npos ? std::string_view()
                                       : rest.substr(pos + 1);
  return field;
}

}  // namespace

std::string PasswdEntry::user() const { return Key(local_part, domain); }

absl::StatusOr<PasswdFile> PasswdFile::Parse(std::string_view contents,
                                             std::string_view filename) {
  if (contents.size() > kMaxPasswdFileBytes) {
    return absl::ResourceExhaustedError(
        absl::StrCat(A(filename), ": file larger than ", kMaxPasswdFileBytes));
  }
  PasswdFile file;
  size_t line_no = 0;
  while (!contents.empty()) {
    ++line_no;
    size_t nl = contents.find('\n');
    std::string_view line = contents.substr(0, nl);
    contents = nl == std::string_view::npos ? std::string_view()
                                            : contents.substr(nl + 1);
    auto bad = [&](std::string_view why) {
      return absl::InvalidArgumentError(
          absl::StrCat(A(filename), ":", line_no, ": ", A(why)));
    };
    if (line.size() > kMaxPasswdLineLength) return bad("line too long");
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    std::string_view trimmed = line;
    while (!trimmed.empty() && (trimmed.front() == ' ' || trimmed.front() == '\t'))
      trimmed.remove_prefix(1);
    if (trimmed.empty() || trimmed.front() == '#') continue;
    if (HasControl(line)) return bad("control character");
    if (file.entries_.size() >= kMaxPasswdUsers) {
      return absl::ResourceExhaustedError(
          absl::StrCat(A(filename), ":", line_no, ": more than ",
                       kMaxPasswdUsers, " users"));
    }
    std::string_view rest = line;
    std::string_view user = NextField(rest);
    std::string_view password = NextField(rest);
    PasswdEntry e;
    e.uid = std::string(NextField(rest));
    e.gid = std::string(NextField(rest));
    e.gecos = std::string(NextField(rest));
    e.home = std::string(NextField(rest));
    e.shell = std::string(NextField(rest));
    std::string_view extra = NextField(rest, /*last=*/true);

    if (user.empty()) return bad("empty user name");
    if (user.find(' ') != std::string_view::npos) return bad("space in user");
    size_t at = user.rfind('@');
    e.local_part = Lower(user.substr(0, at));
    if (at != std::string_view::npos) e.domain = Lower(user.substr(at + 1));
    if (e.local_part.empty() || (at != std::string_view::npos && e.domain.empty())) {
      return bad("empty local part or domain");
    }
    if (!password.empty() && password.front() == '{') {
      size_t close = password.find('}');
      if (close == std::string_view::npos) return bad("unterminated {SCHEME}");
      e.scheme = absl::AsciiStrToUpper(A(password.substr(1, close - 1)));
      e.password = std::string(password.substr(close + 1));
    } else {
      e.scheme = "CRYPT";
      e.password = std::string(password);
    }
    while (!extra.empty()) {
      size_t sp = extra.find(' ');
      std::string_view tok = extra.substr(0, sp);
      extra = sp == std::string_view::npos ? std::string_view()
                                           : extra.substr(sp + 1);
      if (tok.empty()) continue;
      if (e.extra_fields.size() >= kMaxPasswdExtraFields) {
        return bad("too many extra fields");
      }
      size_t eq = tok.find('=');
      e.extra_fields.emplace_back(
          std::string(tok.substr(0, eq)),
          eq == std::string_view::npos ? "" : std::string(tok.substr(eq + 1)));
    }
    std::string key = e.user();
    if (!file.index_.emplace(key, file.entries_.size()).second) {
      return bad(absl::StrCat("duplicate user ", key));
    }
    if (!e.domain.empty()) file.domains_.insert(e.domain);
    file.entries_.push_back(std::move(e));
  }
  return file;
}

absl::StatusOr<PasswdFile> PasswdFile::Load(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  auto fail = [&](int err) {
    std::string msg = absl::StrCat("open/read(", path, ") failed: ",
                                   strerrordesc_np(err) ? strerrordesc_np(err)
                                                        : "unknown error");
    if (err == ENOENT) return absl::NotFoundError(msg);
    if (err == EACCES || err == EPERM) return absl::PermissionDeniedError(msg);
    return absl::InternalError(msg);
  };
  if (fd < 0) return fail(errno);
  absl::Cleanup closer = [fd] { close(fd); };
  std::string contents;
  char buf[65536];
  while (true) {
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(errno);
    }
    if (n == 0) break;
    if (contents.size() + n > kMaxPasswdFileBytes) {
      return absl::ResourceExhaustedError(
          absl::StrCat(path, ": file larger than ", kMaxPasswdFileBytes));
    }
    contents.append(buf, n);
  }
  return Parse(contents, path);
}

const PasswdEntry* PasswdFile::Find(std::string_view local_part,
                                    std::string_view domain) const {
  auto it = index_.find(Key(Lower(local_part), Lower(domain)));
  return it == index_.end() ? nullptr : &entries_[it->second];
}

absl::StatusOr<bool> VerifyPassword(std::string_view scheme,
                                    std::string_view stored,
                                    std::string_view password) {
  std::string s = absl::AsciiStrToUpper(A(scheme));
  if (s == "PLAIN" || s == "CLEARTEXT") {
    return ConstantTimeEquals(stored, password);
  }
  if (s == "ARGON2ID" || s == "ARGON2I") {
    // Dovecot stores the PHC string "$argon2id$v=19$m=...,t=...,p=...$salt$hash";
    // libargon2 reads the parameters from it and compares in constant time.
    const std::string encoded(stored);
    const argon2_type type = s == "ARGON2ID" ? Argon2_id : Argon2_i;
    const int r = argon2_verify(encoded.c_str(), password.data(), password.size(), type);
    if (r == ARGON2_OK) return true;
    if (r == ARGON2_VERIFY_MISMATCH) return false;
    if (r == ARGON2_MEMORY_ALLOCATION_ERROR) {
      return absl::ResourceExhaustedError("argon2: out of memory");
    }
    return absl::InvalidArgumentError(
        absl::StrCat("bad {", s, "} hash: ", argon2_error_message(r)));
  }
  if (s != "CRYPT" && s != "SHA512-CRYPT" && s != "SHA256-CRYPT" &&
      s != "BLF-CRYPT" && s != "MD5-CRYPT") {
    return absl::InvalidArgumentError(
        absl::StrCat("unsupported password scheme ", s));
  }
  // crypt_r takes NUL-terminated strings; an embedded NUL cannot match.
  if (stored.empty() || stored.find('\0') != std::string_view::npos ||
      password.find('\0') != std::string_view::npos) {
    return false;
  }
  std::string setting(stored), phrase(password);
  // struct crypt_data is ~32 KiB: heap, zeroed as crypt_r requires.
  auto data = std::make_unique<struct crypt_data>();
  memset(data.get(), 0, sizeof(*data));
  const char* out = crypt_r(phrase.c_str(), setting.c_str(), data.get());
  // Failure is NULL or a string starting with '*' (libxcrypt).
  if (out == nullptr || out[0] == '*') return false;
  bool ok = ConstantTimeEquals(out, stored);
  explicit_bzero(data.get(), sizeof(*data));
  explicit_bzero(phrase.data(), phrase.size());
  return ok;
}

absl::StatusOr<bool> VerifyPassword(const PasswdEntry& entry,
                                    std::string_view password) {
  return VerifyPassword(entry.scheme, entry.password, password);
}

}  // namespace ringmail::auth
