// The IMAP mode's operation names and mixes (README "IMAP operations").
#ifndef RINGMAIL_BENCH_RINGBENCH_IMAP_OPS_H_
#define RINGMAIL_BENCH_RINGBENCH_IMAP_OPS_H_

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

namespace ringmail::ringbench {

inline constexpr char kDefaultImapMix[] =
    "fetch_summary=30,fetch_body=20,store=15,search=10,append=8,expunge=5,"
    "idle=5,noop=5,logout=2";
// --mix=keywords: several sessions per mailbox adding new keywords while
// others fetch FLAGS with bodies, expunge and come and go (issue 15).
inline constexpr std::string_view kKeywordsMixName = "keywords";
inline constexpr char kKeywordsImapMix[] =
    "fetch_flags_body=22,fetch_header=10,store_keyword=18,append_keywords=14,poll=12,"
    "expunge_any=8,reselect=8,logout=3";

// Operations that need the state tracker (--check-state).
inline const std::vector<std::string>& StateImapOps() {
  static const std::vector<std::string> ops = {"fetch_flags_body", "fetch_header",
                                               "store_keyword",    "append_keywords",
                                               "poll",             "expunge_any",
                                               "reselect"};
  return ops;
}

inline const std::vector<std::string>& ImapOps() {
  static const std::vector<std::string> ops = [] {
    std::vector<std::string> v = {"fetch_summary", "fetch_body", "store", "search", "append",
                                  "expunge", "idle", "noop", "logout"};
    v.insert(v.end(), StateImapOps().begin(), StateImapOps().end());
    return v;
  }();
  return ops;
}

// The mix spec a --mix value stands for ("" = default, "keywords" = preset).
inline std::string ResolveImapMix(std::string_view mix) {
  if (mix.empty()) return kDefaultImapMix;
  if (mix == kKeywordsMixName) return kKeywordsImapMix;
  return std::string(mix);
}

// True when the (resolved) spec names an operation of StateImapOps().
inline bool MixNeedsStateCheck(std::string_view spec) {
  for (const std::string& op : StateImapOps()) {
    for (size_t p = spec.find(op); p != std::string_view::npos; p = spec.find(op, p + 1)) {
      bool starts = p == 0 || spec[p - 1] == ',';
      bool ends = p + op.size() < spec.size() && spec[p + op.size()] == '=';
      if (starts && ends) return true;
    }
  }
  return false;
}

}  // namespace ringmail::ringbench

#endif  // RINGMAIL_BENCH_RINGBENCH_IMAP_OPS_H_
