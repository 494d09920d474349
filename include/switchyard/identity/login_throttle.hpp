#pragma once

#include <boost/asio/awaitable.hpp>
#include <string>

#include "switchyard/core/config.hpp"

namespace switchyard::redis {
class Client;
}

namespace switchyard::identity {

/// Slows password guessing: failed logins are counted in Redis per account and per client address over a
/// fixed 15-minute window, so the limits hold across processes. While Redis is unreachable logins are not
/// throttled (and a warning is logged): locking every user out would be worse.
///
/// Thread-safe; the client must outlive it.
class LoginThrottle {
 public:
  LoginThrottle(redis::Client& redis, const AuthSettings& settings);

  /// Throws 429 rate_limit_exceeded with Retry-After when the account or the address used up its failures.
  boost::asio::awaitable<void> check(const std::string& email, const std::string& address);
  /// Counts one failure against both.
  boost::asio::awaitable<void> failed(const std::string& email, const std::string& address);
  /// A successful login clears the account's count (not the address's: one right password must not
  /// reopen a guessing spree from that address).
  boost::asio::awaitable<void> succeeded(const std::string& email);

 private:
  redis::Client& redis_;
  int per_account_;
  int per_address_;
};

}  // namespace switchyard::identity
