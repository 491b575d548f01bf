// Test helper: feeds a CommandReader whole, one byte at a time, or in other
// steps, and renders every event as a string so runs can be compared.
#ifndef RINGMAIL_PROTOCOLS_IMAP_READER_TEST_UTIL_H_
#define RINGMAIL_PROTOCOLS_IMAP_READER_TEST_UTIL_H_

#include <string>
#include <string_view>
#include <vector>

#include "protocols/imap/command_reader.h"

namespace ringmail::imap::testing_util {

// Renders an argument subtree: atoms bare, quoted as "..", literals as
// {..}, NIL as NIL, numbers as #n, sequence sets as $..$, lists as (..).
inline void RenderArgs(ArgList args, std::string* out) {
  bool first = true;
  for (const Arg& a : args) {
    if (!first) out->push_back(' ');
    first = false;
    switch (a.type) {
      case ArgType::kAtom: out->append(a.text); break;
      case ArgType::kNumber: out->append("#" + std::to_string(a.number)); break;
      case ArgType::kSequenceSet: out->append("$" + std::string(a.text) + "$"); break;
      case ArgType::kNil: out->append("NIL"); break;
      case ArgType::kQuoted: out->append("\"" + std::string(a.text) + "\""); break;
      case ArgType::kLiteral: out->append("{" + std::string(a.text) + "}"); break;
      case ArgType::kList:
        out->push_back('(');
        RenderArgs(Children(a), out);
        out->push_back(')');
        break;
    }
  }
}

inline std::string RenderCommand(const Command& c) {
  std::string s = "CMD " + std::string(c.tag) + " " +
                  (c.uid ? "UID " : "") + std::string(c.spec->name);
  if (!c.args.empty()) {
    s += " ";
    RenderArgs(c.args, &s);
  }
  return s;
}

// Feeds `in` in pieces of `step` octets. Continuation requests and APPEND
// events are rendered; APPEND data chunks are concatenated into one "DATA"
// event so that different step sizes compare equal. `reject_append` makes
// the reader refuse every APPEND message.
inline std::vector<std::string> Events(std::string_view in, size_t step,
                                       bool authenticated = true,
                                       bool reject_append = false,
                                       ReaderLimits limits = ReaderLimits()) {
  CommandReader r(limits);
  r.set_authenticated(authenticated);
  std::vector<std::string> got;
  std::string data;
  bool fatal = false;
  for (size_t pos = 0; pos < in.size() && !fatal; pos += step) {
    std::string_view chunk = in.substr(pos, step);
    // Loop also on an empty remainder: events may be pending (kAppendEnd
    // after RejectAppend needs no input, but kAppendData etc. do).
    while (!chunk.empty() && !fatal) {
      size_t used = 0;
      const CommandReader::Event ev = r.Next(chunk, &used);
      if (used > chunk.size()) return {"<OVERCONSUMED>"};
      chunk.remove_prefix(used);
      switch (ev) {
        case CommandReader::Event::kNeedMore: break;
        case CommandReader::Event::kCommand:
          got.push_back(RenderCommand(r.command()));
          break;
        case CommandReader::Event::kContinue: got.push_back("+"); break;
        case CommandReader::Event::kAppendBegin: {
          std::string s = "APPEND " + std::string(r.command().tag) + " ";
          RenderArgs(r.command().args, &s);
          s += " size=" + std::to_string(r.literal_size()) +
               (r.literal_sync() ? " sync" : " nonsync");
          got.push_back(s);
          if (reject_append) r.RejectAppend();
          data.clear();
          break;
        }
        case CommandReader::Event::kAppendData:
          data.append(r.append_chunk());
          break;
        case CommandReader::Event::kAppendEnd:
          got.push_back("DATA " + data);
          got.push_back(r.append_ok() ? "END"
                                      : "END-BAD " + std::string(r.error_reply()));
          break;
        case CommandReader::Event::kRawLine:
          got.push_back("RAW " + std::string(r.raw_line()));
          break;
        case CommandReader::Event::kError:
          got.push_back("ERR " + std::string(r.error_reply()));
          break;
        case CommandReader::Event::kFatal:
          got.push_back("FATAL " + std::string(r.error_reply()));
          fatal = true;
          break;
      }
      // Commands that switch the reader to raw lines, as the server would.
      if (ev == CommandReader::Event::kCommand &&
          (r.command().spec->id == CommandId::kAuthenticate ||
           r.command().spec->id == CommandId::kIdle)) {
        r.ExpectRawLine();
      }
    }
  }
  return got;
}

}  // namespace ringmail::imap::testing_util

#endif  // RINGMAIL_PROTOCOLS_IMAP_READER_TEST_UTIL_H_
