// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only

#ifndef QSTATESYNCREDISSCRIPTS_P_H
#define QSTATESYNCREDISSCRIPTS_P_H

//
//  W A R N I N G
//  -------------
//
// This file is not part of the QStateSync API. It may change without notice.
//

// The Lua scripts QStateSyncRedisStorage runs in Redis, each atomically. Values stay JSON
// text as the nodes encoded it: Redis' Lua JSON library would turn empty arrays into
// objects and round numbers to 14 digits, so the node merges with the library's own rules
// and the script checks the version, stores the keys the batch touched, bumps the version
// and publishes the changes, all or nothing.
namespace QStateSyncRedisScripts {

// KEYS: states, state:<id>, value:<id>
// ARGV: id, version, mode, created, ttl, events channel, event, then key, JSON pairs.
// {1}: created; {0, {version, mode, created, ttl}, {key, JSON, ...}}: it existed.
inline constexpr char Create[] = R"lua(
if redis.call('EXISTS', KEYS[2]) == 1 then
  return {0, redis.call('HMGET', KEYS[2], 'version', 'mode', 'created', 'ttl'),
          redis.call('HGETALL', KEYS[3])}
end
redis.call('HSET', KEYS[2], 'version', ARGV[2], 'mode', ARGV[3], 'created', ARGV[4],
           'ttl', ARGV[5])
for i = 8, #ARGV, 2 do
  redis.call('HSET', KEYS[3], ARGV[i], ARGV[i + 1])
end
redis.call('SADD', KEYS[1], ARGV[1])
redis.call('PUBLISH', ARGV[6], ARGV[7])
return {1}
)lua";

// KEYS: state:<id>, value:<id>.  ARGV: the token field of this node, a fence token.
// {0}: no such state; {1, {version, mode, created, ttl, token}, {key, JSON, ...}}, token
// being this node's last batch applied (or fence) before the read. The fence is recorded
// as the node's last token: a batch the node sent before the read and Redis has not run
// yet (it was on a connection that went) is refused when it comes, so the node can merge
// its changes again without their being applied twice.
inline constexpr char Fetch[] = R"lua(
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {0}
end
local meta = redis.call('HMGET', KEYS[1], 'version', 'mode', 'created', 'ttl', ARGV[1])
if not meta[5] or tonumber(meta[5]) < tonumber(ARGV[2]) then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
end
return {1, meta, redis.call('HGETALL', KEYS[2])}
)lua";

// KEYS: state:<id>, value:<id>
// ARGV: base version, new version, token field, token, channel, message, the number of
// keys set, then key, JSON pairs, then the keys removed.
// {1, version}: applied; {0, version}: the state is at another version; {-1, -1}: gone;
// {-2, -2}: the token is older than the node's last one (a read fenced it off).
inline constexpr char Submit[] = R"lua(
local version = redis.call('HGET', KEYS[1], 'version')
if not version then
  return {-1, -1}
end
local last = redis.call('HGET', KEYS[1], ARGV[3])
if last and tonumber(last) > tonumber(ARGV[4]) then
  return {-2, -2}
end
if version ~= ARGV[1] then
  return {0, tonumber(version)}
end
local i = 8
for _ = 1, tonumber(ARGV[7]) do
  redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1])
  i = i + 2
end
while i <= #ARGV do
  redis.call('HDEL', KEYS[2], ARGV[i])
  i = i + 1
end
redis.call('HSET', KEYS[1], 'version', ARGV[2], ARGV[3], ARGV[4])
redis.call('PUBLISH', ARGV[5], ARGV[6])
return {1, tonumber(ARGV[2])}
)lua";

// KEYS: states, state:<id>, value:<id>, clients:<id>
// ARGV: id, due (0: now, whatever the ttl), events channel, event.
// 1: removed here; 0: there was no such state; 2: its ttl deadline is after due.
inline constexpr char Remove[] = R"lua(
if redis.call('EXISTS', KEYS[2]) == 0 then
  return 0
end
local due = tonumber(ARGV[2])
if due > 0 then
  local ttl = tonumber(redis.call('HGET', KEYS[2], 'ttl') or '0')
  if ttl == 0 or ttl > due then
    return 2
  end
end
redis.call('DEL', KEYS[2], KEYS[3], KEYS[4])
redis.call('SREM', KEYS[1], ARGV[1])
redis.call('PUBLISH', ARGV[3], ARGV[4])
return 1
)lua";

// KEYS: node:<node>.  ARGV: the prefix of clients:<id>, this node, then the states it
// followed.  A node leaving: its clients no longer count anywhere.
inline constexpr char Leave[] = R"lua(
for i = 3, #ARGV do
  redis.call('HDEL', ARGV[1] .. ARGV[i], ARGV[2])
end
redis.call('DEL', KEYS[1])
return 1
)lua";

// KEYS: states.  ARGV: the prefix of state:<id>.
// {id, {version, mode, created, ttl}, ...} for every state.
inline constexpr char Load[] = R"lua(
local out = {}
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  out[#out + 1] = id
  out[#out + 1] = redis.call('HMGET', ARGV[1] .. id, 'version', 'mode', 'created', 'ttl')
end
return out
)lua";

// KEYS: clients:<id>.  ARGV: the prefix of node:<node>, this node, its clients.
// Sets this node's count, then returns the clients of the nodes that are alive, and
// forgets the nodes that are not.
inline constexpr char CountClients[] = R"lua(
if tonumber(ARGV[3]) > 0 then
  redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
else
  redis.call('HDEL', KEYS[1], ARGV[2])
end
local total = 0
local entries = redis.call('HGETALL', KEYS[1])
for i = 1, #entries, 2 do
  if redis.call('EXISTS', ARGV[1] .. entries[i]) == 1 then
    total = total + tonumber(entries[i + 1])
  else
    redis.call('HDEL', KEYS[1], entries[i])
  end
end
return total
)lua";

} // namespace QStateSyncRedisScripts

#endif // QSTATESYNCREDISSCRIPTS_P_H
