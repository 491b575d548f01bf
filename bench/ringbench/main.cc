// ringbench: load generator for SMTP, LMTP, IMAP and POP3 servers on the
// ringmail engine. See bench/ringbench/README.md and `ringbench --help`.
#include <csignal>
#include <cstdio>
#include <fstream>

#include "bench/ringbench/imap_ops.h"
#include "bench/ringbench/mix.h"
#include "bench/ringbench/options.h"
#include "bench/ringbench/report.h"
#include "bench/ringbench/runner.h"
#include "engine/ring.h"

namespace {
void OnSigint(int) { ringmail::ringbench::g_interrupted.store(true); }
}  // namespace

int main(int argc, char** argv) {
  using namespace ringmail::ringbench;
  auto opts = ParseOptions(argc, argv);
  if (!opts.ok()) {
    if (absl::IsNotFound(opts.status())) {
      std::fputs(std::string(opts.status().message()).c_str(), stdout);
      return 0;
    }
    std::fprintf(stderr, "ringbench: %s\n", std::string(opts.status().message()).c_str());
    return 2;
  }
  if (opts->mode == "imap" && !opts->mix.empty()) {
    auto mix = WeightedMix::Parse(ResolveImapMix(opts->mix), ImapOps());
    if (!mix.ok()) {
      std::fprintf(stderr, "ringbench: --mix: %s\n", std::string(mix.status().message()).c_str());
      return 2;
    }
  }
  if (absl::Status s = ringmail::engine::ProbeKernel(); !s.ok()) {
    std::fprintf(stderr, "ringbench: %s\n", std::string(s.message()).c_str());
    return 1;
  }
  std::signal(SIGPIPE, SIG_IGN);
  std::signal(SIGINT, OnSigint);
  auto result = Run(*opts);
  if (!result.ok()) {
    std::fprintf(stderr, "ringbench: %s\n", std::string(result.status().message()).c_str());
    return 1;
  }
  std::fputs(HumanSummary(*opts, *result).c_str(), opts->json ? stderr : stdout);
  if (opts->json) std::fputs(Json(*opts, *result).c_str(), stdout);
  if (!opts->report.empty()) {
    std::ofstream f(opts->report);
    f << Html(*opts, *result);
    if (!f) {
      std::fprintf(stderr, "ringbench: cannot write %s\n", opts->report.c_str());
      return 1;
    }
  }
  return result->rec.total_errors() == 0 ? 0 : 3;
}
