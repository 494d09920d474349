#include "scripts.hpp"

namespace switchyard::limits::scripts {

namespace {

// Shared by the three scripts: the clock, the scope table, pruning and key lifetimes.
// Members of `log` are admissions scored by admission time (the sliding window for RPM and TPM), named
// "<id>:<tokens counted>". Members of `lease` are admissions in flight scored by lease expiry, named
// "<id>:<cost reserved>". The hash `sums` holds what the sets' members add up to: `t` the tokens in the
// window, `h` the cost held; and `x` until when the scope's keys are kept. Amounts live in the member names
// so that pruning an expired member needs no further lookup; expired members go with their amounts, so a
// crashed process's slots and reservations free themselves.
constexpr const char* kPrelude = R"lua(
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local window = 60000
-- Keys are given a lifetime this much longer than they need, so that extending it is rarely due.
local slack = 10000

local function scope(s, first_arg)
  local k = s * 4
  local a = first_arg + s * 4
  local sc = {log = KEYS[k + 1], lease = KEYS[k + 2], sums = KEYS[k + 3], spend = KEYS[k + 4],
              rpm = tonumber(ARGV[a + 1]), tpm = tonumber(ARGV[a + 2]),
              parallel = tonumber(ARGV[a + 3]), budget = tonumber(ARGV[a + 4])}
  sc.windowed = sc.rpm >= 0 or sc.tpm >= 0
  sc.leased = sc.parallel >= 0 or sc.budget >= 0
  return sc
end

local function amount_of(member)
  return tonumber(string.match(member, ':(-?%d+)$')) or 0
end

-- Drops the members of `set` scored at or below `cutoff`; returns what their amounts added up to.
local function prune(set, cutoff)
  local gone = redis.call('ZRANGEBYSCORE', set, '-inf', cutoff)
  if #gone == 0 then return 0 end
  local total = 0
  for _, member in ipairs(gone) do total = total + amount_of(member) end
  redis.call('ZREMRANGEBYSCORE', set, '-inf', cutoff)
  return total
end

-- Reads the sums of a scope, pruned of what has left the window and of expired leases.
local function load(sc)
  local sums = redis.call('HMGET', sc.sums, 't', 'h', 'x')
  sc.tokens = tonumber(sums[1] or '0')
  sc.held_total = tonumber(sums[2] or '0')
  sc.kept_until = tonumber(sums[3] or '0')
  sc.dirty = false
  if sc.windowed then
    local left = prune(sc.log, now - window)
    if left ~= 0 then sc.tokens, sc.dirty = sc.tokens - left, true end
    sc.count = redis.call('ZCARD', sc.log)
  end
  if sc.leased then
    local freed = prune(sc.lease, now)
    if freed ~= 0 then sc.held_total, sc.dirty = sc.held_total - freed, true end
    sc.in_flight = redis.call('ZCARD', sc.lease)
  end
end

-- Writes the sums back, and extends the keys' lifetime when it runs short (or a set was just created, as
-- a set that empties is deleted, and recreated without one): at most every `slack` ms per scope.
local function store(sc, lease_ms, created)
  local need = math.max(window, lease_ms) + 1000
  if created or sc.kept_until < now + need then
    sc.kept_until = now + need + slack
    redis.call('HSET', sc.sums, 't', sc.tokens, 'h', sc.held_total, 'x', sc.kept_until)
    for _, key in ipairs({sc.log, sc.lease, sc.sums}) do redis.call('PEXPIREAT', key, sc.kept_until) end
  elseif sc.dirty then
    redis.call('HSET', sc.sums, 't', sc.tokens, 'h', sc.held_total)
  end
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
  if sc.budget >= 0 then
    local spent = redis.call('GET', sc.spend)
    if spent then sc.spent = tonumber(spent) else need = need + s + 1 end
  end
  scopes[s + 1] = sc
end
if need > 0 then return {1, need} end

for s = 1, 2 do
  local sc = scopes[s]
  if sc.windowed or sc.leased then load(sc) end
  -- A reservation larger than the whole limit still passes through an empty window.
  sc.take = math.min(tokens, math.max(sc.tpm, 0))
end

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
        excess = excess - amount_of(entries[i])
        if excess <= 0 then
          retry = tonumber(entries[i + 1]) + window - now
          break
        end
      end
      break
    end
  end
end

for s = 1, 2 do
  local sc = scopes[s]
  if verdict == 0 and (sc.windowed or sc.leased) then
    local created = false
    if sc.windowed then
      local counted = 0
      if sc.tpm >= 0 then counted = sc.take end
      redis.call('ZADD', sc.log, now, id .. ':' .. counted)
      created = sc.count == 0
      sc.count = sc.count + 1
      sc.tokens = sc.tokens + counted
    end
    if sc.leased then
      local held = 0
      if sc.budget >= 0 then held = cost end
      redis.call('ZADD', sc.lease, now + lease_ms, id .. ':' .. held)
      created = created or sc.in_flight == 0
      sc.held_total = sc.held_total + held
    end
    sc.dirty = true
    store(sc, lease_ms, created)
  elseif sc.dirty then
    store(sc, lease_ms, false)
  end
end

local out = {verdict, which, limit, retry, now}
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
local admitted_at = tonumber(ARGV[2])
local reserved_tokens = tonumber(ARGV[3])
local reserved_cost = tonumber(ARGV[4])
local tokens = tonumber(ARGV[5])
local cost = tonumber(ARGV[6])
for s = 0, 1 do
  local sc = scope(s, 6)
  if sc.tpm >= 0 then
    local counted = math.min(reserved_tokens, sc.tpm)
    if tokens ~= counted then
      -- Added before the old entry goes, so that the set never empties (and loses its lifetime). An entry
      -- already pruned has left the window: its correction counts for nothing either way.
      redis.call('ZADD', sc.log, admitted_at, id .. ':' .. tokens)
      if redis.call('ZREM', sc.log, id .. ':' .. counted) == 1 then
        redis.call('HINCRBY', sc.sums, 't', tokens - counted)
      else
        redis.call('ZREM', sc.log, id .. ':' .. tokens)
      end
    end
  end
  if sc.leased then
    local held = 0
    if sc.budget >= 0 then held = reserved_cost end
    if redis.call('ZREM', sc.lease, id .. ':' .. held) == 1 and held ~= 0 then
      redis.call('HINCRBY', sc.sums, 'h', -held)
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
local reserved_cost = tonumber(ARGV[3])
local held = 1
for s = 0, 1 do
  local sc = scope(s, 3)
  if sc.leased then
    local member = id .. ':0'
    if sc.budget >= 0 then member = id .. ':' .. reserved_cost end
    local expiry = redis.call('ZSCORE', sc.lease, member)
    if expiry and tonumber(expiry) > now then
      redis.call('ZADD', sc.lease, 'XX', now + lease_ms, member)
      local kept_until = tonumber(redis.call('HGET', sc.sums, 'x') or '0')
      if kept_until < now + lease_ms + 1000 then
        kept_until = now + lease_ms + 1000 + slack
        redis.call('HSET', sc.sums, 'x', kept_until)
        for _, key in ipairs({sc.log, sc.lease, sc.sums}) do redis.call('PEXPIREAT', key, kept_until) end
      end
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
