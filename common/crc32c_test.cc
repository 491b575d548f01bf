#include "common/crc32c.h"

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace ringmail::common {
namespace {

// Both implementations, for every vector.
void ExpectCrc(const std::vector<uint8_t>& data, uint32_t want) {
  EXPECT_EQ(Crc32c(data.data(), data.size()), want);
  EXPECT_EQ(Crc32cPortableForTest(data.data(), data.size()), want);
}

TEST(Crc32cTest, CheckValue) {
  EXPECT_EQ(Crc32c("123456789", 9), 0xE3069283u);
  EXPECT_EQ(Crc32c("6789", 4, Crc32c("12345", 5)), 0xE3069283u);
  EXPECT_EQ(Crc32cPortableForTest("123456789", 9), 0xE3069283u);
  EXPECT_EQ(Crc32c("", 0), 0u);
  EXPECT_EQ(Crc32c("", 0, 0x12345678u), 0x12345678u);
}

// RFC 3720 §B.4 (the CRC is transmitted least significant octet first:
// "aa 36 91 8a" is 0x8A9136AA).
TEST(Crc32cTest, Rfc3720Vectors) {
  ExpectCrc(std::vector<uint8_t>(32, 0x00), 0x8A9136AAu);
  ExpectCrc(std::vector<uint8_t>(32, 0xFF), 0x62A8AB43u);
  std::vector<uint8_t> up(32), down(32);
  for (int i = 0; i < 32; ++i) {
    up[i] = static_cast<uint8_t>(i);
    down[i] = static_cast<uint8_t>(31 - i);
  }
  ExpectCrc(up, 0x46DD794Eu);
  ExpectCrc(down, 0x113FDB5Cu);
  // An iSCSI SCSI Read (10) command PDU.
  ExpectCrc({0x01, 0xC0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
             0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00,
             0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18, 0x28, 0x00, 0x00, 0x00,
             0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00},
            0xD9963A56u);
}

TEST(Crc32cTest, HardwareMatchesTableOnRandomInput) {
  std::mt19937_64 rng(42);
  std::string data(4099, '\0');
  for (char& c : data) c = static_cast<char>(rng());
  for (size_t start = 0; start < 9; ++start) {
    for (size_t len : {0, 1, 7, 8, 9, 63, 64, 1000, 4090}) {
      uint32_t seed = static_cast<uint32_t>(rng());
      EXPECT_EQ(Crc32c(data.data() + start, len, seed),
                Crc32cPortableForTest(data.data() + start, len, seed))
          << start << " " << len;
    }
  }
}

}  // namespace
}  // namespace ringmail::common
