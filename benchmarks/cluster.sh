# shellcheck shell=bash
# The cluster case of the benchmarks, sourced by run.sh (it uses run.sh's settings, record
# and summary): fan-out to 1,000 subscribers through qstatesyncd nodes that share the state
# through a Redis server started for the case.
#
# Three set-ups take turns in every run (their order reversed every other run):
#   memory        one node, --storage memory: the plain server, for reference
#   redis-1node   one node, --storage redis
#   redis-2nodes  two nodes, --storage redis, the same state; the load generator's writer
#                 and half the subscribers on the first, the other half on the second
#                 (qstatesync-loadgen --ports)
# Every node runs as in the main table (the same limits, --io-threads). Redis runs with
# nothing written to disk (--save '' --appendonly no) in a temporary directory of its own,
# on a free port of 127.0.0.1; its keys are flushed before each run, and it is stopped when
# the runner ends, whatever ends it (stop_redis is in run.sh's EXIT trap).

CLUSTER_CASE=cluster-1000
CLUSTER_ARGUMENTS=(fanout --subscribers 1000 --payload 64 --window 4)
CLUSTER_SETUPS=(memory redis-1node redis-2nodes)

CLUSTER_REDIS_VERSION=
REDIS_PID=
REDIS_PORT=
REDIS_DIR=
REDIS_OUTPUT=
# The servers of one run of the case.
NODE_PIDS=()
NODE_PORTS=()
NODE_OUTPUTS=()

# A port of 127.0.0.1 that nothing listens on now (Redis cannot be given port 0).
free_port() {
    "$PYTHON" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# Starts redis-server ($1) in a new temporary directory and waits for the line it prints
# when it accepts connections. Sets REDIS_PID and REDIS_PORT. A port taken meanwhile by
# someone else makes Redis exit: then another is tried.
start_redis() {
    local command=$1 attempt line
    REDIS_DIR=$(mktemp -d "${TMPDIR:-/tmp}/qstatesync-bench-redis.XXXXXX")
    for attempt in 1 2 3; do
        REDIS_PORT=$(free_port)
        exec {REDIS_OUTPUT}< <(exec "$command" --bind 127.0.0.1 --port "$REDIS_PORT" \
            --save '' --appendonly no --dir "$REDIS_DIR" --daemonize no 2>&1)
        REDIS_PID=$!
        while IFS= read -r -t 30 -u "$REDIS_OUTPUT" line; do
            printf '%s\n' "$line" >>"$OUT_DIR/redis.log"
            if [[ $line == *'Ready to accept connections'* ]]; then
                # Keep reading what it says, so that it never waits on a full pipe.
                cat <&"$REDIS_OUTPUT" >>"$OUT_DIR/redis.log" &
                return 0
            fi
        done
        echo "redis-server did not start on port $REDIS_PORT (attempt $attempt); see $OUT_DIR/redis.log" >&2
        stop_redis_process
    done
    return 1
}

stop_redis_process() {
    if [ -n "$REDIS_PID" ]; then
        kill -TERM "$REDIS_PID" 2>/dev/null || true
        wait "$REDIS_PID" 2>/dev/null || true
    fi
    if [ -n "$REDIS_OUTPUT" ]; then
        exec {REDIS_OUTPUT}<&-
    fi
    REDIS_PID=
    REDIS_OUTPUT=
}

stop_redis() {
    stop_redis_process
    if [ -n "$REDIS_DIR" ]; then
        rm -rf "$REDIS_DIR"
        REDIS_DIR=
    fi
}

# FLUSHALL in Redis' own protocol, without redis-cli: the next run starts from nothing.
flush_redis() {
    local socket answer
    exec {socket}<>"/dev/tcp/127.0.0.1/$REDIS_PORT"
    # shellcheck disable=SC2016 # "$8" is Redis' length prefix, not a parameter
    printf '*1\r\n$8\r\nFLUSHALL\r\n' >&"$socket"
    IFS= read -r -t 10 -u "$socket" answer || true
    exec {socket}>&-
    [[ $answer == +OK* ]]
}

# start_server for one of several servers: its pid, port and output go to NODE_*.
start_node() { # LOG COMMAND...
    if ! start_server "$@"; then
        return 1
    fi
    NODE_PIDS+=("$SERVER_PID")
    NODE_PORTS+=("$SERVER_PORT")
    NODE_OUTPUTS+=("$SERVER_OUTPUT")
    SERVER_PID=
    SERVER_PORT=
    SERVER_OUTPUT=
}

stop_nodes() {
    local status=0 i
    for i in "${!NODE_PIDS[@]}"; do
        SERVER_PID=${NODE_PIDS[$i]}
        SERVER_OUTPUT=${NODE_OUTPUTS[$i]}
        stop_server || status=$?
    done
    NODE_PIDS=()
    NODE_PORTS=()
    NODE_OUTPUTS=()
    return "$status"
}

run_cluster_case() { # run setup io_threads
    local run=$1 setup=$2 io=$3
    local log=$OUT_DIR/$CLUSTER_CASE-$setup-run$run
    local command=("$QSTATESYNCD" --config "$CLUSTER_CONFIG" --host 127.0.0.1 --port 0)
    if [ "$io" != null ]; then
        command+=(--io-threads "$io")
    fi
    local nodes=1 pids=() output="" status=0 started=1 i
    case $setup in
        memory) command+=(--storage memory) ;;
        redis-1node) command+=(--storage redis --redis "127.0.0.1:$REDIS_PORT") ;;
        redis-2nodes)
            command+=(--storage redis --redis "127.0.0.1:$REDIS_PORT")
            nodes=2
            ;;
    esac
    if [ "$setup" != memory ] && ! flush_redis; then
        output='{"ok":false,"errors":["Redis did not answer FLUSHALL"]}'
        started=0
    fi
    for ((i = 0; i < nodes && started; ++i)); do
        local node_command=("${command[@]}")
        if [ "$setup" != memory ]; then
            node_command+=(--node-id "node-$i")
        fi
        if ! start_node "$log.node$i.log" "${node_command[@]}"; then
            output='{"ok":false,"errors":["a node did not start"]}'
            started=0
        fi
    done
    if [ "$started" = 1 ]; then
        # The serving side's CPU: the nodes and Redis.
        pids=("${NODE_PIDS[@]}")
        if [ "$setup" != memory ]; then
            pids+=("$REDIS_PID")
        fi
        local ports
        ports=$(IFS=,; echo "${NODE_PORTS[*]}")
        output=$(timeout 300 "$LOADGEN" "${CLUSTER_ARGUMENTS[@]}" --ports "$ports" \
            --server-pid "$(IFS=,; echo "${pids[*]}")" --server-label "$setup" \
            --warmup "$WARMUP" --duration "$SECONDS_MEASURED" 2>"$log.loadgen.log") || status=$?
        if [ -z "$output" ]; then
            output="{\"ok\":false,\"errors\":[\"the load generator ended with status $status\"]}"
        fi
    fi
    stop_nodes || echo "    (a node of $setup exited with status $? when stopped)"
    record "$run" "$CLUSTER_CASE" "$setup" "$io" "$output"
    printf '    %-15s %-12s %s\n' "$CLUSTER_CASE" "$setup" "$(summary <<<"$output")"
}

measure_cluster() { # io_threads
    local io=$1 redis=${QSTATESYNC_BENCH_REDIS_SERVER:-redis-server} run setups
    if ! command -v "$redis" >/dev/null 2>&1; then
        say "the cluster case is left out: $redis was not found (./dev.sh installs it)"
        return 0
    fi
    # shellcheck disable=SC2034 # for run.sh's report
    CLUSTER_REDIS_VERSION=$("$redis" --version | sed -n 's/.* v=\([0-9.]*\).*/\1/p')
    CLUSTER_CONFIG=$OUT_DIR/qstatesyncd-cluster.json
    "$PYTHON" - "$CLUSTER_CONFIG" <<'PY'
import json, sys
config = {
    "limits": {"maxClientsPerState": 0, "maxClients": 0, "updateRate": 0,
               "maxPendingHandshakes": 0},
    "states": [{"identifier": "fanout"}],
    # Overridden by --storage on the command line: memory, or redis.
    "storage": {"type": "memory"},
}
with open(sys.argv[1], "w") as f:
    json.dump(config, f, indent=1)
PY
    : >"$OUT_DIR/redis.log"
    if ! start_redis "$redis"; then
        say "the cluster case is left out: Redis did not start"
        stop_redis
        return 0
    fi
    say "cluster: fan-out to 1,000 subscribers, one node in memory, one and two nodes on Redis (port $REDIS_PORT)"
    for run in $(seq 1 "$RUNS"); do
        if [ $((run % 2)) -eq 1 ]; then
            setups=("${CLUSTER_SETUPS[@]}")
        else
            setups=(redis-2nodes redis-1node memory)
        fi
        for setup in "${setups[@]}"; do
            run_cluster_case "$run" "$setup" "$io"
        done
    done
    stop_redis
}
