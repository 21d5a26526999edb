# Fails when a doctest TEST_CASE name holds a semicolon. ctest's discovery (doctest_discover_tests)
# reads names as a CMake list, so a ';' splits one test into two names that match no test case,
# and doctest passes a run that matched nothing: the test would silently never run.
#   cmake -DSOURCE_DIR=... -P tests/test_names.cmake
file(GLOB_RECURSE sources "${SOURCE_DIR}/tests/*.cc")
set(bad "")
foreach(source IN LISTS sources)
  file(STRINGS "${source}" lines REGEX "TEST_CASE\\(\"")
  foreach(line IN LISTS lines)
    # file(STRINGS) keeps a line's ';' (escaped) inside one list entry.
    if(line MATCHES "TEST_CASE\\(\"[^\"]*;")
      list(APPEND bad "${source}: ${line}")
    endif()
  endforeach()
endforeach()
if(bad)
  list(JOIN bad "\n  " shown)
  message(FATAL_ERROR "test names with ';' (use ','), which ctest would never run:\n  ${shown}")
endif()
message(STATUS "every TEST_CASE name is safe for ctest")
