#!/usr/bin/env bash
# The load generator's correctness check (ctest "loadgen"): no timing is asserted.
#
#   loadgen-check.sh LOADGEN QSTATESYNCD WORKDIR [NODE SERVER_JS]
#
# 1. The self-check against the built-in fake server: frames with 7-bit, 16-bit and
#    64-bit lengths, a fragmented message, pings; then the same with one message of
#    every block left out, which must be reported as lost (the checking can fail).
# 2. Against qstatesyncd, the load generator's own bare relay (`qstatesync-loadgen relay`,
#    two threads) and, when given, the Node.js peer, each started on port 0: a fan-out to
#    10 subscribers of 200 updates, and 10 states x 4 clients that all write 50 updates.
#    Any update missing or out of order at any client fails the test.
# 3. The relay's answers to what the load generator never sends, over a plain socket: a
#    ping and a close frame (a pong and a close frame come back), and a request that is
#    not a GET, a frame with a reserved bit, a text without a type and an unknown type
#    (each: the connection is closed, with a line on the relay's standard error). Then a
#    client that reads nothing while 400 updates of 60,000 bytes (24 MB, more than the
#    socket buffers hold) are sent to its state: the relay keeps what the socket does not
#    take, and when the client reads, every update is there, in order.
# 4. --ports, when redis-server is installed: two qstatesyncd nodes sharing the state
#    through a Redis server of the check's own, a fan-out to 10 subscribers of 200 updates
#    with the writer and 5 subscribers on one node and 5 on the other: every subscriber
#    must get every update in order, whichever node it is on (so the subscribers of the
#    second node are really served, through Redis); and --ports is refused where it makes
#    no sense.
set -euo pipefail

if [ $# -ne 3 ] && [ $# -ne 5 ]; then
    echo "usage: $0 LOADGEN QSTATESYNCD WORKDIR [NODE SERVER_JS]" >&2
    exit 2
fi
loadgen=$1
qstatesyncd=$2
workdir=$3
node=${4:-}
server_js=${5:-}

# shellcheck source=servers.sh
. "$(dirname "$0")/servers.sh"
# shellcheck source=cluster.sh
. "$(dirname "$0")/cluster.sh"
# What cluster.sh needs of run.sh's settings.
PYTHON=${PYTHON:-python3}
# shellcheck disable=SC2034 # used by cluster.sh
OUT_DIR=$workdir
trap 'stop_server >/dev/null 2>&1 || true; stop_nodes >/dev/null 2>&1 || true; stop_redis' EXIT
mkdir -p "$workdir"

expect_ok() {
    local output
    if ! output=$("$loadgen" "$@" 2>"$workdir/loadgen.err"); then
        echo "FAIL: qstatesync-loadgen $*" >&2
        cat "$workdir/loadgen.err" >&2
        exit 1
    fi
    if [[ $output != *'"ok":true'* ]] || [[ $output != *'"lost":0,'* ]] \
        || [[ $output != *'"out_of_order":0,'* ]]; then
        echo "FAIL: qstatesync-loadgen $* printed: $output" >&2
        exit 1
    fi
    echo "ok: $*"
}

expect_ok selfcheck --connections 20 --warmup 0 --duration 0.3
status=0
output=$("$loadgen" selfcheck --connections 4 --warmup 0 --duration 0.2 --fake-loss 1 \
    2>/dev/null) || status=$?
if [ "$status" -ne 1 ] || [[ $output == *'"lost":0,'* ]]; then
    echo "FAIL: a lost message went unnoticed (status $status): $output" >&2
    exit 1
fi
echo "ok: a lost message is reported"

states=(--state fanout)
for i in $(seq 0 9); do
    states+=(--state "s$i")
done

check_server() { # LABEL COMMAND... (the server's options, listening on 127.0.0.1:0, included)
    local label=$1
    shift
    start_server "$workdir/$label.log" "$@"
    local common=(--port "$SERVER_PORT" --server-pid "$SERVER_PID" --server-label "$label"
                  --warmup 0 --connect-timeout 20 --drain-timeout 10)
    expect_ok fanout "${common[@]}" --subscribers 10 --updates 200 --window 4
    expect_ok manystates "${common[@]}" --states 10 --clients-per-state 4 --updates 50 \
        --window 4
}

# Writes the bytes of printf FORMAT to a new connection to the server and prints, in hex,
# what comes back until the server closes it (fails when it does not within 10 s).
exchange() {
    local reply=$workdir/reply
    exec {socket}<>"/dev/tcp/127.0.0.1/$SERVER_PORT"
    # shellcheck disable=SC2059
    printf "$1" >&"$socket"
    if ! timeout 10 cat <&"$socket" >"$reply"; then
        exec {socket}>&-
        echo "FAIL: the relay did not close the connection after: $1" >&2
        exit 1
    fi
    exec {socket}>&-
    od -An -v -tx1 "$reply" | tr -d ' \n'
}

upgrade='GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n'
upgrade+='Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n'

expect_rejected() { # WHAT LOG-TEXT BYTES
    local log=$workdir/relay.log
    exchange "$3" >/dev/null
    if ! grep -qF "closed: $2" "$log"; then
        echo "FAIL: the relay did not say why it closed the connection ($1); its log:" >&2
        cat "$log" >&2
        exit 1
    fi
    echo "ok: relay closes the connection on $1"
}

check_relay() {
    # The 101 answer (with the RFC 6455 example's accept value), then a pong with the
    # ping's payload, then the close frame's status code sent back.
    local reply
    reply=$(exchange "$upgrade"'\x89\x02hi\x88\x02\x03\xe8')
    local accept
    accept=$(printf 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=' | od -An -v -tx1 | tr -d ' \n')
    if [[ $reply != *"$accept"* ]] || [[ $reply != *8a026869880203e8 ]]; then
        echo "FAIL: the relay's answer to a ping and a close frame: $reply" >&2
        exit 1
    fi
    echo "ok: relay answers a ping with a pong and a close frame with a close frame"
    expect_rejected "a POST" "not a GET request" 'POST / HTTP/1.1\r\n\r\n'
    expect_rejected "a reserved bit" "frame with a reserved bit set" "$upgrade"'\xf1\x00'
    expect_rejected "a text without a type" 'a message without a readable "type"' \
        "$upgrade"'\x81\x05hello'
    expect_rejected "an unknown type" "the unsupported message type 99" \
        "$upgrade"'\x81\x0b{"type":99}'
}

# The slow client of step 3.
check_relay_backlog() {
    local join='{"type":2,"data":{"stateIdentifier":"fanout"}}' length answer
    printf -v length '\\x%02x' "${#join}"
    answer=$(printf 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: '\
'Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n' | wc -c)
    exec {slow}<>"/dev/tcp/127.0.0.1/$SERVER_PORT"
    # shellcheck disable=SC2059
    printf "$upgrade"'\x81'"$length%s" "$join" >&"$slow"
    # The answer and STATE_CONNECTION_ESTABLISHED, byte by byte so that nothing after
    # them is read: the client has joined.
    local established='{"type":7,"data":{"state":{}}}'
    timeout 10 dd bs=1 count=$((answer + 2 + ${#established})) status=none <&"$slow" >/dev/null
    expect_ok fanout --port "$SERVER_PORT" --server-label relay --warmup 0 --connect-timeout 20 \
        --drain-timeout 10 --subscribers 10 --updates 400 --payload 60000 --window 4
    # Each update: a 4-byte header and its text, stamped "v":"0:SEQUENCE:...
    local prefix='{"type":3,"data":{"updates":{"v":"' suffix='"}}}' sequences
    sequences=$(timeout 20 head -c $((400 * (4 + ${#prefix} + 60000 + ${#suffix}))) <&"$slow" \
        | LC_ALL=C grep -ao '"v":"0:[0-9]*:' | cut -d: -f3 | tr '\n' ' ') || true
    exec {slow}>&-
    if [ "$sequences" != "$(seq 0 399 | tr '\n' ' ')" ]; then
        echo "FAIL: the client that read late got the updates: ${sequences:0:300}" >&2
        exit 1
    fi
    echo "ok: relay keeps what a socket does not take and sends it in order later"
}

check_server qstatesyncd "$qstatesyncd" --host 127.0.0.1 --port 0 --storage memory "${states[@]}"
stop_server
check_server relay "$loadgen" relay --port 0 --threads 2
check_relay
check_relay_backlog
stop_server
if ! grep -Eq 'EPOLLOUT: [1-9][0-9]* times' "$workdir/relay.log"; then
    echo "FAIL: no socket of the relay was ever backlogged; its log:" >&2
    cat "$workdir/relay.log" >&2
    exit 1
fi
if [ -n "$node" ]; then
    check_server node "$node" "$server_js" --host 127.0.0.1 --port 0 "${states[@]}"
    stop_server
fi

expect_refused() { # WHAT ARGUMENTS...
    local what=$1 status=0
    shift
    "$loadgen" "$@" >/dev/null 2>&1 || status=$?
    if [ "$status" -ne 2 ]; then
        echo "FAIL: qstatesync-loadgen $* was not refused (status $status)" >&2
        exit 1
    fi
    echo "ok: refused: $what"
}

expect_refused "--ports with manystates" manystates --ports 1,2
expect_refused "--port and --ports together" fanout --port 1 --ports 1,2
expect_refused "a --ports list that is not one" fanout --ports 1,x

if ! command -v redis-server >/dev/null 2>&1 || ! command -v "$PYTHON" >/dev/null 2>&1; then
    echo "skipped: --ports over two cluster nodes (redis-server or $PYTHON was not found)"
    exit 0
fi
: >"$workdir/redis.log"
if ! start_redis redis-server; then
    echo "FAIL: redis-server did not start; its log:" >&2
    cat "$workdir/redis.log" >&2
    exit 1
fi
for node in 0 1; do
    start_node "$workdir/node$node.log" "$qstatesyncd" --host 127.0.0.1 --port 0 --storage redis \
        --redis "127.0.0.1:$REDIS_PORT" --node-id "node-$node" "${states[@]}"
done
output=$("$loadgen" fanout --ports "${NODE_PORTS[0]},${NODE_PORTS[1]}" \
    --server-pid "${NODE_PIDS[0]},${NODE_PIDS[1]}" --server-label cluster --warmup 0 \
    --connect-timeout 20 --drain-timeout 10 --subscribers 10 --updates 200 --window 4 \
    2>"$workdir/loadgen.err") || true
# Each node had 5 subscribers, and they got the 200 updates each.
if [[ $output != *'"ok":true'* ]] || [[ $output != *'"lost":0,'* ]] \
    || [[ $output != *'"out_of_order":0,'* ]] || ! "$PYTHON" -c '
import json, sys
servers = json.loads(sys.argv[1])["per_server"]
ports = [int(p) for p in sys.argv[2:]]
assert [s["port"] for s in servers] == ports, servers
assert all(s["subscribers"] == 5 and s["deliveries"] == 1000 for s in servers), servers' \
        "$output" "${NODE_PORTS[@]}"; then
    echo "FAIL: fanout over two cluster nodes printed: $output" >&2
    cat "$workdir/loadgen.err" >&2
    exit 1
fi
for node in 0 1; do
    joins=$(grep -c 'joined fanout' "$workdir/node$node.log" || true)
    if [ "$joins" -lt 5 ]; then
        echo "FAIL: node $node logged $joins joins, not the 5 or 6 of its clients" >&2
        exit 1
    fi
done
stop_nodes
stop_redis
echo "ok: fanout --ports over two cluster nodes: each node's 5 subscribers got all 200 updates"
