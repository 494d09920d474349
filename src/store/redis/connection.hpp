#pragma once

#include <hiredis/async.h>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/strand.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "protocol.hpp"

namespace switchyard::redis {

using Strand = boost::asio::strand<boost::asio::any_io_executor>;

/// One hiredis async context driven by the Asio loop, from connect through the handshake to close.
/// hiredis is not thread-safe: every member must be called on the strand.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  enum class State {
    handshaking,  ///< connecting, or waiting for the handshake's replies
    ready,
    failed,  ///< Redis refused the handshake; close() it
    closed,  ///< the context is gone
  };

  /// Runs exactly once, on the strand: with the reply, or with nullptr when the connection goes first.
  using ReplyCallback = std::function<void(const redisReply* reply)>;

  /// Starts connecting to `address` and queues `handshake` (see handshake_commands). `on_state_change`
  /// runs on the strand after each change of state(), at times from inside a hiredis callback, so it must
  /// not call close() itself.
  static std::shared_ptr<Connection> open(Strand strand, const boost::asio::ip::tcp::endpoint& address,
                                          const std::vector<Command>& handshake,
                                          std::function<void()> on_state_change);

  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  State state() const { return state_; }
  /// Why the connection failed or closed.
  const std::string& error() const { return error_; }
  /// Replies received so far: while it stands still, nothing moves on this connection.
  std::uint64_t replies_received() const { return replies_received_; }

  /// Queues a command in wire format (encode_command); false, without ever calling `callback`, when the
  /// context is gone or closing.
  bool send(std::string_view wire, ReplyCallback callback);

  /// Frees the context; its pending callbacks run first, with nullptr. Never call it from inside a hiredis
  /// callback: hiredis still uses the context after the callback returns.
  void close(const std::string& reason);

 private:
  enum class Direction { read, write };
  /// What hiredis asked for in one direction, and whether an async_wait for it is out.
  struct Interest {
    bool wanted = false;
    bool waiting = false;
  };

  Connection(Strand strand, std::function<void()> on_state_change);
  void connect(const boost::asio::ip::tcp::endpoint& address, const std::vector<Command>& handshake);
  void watch(Direction direction, bool wanted);
  void wait(Direction direction);
  Interest& interest(Direction direction) { return direction == Direction::read ? reading_ : writing_; }
  void on_handshake_reply(const std::string& verb, const redisReply* reply);
  void detach();
  void set_state(State state);
  static void on_reply(redisAsyncContext* context, void* reply, void* callback);

  boost::asio::posix::stream_descriptor socket_;
  std::function<void()> on_state_change_;
  redisAsyncContext* context_ = nullptr;
  Interest reading_;
  Interest writing_;
  State state_ = State::handshaking;
  std::string error_;
  std::size_t handshake_replies_due_ = 0;
  std::uint64_t replies_received_ = 0;
};

}  // namespace switchyard::redis
