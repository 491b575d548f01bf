#include "engine/testing/fake_dns_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

namespace ringmail::engine::testing {
namespace {

void Put16(std::string& out, uint16_t v) {
  out.push_back(static_cast<char>(v >> 8));
  out.push_back(static_cast<char>(v & 0xff));
}
void Put32(std::string& out, uint32_t v) {
  Put16(out, static_cast<uint16_t>(v >> 16));
  Put16(out, static_cast<uint16_t>(v & 0xffff));
}
void PutRr(std::string& out, const DnsRr& rr) {
  out += EncodeName(rr.name);
  Put16(out, rr.type);
  Put16(out, 1);  // IN
  Put32(out, rr.ttl);
  Put16(out, static_cast<uint16_t>(rr.rdata.size()));
  out += rr.rdata;
}

bool WriteAll(int fd, const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = write(fd, data.data() + off, data.size() - off);
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

std::string EncodeName(std::string_view name) {
  std::string out;
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  while (!name.empty()) {
    size_t dot = name.find('.');
    std::string_view label = name.substr(0, dot);
    out.push_back(static_cast<char>(label.size()));
    out += label;
    name = dot == std::string_view::npos ? std::string_view() : name.substr(dot + 1);
  }
  out.push_back('\0');
  return out;
}

std::string MxData(uint16_t preference, std::string_view host) {
  std::string out;
  Put16(out, preference);
  return out + EncodeName(host);
}

std::string AData(std::string_view ipv4) {
  in_addr a{};
  inet_pton(AF_INET, std::string(ipv4).c_str(), &a);
  return std::string(reinterpret_cast<const char*>(&a), 4);
}

std::string AaaaData(std::string_view ipv6) {
  in6_addr a{};
  inet_pton(AF_INET6, std::string(ipv6).c_str(), &a);
  return std::string(reinterpret_cast<const char*>(&a), 16);
}

std::string CnameData(std::string_view target) { return EncodeName(target); }

std::string SoaData(std::string_view mname, std::string_view rname, uint32_t minimum) {
  std::string out = EncodeName(mname) + EncodeName(rname);
  for (uint32_t v : {1u, 7200u, 900u, 1209600u}) Put32(out, v);  // serial..expire
  Put32(out, minimum);
  return out;
}

std::string EncodeQuestion(std::string_view qname, uint16_t qtype) {
  std::string out = EncodeName(qname);
  Put16(out, qtype);
  Put16(out, 1);
  return out;
}

std::string BuildReply(uint16_t id, std::string_view question, const DnsResponse& r,
                       bool truncated) {
  std::string out;
  Put16(out, id);
  out.push_back(static_cast<char>(0x80 | (truncated ? 0x02 : 0) | 0x01));  // QR, TC, RD
  out.push_back(static_cast<char>(0x80 | (r.rcode & 0x0f)));              // RA, RCODE
  Put16(out, 1);
  Put16(out, truncated ? 0 : static_cast<uint16_t>(r.answers.size()));
  Put16(out, truncated ? 0 : static_cast<uint16_t>(r.authority.size()));
  Put16(out, 0);
  out += question;
  if (truncated) return out;
  for (const DnsRr& rr : r.answers) PutRr(out, rr);
  for (const DnsRr& rr : r.authority) PutRr(out, rr);
  return out;
}

std::unique_ptr<FakeDnsServer> FakeDnsServer::Start(Handler handler) {
  std::unique_ptr<FakeDnsServer> s(new FakeDnsServer());
  s->handler_ = std::move(handler);
  // UDP and TCP on one port number: c-ares sends both to the server's port.
  for (int attempt = 0; attempt < 50 && s->tcp_ < 0; ++attempt) {
    if (s->udp_ >= 0) close(s->udp_);
    s->udp_ = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    if (bind(s->udp_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        getsockname(s->udp_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      std::perror("fake dns: udp bind");
      return nullptr;
    }
    int t = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(t, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(t, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 && listen(t, 8) == 0) {
      s->tcp_ = t;
      s->port_ = ntohs(addr.sin_port);
    } else {
      close(t);
    }
  }
  int p[2];
  if (s->tcp_ < 0 || pipe2(p, O_CLOEXEC) != 0) {
    std::fprintf(stderr, "fake dns: no port for both UDP and TCP\n");
    return nullptr;
  }
  s->stop_r_ = p[0];
  s->stop_w_ = p[1];
  s->thread_ = std::thread([srv = s.get()] { srv->Serve(); });
  return s;
}

FakeDnsServer::~FakeDnsServer() {
  if (thread_.joinable()) {
    char c = 'x';
    (void)!write(stop_w_, &c, 1);
    thread_.join();
  }
  for (int fd : {udp_, tcp_, stop_r_, stop_w_}) {
    if (fd >= 0) close(fd);
  }
}

int FakeDnsServer::queries(const std::string& qname, uint16_t qtype) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = counts_.find({qname, qtype});
  return it == counts_.end() ? 0 : it->second;
}

std::string FakeDnsServer::Answer(std::string_view query, bool over_tcp) {
  if (query.size() < 12) return {};
  uint16_t id = static_cast<uint16_t>(static_cast<uint8_t>(query[0]) << 8 |
                                      static_cast<uint8_t>(query[1]));
  size_t pos = 12;
  std::string qname;
  while (pos < query.size() && query[pos] != 0) {
    size_t n = static_cast<uint8_t>(query[pos]);
    if (pos + 1 + n > query.size()) return {};
    if (!qname.empty()) qname += '.';
    for (size_t i = 0; i < n; ++i) {
      char c = query[pos + 1 + i];
      qname += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    }
    pos += 1 + n;
  }
  if (pos + 5 > query.size()) return {};
  uint16_t qtype = static_cast<uint16_t>(static_cast<uint8_t>(query[pos + 1]) << 8 |
                                         static_cast<uint8_t>(query[pos + 2]));
  std::string_view question = query.substr(12, pos + 5 - 12);
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++counts_[{qname, qtype}];
  }
  if (over_tcp) ++tcp_queries_;
  DnsResponse r = handler_(qname, qtype);
  if (r.drop) return {};
  return BuildReply(id, question, r, r.truncate && !over_tcp);
}

void FakeDnsServer::Serve() {
  struct Client {
    int fd;
    std::string buf;
  };
  std::vector<Client> clients;
  while (true) {
    std::vector<pollfd> fds = {{stop_r_, POLLIN, 0}, {udp_, POLLIN, 0}, {tcp_, POLLIN, 0}};
    for (const Client& c : clients) fds.push_back({c.fd, POLLIN, 0});
    if (poll(fds.data(), fds.size(), -1) < 0) continue;
    if (fds[0].revents) break;
    if (fds[1].revents & POLLIN) {
      char buf[4096];
      sockaddr_storage from{};
      socklen_t len = sizeof(from);
      ssize_t n = recvfrom(udp_, buf, sizeof(buf), 0, reinterpret_cast<sockaddr*>(&from), &len);
      if (n > 0) {
        std::string reply = Answer(std::string_view(buf, static_cast<size_t>(n)), false);
        if (!reply.empty()) {
          sendto(udp_, reply.data(), reply.size(), 0, reinterpret_cast<sockaddr*>(&from), len);
        }
      }
    }
    if (fds[2].revents & POLLIN) {
      int c = accept4(tcp_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c >= 0) clients.push_back({c, {}});
    }
    for (size_t i = 3; i < fds.size(); ++i) {
      if (!fds[i].revents) continue;
      Client& c = clients[i - 3];
      char buf[4096];
      ssize_t n = read(c.fd, buf, sizeof(buf));
      if (n <= 0) {
        close(c.fd);
        c.fd = -1;
        continue;
      }
      c.buf.append(buf, static_cast<size_t>(n));
      // RFC 1035 §4.2.2: each message is preceded by its two-byte length.
      while (c.buf.size() >= 2) {
        size_t mlen = static_cast<uint8_t>(c.buf[0]) << 8 | static_cast<uint8_t>(c.buf[1]);
        if (c.buf.size() < 2 + mlen) break;
        std::string reply = Answer(std::string_view(c.buf).substr(2, mlen), true);
        c.buf.erase(0, 2 + mlen);
        if (reply.empty()) continue;
        std::string framed;
        Put16(framed, static_cast<uint16_t>(reply.size()));
        framed += reply;
        WriteAll(c.fd, framed);
      }
    }
    std::erase_if(clients, [](const Client& c) { return c.fd < 0; });
  }
  for (const Client& c : clients) close(c.fd);
}

}  // namespace ringmail::engine::testing
