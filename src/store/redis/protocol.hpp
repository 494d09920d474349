#pragma once

#include <hiredis/hiredis.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "switchyard/core/config.hpp"
#include "switchyard/store/redis_client.hpp"

/// What the client says to Redis and how it reads the answers, apart from any socket.
namespace switchyard::redis {

using Command = std::vector<std::string>;

/// A copy of hiredis' reply, which hiredis frees as soon as the reply callback returns.
Reply to_reply(const redisReply& reply);

/// What a new connection sends before anything else: AUTH when the endpoint has a password, SELECT when
/// it names a database other than 0, then PING, whose answer means the connection is ready.
std::vector<Command> handshake_commands(const RedisEndpoint& endpoint);

/// Why `command` must not go over the shared connection, or nullopt when it may. These commands change
/// the connection's state for every caller pipelined on it (database, transaction, reply mode), or
/// leave request/reply mode, after which hiredis would match replies to the wrong callers.
std::optional<std::string> unsupported_command(const Command& command);

/// `command` in Redis' wire format (RESP: an array of bulk strings), ready for hiredis to send as it is.
std::string encode_command(const Command& command);

/// {verb, script, numkeys, keys..., args...} in wire format, without gathering them into a Command first:
/// `verb` is EVALSHA with the SHA-1, or EVAL with the source.
std::string encode_script_command(std::string_view verb, std::string_view script,
                                  const std::vector<std::string>& keys, const std::vector<std::string>& args);

/// Whether Redis answered that it does not have the script (EVALSHA after a restart or SCRIPT FLUSH).
bool is_noscript(const Reply& reply);

}  // namespace switchyard::redis
