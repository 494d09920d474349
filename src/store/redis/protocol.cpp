#include "protocol.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>

namespace switchyard::redis {
namespace {

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

Command script_command(std::string_view verb, const std::string& script, const std::vector<std::string>& keys,
                       const std::vector<std::string>& args) {
  Command command;
  command.reserve(3 + keys.size() + args.size());
  command.emplace_back(verb);
  command.push_back(script);
  command.push_back(std::to_string(keys.size()));
  command.insert(command.end(), keys.begin(), keys.end());
  command.insert(command.end(), args.begin(), args.end());
  return command;
}

std::string encode_command(const Command& command) {
  std::size_t size = 16;
  for (const auto& arg : command) size += arg.size() + 16;
  std::string wire;
  wire.reserve(size);
  auto append_length = [&wire](char marker, std::size_t length) {
    char digits[24];
    auto [end, error] = std::to_chars(std::begin(digits), std::end(digits), length);
    static_cast<void>(error);  // 24 digits hold any size_t
    wire += marker;
    wire.append(digits, end);
    wire += "\r\n";
  };
  append_length('*', command.size());
  for (const auto& arg : command) {
    append_length('$', arg.size());
    wire += arg;
    wire += "\r\n";
  }
  return wire;
}

bool is_noscript(const Reply& reply) {
  return reply.type == Reply::Type::error && reply.text.starts_with("NOSCRIPT");
}

}  // namespace switchyard::redis
