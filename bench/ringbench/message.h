// Test messages for the SMTP, LMTP and IMAP APPEND workloads.
#ifndef RINGMAIL_BENCH_RINGBENCH_MESSAGE_H_
#define RINGMAIL_BENCH_RINGBENCH_MESSAGE_H_

#include <random>
#include <string>

namespace ringmail::ringbench {

// Largest message the generator makes.
inline constexpr size_t kMaxMessageSize = 8 << 20;

// A CRLF message of about the size `size` asks for: a byte count, or "mix"
// (60% 1-8 KiB text, 25% 8-64 KiB, 12% 64-512 KiB with a base64
// attachment, 3% 0.5-4 MiB). No line starts with '.', so it needs no dot-
// stuffing; it ends in CRLF. Sizes are clamped to 200..kMaxMessageSize.
std::string MakeMessage(const std::string& size, std::mt19937_64& rng,
                        const std::string& from, const std::string& to);

}  // namespace ringmail::ringbench

#endif  // RINGMAIL_BENCH_RINGBENCH_MESSAGE_H_
