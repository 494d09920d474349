#include "protocol.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>

namespace switchyard::redis {
namespace {

/// An array of bulk strings in RESP, written in one pass into one buffer: hiredis' own printf-style
/// formatting cost several times as much.
class RespWriter {
 public:
  RespWriter(std::size_t count, std::size_t bytes) {
    wire_.reserve(16 + bytes + 16 * count);
    length('*', count);
  }

  void bulk(std::string_view arg) {
    length('$', arg.size());
    wire_ += arg;
    wire_ += "\r\n";
  }

  std::string take() { return std::move(wire_); }

 private:
  void length(char marker, std::size_t value) {
    char digits[24];
    auto [end, error] = std::to_chars(std::begin(digits), std::end(digits), value);
    static_cast<void>(error);  // 24 digits hold any size_t
    wire_ += marker;
    wire_.append(digits, end);
    wire_ += "\r\n";
  }

  std::string wire_;
};

std::string upper(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return out;
}

}  // namespace

Reply to_reply(const redisReply& reply) {
  Reply out;
  switch (reply.type) {
    case REDIS_REPLY_NIL:
      out.type = Reply::Type::nil;
      break;
    case REDIS_REPLY_STATUS:
      out.type = Reply::Type::status;
      out.text.assign(reply.str, reply.len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = Reply::Type::error;
      out.text.assign(reply.str, reply.len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = Reply::Type::integer;
      out.integer = reply.integer;
      break;
    case REDIS_REPLY_STRING:
      out.type = Reply::Type::string;
      out.text.assign(reply.str, reply.len);
      break;
    case REDIS_REPLY_ARRAY:
      out.type = Reply::Type::array;
      out.elements.reserve(reply.elements);
      for (std::size_t i = 0; i < reply.elements; ++i) out.elements.push_back(to_reply(*reply.element[i]));
      break;
    default:
      // hiredis 0.14 speaks RESP2 only, so this would be a bug in hiredis rather than an answer.
      out.type = Reply::Type::error;
      out.text = "ERR unknown hiredis reply type " + std::to_string(reply.type);
      break;
  }
  return out;
}

std::vector<Command> handshake_commands(const RedisEndpoint& endpoint) {
  std::vector<Command> commands;
  if (!endpoint.password.empty()) commands.push_back({"AUTH", endpoint.password});
  if (endpoint.db != 0) commands.push_back({"SELECT", std::to_string(endpoint.db)});
  commands.push_back({"PING"});
  return commands;
}

std::optional<std::string> unsupported_command(const Command& command) {
  if (command.empty()) return "empty Redis command";
  static constexpr std::array<std::string_view, 16> kConnectionState = {
      "SUBSCRIBE", "PSUBSCRIBE", "SSUBSCRIBE", "UNSUBSCRIBE", "PUNSUBSCRIBE", "SUNSUBSCRIBE",
      "MONITOR",   "HELLO",      "RESET",      "QUIT",        "SELECT",       "MULTI",
      "EXEC",      "DISCARD",    "WATCH",      "UNWATCH"};
  auto verb = upper(command.front());
  bool client_reply = verb == "CLIENT" && command.size() > 1 && upper(command[1]) == "REPLY";
  if (client_reply ||
      std::find(kConnectionState.begin(), kConnectionState.end(), verb) != kConnectionState.end()) {
    return "Redis command " + verb + (client_reply ? " REPLY" : "") +
           " would change the connection that every caller shares";
  }
  return std::nullopt;
}

std::string encode_command(const Command& command) {
  std::size_t bytes = 0;
  for (const auto& arg : command) bytes += arg.size();
  RespWriter wire(command.size(), bytes);
  for (const auto& arg : command) wire.bulk(arg);
  return wire.take();
}

std::string encode_script_command(std::string_view verb, std::string_view script,
                                  const std::vector<std::string>& keys,
                                  const std::vector<std::string>& args) {
  auto key_count = std::to_string(keys.size());
  std::size_t bytes = verb.size() + script.size() + key_count.size();
  for (const auto& key : keys) bytes += key.size();
  for (const auto& arg : args) bytes += arg.size();
  RespWriter wire(3 + keys.size() + args.size(), bytes);
  wire.bulk(verb);
  wire.bulk(script);
  wire.bulk(key_count);
  for (const auto& key : keys) wire.bulk(key);
  for (const auto& arg : args) wire.bulk(arg);
  return wire.take();
}

bool is_noscript(const Reply& reply) {
  return reply.type == Reply::Type::error && reply.text.starts_with("NOSCRIPT");
}

}  // namespace switchyard::redis
