#!/usr/bin/env bash
# The benchmark runner: qstatesyncd and the Node.js peer (benchmarks/node/server.js), side
# by side, the same scenarios with the same load generator, several runs each, the two
# servers alternately; then doc/benchmarks.md and doc/images/benchmarks.png (report.py). Run it
# through `./dev.sh bench`, which builds build/ in Release first.
# In the two latency cases a third server takes its turn: the load generator's bare relay
# (`qstatesync-loadgen relay`, as many threads as qstatesyncd's I/O threads), the least
# work any server can do per delivery, whose latency is the floor this machine sets.
# The cluster case (cluster.sh) measures fan-out through qstatesyncd nodes that share the
# state through a Redis server started for it.
#
#   benchmarks/run.sh [BUILD_DIR]
#
# Environment (all optional):
#   QSTATESYNC_BENCH_RUNS        runs of every scenario and server (3)
#   QSTATESYNC_BENCH_WARMUP      seconds of warm-up in each run (1)
#   QSTATESYNC_BENCH_SECONDS     seconds measured after it (2.5)
#   QSTATESYNC_BENCH_RATE        updates/s of the latency scenario (20)
#   QSTATESYNC_BENCH_BUSY_RATE   updates/s of the busy latency scenario (50, about two
#                                thirds of what the Node.js peer can do at 1,000
#                                subscribers)
#   QSTATESYNC_BENCH_IO_THREADS  --io-threads of qstatesyncd, when it has the option, and
#                                --threads of the bare relay (nproc)
#   QSTATESYNC_BENCH_ONLY        run only the cases whose name matches this regex
#   QSTATESYNC_BENCH_CLUSTER_ONLY set: run the cluster case alone, with its results in a
#                                file of their own, and rewrite only the Cluster section
#                                (and its line in Method) of doc/benchmarks.md
#   QSTATESYNC_BENCH_REDIS_SERVER the redis-server of the cluster case (redis-server on
#                                PATH); without one the case is left out
#   QSTATESYNC_BENCH_NO_REPORT   set: leave doc/ alone (results stay in BUILD_DIR)
#   QSTATESYNC_BENCH_REPORT_ONLY set: measure nothing, write doc/ again from the last
#                                results (after editing benchmarks/profile.md)
set -euo pipefail

cd "$(dirname "$0")/.."
BUILD_DIR=${1:-build}
RUNS=${QSTATESYNC_BENCH_RUNS:-3}
WARMUP=${QSTATESYNC_BENCH_WARMUP:-1}
SECONDS_MEASURED=${QSTATESYNC_BENCH_SECONDS:-2.5}
RATE=${QSTATESYNC_BENCH_RATE:-20}
BUSY_RATE=${QSTATESYNC_BENCH_BUSY_RATE:-50}
ONLY=${QSTATESYNC_BENCH_ONLY:-}
CLUSTER_ONLY=${QSTATESYNC_BENCH_CLUSTER_ONLY:-}

QSTATESYNCD=$BUILD_DIR/bin/qstatesyncd
LOADGEN=$BUILD_DIR/bin/qstatesync-loadgen
STATEBENCH=$BUILD_DIR/bin/qstatesync-statebench
NODE_DIR=$BUILD_DIR/benchmarks/node
OUT_DIR=$BUILD_DIR/benchmarks/results
RESULTS=$OUT_DIR/results.jsonl
CONFIG=$OUT_DIR/qstatesyncd-bench.json

# Debian's python3 (which ./dev.sh bench installs), whatever else PATH offers.
PYTHON=/usr/bin/python3

say() { printf '==> %s\n' "$*"; }

# ./dev.sh bench installs what this needs (Debian's gnuplot-nox and python3, Node.js; the
# cluster case alone needs no Node.js).
needed=("$PYTHON" node npm)
if [ -n "$CLUSTER_ONLY" ]; then
    needed=("$PYTHON")
fi
for command in "${needed[@]}"; do
    if ! command -v "$command" >/dev/null 2>&1; then
        echo "$command was not found: run ./dev.sh bench, which installs it" >&2
        exit 1
    fi
done
for file in "$QSTATESYNCD" "$LOADGEN" "$NODE_DIR/server.js"; do
    if [ ! -e "$file" ]; then
        echo "run.sh: $file is missing: build first (./dev.sh bench does)" >&2
        exit 2
    fi
done
if [ -z "$CLUSTER_ONLY" ] && [ ! -f "$NODE_DIR/node_modules/ws/package.json" ]; then
    say "installing ws for the Node.js peer (npm ci)"
    (cd "$NODE_DIR" && npm ci --no-audit --no-fund --prefer-offline --loglevel=error >/dev/null)
fi

# shellcheck source=servers.sh
. benchmarks/servers.sh
# shellcheck source=cluster.sh
. benchmarks/cluster.sh
trap 'stop_server >/dev/null 2>&1 || true; stop_nodes >/dev/null 2>&1 || true; stop_redis' EXIT
# Whatever ends the run, the EXIT trap stops what it started (the Redis server included).
trap 'exit 130' INT
trap 'exit 143' TERM
# 10,000 clients and as many server sockets: both sides need the descriptors.
ulimit -n "$(ulimit -Hn)"
mkdir -p "$OUT_DIR"
PARAMETERS=$OUT_DIR/parameters.sh
if [ -n "$CLUSTER_ONLY" ]; then
    # Apart from the main results, which the rest of the page is written from.
    RESULTS=$OUT_DIR/cluster-results.jsonl
    PARAMETERS=$OUT_DIR/cluster-parameters.sh
fi

# Both servers read the same file: qstatesyncd all of it, the Node peer its "states".
# The limits that would get in the benchmark's way are off (0 is "no limit" for each),
# the states are kept in memory as the Node.js peer keeps them, everything else is
# qstatesyncd's default.
"$PYTHON" - "$CONFIG" <<'PY'
import json, sys
states = ["fanout", "latency", "storm"] + ["s%d" % i for i in range(1000)]
config = {
    "limits": {"maxClientsPerState": 0, "maxClients": 0, "updateRate": 0,
               "maxPendingHandshakes": 0},
    "states": [{"identifier": s} for s in states],
    # In memory, like the Node.js peer: the figures compare serving, not disks.
    "storage": {"type": "memory"},
}
with open(sys.argv[1], "w") as f:
    json.dump(config, f, indent=1)
PY

IO_THREADS_SUPPORTED=0
if "$QSTATESYNCD" --help 2>&1 | grep -q -- '--io-threads'; then
    IO_THREADS_SUPPORTED=1
fi
IO_THREADS=${QSTATESYNC_BENCH_IO_THREADS:-$(nproc)}

# name | loadgen arguments
CASES=(
    "fanout-100|fanout --subscribers 100 --payload 64 --window 4"
    "fanout-100-w16|fanout --subscribers 100 --payload 64 --window 16"
    "fanout-1000|fanout --subscribers 1000 --payload 64 --window 4"
    "fanout-5000|fanout --subscribers 5000 --payload 64 --window 4"
    "fanout-1000-1k|fanout --subscribers 1000 --payload 1024 --window 4"
    "manystates|manystates --states 1000 --clients-per-state 4 --payload 64 --window 4"
    "joinstorm|joinstorm --clients 10000 --max-handshakes 500 --storm-updates 5 --connect-timeout 30"
    "latency|latency --subscribers 1000 --payload 64 --rate $RATE"
    "latency-busy|latency --subscribers 1000 --payload 64 --rate $BUSY_RATE"
)

# The cases in which the bare relay runs too.
RELAY_CASES='^latency(-busy)?$'

# Servers that did not get every client joined in time in a case are not run in it again
# (another 30 s wait would tell nothing new).
declare -A GAVE_UP=()

summary() {
    "$PYTHON" -c '
import json, sys
r = json.loads(sys.stdin.read())
parts = [("ok" if r.get("ok") else "FAILED")]
for key, unit in (("deliveries_per_s", "deliveries/s"), ("frames_per_s", "frames/s"),
                  ("changes_per_s", "changes/s")):
    if key in r and r.get("scenario") != "joinstorm":
        parts.append("%s %s" % (format(int(r[key]), ","), unit))
if "latency_us" in r:
    l = r["latency_us"]
    parts.append("p50 %.1f ms, p99 %.1f ms" % (l["p50"] / 1000, l["p99"] / 1000))
if r.get("scenario") == "joinstorm":
    parts.append("%d joined in %.2f s" % (r.get("joined", 0), r.get("join_s", 0)))
    if r.get("rss_per_client_kib") is not None:
        parts.append("%.2f KiB/client" % r["rss_per_client_kib"])
if "server_cpu" in r:
    parts.append("cpu server %.2f (its main thread %.2f), loadgen %.2f" % (
        r["server_cpu"], r.get("server_main_thread_cpu", -1), r.get("loadgen_cpu", 0)))
if r.get("scenario") == "statebench":
    parts.append("cpu %.2f" % r.get("cpu", 0))
if r.get("errors"):
    parts.append("error: " + r["errors"][0][:100])
print(", ".join(parts))'
}

# CASE_STATE_THREADS, when set, is qstatesyncd's --state-threads in run_case and record.
record() { # run case server io_threads json
    printf '{"run":%s,"case":"%s","server_name":"%s","io_threads":%s,"state_threads":%s,"result":%s}\n' \
        "$1" "$2" "$3" "$4" "${CASE_STATE_THREADS:-null}" "$5" >>"$RESULTS"
}

run_case() { # run case server io_threads loadgen-arguments...
    local run=$1 name=$2 server=$3 io=$4
    shift 4
    local log=$OUT_DIR/$name-$server-run$run
    if [ "$io" != null ]; then
        log=$log-io$io
    fi
    local command=()
    if [ "$server" = qstatesyncd ]; then
        command=("$QSTATESYNCD" --config "$CONFIG" --host 127.0.0.1 --port 0)
        if [ "$io" != null ]; then
            command+=(--io-threads "$io")
        fi
        if [ -n "${CASE_STATE_THREADS:-}" ]; then
            command+=(--state-threads "$CASE_STATE_THREADS")
            log=$log-st$CASE_STATE_THREADS
        fi
    elif [ "$server" = relay ]; then
        command=("$LOADGEN" relay --port 0 --threads "$io")
    else
        command=(node "$NODE_DIR/server.js" --config "$CONFIG" --host 127.0.0.1 --port 0)
    fi
    local output status=0
    if ! start_server "$log.server.log" "${command[@]}"; then
        output='{"ok":false,"errors":["the server did not start"]}'
    else
        output=$(timeout 300 "$LOADGEN" "$@" --port "$SERVER_PORT" --server-pid "$SERVER_PID" \
            --server-label "$server" --warmup "$WARMUP" --duration "$SECONDS_MEASURED" \
            2>"$log.loadgen.log") || status=$?
        stop_server || echo "    ($server exited with status $? when stopped)"
        if [ -z "$output" ]; then
            output="{\"ok\":false,\"errors\":[\"the load generator ended with status $status\"]}"
        fi
    fi
    record "$run" "$name" "$server" "$io" "$output"
    printf '    %-15s %-12s %s\n' "$name${CASE_STATE_THREADS:+ st$CASE_STATE_THREADS}" "$server" \
        "$(summary <<<"$output")"
    if [[ $output == *'"scenario":"joinstorm"'* ]] && [[ $output == *'joined within'* ]]; then
        GAVE_UP[$name-$server]=1
    fi
}

measure() {
    : >"$RESULTS"
    start_time=$(date +%s)
    qstatesyncd_io=null
    if [ "$IO_THREADS_SUPPORTED" = 1 ]; then
        qstatesyncd_io=$IO_THREADS
        say "qstatesyncd has --io-threads: the main table uses --io-threads $IO_THREADS"
    fi

    if [ -n "$CLUSTER_ONLY" ]; then
        measure_cluster "$qstatesyncd_io"
    else
        say "load generator self-check (built-in server, 100 connections, one core)"
        selfcheck=$("$LOADGEN" selfcheck --connections 100 --warmup 0.5 --duration 2 \
            2>"$OUT_DIR/selfcheck.log") || true
        if [ -z "$selfcheck" ]; then
            selfcheck='{"ok":false,"errors":["the self-check did not run"]}'
        fi
        record 0 selfcheck loadgen null "$selfcheck"
        printf '    %-15s %-12s %s\n' selfcheck loadgen "$(summary <<<"$selfcheck")"

        for run in $(seq 1 "$RUNS"); do
            say "run $run of $RUNS"
            # Alternate the order of the servers, so that none always meets a warmer machine.
            if [ $((run % 2)) -eq 1 ]; then
                servers=(qstatesyncd node relay)
            else
                servers=(relay node qstatesyncd)
            fi
            for entry in "${CASES[@]}"; do
                name=${entry%%|*}
                read -r -a arguments <<<"${entry#*|}"
                if [ -n "$ONLY" ] && ! [[ $name =~ $ONLY ]]; then
                    continue
                fi
                for server in "${servers[@]}"; do
                    if [ -n "${GAVE_UP[$name-$server]:-}" ]; then
                        continue
                    fi
                    if [ "$server" = relay ] && ! [[ $name =~ $RELAY_CASES ]]; then
                        continue
                    fi
                    io=null
                    if [ "$server" = qstatesyncd ]; then io=$qstatesyncd_io; fi
                    # The relay's record holds its thread count where qstatesyncd's holds its
                    # --io-threads.
                    if [ "$server" = relay ]; then io=$IO_THREADS; fi
                    run_case "$run" "$name" "$server" "$io" "${arguments[@]}"
                done
            done
        done

        if [ -z "$ONLY" ] || [[ $CLUSTER_CASE =~ $ONLY ]]; then
            measure_cluster "$qstatesyncd_io"
        fi
        if [ "$IO_THREADS_SUPPORTED" = 1 ] && { [ -z "$ONLY" ] || [[ fanout-1000-io =~ $ONLY ]]; }; then
            say "qstatesyncd's I/O threads: fan-out to 1,000 subscribers with --io-threads 0, 1, 2"
            for run in $(seq 1 "$RUNS"); do
                for io in 0 1 2; do
                    run_case "$run" "fanout-1000-io" qstatesyncd "$io" \
                        fanout --subscribers 1000 --payload 64 --window 4
                done
            done
        fi
        if "$QSTATESYNCD" --help 2>&1 | grep -q -- '--state-threads' \
            && { [ -z "$ONLY" ] || [[ manystates-st =~ $ONLY ]]; }; then
            say "qstatesyncd's state threads: many states with --state-threads 0, 1, 2"
            for run in $(seq 1 "$RUNS"); do
                for st in 0 1 2; do
                    CASE_STATE_THREADS=$st run_case "$run" "manystates-st" qstatesyncd \
                        "$qstatesyncd_io" manystates --states 1000 --clients-per-state 4 \
                        --payload 64 --window 4
                done
            done
        fi
        if [ -x "$STATEBENCH" ] && { [ -z "$ONLY" ] || [[ statebench =~ $ONLY ]]; }; then
            say "the state threads alone (qstatesync-statebench, no sockets): 0, 1, 2 threads"
            for run in $(seq 1 "$RUNS"); do
                for st in 0 1 2; do
                    output=$("$STATEBENCH" --threads "$st" --states 1000 --changes-per-batch 4 \
                        --payload 64 --warmup "$WARMUP" --duration "$SECONDS_MEASURED" \
                        2>"$OUT_DIR/statebench-run$run-st$st.log") || true
                    if [ -z "$output" ]; then
                        output='{"ok":false,"errors":["qstatesync-statebench did not run"]}'
                    fi
                    CASE_STATE_THREADS=$st record "$run" statebench statebench null "$output"
                    printf '    %-15s %-12s %s\n' "statebench st$st" statebench \
                        "$(summary <<<"$output")"
                done
            done
        fi
    fi
    say "measured in $(($(date +%s) - start_time)) s; results in $RESULTS"
    # What the report needs to describe these results, also when it is written later.
    cat >"$PARAMETERS" <<TXT
RUNS=$RUNS
RATE=$RATE
WARMUP=$WARMUP
SECONDS_MEASURED=$SECONDS_MEASURED
qstatesyncd_io=$qstatesyncd_io
CLUSTER_REDIS_VERSION="${CLUSTER_REDIS_VERSION:-}"
COMMIT="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD -- src tools 2>/dev/null || echo ' (modified)')"
TXT
}

if [ -n "${QSTATESYNC_BENCH_REPORT_ONLY:-}" ]; then
    if [ ! -s "$RESULTS" ] || [ ! -f "$PARAMETERS" ]; then
        echo "run.sh: no results in $OUT_DIR to report" >&2
        exit 2
    fi
else
    measure
fi
# shellcheck source=/dev/null
. "$PARAMETERS"

if [ -n "${QSTATESYNC_BENCH_NO_REPORT:-}" ]; then
    exit 0
fi
if [ -n "$CLUSTER_ONLY" ]; then
    "$PYTHON" -B benchmarks/report.py --cluster-only \
        --results "$RESULTS" \
        --markdown doc/benchmarks.md \
        --commit "$COMMIT" \
        --warmup "$WARMUP" --seconds "$SECONDS_MEASURED" --runs "$RUNS" \
        --io-threads "$qstatesyncd_io" --redis-version "${CLUSTER_REDIS_VERSION:-}"
    say "wrote the Cluster section of doc/benchmarks.md"
    exit 0
fi
qt_library=$(ldd "$QSTATESYNCD" 2>/dev/null | awk '/libQt6Core\.so/ {print $3; exit}' || true)
qt_version=$(readlink -f "$qt_library" | sed -n 's/.*libQt6Core\.so\.\([0-9.]*\)$/\1/p')
"$PYTHON" -B benchmarks/report.py \
    --results "$RESULTS" \
    --profile benchmarks/profile.md \
    --markdown doc/benchmarks.md \
    --plot doc/images/benchmarks.png \
    --work-dir "$OUT_DIR" \
    --qt-version "${qt_version:-unknown}" \
    --node-version "$(node --version)" \
    --ws-version "$("$PYTHON" -c 'import json, sys; print(json.load(open(sys.argv[1]))["version"])' \
        "$NODE_DIR/node_modules/ws/package.json")" \
    --qstatesyncd-version "$("$QSTATESYNCD" --version | head -n 1)" \
    --commit "$COMMIT" \
    --rate "$RATE" --busy-rate "$BUSY_RATE" --warmup "$WARMUP" --seconds "$SECONDS_MEASURED" --runs "$RUNS" \
    --io-threads "$qstatesyncd_io" --redis-version "${CLUSTER_REDIS_VERSION:-}"
say "wrote doc/benchmarks.md and doc/images/benchmarks.png"
