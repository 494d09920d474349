#include "connection.hpp"

#include <boost/asio/error.hpp>

namespace switchyard::redis {

namespace asio = boost::asio;

std::shared_ptr<Connection> Connection::open(Strand strand, const asio::ip::tcp::endpoint& address,
                                             const std::vector<Command>& handshake,
                                             std::function<void()> on_state_change) {
  std::shared_ptr<Connection> connection(new Connection(std::move(strand), std::move(on_state_change)));
  connection->connect(address, handshake);
  return connection;
}

Connection::Connection(Strand strand, std::function<void()> on_state_change)
    : socket_(std::move(strand)), on_state_change_(std::move(on_state_change)) {}

Connection::~Connection() { close("connection destroyed"); }

void Connection::connect(const asio::ip::tcp::endpoint& address, const std::vector<Command>& handshake) {
  // A numeric address keeps hiredis' getaddrinfo() from making a DNS query, which would block the loop.
  redisAsyncContext* context = redisAsyncConnect(address.address().to_string().c_str(), address.port());
  if (context == nullptr) {
    error_ = "hiredis could not allocate a context";
    state_ = State::closed;
    return;
  }
  if (context->err != 0) {
    error_ = context->errstr;
    redisAsyncFree(context);
    state_ = State::closed;
    return;
  }
  boost::system::error_code error;
  socket_.assign(context->c.fd, error);
  if (error) {
    error_ = "cannot watch the socket: " + error.message();
    redisAsyncFree(context);
    state_ = State::closed;
    return;
  }

  // Keepalive notices a peer that vanished while the connection sat idle, so connected() stays truthful.
  redisEnableKeepAlive(&context->c);
  context_ = context;
  context->data = this;
  // hiredis asks for read and write readiness through these hooks, and each becomes an async_wait on the
  // socket. The cleanup hook comes just before hiredis closes the socket itself.
  context->ev.data = this;
  context->ev.addRead = [](void* self) { static_cast<Connection*>(self)->watch(Direction::read, true); };
  context->ev.delRead = [](void* self) { static_cast<Connection*>(self)->watch(Direction::read, false); };
  context->ev.addWrite = [](void* self) { static_cast<Connection*>(self)->watch(Direction::write, true); };
  context->ev.delWrite = [](void* self) { static_cast<Connection*>(self)->watch(Direction::write, false); };
  context->ev.cleanup = [](void* self) { static_cast<Connection*>(self)->detach(); };

  // hiredis buffers these until the socket connects, so they go out first, before any caller's command.
  for (const auto& command : handshake) {
    ++handshake_replies_due_;
    send(encode_command(command),
         [this, verb = command.front()](const redisReply* reply) { on_handshake_reply(verb, reply); });
  }
}

void Connection::watch(Direction direction, bool wanted) {
  interest(direction).wanted = wanted;
  wait(direction);
}

void Connection::wait(Direction direction) {
  auto& current = interest(direction);
  if (context_ == nullptr || !current.wanted || current.waiting) return;
  current.waiting = true;
  auto what = direction == Direction::read ? asio::posix::descriptor_base::wait_read
                                           : asio::posix::descriptor_base::wait_write;
  socket_.async_wait(what, [self = shared_from_this(), direction](const boost::system::error_code& error) {
    self->interest(direction).waiting = false;
    if (error == asio::error::operation_aborted || self->context_ == nullptr) return;
    if (error) {
      self->close("cannot wait on the socket: " + error.message());
      return;
    }
    if (!self->interest(direction).wanted) return;
    if (direction == Direction::read) {
      redisAsyncHandleRead(self->context_);
    } else {
      redisAsyncHandleWrite(self->context_);
    }
    self->wait(direction);
  });
}

bool Connection::send(std::string_view wire, ReplyCallback callback) {
  if (context_ == nullptr) return false;
  auto owned = std::make_unique<ReplyCallback>(std::move(callback));
  if (redisAsyncFormattedCommand(context_, &Connection::on_reply, owned.get(), wire.data(), wire.size()) !=
      REDIS_OK) {
    return false;
  }
  static_cast<void>(owned.release());  // on_reply takes it back
  return true;
}

void Connection::on_reply(redisAsyncContext* context, void* reply, void* callback) {
  std::unique_ptr<ReplyCallback> owned(static_cast<ReplyCallback*>(callback));
  if (reply != nullptr) ++static_cast<Connection*>(context->data)->replies_received_;
  (*owned)(static_cast<const redisReply*>(reply));
}

void Connection::on_handshake_reply(const std::string& verb, const redisReply* reply) {
  // A null reply means the context is going away, which detach() reports.
  if (reply == nullptr || state_ != State::handshaking) return;
  if (reply->type == REDIS_REPLY_ERROR) {
    error_ = verb + " refused: " + std::string(reply->str, reply->len);
    set_state(State::failed);
    return;
  }
  if (--handshake_replies_due_ == 0) set_state(State::ready);
}

void Connection::close(const std::string& reason) {
  if (context_ == nullptr) return;
  if (error_.empty()) error_ = reason;
  redisAsyncFree(context_);  // calls detach() through the cleanup hook
}

void Connection::detach() {
  if (context_ == nullptr) return;
  if (error_.empty()) error_ = context_->err != 0 ? context_->errstr : "closed";
  context_ = nullptr;
  // Cancels both waits and unregisters the socket without closing it: hiredis closes it right after this.
  socket_.release();
  set_state(State::closed);
}

void Connection::set_state(State state) {
  state_ = state;
  on_state_change_();
}

}  // namespace switchyard::redis
