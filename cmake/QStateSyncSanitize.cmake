# Sanitizer and fuzzing builds (doc/testing.md).
#
# QSTATESYNC_SANITIZE lists sanitizers, e.g. "address;undefined": everything this build
# compiles (the library, the QML plugin, qstatesyncd, the examples, the tests and the fuzz
# targets) is instrumented with them. Qt's own libraries are not; that is fine, the
# sanitizers still see every call the project makes into them.
#
# QSTATESYNC_BUILD_FUZZERS adds the libFuzzer targets of fuzz/ and their ctest tests. It
# needs clang (Debian: clang, libclang-rt-14-dev) and implies address;undefined when
# QSTATESYNC_SANITIZE is empty.
set(QSTATESYNC_SANITIZE "" CACHE STRING
    "Sanitizers to instrument the whole build with, e.g. address;undefined (empty: none)")
option(QSTATESYNC_BUILD_FUZZERS "Build the libFuzzer targets of fuzz/ (needs clang)" OFF)

if(QSTATESYNC_BUILD_FUZZERS)
    if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
        message(FATAL_ERROR
            "QSTATESYNC_BUILD_FUZZERS needs clang, for libFuzzer (-fsanitize=fuzzer), but the "
            "C++ compiler is ${CMAKE_CXX_COMPILER_ID} (${CMAKE_CXX_COMPILER}). Configure a new "
            "build directory with -DCMAKE_CXX_COMPILER=clang++ (Debian packages: clang, "
            "libclang-rt-14-dev).")
    endif()
    if(NOT QSTATESYNC_SANITIZE)
        set(QSTATESYNC_SANITIZE address undefined)
        message(STATUS "QSTATESYNC_BUILD_FUZZERS: sanitizing with address;undefined")
    endif()
endif()

if(QSTATESYNC_SANITIZE)
    list(JOIN QSTATESYNC_SANITIZE "," sanitizers)
    message(STATUS "Instrumenting the build with -fsanitize=${sanitizers}")
    # Frame pointers give the reports whole stacks at little cost.
    add_compile_options(-fsanitize=${sanitizers} -fno-omit-frame-pointer)
    add_link_options(-fsanitize=${sanitizers})
    if("undefined" IN_LIST QSTATESYNC_SANITIZE)
        # Undefined behaviour aborts the process instead of printing a line and going on,
        # so that any report fails its test.
        add_compile_options(-fno-sanitize-recover=undefined)
    endif()
    # Reports name functions only when llvm-symbolizer is there (Debian: llvm).
    string(REGEX MATCH "^[0-9]+" compiler_major "${CMAKE_CXX_COMPILER_VERSION}")
    find_program(QSTATESYNC_LLVM_SYMBOLIZER
        NAMES llvm-symbolizer llvm-symbolizer-${compiler_major}
        HINTS "/usr/lib/llvm-${compiler_major}/bin")
    if(NOT QSTATESYNC_LLVM_SYMBOLIZER)
        message(WARNING "llvm-symbolizer was not found: sanitizer reports show addresses only")
    endif()
    # ctest reads this file before it runs anything: the sanitizer options it sets apply
    # to every test and to every process a test starts.
    configure_file("${CMAKE_CURRENT_LIST_DIR}/SanitizerTestEnvironment.cmake.in"
        "${PROJECT_BINARY_DIR}/SanitizerTestEnvironment.cmake" @ONLY)
    set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES
        "${PROJECT_BINARY_DIR}/SanitizerTestEnvironment.cmake")
endif()
