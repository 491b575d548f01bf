#include "bench/ringbench/delivery_log.h"

#include <cctype>

namespace ringmail::ringbench {

std::optional<size_t> DeliveryLog::Sent(size_t user, int64_t data_end_ns) {
  std::lock_guard<std::mutex> lock(mu_);
  if (user >= per_user_.size() || per_user_[user].size() >= kMaxPerUser) return std::nullopt;
  per_user_[user].push_back(Times{data_end_ns, 0});
  return per_user_[user].size() - 1;
}

void DeliveryLog::Accepted(size_t user, size_t ordinal, int64_t ns) {
  std::lock_guard<std::mutex> lock(mu_);
  if (user < per_user_.size() && ordinal < per_user_[user].size()) {
    per_user_[user][ordinal].accepted_ns = ns;
  }
}

void DeliveryLog::Withdraw(size_t user, size_t ordinal) {
  std::lock_guard<std::mutex> lock(mu_);
  if (user < per_user_.size() && ordinal + 1 == per_user_[user].size()) {
    per_user_[user].pop_back();
  }
}

std::vector<DeliveryLog::Times> DeliveryLog::Get(size_t user, size_t from, size_t to) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<Times> out;
  if (user >= per_user_.size()) return out;
  const std::vector<Times>& v = per_user_[user];
  for (size_t i = from; i < to && i < v.size(); ++i) out.push_back(v[i]);
  return out;
}

size_t DeliveryLog::count(size_t user) const {
  std::lock_guard<std::mutex> lock(mu_);
  return user < per_user_.size() ? per_user_[user].size() : 0;
}

std::optional<uint32_t> ParseExists(std::string_view line) {
  if (line.size() < 3 || line[0] != '*' || line[1] != ' ') return std::nullopt;
  size_t i = 2;
  uint64_t n = 0;
  size_t digits = 0;
  while (i < line.size() && std::isdigit(static_cast<unsigned char>(line[i]))) {
    n = n * 10 + static_cast<uint64_t>(line[i] - '0');
    if (++digits > 10 || n > UINT32_MAX) return std::nullopt;
    ++i;
  }
  if (digits == 0 || i >= line.size() || line[i] != ' ') return std::nullopt;
  std::string_view word = line.substr(i + 1);
  constexpr std::string_view kExists = "EXISTS";
  if (word.size() != kExists.size()) return std::nullopt;
  for (size_t k = 0; k < word.size(); ++k) {
    if (std::toupper(static_cast<unsigned char>(word[k])) != kExists[k]) return std::nullopt;
  }
  return static_cast<uint32_t>(n);
}

}  // namespace ringmail::ringbench
