// IMAP command reader + argument parser throughput on typical client
// commands. Run with: bazel run -c opt //bench:imap_parser_bench
#include <string>

#include "benchmark/benchmark.h"
#include "protocols/imap/command_reader.h"
#include "protocols/imap/fetch.h"
#include "protocols/imap/search.h"
#include "protocols/imap/args.h"

namespace {

using ringmail::imap::CommandReader;

void RunReader(benchmark::State& state, const std::string& in, int kind) {
  CommandReader r;
  r.set_authenticated(true);
  for (auto _ : state) {
    size_t used = 0;
    const auto ev = r.Next(in, &used);
    benchmark::DoNotOptimize(ev);
    ringmail::imap::ArgError err;
    if (kind == 1) {
      ringmail::imap::FetchRequest f;
      benchmark::DoNotOptimize(ParseFetch(r.command().args.From(1), &f, &err));
    } else if (kind == 2) {
      ringmail::imap::SearchProgram p;
      benchmark::DoNotOptimize(ParseSearch(r.command().args, &p, &err));
    } else if (kind == 3) {
      ringmail::imap::StoreArgs s;
      benchmark::DoNotOptimize(ParseStore(r.command().args, &s, &err));
    } else if (kind == 4) {
      // APPEND header only: the reader stops at the message literal.
      r.RejectAppend();
      size_t u2 = 0;
      r.Next(std::string_view(), &u2);
    }
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * in.size());
}

void BM_UidFetch(benchmark::State& s) {
  RunReader(s, "a1 UID FETCH 1:* (FLAGS UID RFC822.SIZE BODY.PEEK[HEADER.FIELDS "
               "(FROM TO SUBJECT DATE)])\r\n", 1);
}
void BM_Search(benchmark::State& s) {
  RunReader(s, "a2 UID SEARCH OR (FROM alice SINCE 1-Jan-2020) NOT SEEN UID 1:500\r\n", 2);
}
void BM_Store(benchmark::State& s) {
  RunReader(s, "a3 UID STORE 1:5,7 +FLAGS.SILENT (\\Seen \\Deleted)\r\n", 3);
}
void BM_AppendHeader(benchmark::State& s) {
  RunReader(s, "a4 APPEND INBOX (\\Seen) \"01-Jan-2020 10:00:00 +0000\" {1000}\r\n", 4);
}
BENCHMARK(BM_UidFetch);
BENCHMARK(BM_Search);
BENCHMARK(BM_Store);
BENCHMARK(BM_AppendHeader);

}  // namespace
