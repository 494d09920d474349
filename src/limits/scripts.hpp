#pragma once

#include "switchyard/store/redis_client.hpp"

/// The Lua scripts of admission. Each runs atomically in Redis and reads time from Redis' own clock, so
/// that processes with skewed clocks agree on windows and lease expiry. All keys of one admission share the
/// tenant's hash tag, so the scripts also run on Redis Cluster.
namespace switchyard::limits::scripts {

/// Keys per scope, in the order every script takes them.
inline constexpr int kKeysPerScope = 4;

/// KEYS: per scope (key, then tenant): log, leases, sums, spend.
/// ARGV: admission id, lease ms, token reservation, cost reservation, then per scope rpm, tpm, parallel,
/// budget (-1 for none).
/// Returns {1, mask of scopes whose spend counter is missing (1 key, 2 tenant)} having taken nothing, or
/// {verdict (0 admitted, 2 budget, 3 parallel, 4 rpm, 5 tpm), scope (1 key, 2 tenant), limit, retry ms,
///  Redis' time in ms (the admission's time, which settle() needs), then per scope: requests in the window,
///  tokens in the window, ms until the window is empty}.
const redis::Script& admit();

/// KEYS as admit(), the spend key of the period current at settlement.
/// ARGV: admission id, its time (from admit()), token and cost reservations, actual tokens, actual cost,
/// then per scope rpm, tpm, parallel, budget (as at admission: they name the members to settle).
const redis::Script& settle();

/// KEYS as admit(). ARGV: admission id, lease ms, cost reservation, then per scope rpm, tpm, parallel,
/// budget.
/// Returns 1 when every lease was still held and is extended, else 0.
const redis::Script& renew();

}  // namespace switchyard::limits::scripts
