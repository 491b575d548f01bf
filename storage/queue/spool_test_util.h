// Helpers for the spool tests: temp spools, queue files, state logs.
#ifndef RINGMAIL_STORAGE_QUEUE_SPOOL_TEST_UTIL_H_
#define RINGMAIL_STORAGE_QUEUE_SPOOL_TEST_UTIL_H_

#include <dirent.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "storage/queue/queue_file.h"
#include "storage/queue/spool_layout.h"
#include "storage/queue/state_record.h"

namespace ringmail::storage::queue::testing {

inline std::string MakeTempDir() {
  const char* base = getenv("TEST_TMPDIR");
  std::string tmpl = std::string(base ? base : "/tmp") + "/spXXXXXX";
  EXPECT_NE(mkdtemp(tmpl.data()), nullptr);
  return tmpl;
}

inline void WriteFile(const std::string& path, const std::string& data,
                      bool append = false) {
  std::ofstream f(path, std::ios::binary |
                            (append ? std::ios::app : std::ios::trunc));
  f << data;
  ASSERT_TRUE(f.good()) << path;
}

inline std::string ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

inline bool Exists(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0;
}

inline std::vector<std::string> ListDir(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return out;
  while (struct dirent* e = readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") out.push_back(n);
  }
  closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

inline void MakeMaildir(const std::string& dir) {
  mkdir(dir.c_str(), 0700);
  for (const char* s : {"/tmp", "/new", "/cur"}) mkdir((dir + s).c_str(), 0700);
}

// Every file under `dir` (relative path -> content; directories as "/").
inline void Snapshot(const std::string& dir, const std::string& rel,
                     std::map<std::string, std::string>* out) {
  for (const std::string& name : ListDir(dir)) {
    std::string path = dir + "/" + name;
    struct stat st;
    lstat(path.c_str(), &st);
    if (S_ISDIR(st.st_mode)) {
      (*out)[rel + name + "/"] = "";
      Snapshot(path, rel + name + "/", out);
    } else {
      (*out)[rel + name] = ReadFile(path);
    }
  }
}
inline std::map<std::string, std::string> Snapshot(const std::string& dir) {
  std::map<std::string, std::string> out;
  Snapshot(dir, "", &out);
  return out;
}

inline QueueEnvelope Envelope(const std::string& id, int64_t arrival_secs,
                              int recipients) {
  QueueEnvelope env;
  env.id = id;
  env.arrival = absl::FromUnixSeconds(arrival_secs);
  env.sender = "sender@example.com";
  for (int i = 0; i < recipients; ++i) {
    env.recipients.push_back(
        {"rcpt" + std::to_string(i) + "@example.org", "", ""});
  }
  return env;
}

inline std::string Content(const std::string& id) {
  return "Received: from x by y; id " + id + "\nSubject: " + id + "\n\nbody\n";
}

// Writes c<core>/new/<name> = prefix + content.
inline void WriteQueueFile(const std::string& root, int core,
                           const std::string& name, const QueueEnvelope& env) {
  WriteFile(CoreSpoolDir(root, core) + "/new/" + name,
            EncodeQueuePrefix(env) + Content(env.id));
}

inline std::string Lines(const std::vector<StateRecord>& records) {
  std::string out;
  for (const StateRecord& r : records) out += EncodeStateRecord(r);
  return out;
}

inline StateRecord RcptRecord(const std::string& file, uint32_t rcpt,
                              RecipientState state, uint32_t attempts = 1) {
  StateRecord r;
  r.kind = StateRecord::Kind::kRecipient;
  r.file = file;
  r.rcpt = rcpt;
  r.status.state = state;
  r.status.attempts = attempts;
  r.status.last_attempt = absl::FromUnixSeconds(1000 + attempts);
  r.status.next_attempt = absl::FromUnixSeconds(2000 + attempts);
  r.status.last_reply = "reply " + std::to_string(attempts);
  return r;
}

inline StateRecord FileRecord(const std::string& file, StateRecord::Kind kind,
                              uint64_t size = 0) {
  StateRecord r;
  r.kind = kind;
  r.file = file;
  r.size = size;
  return r;
}

}  // namespace ringmail::storage::queue::testing

#endif  // RINGMAIL_STORAGE_QUEUE_SPOOL_TEST_UTIL_H_
