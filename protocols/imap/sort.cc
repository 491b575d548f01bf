#include "protocols/imap/sort.h"

#include <algorithm>
#include <cassert>
#include <utility>

#include "protocols/imap/base_subject.h"
#include "protocols/mime/address.h"
#include "protocols/mime/date_time.h"
#include "protocols/mime/encoded_word.h"

namespace ringmail::imap {
namespace {

struct KeyName {
  std::string_view name;
  SortKey key;
};
constexpr KeyName kKeyNames[] = {
    {"ARRIVAL", SortKey::kArrival},         {"CC", SortKey::kCc},
    {"DATE", SortKey::kDate},               {"FROM", SortKey::kFrom},
    {"SIZE", SortKey::kSize},               {"SUBJECT", SortKey::kSubject},
    {"TO", SortKey::kTo},                   {"DISPLAYFROM", SortKey::kDisplayFrom},
    {"DISPLAYTO", SortKey::kDisplayTo},
};

void UpperAscii(std::string* s) {
  for (char& c : *s) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
  }
}

std::string Capped(std::string s) {
  if (s.size() > kMaxSortKeyOctets) s.resize(kMaxSortKeyOctets);
  return s;
}

// The first address that is a mailbox, not a group marker.
const mime::Address* FirstMailbox(const std::vector<mime::Address>& list) {
  for (const mime::Address& a : list) {
    if (a.host) return &a;
  }
  return nullptr;
}

template <typename T>
int Compare(const T& a, const T& b) {
  return a < b ? -1 : (b < a ? 1 : 0);
}

int CompareBy(SortKey key, const SortRecord& a, const SortRecord& b) {
  switch (key) {
    case SortKey::kArrival: return Compare(a.arrival, b.arrival);
    case SortKey::kCc: return a.cc.compare(b.cc);
    case SortKey::kDate: return Compare(a.sent, b.sent);
    case SortKey::kFrom: return a.from.compare(b.from);
    case SortKey::kSize: return Compare(a.size, b.size);
    case SortKey::kSubject: return a.subject.compare(b.subject);
    case SortKey::kTo: return a.to.compare(b.to);
    case SortKey::kDisplayFrom: return a.display_from.compare(b.display_from);
    case SortKey::kDisplayTo: return a.display_to.compare(b.display_to);
  }
  return 0;
}

}  // namespace

SearchStatus CheckSortCharset(const Arg& charset, ArgError* err) {
  std::string scratch;
  std::string_view cs;
  if (!AstringValue(charset, &scratch, &cs)) {
    err->text = "Invalid charset";
    return SearchStatus::kBad;
  }
  if (!EqualsIgnoreCase(cs, "UTF-8") && !EqualsIgnoreCase(cs, "US-ASCII")) {
    err->text = kBadCharsetReply;
    return SearchStatus::kBadCharset;
  }
  return SearchStatus::kOk;
}

SearchStatus ParseSort(ArgList args, SortCommand* out, ArgError* err) {
  out->criteria.clear();
  if (args.size() < 3 || args[0].type != ArgType::kList) {
    err->text = "SORT takes (criteria) charset search-keys";
    return SearchStatus::kBad;
  }
  const ArgList list = Children(args[0]);
  bool reverse = false;
  for (const Arg& a : list) {
    if (a.type != ArgType::kAtom) {
      err->text = "Invalid sort criterion";
      return SearchStatus::kBad;
    }
    if (EqualsIgnoreCase(a.text, "REVERSE")) {
      if (reverse) {
        err->text = "REVERSE must be followed by a sort key";
        return SearchStatus::kBad;
      }
      reverse = true;
      continue;
    }
    const KeyName* found = nullptr;
    for (const KeyName& k : kKeyNames) {
      if (EqualsIgnoreCase(k.name, a.text)) found = &k;
    }
    if (found == nullptr) {
      err->text = "Unknown sort criterion";
      return SearchStatus::kBad;
    }
    if (out->criteria.size() >= kMaxSortCriteria) {
      err->text = "Too many sort criteria";
      return SearchStatus::kBad;
    }
    out->criteria.push_back(SortCriterion{found->key, reverse});
    reverse = false;
  }
  if (reverse || out->criteria.empty()) {
    err->text = out->criteria.empty() ? "Missing sort criteria"
                                      : "REVERSE must be followed by a sort key";
    return SearchStatus::kBad;
  }
  if (SearchStatus s = CheckSortCharset(args[1], err); s != SearchStatus::kOk) {
    return s;
  }
  return ParseSearch(args.From(2), &out->search, err);
}

bool SortNeedsHeaders(const std::vector<SortCriterion>& criteria) {
  for (const SortCriterion& c : criteria) {
    if (c.key != SortKey::kArrival && c.key != SortKey::kSize) return true;
  }
  return false;
}

int64_t SentDate(const std::optional<std::string>& date, int64_t internal_date) {
  if (!date) return internal_date;
  return mime::ParseDateTime(*date).value_or(internal_date);
}

std::string AddressSortKey(std::string_view address_list) {
  const std::vector<mime::Address> list =
      mime::ParseAddressList(address_list, kMaxSortAddresses);
  const mime::Address* a = FirstMailbox(list);
  if (a == nullptr || !a->mailbox) return "";
  std::string key = Capped(*a->mailbox);
  UpperAscii(&key);
  return key;
}

std::string DisplaySortKey(std::string_view address_list) {
  const std::vector<mime::Address> list =
      mime::ParseAddressList(address_list, kMaxSortAddresses);
  const mime::Address* a = FirstMailbox(list);
  if (a == nullptr) return "";
  std::string key;
  if (a->name) key = mime::DecodeEncodedWords(*a->name);
  if (key.empty() && a->mailbox) {
    key = *a->mailbox;
    if (a->host) key += "@" + *a->host;
  }
  key = Capped(std::move(key));
  UpperAscii(&key);
  return key;
}

void FillSortRecord(const std::vector<SortCriterion>& criteria,
                    const SortHeaders& h, SortRecord* r) {
  auto value = [](const std::optional<std::string>& v) -> std::string_view {
    return v ? std::string_view(*v) : std::string_view();
  };
  for (const SortCriterion& c : criteria) {
    switch (c.key) {
      case SortKey::kArrival:
      case SortKey::kSize:
        break;
      case SortKey::kDate:
        r->sent = SentDate(h.date, r->arrival);
        break;
      case SortKey::kSubject:
        r->subject = Capped(ExtractBaseSubject(value(h.subject)).text);
        break;
      case SortKey::kFrom:
        r->from = AddressSortKey(value(h.from));
        break;
      case SortKey::kTo:
        r->to = AddressSortKey(value(h.to));
        break;
      case SortKey::kCc:
        r->cc = AddressSortKey(value(h.cc));
        break;
      case SortKey::kDisplayFrom:
        r->display_from = DisplaySortKey(value(h.from));
        break;
      case SortKey::kDisplayTo:
        r->display_to = DisplaySortKey(value(h.to));
        break;
    }
  }
}

size_t SortRecordBytes(const SortRecord& r) {
  return sizeof(SortRecord) + r.subject.capacity() + r.from.capacity() +
         r.to.capacity() + r.cc.capacity() + r.display_from.capacity() +
         r.display_to.capacity();
}

std::vector<uint32_t> SortMessages(std::vector<SortRecord> records,
                                   const std::vector<SortCriterion>& criteria) {
  std::sort(records.begin(), records.end(),
            [&criteria](const SortRecord& a, const SortRecord& b) {
              for (const SortCriterion& c : criteria) {
                const int cmp = CompareBy(c.key, a, b);
                int d = (cmp > 0) - (cmp < 0);
                if (c.reverse) d = -d;
                if (d != 0) return d < 0;
              }
              return a.seq < b.seq;
            });
  std::vector<uint32_t> out;
  out.reserve(records.size());
  for (const SortRecord& r : records) out.push_back(r.number);
  return out;
}

void AppendSort(std::string* out, const std::vector<uint32_t>& numbers,
                uint64_t highest_modseq) {
  out->append("* SORT");
  for (uint32_t n : numbers) {
    out->push_back(' ');
    out->append(std::to_string(n));
  }
  if (highest_modseq != 0 && !numbers.empty()) {
    out->append(" (MODSEQ ");
    out->append(std::to_string(highest_modseq));
    out->push_back(')');
  }
  out->append("\r\n");
}

}  // namespace ringmail::imap
