#!/usr/bin/env bash
# Renders the examples' screenshots, doc/images/chat.png and doc/images/editor.png.
#
# For each example two instances (two processes, two users) play a short demo against
# each other: the first serves the state on a free port of 127.0.0.1 (--serve), the second
# joins it; both type and send through their own windows (--autoplay). Each window saves
# itself once both have played their part (--screenshot), and scripts/compose.qml puts the
# two shots side by side. Everything runs offscreen: no display, no window manager.
#
#   ./dev.sh build && scripts/screenshots.sh
#   QSTATESYNC_BUILD_DIR=build-other scripts/screenshots.sh
set -euo pipefail

cd "$(dirname "$0")/.."
BUILD_DIR=${QSTATESYNC_BUILD_DIR:-build}
QML_TOOL=${QML_TOOL:-/usr/lib/qt6/bin/qml}
OUTPUT_DIR=doc/images
# Seconds an instance may take for its whole demo before it counts as stuck.
TIMEOUT=60

for program in "$BUILD_DIR/bin/statesync-chat" "$BUILD_DIR/bin/statesync-editor" "$QML_TOOL"; do
    if [ ! -x "$program" ]; then
        echo "missing $program: build first (./dev.sh build), install qml-qt6" >&2
        exit 1
    fi
done

work=$(mktemp -d)
pids=()
cleanup() {
    local pid
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

export QT_QPA_PLATFORM=offscreen
# Qt wants a runtime directory; an offscreen run needs no session.
export XDG_RUNTIME_DIR="$work"
export QT_QUICK_CONTROLS_STYLE=Fusion
export LC_ALL=C.UTF-8

fail() {
    echo "$*" >&2
    local log
    for log in "$work"/*.log; do
        [ -s "$log" ] && { echo "--- $log" >&2; cat "$log" >&2; }
    done
    exit 1
}

# play EXAMPLE FIRST_NAME SECOND_NAME: runs bin/EXAMPLE twice, the first instance serving
# and playing the steps in FIRST_STEPS, the second joining it and playing SECOND_STEPS;
# leaves FIRST_NAME.png and SECOND_NAME.png in the work folder.
play() {
    local example=$1 first=$2 second=$3
    local program="$BUILD_DIR/bin/$example"
    local fifo="$work/$example.serving"
    local serving line first_pid second_pid

    mkfifo "$fifo"
    timeout "$TIMEOUT" "$program" --serve --url ws://127.0.0.1:0 --name "$first" \
        "${FIRST_STEPS[@]}" --screenshot "$work/$first.png" >"$fifo" 2>"$work/$first.log" &
    first_pid=$!
    pids+=("$first_pid")
    # The serving instance prints "serving STATE on ws://127.0.0.1:PORT" when it listens.
    # The pipe stays open until it ends: a write to a closed pipe would kill it.
    exec {serving}<"$fifo"
    read -r -t 20 -u "$serving" line || fail "$example did not start serving"

    timeout "$TIMEOUT" "$program" --url "${line##* }" --name "$second" \
        "${SECOND_STEPS[@]}" --screenshot "$work/$second.png" >"$work/$second.out" \
        2>"$work/$second.log" &
    second_pid=$!
    pids+=("$second_pid")

    wait "$first_pid" || fail "$example as $first failed (status $?)"
    wait "$second_pid" || fail "$example as $second failed (status $?)"
    exec {serving}<&-
}

# compose OUTPUT IMAGE TITLE IMAGE TITLE
compose() {
    "$QML_TOOL" scripts/compose.qml -- "$@" 2>"$work/compose.log" \
        || fail "cannot compose $1"
    echo "wrote $1 ($(stat -c %s "$1") bytes)"
}

mkdir -p "$OUTPUT_DIR"

FIRST_STEPS=(
    --autoplay "say:Hi Bob! Lunch today?"
    --autoplay "wait:2"
    --autoplay "say:Perfect, I'll book a table for two."
    --autoplay "wait:4"
    --autoplay "type:Shall we ask Carol too"
)
SECOND_STEPS=(
    --autoplay "wait:1"
    --autoplay "say:Sure! 12:30 at Luigi's?"
    --autoplay "wait:3"
    --autoplay "say:Great, see you there."
)
play statesync-chat Alice Bob
compose "$OUTPUT_DIR/chat.png" \
    "$work/Alice.png" "statesync-chat --serve --name Alice" \
    "$work/Bob.png" "statesync-chat --name Bob"

FIRST_STEPS=(
    --autoplay "title:Team offsite plan"
    --autoplay "add:Book the venue"
    --autoplay "add:Send the invitations"
    --autoplay "wait:lake house"
    --autoplay "add:Order lunch for 12"
    --autoplay "wait:walking shoes"
    --autoplay "draft:Rent a minibus"
)
SECOND_STEPS=(
    --autoplay "wait:offsite"
    --autoplay "body:Friday 14 June, 9:00 to 17:00 at the lake house.\nMorning: roadmap review. Lunch at 12:30."
    --autoplay "toggle:Book the venue"
    --autoplay "wait:Order lunch"
    --autoplay "body:\nBring a laptop and walking shoes."
)
rm -f "$work"/*.png
play statesync-editor Alice Bob
compose "$OUTPUT_DIR/editor.png" \
    "$work/Alice.png" "statesync-editor --serve --name Alice" \
    "$work/Bob.png" "statesync-editor --name Bob"
