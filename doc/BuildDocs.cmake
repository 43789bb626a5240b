# cmake -P script: Markdown pages to qdoc pages, then qdoc. With FAIL_ON_WARNINGS, any
# qdoc warning fails the build, so undocumented API or a broken link cannot land.
set(generated "${OUTPUT_DIR}/generated")
file(REMOVE_RECURSE "${generated}" "${OUTPUT_DIR}/html")
file(MAKE_DIRECTORY "${generated}")

file(GLOB markdown_pages "${SOURCE_DIR}/*.md")
foreach(page IN LISTS markdown_pages)
    get_filename_component(name "${page}" NAME_WE)
    execute_process(
        COMMAND "${PYTHON}" "${SOURCE_DIR}/md2qdoc.py" "${page}" "${generated}/${name}.qdoc"
        RESULT_VARIABLE result)
    if(NOT result EQUAL 0)
        message(FATAL_ERROR "could not convert ${page}")
    endif()
endforeach()

string(REPLACE "|" ";" include_list "${INCLUDES}")
set(include_arguments)
foreach(directory IN LISTS include_list)
    list(APPEND include_arguments "-I${directory}")
endforeach()

set(ENV{QT_INSTALL_DOCS} "${QT_DOCS}")
# Qt's qdoc templates expect these; they only name the Qt the docs were made with.
set(ENV{QT_VERSION} "${QT_VERSION}")
set(ENV{QT_VER} "${QT_VER}")
set(ENV{QT_VERSION_TAG} "${QT_VERSION_TAG}")
set(ENV{QSTATESYNC_VERSION} "${VERSION}")
set(ENV{QSTATESYNC_GENERATED_DOCS} "${generated}")
execute_process(
    COMMAND "${QDOC}" "${SOURCE_DIR}/qstatesync.qdocconf" -outputdir "${OUTPUT_DIR}/html"
            -installdir "${OUTPUT_DIR}" ${include_arguments}
    RESULT_VARIABLE result
    OUTPUT_VARIABLE output
    ERROR_VARIABLE errors)

string(REGEX MATCHALL "[^\n]*warning:[^\n]*" warnings "${output}\n${errors}")
list(LENGTH warnings warning_count)
foreach(warning IN LISTS warnings)
    message("${warning}")
endforeach()
if(NOT result EQUAL 0)
    message(FATAL_ERROR "qdoc failed (${result}):\n${errors}")
endif()
if(NOT EXISTS "${OUTPUT_DIR}/html/qstatesync-index.html")
    message(FATAL_ERROR "qdoc made no qstatesync-index.html")
endif()
message(STATUS "${warning_count} qdoc warnings; the reference is in ${OUTPUT_DIR}/html")
if(FAIL_ON_WARNINGS AND warning_count GREATER 0)
    message(FATAL_ERROR "qdoc warned ${warning_count} times")
endif()
