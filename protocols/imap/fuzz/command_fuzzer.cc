// libFuzzer: drives a CommandReader with arbitrary input split at a
// fuzzer-chosen step, runs the argument parsers on every command, and checks
// that Next never over-consumes and that replies are CRLF-terminated.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "protocols/imap/args.h"
#include "protocols/imap/command_reader.h"
#include "protocols/imap/condstore.h"
#include "protocols/imap/esearch.h"
#include "protocols/imap/fetch.h"
#include "protocols/imap/search.h"
#include "protocols/imap/sequence_set.h"
#include "protocols/imap/sort.h"
#include "protocols/imap/thread.h"

using namespace ringmail::imap;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const size_t step = 1 + data[0] % 64;
  const std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  CommandReader r;
  r.set_authenticated(data[0] & 1);
  for (size_t pos = 0; pos < in.size(); pos += step) {
    std::string_view chunk = in.substr(pos, step);
    while (!chunk.empty()) {
      size_t used = 0;
      const auto ev = r.Next(chunk, &used);
      if (used > chunk.size()) std::abort();
      chunk.remove_prefix(used);
      if (ev == CommandReader::Event::kError || ev == CommandReader::Event::kFatal) {
        const std::string_view e = r.error_reply();
        if (e.size() < 2 || e.substr(e.size() - 2) != "\r\n") std::abort();
        if (ev == CommandReader::Event::kFatal) return 0;
      }
      if (ev == CommandReader::Event::kAppendBegin && (data[0] & 2)) r.RejectAppend();
      if (ev != CommandReader::Event::kCommand) continue;
      const Command& c = r.command();
      ArgError err;
      switch (c.spec->id) {
        case CommandId::kFetch: {
          FetchRequest f;
          if (!c.args.empty()) ParseFetch(c.args.From(1), &f, &err);
          SequenceSet s;
          bool saved;
          if (!c.args.empty() && SequenceSet::Parse(c.args[0].text, &s, &saved)) {
            s.Resolve(100);
          }
          break;
        }
        case CommandId::kSearch: {
          SearchProgram p;
          SearchReturn ret;
          ArgList keys;
          if (ParseSearchReturn(c.args, &ret, &keys, &err)) ParseSearch(keys, &p, &err);
          break;
        }
        case CommandId::kSort: {
          SortCommand s;
          ParseSort(c.args, &s, &err);
          break;
        }
        case CommandId::kThread: {
          ThreadCommand t;
          ParseThread(c.args, &t, &err);
          break;
        }
        case CommandId::kSelect:
        case CommandId::kExamine: {
          SelectParams sp;
          if (!c.args.empty()) ParseSelectParams(c.args.From(1), &sp, &err);
          break;
        }
        case CommandId::kStore: {
          StoreArgs s;
          ParseStore(c.args, &s, &err);
          break;
        }
        case CommandId::kStatus: {
          std::string mb;
          uint8_t items;
          ParseStatus(c.args, false, &mb, &items, &err);
          break;
        }
        case CommandId::kAuthenticate:
          r.ExpectRawLine();
          break;
        default:
          break;
      }
    }
  }
  return 0;
}
