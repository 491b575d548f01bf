// libFuzzer: PasswdFile::Parse on arbitrary file contents, then the
// invariants the rest of the server relies on for every parsed entry:
// non-empty lower-cased names without control characters, Find() returns
// the entry under any letter case, domains() is exactly the entries'
// domains, and {PLAIN}/{CLEARTEXT} passwords verify against themselves
// only. Unsupported schemes must be refused quickly with InvalidArgument.
//
// Fuzzed crypt/argon2 hashes are NOT verified: a hash's own parameters
// ("$2b$31$", "rounds=999999999", "m=4194304") legitimately cost minutes
// or gigabytes, which would only fuzz libxcrypt's cost settings. Instead a
// few cheap fixed hashes made at start-up are checked against fuzzed
// passwords, on one input in 64 so crypt does not dominate.
#include <argon2.h>
#include <crypt.h>
#include <string.h>

#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "server/auth/passwd_file.h"

namespace {

using ringmail::auth::PasswdEntry;
using ringmail::auth::PasswdFile;
using ringmail::auth::VerifyPassword;

void Check(bool ok) {
  if (!ok) std::abort();
}

bool Verified(std::string_view scheme, std::string_view stored,
              std::string_view password) {
  auto r = VerifyPassword(scheme, stored, password);
  return r.ok() && *r;
}

bool CleanName(const std::string& s) {
  for (char c : s) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f || c == ' ' || c == ':') return false;
    if (c >= 'A' && c <= 'Z') return false;  // must be lower-cased
  }
  return true;
}

std::string Upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

struct FixedHash {
  std::string scheme, stored;
};

// Cheap hashes of "secret": minimum rounds / memory.
const std::vector<FixedHash>& FixedHashes() {
  static const std::vector<FixedHash>* hashes = [] {
    auto* v = new std::vector<FixedHash>;
    auto data = std::make_unique<struct crypt_data>();
    memset(data.get(), 0, sizeof(*data));
    const char* h = crypt_r("secret", "$5$rounds=1000$fuzzsalt", data.get());
    Check(h != nullptr && h[0] == '$');
    v->push_back({"SHA256-CRYPT", h});
    char enc[256];
    const char salt[] = "fuzzsaltfuzzsalt";
    Check(argon2id_hash_encoded(1, 8, 1, "secret", 6, salt, sizeof(salt) - 1, 16,
                                enc, sizeof(enc)) == ARGON2_OK);
    v->push_back({"ARGON2ID", enc});
    for (const FixedHash& f : *v) {
      Check(Verified(f.scheme, f.stored, "secret"));
      Check(!Verified(f.scheme, f.stored, "Secret"));
    }
    return v;
  }();
  return *hashes;
}

void CheckEntry(const PasswdFile& file, const PasswdEntry& e) {
  Check(!e.local_part.empty() && CleanName(e.local_part) && CleanName(e.domain));
  Check(file.Find(e.local_part, e.domain) == &e);
  Check(file.Find(Upper(e.local_part), Upper(e.domain)) == &e);
  if (!e.domain.empty()) Check(file.domains().contains(e.domain));
  Check(e.extra_fields.size() <= ringmail::auth::kMaxPasswdExtraFields);

  const std::string s = Upper(e.scheme);
  if (s == "PLAIN" || s == "CLEARTEXT") {
    Check(Verified(e.scheme, e.password, e.password));
    Check(!Verified(e.scheme, e.password, e.password + "x"));
  } else if (s != "CRYPT" && s != "SHA512-CRYPT" && s != "SHA256-CRYPT" &&
             s != "BLF-CRYPT" && s != "MD5-CRYPT" && s != "ARGON2ID" &&
             s != "ARGON2I") {
    auto r = VerifyPassword(e, "anything");
    Check(!r.ok() && r.status().code() == absl::StatusCode::kInvalidArgument);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  auto parsed = PasswdFile::Parse(in, "fuzz");
  if (!parsed.ok()) {
    const auto code = parsed.status().code();
    Check(code == absl::StatusCode::kInvalidArgument ||
          code == absl::StatusCode::kResourceExhausted);
    // Errors name the file (and the line), never silently nothing.
    Check(std::string_view(parsed.status().message().data(),
                           parsed.status().message().size())
              .substr(0, 5) == "fuzz:");
  } else {
    const PasswdFile& file = *parsed;
    size_t found = 0;
    // Walk the users through the public API: every non-comment line that
    // parsed is reachable by its canonical name.
    std::string_view rest = in;
    while (!rest.empty()) {
      const size_t nl = rest.find('\n');
      std::string_view line = rest.substr(0, nl);
      rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
      const size_t colon = line.find(':');
      std::string_view user = line.substr(0, colon);
      if (!user.empty() && user.back() == '\r') user.remove_suffix(1);
      const size_t start = user.find_first_not_of(" \t");
      if (start == std::string_view::npos || user[start] == '#') continue;
      const size_t at = user.rfind('@');
      const std::string local(user.substr(0, at));
      const std::string domain(at == std::string_view::npos ? std::string_view()
                                                            : user.substr(at + 1));
      const PasswdEntry* e = file.Find(local, domain);
      Check(e != nullptr);
      CheckEntry(file, *e);
      ++found;
    }
    Check(found == file.size());
    for (const std::string& d : file.domains()) Check(!d.empty() && CleanName(d));
  }

  if (size > 0 && (data[0] & 0x3f) == 0) {
    const std::string_view password = in.substr(1);
    for (const FixedHash& f : FixedHashes()) {
      Check(Verified(f.scheme, f.stored, password) == (password == "secret"));
    }
  }
  return 0;
}
