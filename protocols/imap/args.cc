#include "protocols/imap/args.h"

#include <array>

#include "protocols/imap/limits.h"
#include "protocols/imap/mutf7.h"

namespace ringmail::imap {
namespace {

bool Err(ArgError* err, std::string_view text) {
  err->text = text;
  return false;
}

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
  }
  return out;
}

int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  // H. Hinnant's algorithm; proleptic Gregorian.
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

bool Digits(std::string_view s, int* v) {
  if (s.empty()) return false;
  int n = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    n = n * 10 + (c - '0');
  }
  *v = n;
  return true;
}

constexpr std::array<std::string_view, 12> kMonths = {
    "Jan", "Feb", "Mar", "Apr", "May", "Jun",
    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

// "d-Mon-yyyy" with 1- or 2-digit day (space-padded when `fixed`).
bool ParseDateText(std::string_view s, int64_t* days) {
  const size_t d1 = s.find('-');
  if (d1 == std::string_view::npos || s.size() != d1 + 9) return false;
  std::string_view day = s.substr(0, d1);
  if (day.size() == 2 && day[0] == ' ') day.remove_prefix(1);
  int d, y;
  if (day.empty() || day.size() > 2 || !Digits(day, &d)) return false;
  const std::string_view mon = s.substr(d1 + 1, 3);
  if (s[d1 + 4] != '-') return false;
  if (!Digits(s.substr(d1 + 5, 4), &y)) return false;
  unsigned m = 0;
  for (unsigned i = 0; i < 12; ++i) {
    if (EqualsIgnoreCase(kMonths[i], mon)) m = i + 1;
  }
  static constexpr int kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m == 0 || d < 1 || d > kDays[m - 1]) return false;
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (m == 2 && d == 29 && !leap) return false;
  *days = DaysFromCivil(y, m, static_cast<unsigned>(d));
  return true;
}

}  // namespace

bool ParseMailbox(const Arg& a, bool utf8_accept, std::string* out,
                  ArgError* err) {
  std::string scratch;
  std::string_view v;
  if (!AstringValue(a, &scratch, &v)) return Err(err, "Invalid mailbox name");
  if (v.empty()) return Err(err, "Empty mailbox name");
  if (v.size() > kMaxMailboxName) return Err(err, "Mailbox name too long");
  if (!MailboxNameToUtf8(v, utf8_accept, out)) {
    return Err(err, "Mailbox name is not valid modified UTF-7");
  }
  // RFC 3501 §5.1: INBOX is case-insensitive.
  if (EqualsIgnoreCase(*out, "INBOX")) *out = "INBOX";
  if (out->size() > kMaxMailboxName) return Err(err, "Mailbox name too long");
  return true;
}

bool AddFlag(std::string_view flag, bool storable, FlagSet* set,
             ArgError* err) {
  if (flag.empty()) return Err(err, "Empty flag");
  if (flag[0] == '\\') {
    static constexpr std::pair<std::string_view, uint8_t> kSystem[] = {
        {"\\Seen", kFlagSeen},       {"\\Answered", kFlagAnswered},
        {"\\Flagged", kFlagFlagged}, {"\\Deleted", kFlagDeleted},
        {"\\Draft", kFlagDraft},     {"\\Recent", kFlagRecent},
    };
    for (const auto& [name, bit] : kSystem) {
      if (EqualsIgnoreCase(name, flag)) {
        if (storable && bit == kFlagRecent) {
          return Err(err, "\\Recent flag cannot be changed");
        }
        set->system |= bit;
        return true;
      }
    }
    if (storable) return Err(err, "Invalid system flag");
    return Err(err, "Unknown system flag");
  }
  for (char c : flag) {
    // flag-keyword = atom; atom-specials are already excluded by the reader
    // except these.
    if (c == '[' || c == ']' || c == '%' || c == '*') {
      return Err(err, "Invalid flag");
    }
  }
  if (set->keywords.size() >= kMaxFlags) return Err(err, "Too many flags");
  for (const std::string& k : set->keywords) {
    if (EqualsIgnoreCase(k, flag)) return true;  // keywords are caseless
  }
  set->keywords.emplace_back(flag);
  return true;
}

bool ParseFlagList(const Arg& a, bool storable, FlagSet* set, ArgError* err) {
  if (a.type != ArgType::kList) return Err(err, "Flag list expected");
  for (const Arg& f : Children(a)) {
    if (f.type != ArgType::kAtom) return Err(err, "Invalid flag");
    if (!AddFlag(f.text, storable, set, err)) return false;
  }
  return true;
}

bool ParseDateTime(std::string_view s, int64_t* unix_seconds,
                   int* zone_minutes) {
  // "dd-Mon-yyyy hh:mm:ss +zzzz" (day may be " d"): 26 octets.
  if (s.size() != 26 || s[11] != ' ' || s[14] != ':' || s[17] != ':' ||
      s[20] != ' ' || (s[21] != '+' && s[21] != '-')) {
    return false;
  }
  int64_t days;
  if (!ParseDateText(s.substr(0, 11), &days)) return false;
  int hh, mm, ss, zh, zm;
  if (!Digits(s.substr(12, 2), &hh) || !Digits(s.substr(15, 2), &mm) ||
      !Digits(s.substr(18, 2), &ss) || !Digits(s.substr(22, 2), &zh) ||
      !Digits(s.substr(24, 2), &zm)) {
    return false;
  }
  if (hh > 23 || mm > 59 || ss > 60 || zm > 59) return false;
  const int zone = (zh * 60 + zm) * (s[21] == '-' ? -1 : 1);
  *zone_minutes = zone;
  *unix_seconds = days * 86400 + hh * 3600 + mm * 60 + ss - zone * 60;
  return true;
}

bool ParseDate(std::string_view s, int64_t* days) {
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') {
    s = s.substr(1, s.size() - 2);
  }
  return ParseDateText(s, days);
}

bool ParseStore(ArgList args, StoreArgs* out, ArgError* err) {
  if (args.size() < 3) return Err(err, "Missing STORE arguments");
  const Arg& set = args[0];
  if (set.type != ArgType::kNumber && set.type != ArgType::kSequenceSet) {
    return Err(err, "Invalid sequence set");
  }
  out->set = set.text;
  size_t i = 1;
  if (args[i].type == ArgType::kList) {
    // RFC 7162 §3.1.3: (UNCHANGEDSINCE mod-sequence-valzer)
    ArgList mods = Children(args[i]);
    if (mods.size() != 2 || !EqualsIgnoreCase(mods[0].text, "UNCHANGEDSINCE") ||
        mods[1].type != ArgType::kNumber ||
        mods[1].number > (uint64_t{1} << 63) - 1) {  // RFC 7162 §7
      return Err(err, "Invalid STORE modifier");
    }
    out->unchangedsince = mods[1].number;
    ++i;
  }
  if (i >= args.size()) {
    return Err(err, "Missing STORE arguments");
  }
  std::string_view item = args[i].type == ArgType::kAtom ? args[i].text : "";
  if (!item.empty() && (item[0] == '+' || item[0] == '-')) {
    out->mode = item[0] == '+' ? StoreMode::kAdd : StoreMode::kRemove;
    item.remove_prefix(1);
  }
  if (item.size() >= 7 && EqualsIgnoreCase(item.substr(item.size() - 7), ".SILENT")) {
    out->silent = true;
    item.remove_suffix(7);
  }
  if (!EqualsIgnoreCase(item, "FLAGS")) return Err(err, "Invalid STORE item");
  ++i;
  if (i >= args.size()) return Err(err, "Missing flags");
  if (args[i].type == ArgType::kList) {
    if (i + 1 != args.size()) return Err(err, "Extra STORE arguments");
    return ParseFlagList(args[i], true, &out->flags, err);
  }
  // flag *(SP flag) without parentheses (RFC 3501 §9 store-att-flags).
  for (const Arg& f : args.From(i)) {
    if (f.type != ArgType::kAtom) return Err(err, "Invalid flag");
    if (!AddFlag(f.text, true, &out->flags, err)) return false;
  }
  return true;
}

bool ParseStatus(ArgList args, bool utf8_accept, std::string* mailbox,
                 uint8_t* items, ArgError* err) {
  if (args.size() != 2 || args[1].type != ArgType::kList) {
    return Err(err, "Invalid STATUS arguments");
  }
  if (!ParseMailbox(args[0], utf8_accept, mailbox, err)) return false;
  *items = 0;
  static constexpr std::pair<std::string_view, uint8_t> kItems[] = {
      {"MESSAGES", kStatusMessages},       {"RECENT", kStatusRecent},
      {"UIDNEXT", kStatusUidNext},         {"UIDVALIDITY", kStatusUidValidity},
      {"UNSEEN", kStatusUnseen},           {"HIGHESTMODSEQ", kStatusHighestModSeq},
  };
  for (const Arg& a : Children(args[1])) {
    bool known = false;
    for (const auto& [name, bit] : kItems) {
      if (a.type == ArgType::kAtom && EqualsIgnoreCase(name, a.text)) {
        *items |= bit;
        known = true;
      }
    }
    if (!known) return Err(err, "Unknown STATUS item");
  }
  if (*items == 0) return Err(err, "Empty STATUS item list");
  return true;
}

bool ParseAppend(ArgList args, bool utf8_accept, AppendArgs* out,
                 ArgError* err) {
  if (args.empty() || args.size() > 3) return Err(err, "Invalid APPEND arguments");
  if (!ParseMailbox(args[0], utf8_accept, &out->mailbox, err)) return false;
  size_t i = 1;
  if (i < args.size() && args[i].type == ArgType::kList) {
    if (!ParseFlagList(args[i], true, &out->flags, err)) return false;
    ++i;
  }
  if (i < args.size()) {
    int64_t t;
    int zone;
    if (args[i].type != ArgType::kQuoted || !ParseDateTime(args[i].text, &t, &zone)) {
      return Err(err, "Invalid APPEND date-time");
    }
    out->internal_date = t;
    ++i;
  }
  if (i != args.size()) return Err(err, "Invalid APPEND arguments");
  return true;
}

bool ParseEnable(ArgList args, std::vector<std::string>* caps, ArgError* err) {
  if (args.empty()) return Err(err, "Missing ENABLE capabilities");
  if (args.size() > kMaxFlags) return Err(err, "Too many capabilities");
  for (const Arg& a : args) {
    if (a.type != ArgType::kAtom) return Err(err, "Invalid capability");
    caps->push_back(Upper(a.text));
  }
  return true;
}

bool ParseId(ArgList args,
             std::vector<std::pair<std::string, std::optional<std::string>>>* params,
             ArgError* err) {
  if (args.size() != 1) return Err(err, "Invalid ID arguments");
  if (args[0].type == ArgType::kNil) return true;
  if (args[0].type != ArgType::kList) return Err(err, "Invalid ID arguments");
  ArgList l = Children(args[0]);
  if (l.size() % 2 != 0) return Err(err, "Invalid ID parameter list");
  if (l.size() / 2 > kMaxIdParams) return Err(err, "Too many ID parameters");
  std::string scratch;
  for (size_t i = 0; i < l.size(); i += 2) {
    std::string_view k, v;
    if (!StringValue(l[i], &scratch, &k) || k.size() > 30) {
      return Err(err, "Invalid ID field");
    }
    std::pair<std::string, std::optional<std::string>> p{std::string(k), {}};
    if (l[i + 1].type != ArgType::kNil) {
      if (!StringValue(l[i + 1], &scratch, &v) || v.size() > 1024) {
        return Err(err, "Invalid ID value");
      }
      p.second = std::string(v);
    }
    params->push_back(std::move(p));
  }
  return true;
}

bool ParseLogin(ArgList args, std::string* user, std::string* password,
                ArgError* err) {
  if (args.size() != 2) return Err(err, "Invalid LOGIN arguments");
  std::string scratch;
  std::string_view v;
  if (!AstringValue(args[0], &scratch, &v)) return Err(err, "Invalid user name");
  user->assign(v);
  if (!AstringValue(args[1], &scratch, &v)) return Err(err, "Invalid password");
  password->assign(v);
  return true;
}

bool DecodeBase64(std::string_view in, size_t max_out, std::string* out) {
  out->clear();
  if (in == "=") return true;
  if (in.size() % 4 != 0 || in.size() / 4 * 3 > max_out + 2) return false;
  for (size_t i = 0; i < in.size(); i += 4) {
    uint32_t v = 0;
    int pad = 0;
    for (size_t k = 0; k < 4; ++k) {
      const char c = in[i + k];
      int d;
      if (c >= 'A' && c <= 'Z') d = c - 'A';
      else if (c >= 'a' && c <= 'z') d = c - 'a' + 26;
      else if (c >= '0' && c <= '9') d = c - '0' + 52;
      else if (c == '+') d = 62;
      else if (c == '/') d = 63;
      else if (c == '=' && i + 4 == in.size() && k >= 2) d = -1;
      else return false;
      if (d < 0) {
        ++pad;
        d = 0;
      } else if (pad > 0) {
        return false;  // data after padding
      }
      v = (v << 6) | static_cast<uint32_t>(d);
    }
    out->push_back(static_cast<char>(v >> 16));
    if (pad < 2) out->push_back(static_cast<char>((v >> 8) & 0xff));
    if (pad < 1) out->push_back(static_cast<char>(v & 0xff));
    // Non-zero padding bits are not canonical.
    if ((pad == 1 && (v & 0xff) != 0) || (pad == 2 && (v & 0xffff) != 0)) {
      return false;
    }
  }
  return out->size() <= max_out;
}

std::string EncodeBase64(std::string_view in) {
  static constexpr char kAlpha[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  for (size_t i = 0; i < in.size(); i += 3) {
    uint32_t v = static_cast<uint8_t>(in[i]) << 16;
    if (i + 1 < in.size()) v |= static_cast<uint8_t>(in[i + 1]) << 8;
    if (i + 2 < in.size()) v |= static_cast<uint8_t>(in[i + 2]);
    out.push_back(kAlpha[v >> 18]);
    out.push_back(kAlpha[(v >> 12) & 63]);
    out.push_back(i + 1 < in.size() ? kAlpha[(v >> 6) & 63] : '=');
    out.push_back(i + 2 < in.size() ? kAlpha[v & 63] : '=');
  }
  return out;
}

bool ParseAuthenticate(ArgList args, std::string* mechanism,
                       std::optional<std::string_view>* initial,
                       ArgError* err) {
  if (args.empty() || args.size() > 2 || args[0].type != ArgType::kAtom) {
    return Err(err, "Invalid AUTHENTICATE arguments");
  }
  *mechanism = Upper(args[0].text);
  initial->reset();
  if (args.size() == 2) {
    if (!IsAtomLike(args[1])) return Err(err, "Invalid initial response");
    *initial = args[1].text;
  }
  return true;
}

bool DecodeSaslPlain(std::string_view base64, std::string* authzid,
                     std::string* authcid, std::string* password,
                     ArgError* err) {
  if (base64 == "*") return Err(err, "Authentication cancelled");
  std::string msg;
  if (!DecodeBase64(base64, kMaxSaslDecoded, &msg)) {
    return Err(err, "Invalid base64 data");
  }
  const size_t n1 = msg.find('\0');
  const size_t n2 = n1 == std::string::npos ? n1 : msg.find('\0', n1 + 1);
  if (n2 == std::string::npos || msg.find('\0', n2 + 1) != std::string::npos) {
    return Err(err, "Invalid PLAIN message");
  }
  authzid->assign(msg, 0, n1);
  authcid->assign(msg, n1 + 1, n2 - n1 - 1);
  password->assign(msg, n2 + 1);
  if (authcid->empty()) return Err(err, "Invalid PLAIN message");
  return true;
}

}  // namespace ringmail::imap
