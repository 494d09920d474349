#include "scripts.hpp"

namespace switchyard::limits::scripts {

namespace {

// Shared by the three scripts: the clock, the scope table, and pruning.
// Members of `log` are admissions scored by admission time (the sliding window for RPM and TPM), with the
// tokens each counts in `tok` and their sum in `toksum`. Members of `lease` are admissions in flight scored
// by lease expiry, with the cost each reserves in `held` and their sum in `heldsum`. Expired members go
// with their amounts, so a crashed process's slots and reservations free themselves.
constexpr const char* kPrelude = R"lua(
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local window = 60000

local function scope(s, first_arg)
  local k = s * 7
  local a = first_arg + s * 4
  local sc = {log = KEYS[k + 1], tok = KEYS[k + 2], toksum = KEYS[k + 3], lease = KEYS[k + 4],
              held = KEYS[k + 5], heldsum = KEYS[k + 6], spend = KEYS[k + 7],
              rpm = tonumber(ARGV[a + 1]), tpm = tonumber(ARGV[a + 2]),
              parallel = tonumber(ARGV[a + 3]), budget = tonumber(ARGV[a + 4])}
  sc.windowed = sc.rpm >= 0 or sc.tpm >= 0
  sc.leased = sc.parallel >= 0 or sc.budget >= 0
  return sc
end

-- Every process gives a key the same lifetime, so setting it outright (one call) equals extending it.
local function extend(key, ms)
  redis.call('PEXPIRE', key, ms)
end

local function prune(set, amounts, sum, cutoff)
  local gone = redis.call('ZRANGEBYSCORE', set, '-inf', cutoff)
  if #gone == 0 then return end
  local total = 0
  for _, member in ipairs(gone) do
    local amount = redis.call('HGET', amounts, member)
    if amount then
      total = total + tonumber(amount)
      redis.call('HDEL', amounts, member)
    end
  end
  if total ~= 0 then redis.call('DECRBY', sum, total) end
  redis.call('ZREMRANGEBYSCORE', set, '-inf', cutoff)
end
)lua";

constexpr const char* kAdmit = R"lua(
local id = ARGV[1]
local lease_ms = tonumber(ARGV[2])
local tokens = tonumber(ARGV[3])
local cost = tonumber(ARGV[4])

local scopes = {}
local need = 0
for s = 0, 1 do
  local sc = scope(s, 4)
  if sc.windowed then
    prune(sc.log, sc.tok, sc.toksum, now - window)
    sc.count = redis.call('ZCARD', sc.log)
    sc.tokens = tonumber(redis.call('GET', sc.toksum) or '0')
    -- A reservation larger than the whole limit still passes through an empty window.
    sc.take = math.min(tokens, math.max(sc.tpm, 0))
  end
  if sc.leased then
    prune(sc.lease, sc.held, sc.heldsum, now)
    sc.in_flight = redis.call('ZCARD', sc.lease)
    sc.held_total = tonumber(redis.call('GET', sc.heldsum) or '0')
  end
  if sc.budget >= 0 then
    local spent = redis.call('GET', sc.spend)
    if spent then sc.spent = tonumber(spent) else need = need + s + 1 end
  end
  scopes[s + 1] = sc
end
if need > 0 then return {1, need} end

local verdict, which, limit, retry = 0, 0, 0, 0
for s = 1, 2 do
  local sc = scopes[s]
  if sc.budget >= 0 and (sc.spent >= sc.budget or sc.spent + sc.held_total + cost > sc.budget) then
    verdict, which, limit = 2, s, sc.budget
    break
  end
end
if verdict == 0 then
  for s = 1, 2 do
    local sc = scopes[s]
    if sc.parallel >= 0 and sc.in_flight >= sc.parallel then
      verdict, which, limit, retry = 3, s, sc.parallel, 1000
      break
    end
    if sc.rpm >= 0 and sc.count >= sc.rpm then
      verdict, which, limit, retry = 4, s, sc.rpm, window
      local frees = redis.call('ZRANGE', sc.log, sc.count - sc.rpm, sc.count - sc.rpm, 'WITHSCORES')
      if frees[2] then retry = tonumber(frees[2]) + window - now end
      break
    end
    if sc.tpm >= 0 and sc.tokens + sc.take > sc.tpm then
      verdict, which, limit, retry = 5, s, sc.tpm, window
      local excess = sc.tokens + sc.take - sc.tpm
      local entries = redis.call('ZRANGE', sc.log, 0, -1, 'WITHSCORES')
      for i = 1, #entries, 2 do
        excess = excess - tonumber(redis.call('HGET', sc.tok, entries[i]) or '0')
        if excess <= 0 then
          retry = tonumber(entries[i + 1]) + window - now
          break
        end
      end
      break
    end
  end
end

if verdict == 0 then
  for s = 1, 2 do
    local sc = scopes[s]
    if sc.windowed then
      redis.call('ZADD', sc.log, now, id)
      sc.count = sc.count + 1
      if sc.tpm >= 0 then
        redis.call('HSET', sc.tok, id, sc.take)
        redis.call('INCRBY', sc.toksum, sc.take)
        sc.tokens = sc.tokens + sc.take
      end
      extend(sc.log, window + 1000)
      extend(sc.tok, window + 1000)
      extend(sc.toksum, window + 1000)
    end
    if sc.leased then
      redis.call('ZADD', sc.lease, now + lease_ms, id)
      if sc.budget >= 0 then
        redis.call('HSET', sc.held, id, cost)
        redis.call('INCRBY', sc.heldsum, cost)
      end
      extend(sc.lease, lease_ms + 1000)
      extend(sc.held, lease_ms + 1000)
      extend(sc.heldsum, lease_ms + 1000)
    end
  end
end

local out = {verdict, which, limit, retry}
for s = 1, 2 do
  local sc = scopes[s]
  if sc.windowed then
    -- Admitted, the newest entry is this one, at `now`: the window empties a whole window from now.
    local reset = window
    if verdict ~= 0 then
      reset = 0
      local newest = redis.call('ZRANGE', sc.log, -1, -1, 'WITHSCORES')
      if newest[2] then reset = tonumber(newest[2]) + window - now end
    end
    table.insert(out, sc.count)
    table.insert(out, sc.tokens)
    table.insert(out, reset)
  else
    table.insert(out, -1)
    table.insert(out, -1)
    table.insert(out, 0)
  end
end
return out
)lua";

constexpr const char* kSettle = R"lua(
local id = ARGV[1]
local tokens = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
for s = 0, 1 do
  local sc = scope(s, 3)
  if sc.tpm >= 0 then
    -- Only while the admission still counts in the window; an older one has left it already.
    local at = redis.call('ZSCORE', sc.log, id)
    if at and tonumber(at) > now - window then
      local counted = tonumber(redis.call('HGET', sc.tok, id) or '0')
      redis.call('HSET', sc.tok, id, tokens)
      redis.call('INCRBY', sc.toksum, tokens - counted)
    end
  end
  if sc.leased then
    redis.call('ZREM', sc.lease, id)
    local held = redis.call('HGET', sc.held, id)
    if held then
      redis.call('HDEL', sc.held, id)
      redis.call('DECRBY', sc.heldsum, held)
    end
  end
  -- A missing counter is rebuilt from the usage records, which include this request.
  if sc.budget >= 0 and cost ~= 0 and redis.call('EXISTS', sc.spend) == 1 then
    redis.call('INCRBY', sc.spend, cost)
  end
end
return 1
)lua";

constexpr const char* kRenew = R"lua(
local id = ARGV[1]
local lease_ms = tonumber(ARGV[2])
local held = 1
for s = 0, 1 do
  local sc = scope(s, 2)
  if sc.leased then
    local expiry = redis.call('ZSCORE', sc.lease, id)
    if expiry and tonumber(expiry) > now then
      redis.call('ZADD', sc.lease, 'XX', now + lease_ms, id)
      extend(sc.lease, lease_ms + 1000)
      extend(sc.held, lease_ms + 1000)
      extend(sc.heldsum, lease_ms + 1000)
    else
      held = 0
    end
  end
end
return held
)lua";

}  // namespace

const redis::Script& admit() {
  static const redis::Script script(std::string(kPrelude) + kAdmit);
  return script;
}

const redis::Script& settle() {
  static const redis::Script script(std::string(kPrelude) + kSettle);
  return script;
}

const redis::Script& renew() {
  static const redis::Script script(std::string(kPrelude) + kRenew);
  return script;
}

}  // namespace switchyard::limits::scripts
