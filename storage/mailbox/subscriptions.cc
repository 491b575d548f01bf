#include "storage/mailbox/subscriptions.h"

#include <algorithm>
#include <optional>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "storage/maildir/errors.h"

namespace ringmail::storage {
namespace {

std::optional<std::string> TabUnescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\001') {
      out += s[i];
      continue;
    }
    if (++i >= s.size()) return std::nullopt;
    switch (s[i]) {
      case '1': out += '\001'; break;
      case 't': out += '\t'; break;
      case 'r': out += '\r'; break;
      case 'n': out += '\n'; break;
      default: return std::nullopt;
    }
  }
  return out;
}

std::string TabEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '\001': out += "\0011"; break;
      case '\t': out += "\001t"; break;
      case '\r': out += "\001r"; break;
      case '\n': out += "\001n"; break;
      default: out += c;
    }
  }
  return out;
}

}  // namespace

absl::StatusOr<Subscriptions> ParseSubscriptions(
    std::string_view text, const FolderNameOptions& opts) {
  Subscriptions subs;
  static constexpr std::string_view kV2 = "V\t2\n\n";
  if (text.substr(0, kV2.size()) == kV2) {
    subs.version = 2;
    text.remove_prefix(kV2.size());
  }
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view()
                                        : text.substr(nl + 1);
    if (line.empty()) continue;
    std::string name;
    bool ok = true;
    size_t start = 0;
    char sep = subs.version == 2 ? '\t' : opts.delimiter;
    while (ok) {
      size_t pos = line.find(sep, start);
      std::string_view part = line.substr(start, pos - start);
      std::optional<std::string> raw =
          subs.version == 2 ? TabUnescape(part) : std::string(part);
      absl::StatusOr<std::string> dec =
          raw ? DecodeFolderLevel(*raw) : absl::InvalidArgumentError("escape");
      if (!dec.ok()) {
        ok = false;
        break;
      }
      if (start > 0) name += opts.delimiter;
      name += *dec;
      if (pos == std::string_view::npos) break;
      start = pos + 1;
    }
    if (!ok) continue;
    if (subs.names.size() >= kMaxSubscriptions) {
      return absl::ResourceExhaustedError("too many subscriptions");
    }
    subs.names.push_back(CanonicalFolderName(name, opts));
  }
  return subs;
}

absl::StatusOr<std::string> FormatSubscriptions(
    const Subscriptions& subs, const FolderNameOptions& opts) {
  std::string out = subs.version == 2 ? "V\t2\n\n" : "";
  for (const std::string& name : subs.names) {
    std::vector<std::string> parts = SplitFolderName(name, opts);
    for (size_t i = 0; i < parts.size(); ++i) {
      absl::StatusOr<std::string> enc = EncodeFolderLevel(parts[i]);
      if (!enc.ok()) return enc.status();
      if (i > 0) out += subs.version == 2 ? '\t' : opts.delimiter;
      out += subs.version == 2 ? TabEscape(*enc) : *enc;
    }
    out += '\n';
  }
  return out;
}

absl::StatusOr<Subscriptions> ReadSubscriptionsFile(
    const std::string& root, const FolderNameOptions& opts) {
  absl::StatusOr<std::string> text =
      ReadSmallFile(absl::StrCat(root, "/", AbslView(kSubscriptionsFileName)),
                    kMaxSubscriptionsFileBytes);
  if (absl::IsNotFound(text.status())) return Subscriptions();
  if (!text.ok()) return text.status();
  return ParseSubscriptions(*text, opts);
}

absl::StatusOr<Subscriptions> SetSubscribedBlocking(
    const std::string& root, std::string_view name, bool subscribe,
    const FolderNameOptions& opts, const DotlockOptions& lock_opts) {
  absl::Status valid = ValidateFolderName(name, opts);
  if (!valid.ok()) return valid;
  std::string canon = CanonicalFolderName(name, opts);
  absl::StatusOr<Dotlock> lock = Dotlock::Acquire(
      absl::StrCat(root, "/", AbslView(kSubscriptionsFileName)), lock_opts);
  if (!lock.ok()) return lock.status();
  absl::StatusOr<Subscriptions> subs = ReadSubscriptionsFile(root, opts);
  if (!subs.ok()) return subs.status();
  auto it = std::find(subs->names.begin(), subs->names.end(), canon);
  bool present = it != subs->names.end();
  if (present == subscribe) {
    lock->Release();
    return subs;
  }
  if (subscribe) {
    if (subs->names.size() >= kMaxSubscriptions) {
      return absl::ResourceExhaustedError("too many subscriptions");
    }
    subs->names.push_back(canon);
  } else {
    subs->names.erase(it);
  }
  absl::StatusOr<std::string> text = FormatSubscriptions(*subs, opts);
  if (!text.ok()) return text.status();
  absl::Status st = lock->Replace(*text);
  if (!st.ok()) return st;
  return subs;
}

}  // namespace ringmail::storage
