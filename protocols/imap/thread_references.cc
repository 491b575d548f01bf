// THREAD=REFERENCES (RFC 5256 §4). Containers 0..n-1 are the records (in
// seq order); dummies for ids no message has are appended after them.
#include <algorithm>
#include <cassert>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "protocols/imap/thread.h"

namespace ringmail::imap {
namespace {

class ReferencesThreader {
 public:
  ReferencesThreader(const std::vector<ThreadRecord>& records, uint64_t max_steps)
      : r_(records), steps_left_(max_steps) {
    parent_.assign(records.size(), -1);
    child_count_.assign(records.size(), 0);
  }

  ThreadForest Run() {
    LinkReferences();   // step 1
    GatherChildren();   // step 2
    PruneDummies();     // step 3
    SortSiblings(&roots_);  // step 4
    MergeBySubject();   // step 5
    for (std::vector<int32_t>& k : kids_) SortSiblings(&k);  // step 6
    SortSiblings(&roots_);
    return ToForest();
  }

 private:
  bool IsDummy(int32_t c) const { return static_cast<size_t>(c) >= r_.size(); }

  // ---- step 1

  int32_t Lookup(std::string_view id) {
    auto [it, inserted] = ids_.try_emplace(id, static_cast<int32_t>(parent_.size()));
    if (inserted) {  // a dummy
      parent_.push_back(-1);
      child_count_.push_back(0);
    }
    return it->second;
  }

  void SetParent(int32_t c, int32_t p) {
    if (parent_[c] >= 0) --child_count_[parent_[c]];
    parent_[c] = p;
    if (p >= 0) ++child_count_[p];
  }

  // Would making `p` the parent of `c` introduce a loop, i.e. is p == c or
  // a descendant of c? True as well when the step budget is spent (the
  // link is then not made).
  bool WouldLoop(int32_t p, int32_t c) {
    // A childless c has no descendants: the usual case (parents are seen
    // before replies) needs no walk, so long chains stay linear.
    if (child_count_[c] == 0) return p == c;
    for (int32_t x = p; x >= 0; x = parent_[x]) {
      if (x == c) return true;
      if (steps_left_ == 0) return true;
      --steps_left_;
    }
    return false;
  }

  void LinkReferences() {
    // Only the first (lowest seq) message keeps a duplicated Message-ID;
    // messages without one are never looked up.
    for (size_t i = 0; i < r_.size(); ++i) {
      if (!r_[i].message_id.empty()) {
        ids_.try_emplace(r_[i].message_id, static_cast<int32_t>(i));
      }
    }
    for (size_t i = 0; i < r_.size(); ++i) {
      const std::vector<std::string>& refs = r_[i].references;
      // 1A: each reference is the parent of the next, unless the child has
      // a parent already (a truncated References elsewhere) or it loops.
      int32_t prev = -1;
      for (const std::string& id : refs) {
        const int32_t c = Lookup(id);
        if (prev >= 0 && parent_[c] < 0 && !WouldLoop(prev, c)) SetParent(c, prev);
        prev = c;
      }
      // 1B: the last reference is the message's parent; an older link is
      // broken first (and no references leave it without a parent).
      const int32_t m = static_cast<int32_t>(i);
      SetParent(m, -1);
      if (prev >= 0 && !WouldLoop(prev, m)) SetParent(m, prev);
    }
  }

  // ---- step 2

  void GatherChildren() {
    kids_.assign(parent_.size(), {});
    for (size_t c = 0; c < parent_.size(); ++c) {
      if (parent_[c] >= 0) {
        kids_[parent_[c]].push_back(static_cast<int32_t>(c));
      } else {
        roots_.push_back(static_cast<int32_t>(c));
      }
    }
  }

  // ---- step 3

  void PruneDummies() {
    // Children before parents (reverse pre-order), so a dummy's child
    // list is already free of dummies when it is spliced into its parent.
    std::vector<int32_t> order, stack;
    for (int32_t root : roots_) {
      stack.push_back(root);
      while (!stack.empty()) {
        const int32_t x = stack.back();
        stack.pop_back();
        order.push_back(x);
        for (int32_t k : kids_[x]) stack.push_back(k);
      }
    }
    std::vector<int32_t> spliced;
    for (auto it = order.rbegin(); it != order.rend(); ++it) {
      std::vector<int32_t>& kids = kids_[*it];
      if (std::none_of(kids.begin(), kids.end(), [&](int32_t k) { return IsDummy(k); })) {
        continue;
      }
      spliced.clear();
      for (int32_t k : kids) {
        if (!IsDummy(k)) {
          spliced.push_back(k);
          continue;
        }
        // 3A: a childless dummy goes; 3B: its children take its place.
        spliced.insert(spliced.end(), kids_[k].begin(), kids_[k].end());
        kids_[k].clear();
      }
      kids.swap(spliced);
    }
    // At the top level a dummy stays unless it has no child (3A) or one
    // (3B: promoted to the top level only when it is the only child).
    std::vector<int32_t> roots;
    for (int32_t root : roots_) {
      if (!IsDummy(root)) {
        roots.push_back(root);
      } else if (kids_[root].size() == 1) {
        roots.push_back(kids_[root][0]);
        kids_[root].clear();
      } else if (kids_[root].size() > 1) {
        roots.push_back(root);
      }
    }
    roots_.swap(roots);
  }

  // ---- steps 4 and 6: sent date, then seq (§2.2); a dummy sorts as its
  // first child (sorted first: dummies are only at the top level).

  const ThreadRecord& Rep(int32_t c) const {
    while (IsDummy(c)) {
      assert(!kids_[c].empty());
      c = kids_[c].front();
    }
    return r_[c];
  }

  void SortSiblings(std::vector<int32_t>* list) {
    for (int32_t c : *list) {
      if (IsDummy(c)) SortSiblings(&kids_[c]);  // depth 1: kids are messages
    }
    std::sort(list->begin(), list->end(), [&](int32_t a, int32_t b) {
      const ThreadRecord& x = Rep(a);
      const ThreadRecord& y = Rep(b);
      if (x.sent != y.sent) return x.sent < y.sent;
      return x.seq < y.seq;
    });
  }

  // ---- step 5

  int32_t NewDummy() {
    kids_.emplace_back();
    parent_.push_back(-1);
    return static_cast<int32_t>(kids_.size() - 1);
  }

  void MergeBySubject() {
    std::unordered_map<std::string_view, int32_t> table;  // 5A
    // 5B: which top-level thread each base subject is gathered under.
    for (int32_t c : roots_) {
      const ThreadRecord& rep = Rep(c);
      if (rep.base_subject.empty()) continue;
      auto [it, inserted] = table.try_emplace(rep.base_subject, c);
      if (inserted) continue;
      const int32_t t = it->second;
      if (!IsDummy(t) &&
          (IsDummy(c) || (r_[t].reply_or_forward && !r_[c].reply_or_forward))) {
        it->second = c;
      }
    }
    // 5C: merge the others into it.
    std::vector<char> top(kids_.size(), 0);
    for (int32_t c : roots_) top[c] = 1;
    std::vector<int32_t> added;
    for (int32_t c : roots_) {
      if (!top[c]) continue;  // already merged under another thread
      const ThreadRecord& rep = Rep(c);
      if (rep.base_subject.empty()) continue;
      auto it = table.find(rep.base_subject);
      assert(it != table.end());
      const int32_t t = it->second;
      if (t == c) continue;
      // 5B keeps a dummy in the table once one was seen, so a dummy here
      // always meets a dummy.
      assert(!IsDummy(c) || IsDummy(t));
      if (IsDummy(c) && !IsDummy(t)) continue;
      if (IsDummy(c)) {  // both dummies: the children become siblings
        std::vector<int32_t> moved = std::move(kids_[c]);
        kids_[c].clear();
        kids_[t].insert(kids_[t].end(), moved.begin(), moved.end());
      } else if (IsDummy(t) ||
                 (r_[c].reply_or_forward && !r_[t].reply_or_forward)) {
        kids_[t].push_back(c);
      } else {  // a new dummy holds both
        const int32_t d = NewDummy();
        top.push_back(1);
        kids_[d] = {t, c};
        top[t] = 0;
        it->second = d;
        added.push_back(d);
      }
      top[c] = 0;
    }
    std::vector<int32_t> roots;
    for (int32_t c : roots_) {
      if (top[c]) roots.push_back(c);
    }
    for (int32_t d : added) {
      if (top[d]) roots.push_back(d);
    }
    roots_.swap(roots);
  }

  ThreadForest ToForest() const {
    ThreadForest f;
    f.nodes.resize(kids_.size());
    for (size_t c = 0; c < kids_.size(); ++c) {
      f.nodes[c].number = IsDummy(static_cast<int32_t>(c)) ? ThreadForest::kDummy
                                                          : r_[c].number;
      int32_t prev = -1;
      for (int32_t k : kids_[c]) {
        if (prev < 0) {
          f.nodes[c].first_child = k;
        } else {
          f.nodes[prev].next_sibling = k;
        }
        prev = k;
      }
    }
    f.roots = roots_;
    return f;
  }

  const std::vector<ThreadRecord>& r_;
  uint64_t steps_left_;
  std::unordered_map<std::string_view, int32_t> ids_;
  std::vector<int32_t> parent_;             // step 1 links
  std::vector<uint32_t> child_count_;       // step 1: children per container
  std::vector<std::vector<int32_t>> kids_;  // from step 2 on
  std::vector<int32_t> roots_;
};

}  // namespace

ThreadForest ThreadReferences(const std::vector<ThreadRecord>& records,
                              uint64_t max_link_steps) {
  return ReferencesThreader(records, max_link_steps).Run();
}

}  // namespace ringmail::imap
