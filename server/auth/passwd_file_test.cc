#include "server/auth/passwd_file.h"

#include <argon2.h>
#include <crypt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <memory>
#include <string>

#include "gtest/gtest.h"

namespace ringmail::auth {
namespace {

// Hashes `password` with a fixed salt for `prefix` ("$6$", "$y$", ...).
std::string Hash(const char* prefix, const char* password) {
  const char rbytes[16] = "0123456789abcde";
  char salt[CRYPT_GENSALT_OUTPUT_SIZE];
  EXPECT_NE(crypt_gensalt_rn(prefix, 0, rbytes, sizeof(rbytes), salt,
                             sizeof(salt)),
            nullptr)
      << prefix;
  auto data = std::make_unique<struct crypt_data>();
  memset(data.get(), 0, sizeof(*data));
  const char* out = crypt_r(password, salt, data.get());
  EXPECT_TRUE(out != nullptr && out[0] != '*') << prefix;
  return out ? out : "";
}

TEST(PasswdFileTest, ParsesFieldsCommentsAndOmittedFields) {
  auto f = PasswdFile::Parse(
      "# comment\n"
      "\n"
      "Alice@Example.COM:{PLAIN}secret:1000:1000::/home/alice::"
      "userdb_quota_rule=*:storage=1G nopassword\r\n"
      "bob@example.org:{SHA512-CRYPT}$6$x$y\n"
      "carol:plainhash\n",
      "users");
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->size(), 3u);
  const PasswdEntry* a = f->Find("ALICE", "example.com");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->user(), "alice@example.com");
  EXPECT_EQ(a->scheme, "PLAIN");
  EXPECT_EQ(a->password, "secret");
  EXPECT_EQ(a->uid, "1000");
  EXPECT_EQ(a->home, "/home/alice");
  ASSERT_EQ(a->extra_fields.size(), 2u);
  EXPECT_EQ(a->extra_fields[0].first, "userdb_quota_rule");
  EXPECT_EQ(a->extra_fields[0].second, "*:storage=1G");
  EXPECT_EQ(a->extra_fields[1].first, "nopassword");
  const PasswdEntry* b = f->Find("bob", "EXAMPLE.org");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->scheme, "SHA512-CRYPT");
  EXPECT_EQ(b->password, "$6$x$y");
  EXPECT_TRUE(b->home.empty());
  const PasswdEntry* c = f->Find("carol", "");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->scheme, "CRYPT");
  EXPECT_EQ(f->Find("bob", "example.com"), nullptr);
  EXPECT_TRUE(f->domains().contains("example.com"));
  EXPECT_TRUE(f->domains().contains("example.org"));
  EXPECT_EQ(f->domains().size(), 2u);
}

TEST(PasswdFileTest, BadLinesNameFileAndLine) {
  auto f = PasswdFile::Parse("a@b:x\n:nouser\n", "/etc/users");
  ASSERT_FALSE(f.ok());
  EXPECT_NE(std::string(f.status().message()).find("/etc/users:2:"),
            std::string::npos)
      << f.status();
  EXPECT_FALSE(PasswdFile::Parse("a@b:x\nA@B:y\n", "f").ok());  // duplicate
  EXPECT_FALSE(PasswdFile::Parse("a@:x\n", "f").ok());
  EXPECT_FALSE(PasswdFile::Parse("a:{PLAIN\n", "f").ok());
  EXPECT_FALSE(
      PasswdFile::Parse(std::string(kMaxPasswdLineLength + 1, 'a'), "f").ok());
}

TEST(PasswdFileTest, LoadReadsFileAndReportsMissing) {
  const char* base = getenv("TEST_TMPDIR");
  std::string path = std::string(base ? base : "/tmp") + "/users";
  FILE* out = fopen(path.c_str(), "w");
  ASSERT_NE(out, nullptr);
  fputs("u@d:{PLAIN}p\n", out);
  fclose(out);
  auto f = PasswdFile::Load(path);
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_NE(f->Find("u", "d"), nullptr);
  EXPECT_TRUE(absl::IsNotFound(PasswdFile::Load(path + ".missing").status()));
}

TEST(VerifyPasswordTest, PlainAndCleartext) {
  EXPECT_TRUE(*VerifyPassword("PLAIN", "secret", "secret"));
  EXPECT_FALSE(*VerifyPassword("PLAIN", "secret", "secreT"));
  EXPECT_FALSE(*VerifyPassword("CLEARTEXT", "secret", "secret2"));
  EXPECT_TRUE(*VerifyPassword("cleartext", "", ""));
  EXPECT_FALSE(VerifyPassword("SSHA", "x", "y").ok());
}

// Dovecot's {ARGON2ID}/{ARGON2I}: PHC strings, generated here with a fresh
// salt (small cost parameters keep the test fast).
std::string Argon2Hash(argon2_type type, const std::string& password) {
  const std::string salt = "ringmail-salt-" + std::to_string(rand());
  char encoded[256];
  EXPECT_EQ(argon2_hash(2, 1024, 1, password.data(), password.size(), salt.data(),
                        salt.size(), nullptr, 32, encoded, sizeof encoded, type,
                        ARGON2_VERSION_13),
            ARGON2_OK);
  return encoded;
}

TEST(VerifyPasswordTest, Argon2Schemes) {
  const std::string id = Argon2Hash(Argon2_id, "hunter2");
  ASSERT_EQ(id.rfind("$argon2id$v=19$", 0), 0u) << id;
  EXPECT_TRUE(*VerifyPassword("ARGON2ID", id, "hunter2"));
  EXPECT_FALSE(*VerifyPassword("argon2id", id, "hunter3"));
  const std::string i = Argon2Hash(Argon2_i, "hunter2");
  EXPECT_TRUE(*VerifyPassword("ARGON2I", i, "hunter2"));
  EXPECT_FALSE(*VerifyPassword("ARGON2I", i, ""));
  // The scheme must match the hash's variant; garbage is an error, not a
  // silent mismatch, so the admin sees it.
  EXPECT_FALSE(VerifyPassword("ARGON2I", id, "hunter2").value_or(false));
  EXPECT_FALSE(VerifyPassword("ARGON2ID", "$argon2id$garbage", "x").ok());
  auto file = PasswdFile::Parse("u@example.org:{ARGON2ID}" + id + "::::::\n", "mem");
  ASSERT_TRUE(file.ok()) << file.status();
  const PasswdEntry* e = file->Find("u", "example.org");
  ASSERT_NE(e, nullptr);
  EXPECT_TRUE(*VerifyPassword(*e, "hunter2"));
}

TEST(VerifyPasswordTest, CryptSchemes) {
  struct Case {
    const char* scheme;
    const char* prefix;
  } cases[] = {
      {"SHA512-CRYPT", "$6$"}, {"SHA256-CRYPT", "$5$"}, {"BLF-CRYPT", "$2y$"},
      {"MD5-CRYPT", "$1$"},    {"CRYPT", "$y$"},        {"CRYPT", "$6$"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.prefix);
    std::string hash = Hash(c.prefix, "hunter2");
    ASSERT_EQ(hash.rfind(c.prefix, 0), 0u);
    EXPECT_TRUE(*VerifyPassword(c.scheme, hash, "hunter2"));
    EXPECT_FALSE(*VerifyPassword(c.scheme, hash, "hunter3"));
    EXPECT_FALSE(*VerifyPassword(c.scheme, hash, ""));
  }
  EXPECT_FALSE(*VerifyPassword("CRYPT", "", "x"));
  EXPECT_FALSE(*VerifyPassword("CRYPT", "*", "x"));
  EXPECT_FALSE(*VerifyPassword("CRYPT", "!locked", "x"));
}

TEST(VerifyPasswordTest, FromEntry) {
  std::string line = "u@d:{SHA512-CRYPT}" + Hash("$6$", "pw") + "\n";
  auto f = PasswdFile::Parse(line, "f");
  ASSERT_TRUE(f.ok());
  EXPECT_TRUE(*VerifyPassword(*f->Find("u", "d"), "pw"));
  EXPECT_FALSE(*VerifyPassword(*f->Find("u", "d"), "pw2"));
}

}  // namespace
}  // namespace ringmail::auth
