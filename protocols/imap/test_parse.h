// Test helper: parses one complete command (fed whole, then byte by byte,
// checking both agree) and keeps its text alive for the arg parsers.
#ifndef RINGMAIL_PROTOCOLS_IMAP_TEST_PARSE_H_
#define RINGMAIL_PROTOCOLS_IMAP_TEST_PARSE_H_

#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "protocols/imap/command_reader.h"
#include "protocols/imap/reader_test_util.h"

namespace ringmail::imap::testing_util {

struct Parsed {
  std::string text;
  std::unique_ptr<CommandReader> reader = std::make_unique<CommandReader>();
  const Command& cmd() const { return reader->command(); }
  ArgList args() const { return reader->command().args; }
};

inline std::unique_ptr<Parsed> Parse(std::string line) {
  auto p = std::make_unique<Parsed>();
  p->text = std::move(line) + "\r\n";
  EXPECT_EQ(Events(p->text, 1).size(), 1u) << p->text;
  p->reader->set_authenticated(true);
  size_t used = 0;
  const auto ev = p->reader->Next(p->text, &used);
  EXPECT_EQ(ev, CommandReader::Event::kCommand) << p->reader->error_reply();
  return p;
}

}  // namespace ringmail::imap::testing_util

#endif  // RINGMAIL_PROTOCOLS_IMAP_TEST_PARSE_H_
