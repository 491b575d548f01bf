#include "protocols/imap/acl.h"

#include "protocols/imap/response.h"

namespace ringmail::imap {
namespace {

// Longest identifier accepted (a user@domain fits easily).
constexpr size_t kMaxIdentifier = 256;

bool EqualsLower(std::string_view a, std::string_view lower) {
  if (a.size() != lower.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char c = a[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != lower[i]) return false;
  }
  return true;
}

void AppendDelimiter(std::string* out, char delimiter) {
  AppendImapString(out, std::string_view(&delimiter, 1));
}

}  // namespace

bool ParseRightsChange(std::string_view text, RightsChange* out, std::string* error) {
  out->mod = RightsMod::kReplace;
  out->letters.clear();
  if (text.size() > kMaxRightsArg) {
    *error = "Rights argument too long.";
    return false;
  }
  if (!text.empty() && (text[0] == '+' || text[0] == '-')) {
    out->mod = text[0] == '+' ? RightsMod::kAdd : RightsMod::kRemove;
    text.remove_prefix(1);
  }
  std::string letters;
  for (char c : text) {
    if (c == 'c') {
      letters += "kx";  // §2.1.1: "c" stands for every "create" member
    } else if (c == 'd') {
      letters += "et";  // and "d" for every "delete" member
    } else if (kAclRightLetters.find(c) != std::string_view::npos) {
      letters += c;
    } else {
      *error = std::string("Invalid ACL right: ") + c;
      return false;
    }
  }
  out->letters = CanonicalRights(letters);
  return true;
}

std::string CanonicalRights(std::string_view letters) {
  std::string out;
  for (char c : kAclRightLetters) {
    if (letters.find(c) != std::string_view::npos) out += c;
  }
  return out;
}

std::string RightsForResponse(std::string_view letters) {
  std::string out = CanonicalRights(letters);
  auto has = [&out](char c) { return out.find(c) != std::string::npos; };
  const bool c = has('k') || has('x');
  const bool d = has('e') || has('t');
  if (c) out += 'c';
  if (d) out += 'd';
  return out;
}

bool ParseAclIdentifier(std::string_view id, std::string_view owner,
                        AclIdentifier* out, std::string* error) {
  *out = AclIdentifier();
  if (!id.empty() && id[0] == '-') {
    out->negative = true;
    id.remove_prefix(1);
  }
  if (id.empty() || id.size() > kMaxIdentifier) {
    *error = "Invalid identifier.";
    return false;
  }
  for (char c : id) {
    // Identifiers end up in dovecot-acl lines and dictionary keys.
    if (static_cast<unsigned char>(c) <= 0x20 || c == '/' || c == 0x7f) {
      *error = "Invalid identifier.";
      return false;
    }
  }
  if (EqualsLower(id, "anyone") || EqualsLower(id, "anonymous")) {
    out->kind = AclIdentifier::Kind::kAnyone;
  } else if (EqualsLower(id, "authenticated")) {
    out->kind = AclIdentifier::Kind::kAuthenticated;
  } else if (id == owner || EqualsLower(id, "owner")) {
    out->kind = AclIdentifier::Kind::kOwner;
  } else if (id[0] == '$' && id.size() > 1) {
    out->kind = AclIdentifier::Kind::kGroup;
    out->name.assign(id.substr(1));
  } else {
    out->kind = AclIdentifier::Kind::kUser;
    out->name.assign(id);
  }
  return true;
}

std::string FormatAclIdentifier(const AclIdentifier& id, std::string_view owner) {
  std::string out = id.negative ? "-" : "";
  switch (id.kind) {
    case AclIdentifier::Kind::kAnyone: out += "anyone"; break;
    case AclIdentifier::Kind::kAuthenticated: out += "authenticated"; break;
    case AclIdentifier::Kind::kOwner: out.append(owner); break;
    case AclIdentifier::Kind::kUser: out += id.name; break;
    case AclIdentifier::Kind::kGroup:
      out += '$';
      out += id.name;
      break;
  }
  return out;
}

void AppendAstring(std::string* out, std::string_view s) {
  bool atom = !s.empty();
  for (char c : s) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f || c == '(' || c == ')' || c == '{' || c == '%' ||
        c == '*' || c == '"' || c == '\\' || c == ']') {
      atom = false;
      break;
    }
  }
  if (atom) {
    out->append(s);
  } else {
    AppendImapString(out, s);
  }
}

void AppendAclResponse(std::string* out, std::string_view mailbox,
                       const std::vector<std::pair<std::string, std::string>>& entries) {
  out->append("* ACL ");
  AppendAstring(out, mailbox);
  for (const auto& [id, rights] : entries) {
    out->push_back(' ');
    AppendAstring(out, id);
    out->push_back(' ');
    if (rights.empty()) {
      out->append("\"\"");
    } else {
      AppendAstring(out, rights);
    }
  }
  out->append("\r\n");
}

void AppendListRights(std::string* out, std::string_view mailbox,
                      std::string_view identifier) {
  out->append("* LISTRIGHTS ");
  AppendAstring(out, mailbox);
  out->push_back(' ');
  AppendAstring(out, identifier);
  out->append(" \"\" l r w s t p i e k x a c d\r\n");
}

void AppendMyRights(std::string* out, std::string_view mailbox, std::string_view rights) {
  out->append("* MYRIGHTS ");
  AppendAstring(out, mailbox);
  out->push_back(' ');
  if (rights.empty()) {
    out->append("\"\"");
  } else {
    AppendAstring(out, rights);
  }
  out->append("\r\n");
}

void AppendNamespaceWithShared(std::string* out, std::string_view personal,
                               std::string_view shared, char delimiter) {
  out->append("* NAMESPACE ((");
  AppendImapString(out, personal);
  out->push_back(' ');
  AppendDelimiter(out, delimiter);
  out->append(")) NIL ((");
  AppendImapString(out, shared);
  out->push_back(' ');
  AppendDelimiter(out, delimiter);
  out->append("))\r\n");
}

}  // namespace ringmail::imap
