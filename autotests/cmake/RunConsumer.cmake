# cmake -P script: install, configure the consumer against the install, build it, run it.
file(REMOVE_RECURSE "${WORK_DIR}")
set(prefix "${WORK_DIR}/prefix")

function(run)
    execute_process(COMMAND ${ARGN} RESULT_VARIABLE result)
    if(NOT result EQUAL 0)
        message(FATAL_ERROR "failed (${result}): ${ARGN}")
    endif()
endfunction()

run(${CMAKE_COMMAND} --install "${BUILD_DIR}" --prefix "${prefix}")
foreach(expected include/QStateSync/QStateSyncer include/QStateSync/qstatesyncclient.h
                 bin/qstatesyncd ${QML_MODULE_DIR}/qmldir)
    if(NOT EXISTS "${prefix}/${expected}")
        message(FATAL_ERROR "not installed: ${expected}")
    endif()
endforeach()
file(GLOB_RECURSE package_files "${prefix}/*/QStateSyncConfig*.cmake")
list(LENGTH package_files package_file_count)
if(NOT package_file_count EQUAL 2)
    message(FATAL_ERROR "expected QStateSyncConfig.cmake and its version file, found: ${package_files}")
endif()

run(${CMAKE_COMMAND} -S "${CONSUMER_SOURCE}" -B "${WORK_DIR}/build" -G "${GENERATOR}"
    -DCMAKE_BUILD_TYPE=Release "-DCMAKE_PREFIX_PATH=${prefix}" "-DQt6_DIR=${QT_DIR}")
run(${CMAKE_COMMAND} --build "${WORK_DIR}/build")
# The consumer also imports the installed QML module.
set(ENV{QML_IMPORT_PATH} "${prefix}/${QML_INSTALL_DIR}")
run("${WORK_DIR}/build/consumer")
message(STATUS "the installed QStateSync package works")
