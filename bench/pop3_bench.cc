// POP3 hot paths, bytes/s: the command line reader with command lookup
// (what every pipelined RETR/DELE/UIDL costs) and the RETR/TOP encoder
// (LF -> CRLF and dot-stuffing, streamed in ring-buffer-sized chunks).
// Run with: bazel run -c opt //bench:pop3_bench
#include <cstdint>
#include <string>
#include <string_view>

#include "benchmark/benchmark.h"
#include "protocols/pop3/args.h"
#include "protocols/pop3/command_reader.h"
#include "protocols/pop3/limits.h"
#include "protocols/pop3/message_encoder.h"

namespace {

using ringmail::pop3::LineReader;
using ringmail::pop3::MessageEncoder;

// A pipelined download: "RETR n" and "DELE n" for 200 messages, then QUIT,
// fed in chunks of `chunk` octets so that lines straddle chunk boundaries.
std::string PipelinedCommands() {
  std::string in;
  for (int i = 1; i <= 200; ++i) {
    in += "RETR " + std::to_string(i) + "\r\n";
    in += "DELE " + std::to_string(i) + "\r\n";
  }
  in += "UIDL\r\nQUIT\r\n";
  return in;
}

void BM_CommandReader(benchmark::State& state) {
  const std::string in = PipelinedCommands();
  const size_t chunk = static_cast<size_t>(state.range(0));
  uint64_t lines = 0;
  for (auto _ : state) {
    LineReader r;
    for (size_t off = 0; off < in.size(); off += chunk) {
      std::string_view piece = std::string_view(in).substr(off, chunk);
      while (!piece.empty()) {
        size_t used = 0;
        std::string_view line;
        const auto st = r.Next(piece, ringmail::pop3::kMaxCommandLine, &used, &line);
        piece.remove_prefix(used);
        if (st != LineReader::Status::kLine) continue;
        const auto cmd = ringmail::pop3::ParseCommandLine(line);
        uint64_t n = 0;
        if (cmd.arg_count > 0) ringmail::pop3::ParseNumber(cmd.args[0], &n);
        benchmark::DoNotOptimize(cmd.spec);
        benchmark::DoNotOptimize(n);
        ++lines;
      }
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * in.size()));
  state.counters["lines/s"] = benchmark::Counter(static_cast<double>(lines),
                                                 benchmark::Counter::kIsRate);
}
BENCHMARK(BM_CommandReader)->Arg(4096)->Arg(16);

// A stored ~20 KB message (LF line ends) like the download benchmark's:
// header, ~75-octet text lines, and every 40th line starting with a dot.
std::string StoredMessage() {
  std::string m =
      "Return-Path: <sender@client.test>\n"
      "Received: from client.test ([127.0.0.1]) by mx.ringmail.test\n"
      "From: <sender@client.test>\nTo: <user@bench.test>\n"
      "Subject: benchmark message\nMessage-ID: <1@client.test>\n\n";
  int i = 0;
  while (m.size() < 20 * 1024) {
    m += (++i % 40 == 0) ? "." : "";
    m += "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod\n";
  }
  return m;
}

void BM_RetrEncoder(benchmark::State& state) {
  const std::string msg = StoredMessage();
  const size_t chunk = static_cast<size_t>(state.range(0));
  std::string out;
  out.reserve(msg.size() * 2);
  for (auto _ : state) {
    out.clear();
    MessageEncoder enc;
    for (size_t off = 0; off < msg.size(); off += chunk) {
      enc.Feed(std::string_view(msg).substr(off, chunk), &out);
    }
    enc.Finish(&out);
    benchmark::DoNotOptimize(out.data());
  }
  // Input octets: what the server reads from disk per RETR.
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * msg.size()));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_RetrEncoder)->Arg(16 * 1024)->Arg(64 * 1024)->Arg(512);

void BM_TopEncoder(benchmark::State& state) {
  const std::string msg = StoredMessage();
  std::string out;
  for (auto _ : state) {
    out.clear();
    MessageEncoder enc = MessageEncoder::Top(10);
    enc.Feed(msg, &out);
    enc.Finish(&out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_TopEncoder);

}  // namespace
