# Starting and stopping the servers under test, for run.sh and loadgen-check.sh (sourced).
#
# start_server LOG COMMAND...
#   Starts COMMAND with its standard error in LOG and waits for the line it prints when
#   it listens ("... listening on ws://HOST:PORT ..."), read from its standard output
#   with a deadline, without polling. Sets SERVER_PID and SERVER_PORT.
# stop_server
#   SIGTERM, then waits for the server to end; its exit status is returned.

SERVER_PID=
SERVER_PORT=
SERVER_OUTPUT=

start_server() {
    local log=$1
    shift
    exec {SERVER_OUTPUT}< <(exec "$@" 2>"$log")
    SERVER_PID=$!
    SERVER_PORT=
    local line
    while IFS= read -r -t "${SERVER_START_TIMEOUT:-30}" -u "$SERVER_OUTPUT" line; do
        if [[ $line =~ listening\ on\ wss?://[^/]*:([0-9]+) ]]; then
            SERVER_PORT=${BASH_REMATCH[1]}
            return 0
        fi
    done
    echo "the server did not start: $*" >&2
    tail -n 20 "$log" >&2 || true
    stop_server || true
    return 1
}

stop_server() {
    local status=0
    if [ -n "$SERVER_PID" ]; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" || status=$?
    fi
    if [ -n "$SERVER_OUTPUT" ]; then
        exec {SERVER_OUTPUT}<&-
    fi
    SERVER_PID=
    SERVER_OUTPUT=
    return "$status"
}
