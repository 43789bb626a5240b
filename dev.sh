#!/usr/bin/env bash
# QStateSync's developer entry point. On a fresh Debian bookworm machine it installs what
# is missing (Debian packages only), configures and builds in build/, then:
#   ./dev.sh run    builds qstatesyncd, starts it with a demo state and says how to
#                   connect
#   ./dev.sh test   builds and runs every test (ctest): first the whole suite and the
#                   fuzzers under ASan and UBSan (clang, in build-sanitize/), then the
#                   normal build's suite, whose summary ends the output
#   ./dev.sh build  only builds (build/)
#   ./dev.sh bench  builds what the benchmarks start (qstatesyncd, the load generator,
#                   the state threads' benchmark) in build/, in Release, and runs the
#                   benchmarks against qstatesyncd and the Node.js peer
#                   (benchmarks/run.sh), which write doc/benchmarks.md
set -euo pipefail

cd "$(dirname "$0")"
BUILD_DIR=build
SANITIZE_BUILD_DIR=build-sanitize
JOBS=${QSTATESYNC_JOBS:-2}

# Debian packages the build and the tests need.
PACKAGES=(
    cmake ninja-build g++ pkg-config
    qt6-base-dev qt6-websockets-dev qt6-declarative-dev qt6-declarative-dev-tools
    qml6-module-qtqml qml6-module-qtqml-models qml6-module-qtqml-workerscript
    qml6-module-qtquick qml6-module-qttest qt6-qpa-plugins
    libssl3 openssl ca-certificates
    # QStateSyncSqliteStorage: Qt SQL's SQLite driver.
    libqt6sql6-sqlite
    # QStateSyncRedisStorage and the cluster tests: hiredis and a Redis server.
    libhiredis-dev redis-server
    qt6-documentation-tools python3-markdown
    # The chat and editor examples (Qt Quick Controls), and scripts/screenshots.sh: the
    # qml tool composes the shots, offscreen rendering needs a font.
    qml6-module-qtquick-controls qml6-module-qtquick-templates qml6-module-qtquick-layouts
    qml6-module-qtquick-window qml-qt6 fonts-dejavu-core
    # The sanitizer and fuzzing build: clang, its sanitizer and libFuzzer runtimes, and
    # llvm-symbolizer (in llvm), without which reports show addresses instead of functions.
    clang libclang-rt-14-dev llvm
)

say() { printf '==> %s\n' "$*"; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# Installs what is missing of PACKAGES and of the extra packages given as arguments.
install_missing() {
    local missing=()
    local package
    for package in "${PACKAGES[@]}" "$@"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
            || missing+=("$package")
    done
    # Node.js and npm run the interop tests; any installation that provides both commands
    # will do (Node.js from other sources brings its own npm).
    if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
        missing+=(nodejs npm)
    fi
    if [ ${#missing[@]} -eq 0 ]; then
        return
    fi
    say "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    as_root apt-get update -qq
    as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# build [TARGET...]: configures build/ if needed and builds the targets named, or all.
build() {
    install_missing
    if [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then
        say "configuring in $BUILD_DIR/"
        cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
    fi
    if [ $# -gt 0 ]; then
        say "building $*"
        cmake --build "$BUILD_DIR" -j "$JOBS" --target "$@"
    else
        say "building"
        cmake --build "$BUILD_DIR" -j "$JOBS"
    fi
}

# The benchmarks need an optimized build with the load generator: an existing build/
# configured otherwise is switched over (its other settings stay).
run_benchmarks() {
    # The report's plot and tables.
    install_missing gnuplot-nox python3
    if [ -f "$BUILD_DIR/CMakeCache.txt" ] \
        && ! grep -q '^CMAKE_BUILD_TYPE:STRING=Release$' "$BUILD_DIR/CMakeCache.txt"; then
        say "switching $BUILD_DIR/ to a Release build for the benchmarks"
        cmake -DCMAKE_BUILD_TYPE=Release "$BUILD_DIR" >/dev/null
    fi
    if [ -f "$BUILD_DIR/CMakeCache.txt" ] \
        && grep -q '^QSTATESYNC_BUILD_BENCHMARKS:BOOL=OFF$' "$BUILD_DIR/CMakeCache.txt"; then
        cmake -DQSTATESYNC_BUILD_BENCHMARKS=ON "$BUILD_DIR" >/dev/null
    fi
    # What the runner starts; the test suites are not needed.
    build qstatesyncd qstatesync-loadgen qstatesync-statebench
    exec benchmarks/run.sh "$BUILD_DIR"
}

run_server() {
    build qstatesyncd
    local port=${QSTATESYNC_PORT:-5000}
    local host=${QSTATESYNC_HOST:-127.0.0.1}
    cat <<TXT

qstatesyncd serves the state "demo" on ws://$host:$port (Ctrl+C stops it).
Connect with:
  - Qt:  QStateSyncClient client(QUrl("ws://$host:$port"), "me");
         client.connectToState("demo");
  - any WebSocket client: open ws://$host:$port/?identifier=me, then send
         {"type":2,"data":{"stateIdentifier":"demo"}}
         {"type":3,"data":{"updates":{"title":"hello"}}}
    and every client joined to "demo" receives {"type":3,"data":{"updates":{...}}}.
Set QSTATESYNC_PORT or QSTATESYNC_HOST to serve elsewhere. The states are kept in
${XDG_DATA_HOME:-$HOME/.local/share}/qstatesyncd/states.sqlite: "demo" keeps its value
from one run to the next.

TXT
    exec "$BUILD_DIR/bin/qstatesyncd" --port "$port" --host "$host" --state demo
}

# The second tree: clang, the whole project instrumented with ASan and UBSan, and the
# fuzz targets. Debug keeps Q_ASSERT (Qt's container bounds checks included) on; its
# flags are replaced so that there is no debug information and the code is -O1.
# QSTATESYNC_FUZZ_SECONDS, when set, is how long each fuzz target runs (default 30 s).
build_sanitized() {
    local options=()
    if [ -n "${QSTATESYNC_FUZZ_SECONDS:-}" ]; then
        options+=("-DQSTATESYNC_FUZZ_SECONDS=$QSTATESYNC_FUZZ_SECONDS")
    fi
    if [ ! -f "$SANITIZE_BUILD_DIR/CMakeCache.txt" ]; then
        say "configuring in $SANITIZE_BUILD_DIR/ (clang, ASan, UBSan, fuzzers)"
        cmake -S . -B "$SANITIZE_BUILD_DIR" -G Ninja \
            -DCMAKE_CXX_COMPILER=clang++ \
            -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG=-O1 \
            "-DQSTATESYNC_SANITIZE=address;undefined" \
            -DQSTATESYNC_BUILD_FUZZERS=ON \
            -DQSTATESYNC_BUILD_DOCS=OFF "${options[@]}" >/dev/null
    elif [ ${#options[@]} -gt 0 ]; then
        cmake "${options[@]}" "$SANITIZE_BUILD_DIR" >/dev/null
    fi
    say "building in $SANITIZE_BUILD_DIR/"
    cmake --build "$SANITIZE_BUILD_DIR" -j "$JOBS"
}

run_tests() {
    build
    build_sanitized
    say "testing under ASan and UBSan, and fuzzing"
    # Left out of this run, and run in the normal one only:
    # - docs (not even configured here: QSTATESYNC_BUILD_DOCS=OFF): it runs qdoc on the
    #   sources and builds nothing of the project.
    # - cmake_package: it installs the library and builds a consumer project without the
    #   sanitizers, whose executable cannot load an ASan-instrumented library.
    local sanitized_result=0
    ctest --test-dir "$SANITIZE_BUILD_DIR" --output-on-failure -j "$JOBS" \
        -E '^cmake_package$' || sanitized_result=$?

    say "testing"
    local result=0
    ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$JOBS" || result=$?
    if [ "$sanitized_result" -ne 0 ]; then
        echo "The tests under ASan and UBSan failed (see the first ctest run above)." >&2
        exit "$sanitized_result"
    fi
    exit "$result"
}

case "${1:-}" in
    run) run_server ;;
    test) run_tests ;;
    build) build ;;
    bench) run_benchmarks ;;
    *)
        echo "usage: ./dev.sh run | test | build | bench" >&2
        exit 2
        ;;
esac
