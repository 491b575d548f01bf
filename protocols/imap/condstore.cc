#include "protocols/imap/condstore.h"

namespace ringmail::imap {
namespace {

bool Err(ArgError* err, std::string_view text) {
  err->text = text;
  return false;
}

// A sequence set without "*" and "$" (known-uids, seq-match-data sets),
// normalised.
bool NoStarSet(const Arg& a, std::vector<SequenceSet::Range>* out) {
  if (a.type != ArgType::kNumber && a.type != ArgType::kSequenceSet) return false;
  SequenceSet set;
  bool saved = false;
  if (!SequenceSet::Parse(a.text, &set, &saved) || saved) return false;
  for (const SequenceSet::Range& r : set.raw()) {
    if (r.first == SequenceSet::kStar || r.last == SequenceSet::kStar) return false;
  }
  *out = ResolvedSet(set.Resolve(0)).ranges();
  return true;
}

// Walks a normalised set by position (0-based), positions non-decreasing.
class NthCursor {
 public:
  explicit NthCursor(const std::vector<SequenceSet::Range>& r) : ranges_(r) {}
  bool Get(uint64_t n, uint32_t* out) {
    while (i_ < ranges_.size()) {
      const uint64_t size = uint64_t{ranges_[i_].last} - ranges_[i_].first + 1;
      if (n < base_ + size) {
        *out = static_cast<uint32_t>(ranges_[i_].first + (n - base_));
        return true;
      }
      base_ += size;
      ++i_;
    }
    return false;
  }

 private:
  const std::vector<SequenceSet::Range>& ranges_;
  size_t i_ = 0;
  uint64_t base_ = 0;
};

bool ParseSeqMatch(const Arg& list, QresyncParams* q, ArgError* err) {
  ArgList sets = Children(list);
  std::vector<SequenceSet::Range> seqs, uids;
  if (sets.size() != 2 || !NoStarSet(sets[0], &seqs) || !NoStarSet(sets[1], &uids)) {
    return Err(err, "Invalid QRESYNC sequence match data");
  }
  if (ResolvedSet(seqs).Count() != ResolvedSet(uids).Count()) {
    return Err(err, "QRESYNC sequence match sets differ in size");
  }
  NthCursor nth(seqs);
  uint64_t n = 0;
  for (const SequenceSet::Range& r : uids) {
    uint32_t seq = 0;
    if (!nth.Get(n, &seq)) return Err(err, "Invalid QRESYNC sequence match data");
    q->seq_uid_samples.emplace_back(seq, r.first);
    n += uint64_t{r.last} - r.first;
    if (r.last != r.first) {
      if (!nth.Get(n, &seq)) return Err(err, "Invalid QRESYNC sequence match data");
      q->seq_uid_samples.emplace_back(seq, r.last);
    }
    ++n;
  }
  return true;
}

bool ParseQresync(const Arg& list, QresyncParams* q, ArgError* err) {
  if (list.type != ArgType::kList) return Err(err, "QRESYNC parameters missing");
  ArgList a = Children(list);
  if (a.size() < 2 || a.size() > 4) return Err(err, "Invalid QRESYNC parameters");
  if (a[0].type != ArgType::kNumber || a[0].number == 0 || a[0].number > UINT32_MAX) {
    return Err(err, "Invalid QRESYNC UIDVALIDITY");
  }
  q->uid_validity = static_cast<uint32_t>(a[0].number);
  // mod-sequence-value; 0 is accepted (Postel) and means "everything".
  if (a[1].type != ArgType::kNumber || a[1].number > kMaxModSeqValue) {
    return Err(err, "Invalid QRESYNC mod-sequence");
  }
  q->modseq = a[1].number;
  size_t i = 2;
  if (i < a.size() && a[i].type != ArgType::kList) {
    if (!NoStarSet(a[i], &q->known_uids)) return Err(err, "Invalid QRESYNC known UIDs");
    ++i;
  }
  if (i < a.size()) {
    if (a[i].type != ArgType::kList) return Err(err, "Invalid QRESYNC parameters");
    if (!ParseSeqMatch(a[i], q, err)) return false;
    ++i;
  }
  if (i != a.size()) return Err(err, "Invalid QRESYNC parameters");
  return true;
}

}  // namespace

bool ParseSelectParams(ArgList args, SelectParams* out, ArgError* err) {
  *out = SelectParams{};
  if (args.empty()) return true;
  if (args.size() != 1 || args[0].type != ArgType::kList) {
    return Err(err, "Invalid SELECT parameters");
  }
  ArgList params = Children(args[0]);
  for (auto it = params.begin(); it != params.end(); ++it) {
    if (it->type != ArgType::kAtom) return Err(err, "Invalid SELECT parameter");
    if (EqualsIgnoreCase(it->text, "CONDSTORE")) {
      if (out->condstore) return Err(err, "CONDSTORE given twice");
      out->condstore = true;
    } else if (EqualsIgnoreCase(it->text, "QRESYNC")) {
      if (out->qresync) return Err(err, "QRESYNC given twice");
      ++it;
      if (it == params.end()) return Err(err, "QRESYNC parameters missing");
      out->qresync.emplace();
      if (!ParseQresync(*it, &*out->qresync, err)) return false;
    } else {
      return Err(err, "Unknown SELECT parameter");
    }
  }
  return true;
}

bool HasModSeqKey(const SearchNode& node) {
  if (node.key == SearchKey::kModSeq) return true;
  for (const SearchNode& c : node.children) {
    if (HasModSeqKey(c)) return true;
  }
  return false;
}

void AppendVanished(std::string* out, bool earlier,
                    const std::vector<SequenceSet::Range>& uids) {
  if (uids.empty()) return;
  out->append(earlier ? "* VANISHED (EARLIER) " : "* VANISHED ");
  out->append(FormatSequenceSet(uids));
  out->append("\r\n");
}

std::string CodeModified(const std::vector<uint32_t>& sorted_numbers) {
  return "MODIFIED " + FormatNumberSet(sorted_numbers);
}

}  // namespace ringmail::imap
