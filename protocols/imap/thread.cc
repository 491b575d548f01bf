#include "protocols/imap/thread.h"

#include <algorithm>
#include <cassert>
#include <numeric>

#include "protocols/imap/base_subject.h"
#include "protocols/mime/message_id.h"

namespace ringmail::imap {
namespace {

std::string_view ValueOf(const std::optional<std::string>& v) {
  return v ? std::string_view(*v) : std::string_view();
}

// References ids: the first and the last kMaxThreadReferences - 1.
std::vector<std::string> ReferenceIds(std::string_view value) {
  std::vector<std::string_view> ids;
  mime::ForEachMessageId(value, [&](std::string_view id) {
    ids.push_back(id);
    return true;
  });
  std::vector<std::string> out;
  if (ids.size() > kMaxThreadReferences) {
    out.emplace_back(ids.front());
    ids.erase(ids.begin(), ids.end() - (kMaxThreadReferences - 1));
  }
  for (std::string_view id : ids) out.emplace_back(id);
  return out;
}

}  // namespace

SearchStatus ParseThread(ArgList args, ThreadCommand* out, ArgError* err) {
  if (args.size() < 3 || args[0].type != ArgType::kAtom) {
    err->text = "THREAD takes an algorithm, a charset and search keys";
    return SearchStatus::kBad;
  }
  if (EqualsIgnoreCase(args[0].text, "REFERENCES")) {
    out->algorithm = ThreadAlgorithm::kReferences;
  } else if (EqualsIgnoreCase(args[0].text, "ORDEREDSUBJECT")) {
    out->algorithm = ThreadAlgorithm::kOrderedSubject;
  } else {
    err->text = "Unknown thread algorithm";
    return SearchStatus::kBad;
  }
  if (SearchStatus s = CheckSortCharset(args[1], err); s != SearchStatus::kOk) {
    return s;
  }
  return ParseSearch(args.From(2), &out->search, err);
}

void FillThreadRecord(ThreadAlgorithm algorithm, const SortHeaders& h,
                      int64_t internal_date, ThreadRecord* r) {
  r->sent = SentDate(h.date, internal_date);
  BaseSubject bs = ExtractBaseSubject(ValueOf(h.subject));
  if (bs.text.size() > kMaxSortKeyOctets) bs.text.resize(kMaxSortKeyOctets);
  r->base_subject = std::move(bs.text);
  r->reply_or_forward = bs.reply_or_forward;
  if (algorithm != ThreadAlgorithm::kReferences) return;
  r->message_id = mime::FirstMessageId(ValueOf(h.message_id));
  // §4 step 1: References, or else the first valid id of In-Reply-To.
  r->references = ReferenceIds(ValueOf(h.references));
  if (r->references.empty()) {
    std::string first = mime::FirstMessageId(ValueOf(h.in_reply_to));
    if (!first.empty()) r->references.push_back(std::move(first));
  }
}

size_t ThreadRecordBytes(const ThreadRecord& r) {
  size_t n = sizeof(ThreadRecord) + r.base_subject.capacity() +
             r.message_id.capacity() +
             r.references.capacity() * sizeof(std::string);
  for (const std::string& s : r.references) n += s.capacity();
  return n;
}

ThreadForest ThreadOrderedSubject(const std::vector<ThreadRecord>& records) {
  std::vector<int32_t> order(records.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int32_t a, int32_t b) {
    const ThreadRecord& x = records[a];
    const ThreadRecord& y = records[b];
    if (int c = x.base_subject.compare(y.base_subject); c != 0) return c < 0;
    if (x.sent != y.sent) return x.sent < y.sent;
    return x.seq < y.seq;
  });
  ThreadForest f;
  f.nodes.resize(records.size());
  for (size_t i = 0; i < records.size(); ++i) f.nodes[i].number = records[i].number;
  for (size_t i = 0; i < order.size();) {
    const int32_t root = order[i];
    f.roots.push_back(root);
    int32_t prev = -1;
    size_t j = i + 1;
    for (; j < order.size() &&
           records[order[j]].base_subject == records[root].base_subject;
         ++j) {
      if (prev < 0) {
        f.nodes[root].first_child = order[j];
      } else {
        f.nodes[prev].next_sibling = order[j];
      }
      prev = order[j];
    }
    i = j;
  }
  std::sort(f.roots.begin(), f.roots.end(), [&](int32_t a, int32_t b) {
    if (records[a].sent != records[b].sent) return records[a].sent < records[b].sent;
    return records[a].seq < records[b].seq;
  });
  return f;
}

std::string FormatThreads(const ThreadForest& f) {
  const auto& n = f.nodes;
  std::string out;
  // Writes the chain of single children from `node` (nothing for a dummy)
  // and returns the first child of the node where it branches, or -1 at a
  // leaf. thread-members = nz-number *(SP nz-number) [SP thread-nested].
  auto chain = [&](int32_t node) -> int32_t {
    if (n[node].number == ThreadForest::kDummy) return n[node].first_child;
    out.append(std::to_string(n[node].number));
    while (n[node].first_child >= 0 && n[n[node].first_child].next_sibling < 0) {
      node = n[node].first_child;
      out.push_back(' ');
      out.append(std::to_string(n[node].number));
    }
    if (n[node].first_child < 0) return -1;
    out.push_back(' ');
    return n[node].first_child;
  };
  // Each entry is the next sibling to open in a thread-nested list; -1
  // once the list is complete.
  std::vector<int32_t> stack;
  for (int32_t root : f.roots) {
    // A dummy with one child would print "((x))": print the child instead.
    while (n[root].number == ThreadForest::kDummy && n[root].first_child >= 0 &&
           n[n[root].first_child].next_sibling < 0) {
      root = n[root].first_child;
    }
    if (n[root].number == ThreadForest::kDummy && n[root].first_child < 0) continue;
    out.push_back('(');
    const int32_t k = chain(root);
    if (k >= 0) stack.push_back(k);
    while (!stack.empty()) {
      const int32_t c = stack.back();
      if (c < 0) {
        stack.pop_back();
        if (!stack.empty()) out.push_back(')');  // closes the branching child
        continue;
      }
      stack.back() = n[c].next_sibling;
      out.push_back('(');
      const int32_t kk = chain(c);
      if (kk < 0) {
        out.push_back(')');
      } else {
        stack.push_back(kk);
      }
    }
    out.push_back(')');
  }
  return out;
}

void AppendThread(std::string* out, const ThreadForest& forest) {
  out->append("* THREAD");
  const std::string threads = FormatThreads(forest);
  if (!threads.empty()) {
    out->push_back(' ');
    out->append(threads);
  }
  out->append("\r\n");
}

}  // namespace ringmail::imap
