// CRC-32C (Castagnoli; iSCSI, RFC 3720 §B.4): the checksum of the delivery
// journal's records and header, the relay's state log records and the
// mailbox index. Reflected polynomial 0x82F63B78, initial value and final
// XOR 0xFFFFFFFF, so Crc32c("123456789", 9) == 0xE3069283.
// Pure functions, thread-safe.
#ifndef RINGMAIL_COMMON_CRC32C_H_
#define RINGMAIL_COMMON_CRC32C_H_

#include <cstddef>
#include <cstdint>

namespace ringmail::common {

// CRC-32C of [data, data + len). `crc` is a previous result to extend:
// Crc32c(b, m, Crc32c(a, n)) is the CRC-32C of a's n octets followed by b's
// m. Uses SSE4.2's crc32 instruction where the CPU has it (x86-64), the
// table otherwise; both give the same result.
uint32_t Crc32c(const void* data, size_t len, uint32_t crc = 0);

// The table-driven CRC-32C that Crc32c falls back to without SSE4.2;
// exposed so tests can compare both implementations.
uint32_t Crc32cPortableForTest(const void* data, size_t len, uint32_t crc = 0);

}  // namespace ringmail::common

#endif  // RINGMAIL_COMMON_CRC32C_H_
