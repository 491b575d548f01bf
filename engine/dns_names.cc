#include "engine/dns_names.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace ringmail::engine::dns {
namespace {

constexpr size_t kMaxName = 253;
constexpr size_t kMaxLabel = 63;

absl::string_view AbslView(std::string_view s) { return absl::string_view(s.data(), s.size()); }

// An IP literal (no brackets) with `port`.
std::optional<SocketAddress> ParseIp(const std::string& ip, uint16_t port) {
  SocketAddress a;
  auto* s4 = reinterpret_cast<sockaddr_in*>(&a.storage);
  auto* s6 = reinterpret_cast<sockaddr_in6*>(&a.storage);
  if (inet_pton(AF_INET, ip.c_str(), &s4->sin_addr) == 1) {
    s4->sin_family = AF_INET;
    a.len = sizeof(sockaddr_in);
  } else if (inet_pton(AF_INET6, ip.c_str(), &s6->sin6_addr) == 1) {
    s6->sin6_family = AF_INET6;
    a.len = sizeof(sockaddr_in6);
  } else {
    return std::nullopt;
  }
  a.set_port(port);
  return a;
}

absl::StatusOr<SocketAddress> ParseServer(absl::string_view text) {
  auto bad = [&] {
    return absl::InvalidArgumentError(
        absl::StrCat("dns: bad server '", text, "' (want IP[:PORT] or [IPv6]:PORT)"));
  };
  absl::string_view host = text;
  absl::string_view port_text;
  if (absl::ConsumePrefix(&host, "[")) {
    size_t close = host.find(']');
    if (close == absl::string_view::npos) return bad();
    port_text = host.substr(close + 1);
    host = host.substr(0, close);
    if (!port_text.empty() && !absl::ConsumePrefix(&port_text, ":")) return bad();
    if (port_text.empty() && text.back() == ':') return bad();
  } else if (std::count(text.begin(), text.end(), ':') == 1) {
    size_t colon = text.find(':');
    host = text.substr(0, colon);
    port_text = text.substr(colon + 1);
    if (port_text.empty()) return bad();
  }  // else IPv4 without a port, or a bare IPv6
  int port = kDefaultPort;
  if (!port_text.empty() &&
      (!absl::SimpleAtoi(port_text, &port) || port < 1 || port > 65535)) {
    return bad();
  }
  auto a = ParseIp(std::string(host), static_cast<uint16_t>(port));
  if (!a) return bad();
  return *a;
}

}  // namespace

std::string NormalizeName(std::string_view name) {
  if (name.size() > 1 && name.back() == '.') name.remove_suffix(1);
  std::string out(name);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool IsQueryableName(std::string_view name) {
  if (name.empty() || name.size() > kMaxName) return false;
  size_t label = 0;
  for (char c : name) {
    if (c == '.') {
      if (label == 0) return false;  // empty label (leading or "..")
      label = 0;
      continue;
    }
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!ok || ++label > kMaxLabel) return false;
  }
  return label > 0;
}

std::optional<SocketAddress> ParseAddressLiteral(std::string_view host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
    if (host.size() > 5 && absl::EqualsIgnoreCase(AbslView(host.substr(0, 5)), "IPv6:")) {
      host.remove_prefix(5);
    }
  }
  return ParseIp(std::string(host), 0);
}

absl::StatusOr<std::vector<SocketAddress>> ParseServers(std::string_view csv) {
  std::vector<SocketAddress> out;
  for (absl::string_view entry : absl::StrSplit(AbslView(csv), ',')) {
    entry = absl::StripAsciiWhitespace(entry);
    if (entry.empty()) return absl::InvalidArgumentError("dns: empty entry in servers");
    if (out.size() >= kMaxServers) {
      return absl::InvalidArgumentError(absl::StrCat("dns: more than ", kMaxServers, " servers"));
    }
    auto a = ParseServer(entry);
    if (!a.ok()) return a.status();
    out.push_back(*a);
  }
  return out;
}

}  // namespace ringmail::engine::dns
