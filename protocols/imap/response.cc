#include "protocols/imap/response.h"

#include <cstdio>

namespace ringmail::imap {
namespace {

std::string_view StatusWord(Status s) {
  switch (s) {
    case Status::kOk: return "OK";
    case Status::kNo: return "NO";
    case Status::kBad: return "BAD";
  }
  return "BAD";
}

void AppendStatusBody(std::string* out, Status status, std::string_view code,
                      std::string_view text) {
  out->append(StatusWord(status));
  if (!code.empty()) {
    out->append(" [");
    out->append(code);
    out->push_back(']');
  }
  out->push_back(' ');
  out->append(text);
  out->append("\r\n");
}

void AppendNumberLine(std::string* out, uint32_t n, std::string_view word) {
  out->append("* ");
  out->append(std::to_string(n));
  out->push_back(' ');
  out->append(word);
  out->append("\r\n");
}

}  // namespace

void AppendTagged(std::string* out, std::string_view tag, Status status,
                  std::string_view code, std::string_view text) {
  out->append(tag);
  out->push_back(' ');
  AppendStatusBody(out, status, code, text);
}

void AppendUntaggedStatus(std::string* out, Status status,
                          std::string_view code, std::string_view text) {
  out->append("* ");
  AppendStatusBody(out, status, code, text);
}

void AppendBye(std::string* out, std::string_view text) {
  out->append("* BYE ");
  out->append(text);
  out->append("\r\n");
}

std::string CodeUidValidity(uint32_t v) { return "UIDVALIDITY " + std::to_string(v); }
std::string CodeUidNext(uint32_t v) { return "UIDNEXT " + std::to_string(v); }
std::string CodeUnseen(uint32_t msn) { return "UNSEEN " + std::to_string(msn); }
std::string CodeHighestModSeq(uint64_t v) {
  return "HIGHESTMODSEQ " + std::to_string(v);
}
std::string CodePermanentFlags(const FlagSet& flags, bool allow_new_keywords) {
  std::string s = "PERMANENTFLAGS " + FormatFlagList(flags);
  if (allow_new_keywords) s.insert(s.size() - 1, s.size() > 17 ? " \\*" : "\\*");
  return s;
}
std::string CodeAppendUid(uint32_t uidvalidity, uint32_t uid) {
  return "APPENDUID " + std::to_string(uidvalidity) + " " + std::to_string(uid);
}
std::string CodeCopyUid(uint32_t uidvalidity, std::string_view src_set,
                        std::string_view dst_set) {
  return "COPYUID " + std::to_string(uidvalidity) + " " + std::string(src_set) +
         " " + std::string(dst_set);
}
std::string CodeCapability(std::string_view capabilities) {
  return "CAPABILITY " + std::string(capabilities);
}

std::string FormatFlagList(const FlagSet& flags) {
  static constexpr std::pair<uint8_t, std::string_view> kNames[] = {
      {kFlagAnswered, "\\Answered"}, {kFlagFlagged, "\\Flagged"},
      {kFlagDeleted, "\\Deleted"},   {kFlagSeen, "\\Seen"},
      {kFlagDraft, "\\Draft"},       {kFlagRecent, "\\Recent"},
  };
  std::string s = "(";
  for (const auto& [bit, name] : kNames) {
    if (flags.system & bit) {
      if (s.size() > 1) s.push_back(' ');
      s.append(name);
    }
  }
  for (const std::string& k : flags.keywords) {
    if (s.size() > 1) s.push_back(' ');
    s.append(k);
  }
  s.push_back(')');
  return s;
}

void AppendExists(std::string* out, uint32_t n) { AppendNumberLine(out, n, "EXISTS"); }
void AppendRecent(std::string* out, uint32_t n) { AppendNumberLine(out, n, "RECENT"); }
void AppendExpunge(std::string* out, uint32_t msn) {
  AppendNumberLine(out, msn, "EXPUNGE");
}

void AppendFlags(std::string* out, const FlagSet& flags) {
  out->append("* FLAGS ");
  out->append(FormatFlagList(flags));
  out->append("\r\n");
}

void AppendFetch(std::string* out, uint32_t msn, std::string_view items) {
  out->append("* ");
  out->append(std::to_string(msn));
  out->append(" FETCH (");
  out->append(items);
  out->append(")\r\n");
}

void AppendSearch(std::string* out, const std::vector<uint32_t>& numbers,
                  uint64_t highest_modseq) {
  out->append("* SEARCH");
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

void AppendEnabled(std::string* out, const std::vector<std::string>& caps) {
  out->append("* ENABLED");
  for (const std::string& c : caps) {
    out->push_back(' ');
    out->append(c);
  }
  out->append("\r\n");
}

void AppendCapability(std::string* out, std::string_view capabilities) {
  out->append("* CAPABILITY ");
  out->append(capabilities);
  out->append("\r\n");
}

void AppendImapString(std::string* out, std::string_view s) {
  bool quotable = s.size() <= 1024;
  for (char c : s) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (u == 0 || c == '\r' || c == '\n' || u >= 0x80) quotable = false;
  }
  if (!quotable) {
    out->push_back('{');
    out->append(std::to_string(s.size()));
    out->append("}\r\n");
    out->append(s);
    return;
  }
  out->push_back('"');
  for (char c : s) {
    if (c == '"' || c == '\\') out->push_back('\\');
    out->push_back(c);
  }
  out->push_back('"');
}

void AppendList(std::string* out, std::string_view command, uint32_t attrs,
                char delimiter, std::string_view mailbox_wire) {
  static constexpr std::pair<uint32_t, std::string_view> kNames[] = {
      {kAttrNoinferiors, "\\Noinferiors"}, {kAttrNoselect, "\\Noselect"},
      {kAttrMarked, "\\Marked"},           {kAttrUnmarked, "\\Unmarked"},
      {kAttrHasChildren, "\\HasChildren"}, {kAttrHasNoChildren, "\\HasNoChildren"},
      {kAttrNonExistent, "\\NonExistent"}, {kAttrSubscribed, "\\Subscribed"},
      {kAttrAll, "\\All"},                 {kAttrArchive, "\\Archive"},
      {kAttrDrafts, "\\Drafts"},           {kAttrFlagged, "\\Flagged"},
      {kAttrJunk, "\\Junk"},               {kAttrSent, "\\Sent"},
      {kAttrTrash, "\\Trash"},
  };
  out->append("* ");
  out->append(command);
  out->append(" (");
  bool first = true;
  for (const auto& [bit, name] : kNames) {
    if (attrs & bit) {
      if (!first) out->push_back(' ');
      first = false;
      out->append(name);
    }
  }
  out->append(") ");
  if (delimiter == '\0') {
    out->append("NIL");
  } else {
    out->push_back('"');
    if (delimiter == '"' || delimiter == '\\') out->push_back('\\');
    out->push_back(delimiter);
    out->push_back('"');
  }
  out->push_back(' ');
  AppendImapString(out, mailbox_wire);
  out->append("\r\n");
}

void AppendStatus(std::string* out, std::string_view mailbox_wire,
                  std::string_view items) {
  out->append("* STATUS ");
  AppendImapString(out, mailbox_wire);
  out->append(" (");
  out->append(items);
  out->append(")\r\n");
}

void AppendId(std::string* out,
              const std::vector<std::pair<std::string, std::string>>& params) {
  if (params.empty()) {
    out->append("* ID NIL\r\n");
    return;
  }
  out->append("* ID (");
  bool first = true;
  for (const auto& [k, v] : params) {
    if (!first) out->push_back(' ');
    first = false;
    AppendImapString(out, k);
    out->push_back(' ');
    AppendImapString(out, v);
  }
  out->append(")\r\n");
}

void AppendNamespace(std::string* out, std::string_view prefix, char delimiter) {
  out->append("* NAMESPACE ((");
  AppendImapString(out, prefix);
  out->push_back(' ');
  out->append(std::string_view(delimiter == '\\' ? "\"\\\\\"" : ""));
  if (delimiter != '\\') {
    out->push_back('"');
    out->push_back(delimiter);
    out->push_back('"');
  }
  out->append(")) NIL NIL\r\n");
}

std::string FormatInternalDate(int64_t unix_seconds, int zone_minutes) {
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr",
                                            "May", "Jun", "Jul", "Aug",
                                            "Sep", "Oct", "Nov", "Dec"};
  const int64_t local = unix_seconds + int64_t{zone_minutes} * 60;
  int64_t days = local / 86400;
  int64_t secs = local % 86400;
  if (secs < 0) secs += 86400, --days;
  // H. Hinnant's civil_from_days.
  const int64_t z = days + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  const int64_t y = static_cast<int64_t>(yoe) + era * 400 + (m <= 2);
  const int zabs = zone_minutes < 0 ? -zone_minutes : zone_minutes;
  char buf[64];
  std::snprintf(buf, sizeof buf, "\"%02u-%s-%04lld %02d:%02d:%02d %c%02d%02d\"",
                d, kMonths[m - 1], static_cast<long long>(y),
                static_cast<int>(secs / 3600), static_cast<int>(secs / 60 % 60),
                static_cast<int>(secs % 60), zone_minutes < 0 ? '-' : '+',
                zabs / 60, zabs % 60);
  return buf;
}

std::string BuildCapabilities(const CapabilityOptions& opt) {
  std::string s = "IMAP4rev1 LITERAL+";
  if (!opt.authenticated) {
    s += " SASL-IR";
    if (opt.starttls) s += " STARTTLS";
    if (opt.login_disabled) {
      s += " LOGINDISABLED";
    } else {
      s += " AUTH=PLAIN AUTH=LOGIN";
    }
  }
  s += " ENABLE ID IDLE NAMESPACE UNSELECT UIDPLUS MOVE CHILDREN SPECIAL-USE";
  s += " ESEARCH SORT SORT=DISPLAY THREAD=ORDEREDSUBJECT THREAD=REFERENCES";
  if (opt.condstore) s += " CONDSTORE QRESYNC";  // RFC 7162
  if (opt.quota) s += " QUOTA QUOTA=RES-STORAGE QUOTA=RES-MESSAGE";
  return s;
}

}  // namespace ringmail::imap
