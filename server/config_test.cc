#include "server/config.h"

#include <gtest/gtest.h>

#include <fstream>
#include <vector>

namespace ringmail::server {
namespace {

absl::StatusOr<Config> Load(std::vector<std::string> args) {
  std::vector<char*> argv = {const_cast<char*>("ringmaild")};
  for (auto& a : args) argv.push_back(a.data());
  return LoadConfig(static_cast<int>(argv.size()), argv.data());
}

std::string WriteFile(const std::string& name, const std::string& text) {
  std::string path = std::string(getenv("TEST_TMPDIR")) + "/" + name;
  std::ofstream(path) << text;
  return path;
}

TEST(Config, EmbeddedDefaultsWork) {
  auto c = Load({});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->smtp.listen, std::vector<std::string>{"127.0.0.1:2525"});
  EXPECT_EQ(c->data_dir.front(), '/');
  EXPECT_EQ(c->passwd_file, c->data_dir + "/passwd");
  EXPECT_EQ(c->mail_location, c->data_dir + "/mail/%d/%n/Maildir");
  EXPECT_GE(c->threads, 1u);
  EXPECT_EQ(c->smtp.idle_timeout, absl::Minutes(5));
}

TEST(Config, DurabilityKeys) {
  auto c = Load({});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->durability, "journal");
  EXPECT_EQ(c->journal_size, 64u << 20);
  EXPECT_EQ(c->checkpoint_interval, absl::Seconds(1));
  c = Load({"--durability=fsync", "--journal_size=2097152",
            "--checkpoint_interval=250ms"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->durability, "fsync");
  EXPECT_EQ(c->journal_size, 2u << 20);
  EXPECT_EQ(c->checkpoint_interval, absl::Milliseconds(250));
  std::string file = WriteFile("d.toml",
                               "[storage]\ndurability = \"fsync\"\n"
                               "journal_size = 8388608\n");
  c = Load({"--config=" + file});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->durability, "fsync");
  EXPECT_EQ(c->journal_size, 8u << 20);
  EXPECT_FALSE(Load({"--durability=none"}).ok());
  EXPECT_FALSE(Load({"--journal_size=1000"}).ok());
  EXPECT_FALSE(Load({"--checkpoint_interval=1ms"}).ok());
  EXPECT_EQ(Load({})->commit_delay, absl::Milliseconds(1));
  c = Load({"--commit_delay=0"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->commit_delay, absl::ZeroDuration());
  c = Load({"--commit_delay=2ms"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->commit_delay, absl::Milliseconds(2));
  EXPECT_FALSE(Load({"--commit_delay=11ms"}).ok());
}

TEST(Config, SchedBatch) {
  EXPECT_TRUE(Load({})->sched_batch);
  auto c = Load({"--sched_batch=false"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_FALSE(c->sched_batch);
  std::string file = WriteFile("e.toml", "[engine]\nsched_batch = false\n");
  c = Load({"--config=" + file});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_FALSE(c->sched_batch);
  EXPECT_FALSE(Load({"--sched_batch=maybe"}).ok());
}

TEST(Config, FlagsOverrideFileAndListenRepeats) {
  std::string f = WriteFile("a.toml",
                            "threads = 3\n[smtp]\nlisten = [\"127.0.0.1:1\"]\n"
                            "max_recipients = 7\nidle_timeout = \"90s\"\n");
  auto c = Load({"--config=" + f, "--threads=2", "--smtp_listen=127.0.0.1:0",
                 "--smtp_listen=[::1]:0,127.0.0.2:0"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->threads, 2u);
  EXPECT_EQ(c->smtp.max_recipients, 7u);
  EXPECT_EQ(c->smtp.idle_timeout, absl::Seconds(90));
  EXPECT_EQ(c->smtp.listen,
            (std::vector<std::string>{"127.0.0.1:0", "[::1]:0", "127.0.0.2:0"}));
}

TEST(Config, Pop3Keys) {
  auto c = Load({});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->pop3.listen, std::vector<std::string>{"127.0.0.1:1110"});
  EXPECT_EQ(c->pop3.idle_timeout, absl::Minutes(10));
  EXPECT_EQ(c->pop3.uidl_format, "%08Xu%08Xv");
  c = Load({"--pop3_listen=127.0.0.1:0", "--pop3_listen=[::1]:0",
            "--pop3_idle_timeout=15m", "--pop3_uidl_format=%u"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->pop3.listen, (std::vector<std::string>{"127.0.0.1:0", "[::1]:0"}));
  EXPECT_EQ(c->pop3.idle_timeout, absl::Minutes(15));
  EXPECT_EQ(c->pop3.uidl_format, "%u");
  std::string file = WriteFile("p.toml",
                               "[pop3]\nlisten = []\nuidl_format = \"%v-%f\"\n");
  c = Load({"--config=" + file});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(c->pop3.listen.empty());
  EXPECT_EQ(c->pop3.uidl_format, "%v-%f");
  c = Load({"--pop3_uidl_format=%m"});
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("pop3_uidl_format"), std::string::npos);
}

TEST(Config, LmtpAndSubmissionSenderKeys) {
  auto c = Load({});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(c->smtp.lmtp_listen.empty());  // LMTP is off by default
  EXPECT_FALSE(c->smtp.allow_any_sender);
  c = Load({"--lmtp_listen=127.0.0.1:0", "--lmtp_listen=[::1]:0",
            "--submission_allow_any_sender=true"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->smtp.lmtp_listen,
            (std::vector<std::string>{"127.0.0.1:0", "[::1]:0"}));
  EXPECT_TRUE(c->smtp.allow_any_sender);
  std::string file = WriteFile(
      "l.toml",
      "[lmtp]\nlisten = [\"127.0.0.1:24\"]\n[submission]\n"
      "allow_any_sender = true\n");
  c = Load({"--config=" + file});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->smtp.lmtp_listen, std::vector<std::string>{"127.0.0.1:24"});
  EXPECT_TRUE(c->smtp.allow_any_sender);
}

TEST(Config, SessionTimeLimitsPostmasterAndIpv6Prefix) {
  auto c = Load({});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->smtp.max_session_time, absl::Minutes(30));
  EXPECT_EQ(c->imap.login_timeout, absl::Minutes(3));
  EXPECT_EQ(c->pop3.login_timeout, absl::Minutes(3));
  EXPECT_EQ(c->connection_ipv6_prefix, 64u);
  EXPECT_EQ(c->postmaster, "");
  c = Load({"--max_session_time=90s", "--imap_login_timeout=2s",
            "--pop3_login_timeout=1m", "--connection_ipv6_prefix=56",
            "--postmaster=hostmaster@example.org"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->smtp.max_session_time, absl::Seconds(90));
  EXPECT_EQ(c->imap.login_timeout, absl::Seconds(2));
  EXPECT_EQ(c->pop3.login_timeout, absl::Minutes(1));
  EXPECT_EQ(c->connection_ipv6_prefix, 56u);
  EXPECT_EQ(c->postmaster, "hostmaster@example.org");
  std::string file = WriteFile(
      "s.toml",
      "postmaster = \"pm@example.org\"\nconnection_ipv6_prefix = 128\n"
      "[smtp]\nmax_session_time = \"1h\"\n[imap]\nlogin_timeout = 30\n"
      "[pop3]\nlogin_timeout = \"45s\"\n");
  c = Load({"--config=" + file});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->postmaster, "pm@example.org");
  EXPECT_EQ(c->connection_ipv6_prefix, 128u);
  EXPECT_EQ(c->smtp.max_session_time, absl::Hours(1));
  EXPECT_EQ(c->imap.login_timeout, absl::Seconds(30));
  EXPECT_EQ(c->pop3.login_timeout, absl::Seconds(45));
  for (const char* bad : {"--max_session_time=0", "--imap_login_timeout=0",
                          "--pop3_login_timeout=500ms", "--connection_ipv6_prefix=129",
                          "--connection_ipv6_prefix=16", "--postmaster=nobody",
                          "--postmaster=@example.org", "--postmaster=pm@"}) {
    c = Load({bad});
    ASSERT_FALSE(c.ok()) << bad;
    std::string key(bad + 2, std::string_view(bad).find('=') - 2);
    EXPECT_NE(c.status().message().find(key), std::string::npos) << c.status();
  }
}

TEST(Config, ErrorsNameTheKey) {
  std::string f = WriteFile("b.toml", "[smtp]\nmax_recipients = \"many\"\n");
  auto c = Load({"--config=" + f});
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("smtp.max_recipients"), std::string::npos)
      << c.status();
  f = WriteFile("c.toml", "no_such_key = 1\n");
  c = Load({"--config=" + f});
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("no_such_key"), std::string::npos);
  c = Load({"--bogus=1"});
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("--bogus"), std::string::npos);
  c = Load({"--threads=-1"});
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("--threads"), std::string::npos);
  c = Load({"--recv_buffers=1000"});
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("recv_buffers"), std::string::npos);
  f = WriteFile("d.toml", "threads = \n");
  c = Load({"--config=" + f});
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("d.toml"), std::string::npos);
}

TEST(Config, DocumentedExampleLoads) {
  auto c = Load({"--config=docs/ringmail.example.toml"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->hostname, "mx1.example.com");
  EXPECT_EQ(c->smtp.max_recipients, 500u);
  EXPECT_EQ(c->recv_buffers, 2048u);
  EXPECT_EQ(c->smtp.listen, (std::vector<std::string>{"0.0.0.0:25", "[::]:25"}));
}

}  // namespace
}  // namespace ringmail::server
