#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "switchyard/core/config.hpp"

/// An async Redis client on the Asio loop: one pipelined connection that reconnects by itself.
namespace switchyard::redis {

/// One RESP2 reply.
struct Reply {
  enum class Type { nil, status, error, integer, string, array };

  Type type = Type::nil;
  std::int64_t integer = 0;     ///< integer replies
  std::string text;             ///< status, error and string replies
  std::vector<Reply> elements;  ///< array replies
};

/// Redis gave no answer: not connected, the command's deadline passed, or the connection was lost before
/// the reply. Whether that fails the request open or closed is the caller's choice.
class Unavailable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A Lua script with its SHA-1, computed once here so that EVALSHA needs no SCRIPT LOAD round trip.
class Script {
 public:
  explicit Script(std::string source);

  const std::string& source() const { return source_; }
  /// Lowercase hex, as Redis names the script.
  const std::string& sha1() const { return sha1_; }

 private:
  std::string source_;
  std::string sha1_;
};

/// Every command shares one connection, pipelined, in the order it was issued. Replies come back in that
/// order, so when a deadline passes with no reply at all since the command went out, the connection is
/// stuck (a blocking command, a busy server, a vanished peer): it is dropped and made again rather than
/// left to time out every command behind it.
///
/// Thread-safety: every member may be called from any thread; hiredis itself runs on a strand of the
/// executor given here, and commands resume their caller on the caller's own executor.
/// Cancellation: a terminal cancellation of the awaiting coroutine completes its command at once with
/// boost::asio::error::operation_aborted; Redis may still run it, and its reply is dropped.
class Client {
 public:
  Client(const boost::asio::any_io_executor& executor, RedisConfig config);
  /// Stops the client; the executor's io_context must outlive it.
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  /// Begins connecting, then reconnects after every loss with exponential backoff capped at
  /// `reconnect_max_backoff`, until stop(). Only the first call does anything.
  void start();
  /// Closes the connection for good: commands in flight and later ones fail with Unavailable. Returns at
  /// once; the connection closes on the strand, so the io_context must run a little longer.
  void stop();

  /// Sends one command, e.g. {"SET", key, value}, and waits at most `command_timeout` for its reply.
  /// Redis' own errors (WRONGTYPE, …) come back as Reply::Type::error; throws Unavailable when Redis gives
  /// no answer, std::invalid_argument for an empty command or one that would change the shared connection
  /// (SELECT, MULTI, SUBSCRIBE, …). GCC 12 rejects a braced list inside a co_await expression ("array used
  /// as initializer"), so name the arguments first: `std::vector<std::string> get{"GET", key};` then
  /// `co_await redis.command(std::move(get))`.
  boost::asio::awaitable<Reply> command(std::vector<std::string> args);

  /// Runs `script` with EVALSHA, and with EVAL when Redis answers NOSCRIPT (after a restart or SCRIPT
  /// FLUSH). Each attempt has its own deadline. `script` must outlive the call: scripts are meant to be
  /// long-lived constants.
  boost::asio::awaitable<Reply> eval(const Script& script, std::vector<std::string> keys,
                                     std::vector<std::string> args);

  /// Whether the connection is up and past AUTH and SELECT, for /ready and metrics.
  bool connected() const;
  /// How many times a lost connection was made again, for metrics.
  std::uint64_t reconnects() const;

 private:
  class Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace switchyard::redis
