// Throughput of the SMTP DATA/BDAT body scanner (protocols/smtp/data_scanner).
// Bytes/s are input (wire) octets scanned per second.
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "protocols/smtp/data_scanner.h"

namespace {

using ringmail::smtp::DataScanner;
using ringmail::smtp::ScanResult;

// Plain text: words wrapped at 76 columns, some lines starting with a dot
// (stuffed on the wire), blank lines between paragraphs.
std::string TextBody(size_t size) {
  std::mt19937 rng(42);
  static const char* const kWords[] = {"the", "message", "server", "queue",
                                       "delivery", "a", "of", "mailbox",
                                       "ringmail", "and", "to", "SMTP"};
  std::string body =
      "From: a@example.org\r\nTo: b@example.net\r\nSubject: bench\r\n\r\n";
  std::string line;
  while (body.size() < size) {
    if (rng() % 40 == 0) line = "..";  // a stuffed leading dot
    while (line.size() < 70) {
      line += kWords[rng() % 12];
      line += ' ';
    }
    body += line;
    body += "\r\n";
    if (rng() % 12 == 0) body += "\r\n";
    line.clear();
  }
  body += ".\r\n";
  return body;
}

// base64 attachment: 76-char lines of the base64 alphabet.
std::string Base64Body(size_t size) {
  static const char kAlpha[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::mt19937 rng(7);
  std::string body =
      "Content-Type: application/octet-stream\r\n"
      "Content-Transfer-Encoding: base64\r\n\r\n";
  while (body.size() < size) {
    for (int i = 0; i < 76; ++i) body += kAlpha[rng() % 64];
    body += "\r\n";
  }
  body += ".\r\n";
  return body;
}

void Run(benchmark::State& state, const std::string& body) {
  std::vector<char> out(body.size());
  DataScanner scanner;
  for (auto _ : state) {
    scanner.Reset(DataScanner::Mode::kDotStuffed);
    ScanResult r = scanner.Scan(body, out.data(), out.size());
    if (!r.end) state.SkipWithError("no end of data");
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(body.size()));
}

void BM_Text(benchmark::State& state) {
  static const std::string small = TextBody(4 << 10);
  static const std::string large = TextBody(1 << 20);
  Run(state, state.range(0) == 4096 ? small : large);
}
BENCHMARK(BM_Text)->Arg(4 << 10)->Arg(1 << 20);

void BM_Base64(benchmark::State& state) {
  static const std::string small = Base64Body(4 << 10);
  static const std::string large = Base64Body(1 << 20);
  Run(state, state.range(0) == 4096 ? small : large);
}
BENCHMARK(BM_Base64)->Arg(4 << 10)->Arg(1 << 20);

// Same 1 MB text fed in 16 KB network-sized chunks into a 64 KB window, like
// a session writing into a storage buffer.
void BM_TextChunked(benchmark::State& state) {
  static const std::string body = TextBody(1 << 20);
  std::vector<char> out(64 << 10);
  DataScanner scanner;
  for (auto _ : state) {
    scanner.Reset(DataScanner::Mode::kDotStuffed);
    std::string_view in = body;
    while (!in.empty()) {
      std::string_view chunk = in.substr(0, 16 << 10);
      ScanResult r = scanner.Scan(chunk, out.data(), out.size());
      in.remove_prefix(r.consumed);
      benchmark::DoNotOptimize(out.data());
      if (r.end) break;
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(body.size()));
}
BENCHMARK(BM_TextChunked);

}  // namespace
