#include "storage/queue/state_record.h"

#include <cstdio>
#include <string>

#include "common/crc32c.h"
#include "gtest/gtest.h"

namespace ringmail::storage::queue {
namespace {

StateRecord Rcpt() {
  StateRecord r;
  r.kind = StateRecord::Kind::kRecipient;
  r.file = "1700000000.M123P45Q1_7.mx,S=120,W=125";
  r.rcpt = 3;
  r.status.state = RecipientState::kDeferred;
  r.status.attempts = 4;
  r.status.last_attempt = absl::FromUnixMicros(1'700'000'100'000'001);
  r.status.next_attempt = absl::FromUnixMicros(1'700'000'400'000'000);
  r.status.last_reply = "451 4.7.1 <bob@x>: try again ~ later + m\xC3\xA1s\r\n";
  r.status.notified = true;
  return r;
}

// `body` with a valid checksum suffix, as the encoder would add it.
std::string Sign(const std::string& body) {
  char hex[16];
  snprintf(hex, sizeof(hex), "%08x", common::Crc32c(body.data(), body.size()));
  return body + " ~" + hex + "\n";
}

TEST(StateRecordTest, RecipientRoundTrip) {
  StateRecord r = Rcpt();
  std::string line = EncodeStateRecord(r);
  ASSERT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1);
  EXPECT_EQ(line.substr(0, 5), "rcpt ");
  absl::StatusOr<StateRecord> back = DecodeStateRecord(line);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, r);
  // Without its LF too.
  back = DecodeStateRecord(std::string_view(line).substr(0, line.size() - 1));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, r);
}

TEST(StateRecordTest, EveryStateAndSpecialTimes) {
  for (RecipientState st : {RecipientState::kPending, RecipientState::kDelivered,
                            RecipientState::kDeferred, RecipientState::kFailed}) {
    StateRecord r = Rcpt();
    r.status.state = st;
    r.status.last_attempt = absl::InfinitePast();
    r.status.next_attempt = absl::InfiniteFuture();
    r.status.last_reply.clear();
    r.status.attempts = UINT32_MAX;
    r.rcpt = 0;
    absl::StatusOr<StateRecord> back = DecodeStateRecord(EncodeStateRecord(r));
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(*back, r);
  }
}

TEST(StateRecordTest, FileRecordsRoundTrip) {
  for (auto kind : {StateRecord::Kind::kHold, StateRecord::Kind::kRelease,
                    StateRecord::Kind::kDelayWarned, StateRecord::Kind::kSize,
                    StateRecord::Kind::kRemoved}) {
    StateRecord r;
    r.kind = kind;
    r.file = "odd name+with spaces\xC3\xA9";
    if (kind == StateRecord::Kind::kSize) r.size = 123456789012ull;
    std::string line = EncodeStateRecord(r);
    EXPECT_NE(line.find(" odd+20name+2Bwith+20spaces\xC3\xA9 "),
              std::string::npos)
        << line;
    absl::StatusOr<StateRecord> back = DecodeStateRecord(line);
    ASSERT_TRUE(back.ok()) << back.status() << " " << line;
    EXPECT_EQ(*back, r);
  }
  StateRecord r;
  r.kind = StateRecord::Kind::kRemoved;
  r.file = "f";
  EXPECT_EQ(EncodeStateRecord(r).substr(0, 10), "removed f ");
}

TEST(StateRecordTest, LongReplyCutAtUtf8Boundary) {
  StateRecord r = Rcpt();
  r.status.last_reply = std::string(kMaxLastReplyBytes - 1, 'a') + "\xC3\xA9zzz";
  absl::StatusOr<StateRecord> back = DecodeStateRecord(EncodeStateRecord(r));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->status.last_reply, std::string(kMaxLastReplyBytes - 1, 'a'));
}

TEST(StateRecordTest, ChecksumFailures) {
  std::string line = EncodeStateRecord(Rcpt());
  // Any single changed byte before the checksum is caught.
  for (size_t i = 0; i + 11 < line.size(); ++i) {
    std::string bad = line;
    bad[i] ^= 0x01;
    EXPECT_FALSE(DecodeStateRecord(bad).ok()) << i;
  }
  std::string bad = line;
  bad[bad.size() - 2] = bad[bad.size() - 2] == '0' ? '1' : '0';
  EXPECT_EQ(DecodeStateRecord(bad).status().code(), absl::StatusCode::kDataLoss);
  // Torn: every proper prefix fails (most as DataLoss: no checksum).
  for (size_t n = 0; n + 1 < line.size(); ++n) {
    EXPECT_FALSE(DecodeStateRecord(line.substr(0, n)).ok()) << n;
  }
  EXPECT_EQ(DecodeStateRecord("rcpt f 0 pending").status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(DecodeStateRecord(std::string(200, '\0')).status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(DecodeStateRecord("").status().code(), absl::StatusCode::kDataLoss);
}

TEST(StateRecordTest, GrammarErrorsWithValidChecksum) {
  ASSERT_TRUE(DecodeStateRecord(Sign("hold f")).ok());
  ASSERT_TRUE(DecodeStateRecord(Sign("rcpt f 0 pending 0 - - 0 ")).ok());
  const auto kBad = absl::StatusCode::kInvalidArgument;
  for (const char* body : {
           "hold",                                   // no file
           "hold f extra",                           // too many fields
           "hold a/b",                               // not a file name
           "hold ..",
           "frob f",                                 // unknown kind
           "size f",                                 // missing size
           "size f -1",
           "rcpt f 0 pending 0 - - 0",               // missing reply
           "rcpt f 0 lost 0 - - 0 ",                 // bad state
           "rcpt f 10000 pending 0 - - 0 ",          // index over the limit
           "rcpt f 0 pending 4294967296 - - 0 ",     // attempts overflow
           "rcpt f 0 pending 0 x - 0 ",              // bad time
           "rcpt f 0 pending 0 - - 2 ",              // bad flag
           "rcpt f 0 pending 0 - - 0 a+2",           // bad escape
       }) {
    EXPECT_EQ(DecodeStateRecord(Sign(body)).status().code(), kBad) << body;
  }
  EXPECT_EQ(DecodeStateRecord(Sign("hold " + std::string(kMaxStateLineBytes, 'f')))
                .status()
                .code(),
            kBad);
}

TEST(StateRecordTest, FileStateRecordsAreMinimal) {
  std::vector<RecipientStatus> rcpts(3);
  rcpts[1].state = RecipientState::kDelivered;
  rcpts[1].attempts = 1;
  std::vector<StateRecord> out;
  AppendFileStateRecords("f", rcpts, /*held=*/false, /*delay_warned=*/false,
                         /*size=*/0, &out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].kind, StateRecord::Kind::kRecipient);
  EXPECT_EQ(out[0].rcpt, 1u);
  EXPECT_EQ(out[0].status, rcpts[1]);
  out.clear();
  AppendFileStateRecords("f", rcpts, true, true, 77, &out);
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[0].kind, StateRecord::Kind::kSize);
  EXPECT_EQ(out[0].size, 77u);
  EXPECT_EQ(out[1].kind, StateRecord::Kind::kHold);
  EXPECT_EQ(out[2].kind, StateRecord::Kind::kDelayWarned);
}

TEST(StateRecordTest, FileNames) {
  EXPECT_TRUE(IsValidQueueFileName("a"));
  EXPECT_FALSE(IsValidQueueFileName(""));
  EXPECT_FALSE(IsValidQueueFileName("."));
  EXPECT_FALSE(IsValidQueueFileName(".."));
  EXPECT_FALSE(IsValidQueueFileName("a/b"));
  EXPECT_FALSE(IsValidQueueFileName(std::string("a\0b", 3)));
  EXPECT_FALSE(IsValidQueueFileName(std::string(256, 'a')));
  EXPECT_TRUE(IsValidQueueFileName(std::string(255, 'a')));
}

}  // namespace
}  // namespace ringmail::storage::queue
