#include "switchyard/store/redis_client.hpp"

#include <openssl/evp.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <random>

#include "backoff.hpp"
#include "connection.hpp"
#include "protocol.hpp"
#include "switchyard/core/crypto.hpp"

namespace switchyard::redis {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using Completion = void(std::exception_ptr, Reply);

namespace {

std::string sha1_hex(const std::string& data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha1(), nullptr) != 1) {
    throw std::runtime_error("OpenSSL could not compute a SHA-1");
  }
  return crypto::hex(std::string_view(reinterpret_cast<const char*>(digest), length));
}

/// One command from the moment it is issued to its completion. hiredis' reply callback, the deadline timer
/// and the caller's cancellation each hold it: whichever comes first completes it, the others find it done.
/// Lives on the client's strand.
struct PendingCommand {
  PendingCommand(asio::any_completion_handler<Completion> caller, asio::any_io_executor caller_executor,
                 const Strand& strand)
      : handler(std::move(caller)),
        executor(std::move(caller_executor)),
        cancellation(handler.get_cancellation_slot()),
        deadline(strand) {}

  void complete(std::exception_ptr error, Reply reply = {}) {
    if (done) return;
    done = true;
    deadline.cancel();
    // Posted, never run inline: we may be inside a hiredis callback, and the caller's executor may be
    // another thread's.
    asio::post(executor, [handler = std::move(handler), slot = cancellation, error,
                          reply = std::move(reply)]() mutable {
      slot.clear();
      std::move(handler)(error, std::move(reply));
    });
  }

  void fail(const std::string& why) { complete(std::make_exception_ptr(Unavailable(why))); }

  asio::any_completion_handler<Completion> handler;
  asio::any_io_executor executor;  ///< the caller's, kept busy until the completion
  asio::cancellation_slot cancellation;
  asio::steady_timer deadline;
  std::weak_ptr<Connection> connection;  ///< where the command went
  std::uint64_t replies_before = 0;      ///< that connection's replies_received() when it went
  bool done = false;
};

}  // namespace

class Client::Impl : public std::enable_shared_from_this<Client::Impl> {
 public:
  Impl(const asio::any_io_executor& executor, RedisConfig config)
      : strand_(asio::make_strand(executor)),
        config_(std::move(config)),
        resolver_(strand_),
        wake_(strand_),
        jitter_(std::random_device{}()) {}

  void start() {
    asio::dispatch(strand_, [self = shared_from_this()] {
      if (self->started_) return;
      self->started_ = true;
      self->running_ = true;
      // The lambda, and with it `self`, lives as long as the coroutine.
      asio::co_spawn(
          self->strand_, [self] { return self->supervise(); },
          [](const std::exception_ptr& error) {
            if (!error) return;
            try {
              std::rethrow_exception(error);
            } catch (const std::exception& e) {
              spdlog::critical("redis: the connection supervisor died, no more reconnects: {}", e.what());
            }
          });
    });
  }

  void stop() {
    asio::dispatch(strand_, [self = shared_from_this()] {
      self->started_ = true;  // a stopped client never starts again
      self->running_ = false;
      self->connected_ = false;
      self->resolver_.cancel();
      if (self->connection_) self->connection_->close("client stopped");
      self->wake();
    });
  }

  /// Sends a command already in wire format (encode_command).
  template <typename CompletionToken>
  auto async_command(std::string wire, CompletionToken&& token) {
    return asio::async_initiate<CompletionToken, Completion>(
        // `this`, not a shared pointer: use_awaitable keeps the initiation alive until the completion, and
        // through hiredis' callback the completion holds this object, so a shared pointer would be a cycle.
        [this](auto handler, std::string command) {
          auto self = shared_from_this();
          // The handler's own executor, taken before its type is erased: the caller resumes there.
          asio::any_io_executor caller = asio::prefer(asio::get_associated_executor(handler, self->strand_),
                                                      asio::execution::outstanding_work.tracked);
          auto pending =
              std::make_shared<PendingCommand>(std::move(handler), std::move(caller), self->strand_);
          if (pending->cancellation.is_connected()) {
            pending->cancellation.assign([weak = std::weak_ptr(pending),
                                          strand = self->strand_](asio::cancellation_type type) {
              if ((type & asio::cancellation_type::terminal) == asio::cancellation_type::none) return;
              asio::post(strand, [weak] {
                if (auto cancelled = weak.lock()) {
                  cancelled->complete(
                      std::make_exception_ptr(boost::system::system_error(asio::error::operation_aborted)));
                }
              });
            });
          }
          asio::dispatch(self->strand_,
                         [self, pending, command = std::move(command)] { self->send(pending, command); });
        },
        token, std::move(wire));
  }

  bool connected() const { return connected_; }
  std::uint64_t reconnects() const { return reconnects_; }

 private:
  /// Connects, waits while the connection lasts, backs off after each failure; until stop().
  asio::awaitable<void> supervise() {
    unsigned failures = 0;
    while (running_) {
      std::string trouble;
      if (co_await connect()) {
        auto up_since = Clock::now();
        connected_ = true;
        if (ever_connected_) ++reconnects_;
        spdlog::info("redis: {} {}", ever_connected_ ? "reconnected to" : "connected to", server());
        ever_connected_ = true;
        while (connection_->state() == Connection::State::ready) {
          co_await sleep_until(Clock::time_point::max());
        }
        connected_ = false;
        if (!running_) break;
        trouble = "lost the connection to " + server() + " (" + connection_->error() + ")";
        // A connection that drops soon after it was made counts as one more failure, so that a server
        // which accepts and then closes every connection is not hammered.
        if (Clock::now() - up_since >= config_.reconnect_max_backoff) failures = 0;
      } else {
        if (!running_) break;
        trouble = "cannot connect to " + server() + " (" + connect_failure_ + ")";
      }
      ++failures;
      std::uniform_real_distribution<double> jitter(0.5, 1.0);
      auto delay = reconnect_delay(failures, config_.reconnect_max_backoff, jitter(jitter_));
      spdlog::warn("redis: {}, next attempt in {} ms", trouble, delay.count());
      co_await sleep_until(Clock::now() + delay);
    }
    connected_ = false;
    spdlog::info("redis: client for {} stopped", server());
  }

  /// Makes connection_ ready within connect_timeout, trying each address in turn; on failure says why in
  /// connect_failure_.
  asio::awaitable<bool> connect() {
    auto deadline = Clock::now() + config_.connect_timeout;
    auto addresses = co_await resolve(deadline);
    for (const auto& address : addresses) {
      connection_ =
          Connection::open(strand_, address, handshake_commands(config_.endpoint), [weak = weak_from_this()] {
            if (auto self = weak.lock()) self->wake();
          });
      while (running_ && connection_->state() == Connection::State::handshaking && Clock::now() < deadline) {
        co_await sleep_until(deadline);
      }
      if (connection_->state() == Connection::State::ready) co_return true;
      connection_->close(running_ ? "no answer within connect_timeout" : "client stopped");
      auto ip = address.address().to_string();
      connect_failure_ =
          ip == config_.endpoint.host ? connection_->error() : ip + ": " + connection_->error();
      if (!running_ || Clock::now() >= deadline) break;
    }
    co_return false;
  }

  /// The host's addresses; none when it cannot be resolved by `deadline`.
  asio::awaitable<std::vector<asio::ip::tcp::endpoint>> resolve(Clock::time_point deadline) {
    struct Outcome {
      bool done = false;
      boost::system::error_code error;
      std::vector<asio::ip::tcp::endpoint> addresses;
    };
    auto outcome = std::make_shared<Outcome>();
    // Asio resolves on a thread of its own, so a slow DNS server cannot stall the loop.
    resolver_.async_resolve(
        config_.endpoint.host, std::to_string(config_.endpoint.port),
        [self = shared_from_this(), outcome](const boost::system::error_code& error,
                                             const asio::ip::tcp::resolver::results_type& results) {
          outcome->done = true;
          outcome->error = error;
          for (const auto& entry : results) outcome->addresses.push_back(entry.endpoint());
          self->wake();
        });
    while (running_ && !outcome->done && Clock::now() < deadline) co_await sleep_until(deadline);
    if (!outcome->done) {
      resolver_.cancel();
      connect_failure_ = "cannot resolve " + config_.endpoint.host + " within connect_timeout";
      co_return std::vector<asio::ip::tcp::endpoint>{};
    }
    if (outcome->error) {
      connect_failure_ = "cannot resolve " + config_.endpoint.host + ": " + outcome->error.message();
    }
    co_return std::move(outcome->addresses);
  }

  /// Sleeps until `deadline` or the next wake(), whichever comes first. Only the supervisor sleeps, and it
  /// checks what it waits for before each sleep, so a wake() with no sleeper loses nothing.
  asio::awaitable<void> sleep_until(Clock::time_point deadline) {
    wake_.expires_at(deadline);
    co_await wake_.async_wait(asio::as_tuple(asio::use_awaitable));
  }

  void wake() { wake_.cancel(); }

  void send(const std::shared_ptr<PendingCommand>& pending, const std::string& wire) {
    if (pending->done) return;  // cancelled on its way here
    if (!connection_ || connection_->state() != Connection::State::ready) {
      pending->fail("redis: not connected to " + server());
      return;
    }
    pending->connection = connection_;
    pending->replies_before = connection_->replies_received();
    bool queued = connection_->send(wire, [pending](const redisReply* reply) {
      if (reply == nullptr) {
        pending->fail("redis: connection closed before the reply");
      } else if (!pending->done) {
        pending->complete(nullptr, to_reply(*reply));
      }
    });
    if (!queued) {
      pending->fail("redis: connection closing");
      return;
    }
    pending->deadline.expires_after(config_.command_timeout);
    pending->deadline.async_wait(
        [self = shared_from_this(), pending](const boost::system::error_code& error) {
          if (!error) self->on_deadline(*pending);
        });
  }

  void on_deadline(PendingCommand& pending) {
    if (pending.done) return;  // the reply came while the timer's handler was queued
    pending.fail("redis: no reply within " + std::to_string(config_.command_timeout.count()) + " ms");
    // Replies come in order: if none at all has come since this command went out, every command behind it
    // is stuck too (a blocking command, a busy server, a peer that vanished), so the connection is dropped
    // and made afresh rather than left to time out everyone.
    auto connection = pending.connection.lock();
    if (connection && connection->state() == Connection::State::ready &&
        connection->replies_received() == pending.replies_before) {
      connection->close("no reply for " + std::to_string(config_.command_timeout.count()) + " ms");
    }
  }

  std::string server() const { return config_.endpoint.host + ":" + std::to_string(config_.endpoint.port); }

  Strand strand_;
  const RedisConfig config_;
  asio::ip::tcp::resolver resolver_;
  asio::steady_timer wake_;
  std::minstd_rand jitter_;
  std::shared_ptr<Connection> connection_;
  std::string connect_failure_;
  bool started_ = false;
  bool running_ = false;
  bool ever_connected_ = false;
  std::atomic<bool> connected_{false};
  std::atomic<std::uint64_t> reconnects_{0};
};

Script::Script(std::string source) : source_(std::move(source)), sha1_(sha1_hex(source_)) {}

Client::Client(const asio::any_io_executor& executor, RedisConfig config)
    : impl_(std::make_shared<Impl>(executor, std::move(config))) {}

Client::~Client() { impl_->stop(); }

void Client::start() { impl_->start(); }

void Client::stop() { impl_->stop(); }

asio::awaitable<Reply> Client::command(std::vector<std::string> args) {
  if (auto why = unsupported_command(args)) throw std::invalid_argument(*why);
  co_return co_await impl_->async_command(encode_command(args), asio::use_awaitable);
}

asio::awaitable<Reply> Client::eval(const Script& script, std::vector<std::string> keys,
                                    std::vector<std::string> args) {
  auto by_sha = encode_script_command("EVALSHA", script.sha1(), keys, args);
  auto reply = co_await impl_->async_command(std::move(by_sha), asio::use_awaitable);
  if (!is_noscript(reply)) co_return reply;
  spdlog::debug("redis: script {} is not cached, sending its source", script.sha1());
  auto by_source = encode_script_command("EVAL", script.source(), keys, args);
  co_return co_await impl_->async_command(std::move(by_source), asio::use_awaitable);
}

bool Client::connected() const { return impl_->connected(); }

std::uint64_t Client::reconnects() const { return impl_->reconnects(); }

}  // namespace switchyard::redis
