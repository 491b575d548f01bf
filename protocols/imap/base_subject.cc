#include "protocols/imap/base_subject.h"

#include <cassert>

#include "protocols/mime/encoded_word.h"

namespace ringmail::imap {
namespace {

// The subject being reduced: s[b, e). After step (1) it is upper-cased and
// holds no tab, CR, LF or double space, so *WSP of the ABNF is at most one
// ' ' and case-insensitive matches are plain comparisons.
class Reducer {
 public:
  explicit Reducer(std::string s) : s_(std::move(s)), e_(s_.size()) {}

  BaseSubject Run() {
    while (true) {
      RemoveTrailers();  // (2)
      // (3)-(5). A leader check that failed after a run of subj-blobs fails
      // again from any blob boundary of that run (the text after the run is
      // unchanged), so it is skipped while step (4) eats the run; this
      // keeps "[a][a][a]...x" linear.
      size_t leader_fails_until = kNone;
      bool found = true;
      while (found) {
        found = false;
        if (leader_fails_until == kNone || b_ > leader_fails_until) {
          size_t run_end = kNone;
          if (RemoveLeader(&run_end)) {
            found = true;
          } else {
            leader_fails_until = run_end;
          }
        }
        if (RemoveBlobWhenNonEmpty()) found = true;
      }
      if (!RemoveFwdWrapper()) break;  // (6), else (7)
    }
    BaseSubject out;
    out.text = s_.substr(b_, e_ - b_);
    out.reply_or_forward = reply_;
    return out;
  }

 private:
  static constexpr size_t kNone = static_cast<size_t>(-1);

  bool At(size_t i, std::string_view word) const {
    return i <= e_ && e_ - i >= word.size() &&
           std::string_view(s_).substr(i, word.size()) == word;
  }

  // subj-trailer = "(fwd)" / WSP
  void RemoveTrailers() {
    while (e_ > b_) {
      if (s_[e_ - 1] == ' ') {
        --e_;
      } else if (e_ - b_ >= 5 && At(e_ - 5, "(FWD)")) {
        e_ -= 5;
        reply_ = true;
      } else {
        break;
      }
    }
  }

  // subj-blob = "[" *BLOBCHAR "]" *WSP, starting at i. Returns the offset
  // just past it, or kNone.
  size_t Blob(size_t i) const {
    if (i >= e_ || s_[i] != '[') return kNone;
    for (++i; i < e_; ++i) {
      if (s_[i] == '[') return kNone;
      if (s_[i] == ']') {
        ++i;
        if (i < e_ && s_[i] == ' ') ++i;
        return i;
      }
    }
    return kNone;
  }

  // subj-leader = (*subj-blob subj-refwd) / WSP
  // subj-refwd  = ("re" / ("fw" ["d"])) *WSP [subj-blob] ":"
  // On failure after at least one blob, *run_end is where the blob run
  // ended.
  bool RemoveLeader(size_t* run_end) {
    if (b_ < e_ && s_[b_] == ' ') {
      ++b_;
      return true;
    }
    size_t p = b_;
    bool blobs = false;
    while (p < e_ && s_[p] == '[') {
      const size_t q = Blob(p);
      if (q == kNone) break;
      p = q;
      blobs = true;
    }
    size_t q = p;
    if (At(q, "RE")) {
      q += 2;
    } else if (At(q, "FWD")) {
      q += 3;
    } else if (At(q, "FW")) {
      q += 2;
    } else {
      if (blobs) *run_end = p;
      return false;
    }
    if (q < e_ && s_[q] == ' ') ++q;
    if (q < e_ && s_[q] == '[') {
      q = Blob(q);
      if (q == kNone) {
        if (blobs) *run_end = p;
        return false;
      }
    }
    if (q >= e_ || s_[q] != ':') {
      if (blobs) *run_end = p;
      return false;
    }
    b_ = q + 1;
    reply_ = true;
    return true;
  }

  // (4): a leading subj-blob goes if a non-empty subj-base remains.
  bool RemoveBlobWhenNonEmpty() {
    const size_t q = Blob(b_);
    if (q == kNone || q >= e_) return false;
    b_ = q;
    return true;
  }

  // subj-fwd-hdr = "[fwd:", subj-fwd-trl = "]"
  bool RemoveFwdWrapper() {
    if (e_ - b_ < 6 || !At(b_, "[FWD:") || s_[e_ - 1] != ']') return false;
    b_ += 5;
    e_ -= 1;
    reply_ = true;
    return true;
  }

  std::string s_;
  size_t b_ = 0;
  size_t e_;
  bool reply_ = false;
};

}  // namespace

BaseSubject ExtractBaseSubject(std::string_view subject) {
  std::string decoded = mime::DecodeEncodedWords(subject);
  if (decoded.size() > kMaxSubjectOctets) decoded.resize(kMaxSubjectOctets);
  // (1): whitespace normalised, ASCII upper-cased.
  std::string s;
  s.reserve(decoded.size());
  for (char c : decoded) {
    if (c == '\t' || c == '\r' || c == '\n') c = ' ';
    if (c == ' ' && !s.empty() && s.back() == ' ') continue;
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
    s.push_back(c);
  }
  return Reducer(std::move(s)).Run();
}

}  // namespace ringmail::imap
