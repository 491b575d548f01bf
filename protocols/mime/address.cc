#include "protocols/mime/address.h"

#include "protocols/mime/imap_string.h"
#include "protocols/mime/rfc822_lexer.h"

namespace ringmail::mime {
namespace {

constexpr std::string_view kMissingMailbox = "MISSING_MAILBOX";
constexpr std::string_view kMissingDomain = "MISSING_DOMAIN";

class AddressParser {
 public:
  AddressParser(std::string_view value, size_t max, std::vector<Address>* out)
      : lex_(value), max_(max), out_(out) {}

  void Run() {
    while (out_->size() < max_) {
      std::string comment;
      lex_.SkipCfws(&comment);
      if (lex_.AtEnd()) break;
      const char c = lex_.Peek();
      if (c == ',') {
        lex_.Advance();
        continue;
      }
      if (c == ';') {
        lex_.Advance();
        if (in_group_) EndGroup();
        continue;
      }
      const size_t before = lex_.pos();
      ParseOne();
      if (lex_.pos() == before) lex_.Advance();  // junk: always progress
    }
    if (in_group_ && out_->size() < max_) EndGroup();
  }

 private:
  struct Words {
    std::vector<std::string> words;
    std::string comment;
  };

  // Reads phrase / local-part words until a special character.
  Words ReadWords() {
    Words w;
    while (true) {
      lex_.SkipCfws(&w.comment);
      const char c = lex_.Peek();
      if (c == '"') {
        std::string q;
        lex_.ReadQuoted(&q);
        w.words.push_back(std::move(q));
        continue;
      }
      const std::string_view atom = lex_.ReadAtom(/*dots=*/true);
      if (atom.empty()) break;
      w.words.emplace_back(atom);
    }
    return w;
  }

  static std::string Join(const std::vector<std::string>& words,
                          std::string_view sep) {
    std::string out;
    for (size_t i = 0; i < words.size(); ++i) {
      if (i > 0) out.append(sep);
      out.append(words[i]);
    }
    return out;
  }

  std::string ReadDomain(std::string* comment) {
    std::string domain;
    while (true) {
      lex_.SkipCfws(comment);
      if (lex_.Peek() == '[') {
        lex_.ReadDomainLiteral(&domain);
        continue;
      }
      const std::string_view atom = lex_.ReadAtom(/*dots=*/true);
      if (atom.empty()) break;
      domain.append(atom);
    }
    return domain;
  }

  void Emit(std::optional<std::string> name, std::optional<std::string> adl,
            std::string mailbox, std::string host) {
    Address a;
    if (name && !name->empty()) a.name = std::move(name);
    a.adl = std::move(adl);
    a.mailbox = mailbox.empty() ? std::string(kMissingMailbox)
                                : std::move(mailbox);
    a.host = host.empty() ? std::string(kMissingDomain) : std::move(host);
    out_->push_back(std::move(a));
  }

  void EndGroup() {
    out_->push_back(Address{});
    in_group_ = false;
  }

  // "<[route:]local@domain>" after the '<'.
  void ParseAngle(std::optional<std::string> name) {
    std::optional<std::string> adl;
    lex_.SkipCfws();
    if (lex_.Peek() == '@') {
      std::string route;
      while (lex_.Peek() == '@' || lex_.Peek() == ',') {
        route.push_back(lex_.Peek());
        lex_.Advance();
        if (route.back() == '@') route += ReadDomain(nullptr);
        lex_.SkipCfws();
      }
      if (lex_.Peek() == ':') lex_.Advance();
      adl = std::move(route);
    }
    Words local = ReadWords();
    std::string host;
    if (lex_.Peek() == '@') {
      lex_.Advance();
      host = ReadDomain(nullptr);
    }
    // Skip to the closing '>' (junk inside is ignored).
    while (!lex_.AtEnd() && lex_.Peek() != '>' && lex_.Peek() != ',') {
      lex_.Advance();
    }
    if (lex_.Peek() == '>') lex_.Advance();
    Emit(std::move(name), std::move(adl), Join(local.words, ""),
         std::move(host));
  }

  void ParseOne() {
    Words w = ReadWords();
    const char c = lex_.Peek();
    if (c == '<') {
      lex_.Advance();
      ParseAngle(Join(w.words, " "));
      return;
    }
    if (c == ':' && !in_group_) {
      lex_.Advance();
      Address start;
      start.mailbox = Join(w.words, " ");
      out_->push_back(std::move(start));
      in_group_ = true;
      return;
    }
    if (c == '@') {
      lex_.Advance();
      std::string comment = w.comment;
      std::string host = ReadDomain(&comment);
      std::optional<std::string> name;
      if (!comment.empty()) name = comment;
      Emit(std::move(name), std::nullopt, Join(w.words, ""), std::move(host));
      return;
    }
    if (!w.words.empty()) {
      std::optional<std::string> name;
      if (!w.comment.empty()) name = w.comment;
      Emit(std::move(name), std::nullopt, Join(w.words, ""), "");
    }
  }

  Rfc822Lexer lex_;
  size_t max_;
  std::vector<Address>* out_;
  bool in_group_ = false;
};

}  // namespace

std::vector<Address> ParseAddressList(std::string_view value,
                                      size_t max_addresses) {
  std::vector<Address> out;
  AddressParser(value, max_addresses, &out).Run();
  return out;
}

void AppendImapAddressList(std::string* out, const std::vector<Address>& list) {
  if (list.empty()) {
    out->append("NIL");
    return;
  }
  out->push_back('(');
  for (const Address& a : list) {
    out->push_back('(');
    AppendImapNString(out, a.name);
    out->push_back(' ');
    AppendImapNString(out, a.adl);
    out->push_back(' ');
    AppendImapNString(out, a.mailbox);
    out->push_back(' ');
    AppendImapNString(out, a.host);
    out->push_back(')');
  }
  out->push_back(')');
}

}  // namespace ringmail::mime
