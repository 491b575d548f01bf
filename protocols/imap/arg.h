// The argument AST of one parsed IMAP command: a flat pre-order array of
// nodes whose text fields are views into the command's bytes (owned by the
// CommandReader, valid until its next call). A list node is followed by its
// descendants; `subtree` counts the node and all of them, so siblings are
// reached without pointers or allocation.
#ifndef RINGMAIL_PROTOCOLS_IMAP_ARG_H_
#define RINGMAIL_PROTOCOLS_IMAP_ARG_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace ringmail::imap {

enum class ArgType : uint8_t {
  kAtom,         // any other atom (flags "\Seen", "BODY[1.TEXT]<0.10>", ...)
  kNumber,       // all digits and fits uint64: `number` holds the value
  kSequenceSet,  // only [0-9:,*$] and not a plain number; checked later
  kNil,          // atom NIL (any case); still usable as the astring "NIL"
  kQuoted,       // text = raw content between the quotes
  kLiteral,      // text = literal octets
  kList,         // children follow; text empty
};

struct Arg {
  ArgType type = ArgType::kAtom;
  bool has_escapes = false;    // kQuoted only: text still holds \\ and \"
  bool non_sync = false;       // kLiteral only: sent as {n+}
  uint32_t subtree = 1;        // this node plus all descendants
  uint64_t number = 0;         // kNumber only
  std::string_view text;
};

// A run of sibling nodes. Cheap to copy; iteration skips subtrees.
class ArgList {
 public:
  ArgList() = default;
  // [first, end) must hold whole subtrees.
  ArgList(const Arg* first, const Arg* end);

  class Iterator {
   public:
    explicit Iterator(const Arg* a) : a_(a) {}
    const Arg& operator*() const { return *a_; }
    const Arg* operator->() const { return a_; }
    Iterator& operator++() {
      a_ += a_->subtree;
      return *this;
    }
    bool operator==(const Iterator& o) const { return a_ == o.a_; }
    bool operator!=(const Iterator& o) const { return a_ != o.a_; }

   private:
    const Arg* a_;
  };

  Iterator begin() const { return Iterator(first_); }
  Iterator end() const { return Iterator(end_); }
  size_t size() const { return count_; }
  bool empty() const { return count_ == 0; }
  // O(i) access to the i-th sibling; i < size().
  const Arg& operator[](size_t i) const;
  // The siblings from index i on (i <= size()).
  ArgList From(size_t i) const;

 private:
  const Arg* first_ = nullptr;
  const Arg* end_ = nullptr;
  size_t count_ = 0;
};

// Children of a kList node.
ArgList Children(const Arg& list);

inline bool IsAtomLike(const Arg& a) {
  return a.type == ArgType::kAtom || a.type == ArgType::kNumber ||
         a.type == ArgType::kSequenceSet || a.type == ArgType::kNil;
}
inline bool IsString(const Arg& a) {
  return a.type == ArgType::kQuoted || a.type == ArgType::kLiteral;
}

// The value of an astring (RFC 3501 §9: atom or string). Quoted strings with
// escapes are unescaped into *scratch and the result points there; otherwise
// the result is a view into the command. Returns false for lists, and for
// atoms containing '[' (not ASTRING-CHARs).
bool AstringValue(const Arg& a, std::string* scratch, std::string_view* out);

// A string (quoted or literal) value only; atoms are refused.
bool StringValue(const Arg& a, std::string* scratch, std::string_view* out);

bool EqualsIgnoreCase(std::string_view a, std::string_view b);

}  // namespace ringmail::imap

#endif  // RINGMAIL_PROTOCOLS_IMAP_ARG_H_
