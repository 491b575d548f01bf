#include "protocols/imap/esearch.h"

#include <cassert>

#include "protocols/imap/sequence_set.h"

namespace ringmail::imap {

bool ParseSearchReturn(ArgList args, SearchReturn* ret, ArgList* rest,
                       ArgError* err) {
  *ret = SearchReturn{};
  *rest = args;
  if (args.empty() || args[0].type != ArgType::kAtom ||
      !EqualsIgnoreCase(args[0].text, "RETURN")) {
    return true;
  }
  if (args.size() < 2 || args[1].type != ArgType::kList) {
    err->text = "RETURN takes a list of options";
    return false;
  }
  ret->extended = true;
  for (const Arg& a : Children(args[1])) {
    static constexpr std::pair<std::string_view, SearchReturnOption> kOptions[] = {
        {"MIN", kReturnMin}, {"MAX", kReturnMax},
        {"ALL", kReturnAll}, {"COUNT", kReturnCount},
    };
    bool known = false;
    if (a.type == ArgType::kAtom) {
      for (const auto& [name, bit] : kOptions) {
        if (EqualsIgnoreCase(a.text, name)) {
          ret->options |= bit;
          known = true;
        }
      }
    }
    if (!known) {
      err->text = "Unknown RETURN option";
      return false;
    }
  }
  if (ret->options == 0) ret->options = kReturnAll;  // RFC 4731 §3.1
  *rest = args.From(2);
  return true;
}

void AppendEsearch(std::string* out, std::string_view tag, bool uid,
                   const SearchReturn& ret, const std::vector<uint32_t>& hits,
                   uint64_t highest_modseq) {
  assert(tag.find_first_of("\"\\") == std::string_view::npos);
  out->append("* ESEARCH (TAG \"");
  out->append(tag);
  out->append("\")");
  if (uid) out->append(" UID");
  if (!hits.empty()) {
    if (ret.options & kReturnMin) {
      out->append(" MIN ");
      out->append(std::to_string(hits.front()));
    }
    if (ret.options & kReturnMax) {
      out->append(" MAX ");
      out->append(std::to_string(hits.back()));
    }
  }
  if (ret.options & kReturnCount) {
    out->append(" COUNT ");
    out->append(std::to_string(hits.size()));
  }
  if (!hits.empty() && (ret.options & kReturnAll)) {
    out->append(" ALL ");
    out->append(FormatNumberSet(hits));
  }
  if (highest_modseq != 0 && !hits.empty()) {
    out->append(" MODSEQ ");
    out->append(std::to_string(highest_modseq));
  }
  out->append("\r\n");
}

}  // namespace ringmail::imap
