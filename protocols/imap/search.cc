#include "protocols/imap/search.h"

#include "protocols/imap/limits.h"

namespace ringmail::imap {
namespace {

enum class Operand : uint8_t { kNone, kString, kDate, kNumber, kFlag, kHeader, kSet };

struct KeySpec {
  std::string_view name;
  SearchKey key;
  Operand operand;
};

constexpr KeySpec kKeys[] = {
    {"ALL", SearchKey::kAll, Operand::kNone},
    {"ANSWERED", SearchKey::kAnswered, Operand::kNone},
    {"BCC", SearchKey::kBcc, Operand::kString},
    {"BEFORE", SearchKey::kBefore, Operand::kDate},
    {"BODY", SearchKey::kBody, Operand::kString},
    {"CC", SearchKey::kCc, Operand::kString},
    {"DELETED", SearchKey::kDeleted, Operand::kNone},
    {"DRAFT", SearchKey::kDraft, Operand::kNone},
    {"FLAGGED", SearchKey::kFlagged, Operand::kNone},
    {"FROM", SearchKey::kFrom, Operand::kString},
    {"HEADER", SearchKey::kHeader, Operand::kHeader},
    {"KEYWORD", SearchKey::kKeyword, Operand::kFlag},
    {"LARGER", SearchKey::kLarger, Operand::kNumber},
    {"NEW", SearchKey::kNew, Operand::kNone},
    {"OLD", SearchKey::kOld, Operand::kNone},
    {"ON", SearchKey::kOn, Operand::kDate},
    {"RECENT", SearchKey::kRecent, Operand::kNone},
    {"SEEN", SearchKey::kSeen, Operand::kNone},
    {"SENTBEFORE", SearchKey::kSentBefore, Operand::kDate},
    {"SENTON", SearchKey::kSentOn, Operand::kDate},
    {"SENTSINCE", SearchKey::kSentSince, Operand::kDate},
    {"SINCE", SearchKey::kSince, Operand::kDate},
    {"SMALLER", SearchKey::kSmaller, Operand::kNumber},
    {"SUBJECT", SearchKey::kSubject, Operand::kString},
    {"TEXT", SearchKey::kText, Operand::kString},
    {"TO", SearchKey::kTo, Operand::kString},
    {"UID", SearchKey::kUid, Operand::kSet},
    {"UNANSWERED", SearchKey::kUnanswered, Operand::kNone},
    {"UNDELETED", SearchKey::kUndeleted, Operand::kNone},
    {"UNDRAFT", SearchKey::kUndraft, Operand::kNone},
    {"UNFLAGGED", SearchKey::kUnflagged, Operand::kNone},
    {"UNKEYWORD", SearchKey::kUnkeyword, Operand::kFlag},
    {"UNSEEN", SearchKey::kUnseen, Operand::kNone},
    {"MODSEQ", SearchKey::kModSeq, Operand::kNumber},
};

class SearchParser {
 public:
  SearchParser(ArgList args, ArgError* err)
      : it_(args.begin()), end_(args.end()), err_(err) {}

  bool ParseAll(SearchNode* root) {
    root->key = SearchKey::kAnd;
    if (it_ == end_) return Fail("Missing search keys");
    while (it_ != end_) {
      root->children.emplace_back();
      if (!Key(&root->children.back(), 0)) return false;
    }
    return true;
  }

  bool Fail(std::string_view text) {
    err_->text = text;
    return false;
  }

 private:
  const Arg* Take() {
    if (it_ == end_) return nullptr;
    const Arg* a = &*it_;
    ++it_;
    return a;
  }

  bool Key(SearchNode* n, size_t depth) {
    if (depth >= kMaxSearchDepth) return Fail("Search program too deeply nested");
    if (++keys_ > kMaxSearchKeys) return Fail("Too many search keys");
    const Arg* a = Take();
    if (a == nullptr) return Fail("Missing search key");
    if (a->type == ArgType::kList) {
      n->key = SearchKey::kAnd;
      ArgList kids = Children(*a);
      if (kids.empty()) return Fail("Empty search group");
      SearchParser sub(kids, err_);
      sub.keys_ = keys_;
      while (sub.it_ != sub.end_) {
        n->children.emplace_back();
        if (!sub.Key(&n->children.back(), depth + 1)) return false;
      }
      keys_ = sub.keys_;
      return true;
    }
    if (a->type == ArgType::kNumber || a->type == ArgType::kSequenceSet) {
      n->key = SearchKey::kSequenceSet;
      if (!SequenceSet::Parse(a->text, &n->set, &n->saved)) {
        return Fail("Invalid sequence set");
      }
      return true;
    }
    if (a->type != ArgType::kAtom) return Fail("Invalid search key");
    if (EqualsIgnoreCase(a->text, "NOT")) {
      n->key = SearchKey::kNot;
      n->children.emplace_back();
      return Key(&n->children.back(), depth + 1);
    }
    if (EqualsIgnoreCase(a->text, "OR")) {
      n->key = SearchKey::kOr;
      n->children.resize(2);
      return Key(&n->children[0], depth + 1) && Key(&n->children[1], depth + 1);
    }
    for (const KeySpec& k : kKeys) {
      if (EqualsIgnoreCase(k.name, a->text)) {
        n->key = k.key;
        return Operands(k, n);
      }
    }
    return Fail("Unknown search key");
  }

  bool String(std::string* out) {
    const Arg* a = Take();
    std::string_view v;
    if (a == nullptr || !AstringValue(*a, &scratch_, &v)) {
      return Fail("Missing search string");
    }
    out->assign(v);
    return true;
  }

  bool Operands(const KeySpec& k, SearchNode* n) {
    switch (k.operand) {
      case Operand::kNone:
        return true;
      case Operand::kString:
        return String(&n->str);
      case Operand::kHeader:
        return String(&n->field) && String(&n->str);
      case Operand::kFlag: {
        const Arg* a = Take();
        if (a == nullptr || a->type != ArgType::kAtom || a->text[0] == '\\') {
          return Fail("Invalid keyword");
        }
        n->str.assign(a->text);
        return true;
      }
      case Operand::kDate: {
        const Arg* a = Take();
        if (a == nullptr || (!IsAtomLike(*a) && a->type != ArgType::kQuoted) ||
            !ParseDate(a->text, &n->days)) {
          return Fail("Invalid search date");
        }
        return true;
      }
      case Operand::kNumber: {
        if (k.key == SearchKey::kModSeq) {
          // RFC 7162 §3.1.5: MODSEQ [entry-name entry-type-req] mod-seq.
          // Mod-sequences are kept per message, not per flag, so the
          // entry is checked and then ignored (as Dovecot does).
          if (it_ != end_ && it_->type == ArgType::kQuoted) {
            const Arg* name = Take();
            const Arg* t = Take();
            if (!EqualsIgnoreCase(name->text.substr(0, 7), "/flags/") || t == nullptr ||
                t->type != ArgType::kAtom ||
                !(EqualsIgnoreCase(t->text, "priv") ||
                  EqualsIgnoreCase(t->text, "shared") ||
                  EqualsIgnoreCase(t->text, "all"))) {
              return Fail("Invalid MODSEQ entry");
            }
          }
        }
        const Arg* a = Take();
        if (a == nullptr || a->type != ArgType::kNumber ||
            (k.key == SearchKey::kModSeq && a->number > (uint64_t{1} << 63) - 1)) {
          return Fail("Invalid search number");
        }
        n->number = a->number;
        return true;
      }
      case Operand::kSet: {
        const Arg* a = Take();
        if (a == nullptr ||
            (a->type != ArgType::kNumber && a->type != ArgType::kSequenceSet) ||
            !SequenceSet::Parse(a->text, &n->set, &n->saved)) {
          return Fail("Invalid UID set");
        }
        return true;
      }
    }
    return false;
  }

  ArgList::Iterator it_;
  ArgList::Iterator end_;
  ArgError* err_;
  size_t keys_ = 0;
  std::string scratch_;
};

}  // namespace

SearchStatus ParseSearch(ArgList args, SearchProgram* out, ArgError* err) {
  if (!args.empty() && args[0].type == ArgType::kAtom &&
      EqualsIgnoreCase(args[0].text, "CHARSET")) {
    std::string scratch;
    std::string_view cs;
    if (args.size() < 3 || !AstringValue(args[1], &scratch, &cs)) {
      err->text = "Invalid CHARSET";
      return SearchStatus::kBad;
    }
    if (!EqualsIgnoreCase(cs, "UTF-8") && !EqualsIgnoreCase(cs, "US-ASCII")) {
      err->text = kBadCharsetReply;
      return SearchStatus::kBadCharset;
    }
    args = args.From(2);
  }
  SearchParser p(args, err);
  out->root = SearchNode{};
  return p.ParseAll(&out->root) ? SearchStatus::kOk : SearchStatus::kBad;
}

}  // namespace ringmail::imap
