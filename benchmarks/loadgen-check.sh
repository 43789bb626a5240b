#!/usr/bin/env bash
# The load generator's correctness check (ctest "loadgen"): no timing is asserted.
#
#   loadgen-check.sh LOADGEN QSTATESYNCD WORKDIR [NODE SERVER_JS]
#
# 1. The self-check against the built-in fake server: frames with 7-bit, 16-bit and
#    64-bit lengths, a fragmented message, pings; then the same with one message of
#    every block left out, which must be reported as lost (the checking can fail).
# 2. Against qstatesyncd and, when given, the Node.js peer, each started on port 0: a
#    fan-out to 10 subscribers of 200 updates, and 10 states x 4 clients that all write
#    50 updates. Any update missing or out of order at any client fails the test.
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
trap 'stop_server >/dev/null 2>&1 || true' EXIT
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

check_server() {
    local label=$1
    shift
    start_server "$workdir/$label.log" "$@" --host 127.0.0.1 --port 0 "${states[@]}"
    local common=(--port "$SERVER_PORT" --server-pid "$SERVER_PID" --server-label "$label"
                  --warmup 0 --connect-timeout 20 --drain-timeout 10)
    expect_ok fanout "${common[@]}" --subscribers 10 --updates 200 --window 4
    expect_ok manystates "${common[@]}" --states 10 --clients-per-state 4 --updates 50 \
        --window 4
    stop_server
}

check_server qstatesyncd "$qstatesyncd"
if [ -n "$node" ]; then
    check_server node "$node" "$server_js"
fi
