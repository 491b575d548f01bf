#include "server/tls_setup.h"

#include <openssl/ec_key.h>
#include <openssl/evp.h>
#include <openssl/nid.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "gtest/gtest.h"

namespace ringmail::server {
namespace {

std::string TmpDir() {
  const char* d = std::getenv("TEST_TMPDIR");
  return d != nullptr ? d : "/tmp";
}

// A fresh self-signed P-256 certificate and key in TEST_TMPDIR (no key
// material is checked in).
std::pair<std::string, std::string> MakeCert(const std::string& name) {
  bssl::UniquePtr<EC_KEY> ec(EC_KEY_new_by_curve_name(NID_X9_62_prime256v1));
  EXPECT_TRUE(ec && EC_KEY_generate_key(ec.get()));
  bssl::UniquePtr<EVP_PKEY> key(EVP_PKEY_new());
  EVP_PKEY_assign_EC_KEY(key.get(), ec.release());
  bssl::UniquePtr<X509> x(X509_new());
  X509_set_version(x.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(x.get()), -60);
  X509_gmtime_adj(X509_getm_notAfter(x.get()), 3600);
  X509_NAME* n = X509_get_subject_name(x.get());
  X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
                             reinterpret_cast<const uint8_t*>("localhost"), -1, -1, 0);
  X509_set_issuer_name(x.get(), n);
  X509_set_pubkey(x.get(), key.get());
  EXPECT_TRUE(X509_sign(x.get(), key.get(), EVP_sha256()));
  const std::string cert = TmpDir() + "/" + name + ".crt";
  const std::string keyf = TmpDir() + "/" + name + ".key";
  bssl::UniquePtr<BIO> cb(BIO_new_file(cert.c_str(), "w"));
  EXPECT_TRUE(PEM_write_bio_X509(cb.get(), x.get()));
  bssl::UniquePtr<BIO> kb(BIO_new_file(keyf.c_str(), "w"));
  EXPECT_TRUE(PEM_write_bio_PrivateKey(kb.get(), key.get(), nullptr, nullptr, 0,
                                       nullptr, nullptr));
  return {cert, keyf};
}

TEST(TlsSetup, OffWithoutCertificate) {
  TlsConfig c;
  EXPECT_TRUE(CheckTlsConfig(c).ok());
  EXPECT_EQ(MakeTicketKeys(c), nullptr);
  auto ctx = CreateCoreTlsContext(c, TlsPem{}, nullptr);
  ASSERT_TRUE(ctx.ok());
  EXPECT_EQ(*ctx, nullptr);
}

TEST(TlsSetup, BuildsAContextPerCall) {
  auto [cert, key] = MakeCert("setup");
  TlsConfig c;
  c.cert = cert;
  c.key = key;
  c.allow_tls12 = false;
  absl::StatusOr<TlsPem> pem = CheckTlsConfig(c);
  ASSERT_TRUE(pem.ok()) << pem.status();
  auto keys = MakeTicketKeys(c);
  ASSERT_NE(keys, nullptr);
  EXPECT_EQ(keys->rotation_interval(), absl::Hours(12));
  auto a = CreateCoreTlsContext(c, *pem, keys);
  auto b = CreateCoreTlsContext(c, *pem, keys);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->get(), b->get());
  EXPECT_FALSE((*a)->options().allow_tls12);
  EXPECT_EQ((*a)->options().ticket_keys, keys);
  EXPECT_TRUE((*a)->Reload().ok());
}

TEST(TlsSetup, ErrorsNameTheFile) {
  auto [cert, key] = MakeCert("one");
  auto [cert2, key2] = MakeCert("two");
  TlsConfig c;
  c.cert = TmpDir() + "/missing.crt";
  c.key = key;
  absl::Status s = CheckTlsConfig(c).status();
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find(c.cert), std::string::npos) << s;
  c.cert = cert;
  c.key = key2;  // does not match
  s = CheckTlsConfig(c).status();
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find(key2), std::string::npos) << s;
}

// The cores build from the bytes read at start-up: a key file that became
// unreadable since (ringmaild dropped root; the file is root's, mode 0600)
// does not matter until a reload, which reads the files again and, failing,
// changes nothing.
TEST(TlsSetup, CoresBuildFromTheBytesReadAtStartUp) {
  auto [cert, key] = MakeCert("preload");
  TlsConfig c;
  c.cert = cert;
  c.key = key;
  absl::StatusOr<TlsPem> pem = CheckTlsConfig(c);
  ASSERT_TRUE(pem.ok()) << pem.status();
  ASSERT_EQ(std::remove(key.c_str()), 0);
  auto ctx = CreateCoreTlsContext(c, *pem, nullptr);
  ASSERT_TRUE(ctx.ok()) << ctx.status();
  ASSERT_NE(*ctx, nullptr);
  absl::Status reload = (*ctx)->Reload();
  EXPECT_FALSE(reload.ok());
  EXPECT_NE(reload.message().find(key), std::string::npos) << reload;
  EXPECT_NE((*ctx)->ssl_ctx(), nullptr);
}

}  // namespace
}  // namespace ringmail::server
