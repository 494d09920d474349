#include "switchyard/identity/login_throttle.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "switchyard/core/crypto.hpp"
#include "switchyard/core/error.hpp"
#include "switchyard/store/redis_client.hpp"

namespace switchyard::identity {
namespace {

constexpr int kWindowSeconds = 15 * 60;

/// One INCR per key, the window's expiry set by the first failure of the window.
const redis::Script kCountFailure(R"lua(
for _, key in ipairs(KEYS) do
  if redis.call('INCR', key) == 1 then redis.call('EXPIRE', key, ARGV[1]) end
end
return 0
)lua");

/// The two counts and the seconds left of each window.
const redis::Script kReadCounts(R"lua(
local out = {}
for _, key in ipairs(KEYS) do
  out[#out + 1] = tonumber(redis.call('GET', key) or '0')
  out[#out + 1] = redis.call('TTL', key)
end
return out
)lua");

/// Emails hashed, so that Redis holds no address book.
std::string account_key(const std::string& email) {
  std::string lower = email;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  return "sy:login:account:" + crypto::hex(crypto::sha256(lower)).substr(0, 32);
}

std::string address_key(const std::string& address) { return "sy:login:address:" + address; }

}  // namespace

LoginThrottle::LoginThrottle(redis::Client& redis, const AuthSettings& settings)
    : redis_(redis),
      per_account_(settings.login_failures_per_account),
      per_address_(settings.login_failures_per_ip) {}

boost::asio::awaitable<void> LoginThrottle::check(const std::string& email, const std::string& address) {
  std::vector<std::string> keys{account_key(email), address_key(address)};
  std::vector<std::string> no_args;
  redis::Reply reply;
  try {
    reply = co_await redis_.eval(kReadCounts, std::move(keys), std::move(no_args));
  } catch (const redis::Unavailable& unavailable) {
    spdlog::warn("login throttling is off while Redis is unreachable: {}", unavailable.what());
    co_return;
  }
  if (reply.type != redis::Reply::Type::array || reply.elements.size() != 4) co_return;
  auto over = [&](std::size_t at, int limit) { return reply.elements[at].integer >= limit; };
  if (!over(0, per_account_) && !over(2, per_address_)) co_return;
  auto wait = std::max<std::int64_t>({1, over(0, per_account_) ? reply.elements[1].integer : 0,
                                      over(2, per_address_) ? reply.elements[3].integer : 0});
  throw ApiError(
      429, "rate_limit_error", "rate_limit_exceeded",
      "Too many failed sign-in attempts. Try again in " + std::to_string((wait + 59) / 60) + " minute(s).")
      .with_header("Retry-After", std::to_string(wait));
}

boost::asio::awaitable<void> LoginThrottle::failed(const std::string& email, const std::string& address) {
  std::vector<std::string> keys{account_key(email), address_key(address)};
  std::vector<std::string> args{std::to_string(kWindowSeconds)};
  try {
    co_await redis_.eval(kCountFailure, std::move(keys), std::move(args));
  } catch (const redis::Unavailable&) {
    // check() already said throttling is off.
  }
}

boost::asio::awaitable<void> LoginThrottle::succeeded(const std::string& email) {
  std::vector<std::string> del{"DEL", account_key(email)};
  try {
    co_await redis_.command(std::move(del));
  } catch (const redis::Unavailable&) {
    // The count expires with its window.
  }
}

}  // namespace switchyard::identity
