// Second step of the reader: parses one complete command text into the
// argument AST. The scanner (command_reader.cc) guarantees that announced
// literals are complete, so this parser never needs more input.
#include <cassert>

#include "protocols/imap/command_reader.h"

namespace ringmail::imap {
namespace {

bool IsTagChar(char c) {
  // RFC 3501 §9: tag = 1*<any ASTRING-CHAR except "+">.
  const unsigned char u = static_cast<unsigned char>(c);
  if (u <= 0x20 || u >= 0x7f) return false;
  switch (c) {
    case '(': case ')': case '{': case '%': case '*': case '"': case '\\':
    case '+':
      return false;
    default:
      return true;
  }
}

class Parser {
 public:
  Parser(std::string_view s, std::vector<Arg>* args) : s_(s), args_(args) {}

  bool Parse(bool stop_at_literal, Command* cmd, std::string_view* error) {
    // Strip the final line terminator (absent for an APPEND prefix).
    if (!stop_at_literal) {
      assert(!s_.empty() && s_.back() == '\n');
      s_.remove_suffix(1);
      if (!s_.empty() && s_.back() == '\r') s_.remove_suffix(1);
    }
    size_t sp = 0;
    while (sp < s_.size() && s_[sp] != ' ') ++sp;
    if (sp == 0) return Error(error, "Missing tag");
    for (size_t i = 0; i < sp; ++i) {
      if (!IsTagChar(s_[i])) return Error(error, "Invalid tag");
    }
    cmd->tag = s_.substr(0, sp);
    p_ = sp;
    std::string_view name;
    if (!Name(&name)) return Error(error, "Missing command name");
    cmd->uid = false;
    if (EqualsIgnoreCase(name, "UID")) {
      cmd->uid = true;
      if (!Name(&name)) return Error(error, "Missing command name after UID");
    }
    cmd->name = name;
    cmd->spec = LookupCommand(name);
    if (cmd->spec == nullptr) return Error(error, "Unknown command");
    if (cmd->uid && cmd->spec->uid == UidPolicy::kNone) {
      return Error(error, "Command has no UID form");
    }
    if (!cmd->uid && cmd->spec->uid == UidPolicy::kRequired) {
      return Error(error, "Command needs UID");
    }
    if (p_ < s_.size() && s_[p_] != ' ') return Error(error, "Invalid command name");
    args_->clear();
    if (!List(false, 0)) return Error(error, err_);
    cmd->args = ArgList(args_->data(), args_->data() + args_->size());
    return true;
  }

 private:
  static bool Error(std::string_view* error, std::string_view text) {
    *error = text;
    return false;
  }
  bool Fail(std::string_view text) {
    err_ = text;
    return false;
  }

  // SP then 1*ALPHA (command names are letters only).
  bool Name(std::string_view* name) {
    if (p_ >= s_.size() || s_[p_] != ' ') return false;
    const size_t start = ++p_;
    while (p_ < s_.size() && ((s_[p_] | 0x20) >= 'a' && (s_[p_] | 0x20) <= 'z')) {
      ++p_;
    }
    *name = s_.substr(start, p_ - start);
    return p_ > start;
  }

  bool List(bool in_list, size_t depth) {
    bool first = true;
    while (true) {
      size_t spaces = 0;
      while (p_ < s_.size() && s_[p_] == ' ') ++p_, ++spaces;
      if (p_ >= s_.size()) {
        if (in_list) return Fail("Missing ')'");
        return true;
      }
      const char c = s_[p_];
      if (c == ')') {
        if (!in_list) return Fail("Unexpected ')'");
        ++p_;
        return true;
      }
      if (!first && spaces == 0) return Fail("Missing space between arguments");
      if (!in_list && first && spaces == 0) return Fail("Missing space");
      first = false;
      if (args_->size() >= kMaxArgs) return Fail("Too many arguments");
      if (c == '(') {
        if (depth + 1 > kMaxListDepth) return Fail("Too deep list nesting");
        const size_t idx = args_->size();
        args_->push_back(Arg{});
        (*args_)[idx].type = ArgType::kList;
        ++p_;
        if (!List(true, depth + 1)) return false;
        (*args_)[idx].subtree = static_cast<uint32_t>(args_->size() - idx);
        if (p_ < s_.size() && s_[p_] != ' ' && s_[p_] != ')') {
          return Fail("Missing space after list");
        }
      } else if (c == '"') {
        if (!Quoted()) return false;
      } else if (c == '{') {
        if (!Literal()) return false;
      } else {
        if (!Atom()) return false;
      }
    }
  }

  bool Quoted() {
    const size_t start = ++p_;
    bool escapes = false;
    while (true) {
      if (p_ >= s_.size()) return Fail("Missing closing quote");
      const char c = s_[p_];
      if (c == '"') break;
      if (c == '\r' || c == '\n' || c == '\0') {
        return Fail("Invalid character in quoted string");
      }
      if (c == '\\') {
        // RFC 3501 §9 quoted-specials: only \\ and \" are escapes.
        if (p_ + 1 >= s_.size() || (s_[p_ + 1] != '\\' && s_[p_ + 1] != '"')) {
          return Fail("Invalid escape in quoted string");
        }
        escapes = true;
        ++p_;
      }
      ++p_;
    }
    Arg a;
    a.type = ArgType::kQuoted;
    a.has_escapes = escapes;
    a.text = s_.substr(start, p_ - start);
    ++p_;
    args_->push_back(a);
    return AfterToken();
  }

  bool Literal() {
    ++p_;
    uint64_t n = 0;
    size_t digits = 0;
    while (p_ < s_.size() && s_[p_] >= '0' && s_[p_] <= '9') {
      if (++digits > 18) return Fail("Literal too big");
      n = n * 10 + static_cast<uint64_t>(s_[p_] - '0');
      ++p_;
    }
    bool plus = false;
    if (p_ < s_.size() && s_[p_] == '+') plus = true, ++p_;
    if (digits == 0 || p_ >= s_.size() || s_[p_] != '}') {
      return Fail("Invalid literal");
    }
    ++p_;
    if (p_ < s_.size() && s_[p_] == '\r') ++p_;
    if (p_ >= s_.size() || s_[p_] != '\n') return Fail("Invalid literal");
    ++p_;
    if (s_.size() - p_ < n) return Fail("Literal truncated");
    Arg a;
    a.type = ArgType::kLiteral;
    a.non_sync = plus;
    a.text = s_.substr(p_, n);
    // RFC 3501 §9: literal octets are CHAR8, which excludes NUL.
    if (a.text.find('\0') != std::string_view::npos) {
      return Fail("NUL in literal");
    }
    p_ += n;
    args_->push_back(a);
    return AfterToken();
  }

  bool Atom() {
    const size_t start = p_;
    bool in_brackets = false;
    while (p_ < s_.size()) {
      const char c = s_[p_];
      const unsigned char u = static_cast<unsigned char>(c);
      if (in_brackets) {
        // Dovecot-style: "BODY[HEADER.FIELDS (A B)]" is one atom.
        if (c == ']') in_brackets = false;
        else if (u < 0x20 || u >= 0x7f) return Fail("Invalid characters in atom");
        ++p_;
        continue;
      }
      if (c == ' ' || c == '(' || c == ')') break;
      if (u <= 0x20 || u >= 0x7f || c == '{' || c == '"') {
        return Fail("Invalid characters in atom");
      }
      if (c == '[') in_brackets = true;
      ++p_;
    }
    if (in_brackets) return Fail("Missing ']'");
    Arg a;
    a.text = s_.substr(start, p_ - start);
    Classify(&a);
    args_->push_back(a);
    if (p_ < s_.size() && s_[p_] == '(') return Fail("Missing space before '('");
    return true;
  }

  static void Classify(Arg* a) {
    if (EqualsIgnoreCase(a->text, "NIL")) {
      a->type = ArgType::kNil;
      return;
    }
    bool digits_only = a->text.size() <= 19;
    bool seq = true;
    for (char c : a->text) {
      if (c < '0' || c > '9') {
        digits_only = false;
        if (c != ':' && c != ',' && c != '*' && c != '$') seq = false;
      }
    }
    if (digits_only) {
      uint64_t v = 0;
      for (char c : a->text) v = v * 10 + static_cast<uint64_t>(c - '0');
      a->type = ArgType::kNumber;
      a->number = v;
    } else if (seq) {
      a->type = ArgType::kSequenceSet;
    } else {
      a->type = ArgType::kAtom;
    }
  }

  bool AfterToken() {
    if (p_ < s_.size() && s_[p_] != ' ' && s_[p_] != ')') {
      return Fail("Missing space after string");
    }
    return true;
  }

  std::string_view s_;
  std::vector<Arg>* args_;
  size_t p_ = 0;
  std::string_view err_;
};

}  // namespace

bool ParseCommandText(std::string_view text, bool stop_at_literal,
                      std::vector<Arg>* args, Command* cmd,
                      std::string_view* error) {
  Parser p(text, args);
  return p.Parse(stop_at_literal, cmd, error);
}

}  // namespace ringmail::imap
