# cmake -P script behind the fuzz_* tests: fuzzes one target for a bounded time, starting
# from a copy of its seed corpus in the build tree (libFuzzer adds what it finds to the
# corpus directory it is given, and the repository's must stay as it is).
# Fails on a crash, a broken invariant, undefined behaviour, a leak, an input that takes
# longer than INPUT_TIMEOUT seconds, or one that takes more than RSS_LIMIT_MB.
#
# -D FUZZER, CORPUS, DICTIONARY (may be empty), WORK_DIR, SECONDS, INPUT_TIMEOUT,
#    RSS_LIMIT_MB
file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}/corpus" "${WORK_DIR}/artifacts")
file(COPY "${CORPUS}/" DESTINATION "${WORK_DIR}/corpus")

set(arguments
    "${WORK_DIR}/corpus"
    -max_total_time=${SECONDS}
    -timeout=${INPUT_TIMEOUT}
    -rss_limit_mb=${RSS_LIMIT_MB}
    -artifact_prefix=${WORK_DIR}/artifacts/
    -print_final_stats=1)
if(DICTIONARY)
    list(APPEND arguments -dict=${DICTIONARY})
endif()

# libFuzzer prints a line for each input that adds coverage: the log keeps them, the
# test's output shows the summary, or the report when it failed.
set(log "${WORK_DIR}/fuzzer.log")
string(REPLACE ";" " " command_line "${FUZZER};${arguments}")
message("${command_line}")
execute_process(COMMAND "${FUZZER}" ${arguments}
    RESULT_VARIABLE result
    OUTPUT_FILE "${log}"
    ERROR_FILE "${log}")

# The log is read as one string: its lines hold unbalanced brackets, which CMake's lists
# do not split correctly.
file(READ "${log}" output)
if(result EQUAL 0)
    # The seed corpus's coverage, the last coverage line and the final statistics.
    string(REGEX MATCHALL "[^\n]*(INITED|DONE)[^\n]*|stat::[^\n]*|Done [^\n]*" summary "${output}")
    string(REPLACE ";" "\n" summary "${summary}")
    message("${summary}")
    return()
endif()

# The report is at the end.
string(LENGTH "${output}" length)
if(length GREATER 20000)
    math(EXPR start "${length} - 20000")
    string(SUBSTRING "${output}" ${start} -1 output)
    set(output "[...]${output}")
endif()
file(GLOB artifacts "${WORK_DIR}/artifacts/*")
message("${output}")
message(FATAL_ERROR
    "${FUZZER} failed (${result}). Whole log: ${log}\n"
    "Inputs that failed: ${artifacts}\n"
    "Run one again with: ${FUZZER} <input>")
