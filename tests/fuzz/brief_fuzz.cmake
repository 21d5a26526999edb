# A brief fuzzing run for ctest: cmake -DFUZZER=... -DCORPUS=... -DDICT=... -DSECONDS=...
# -DARTIFACTS=... -P brief_fuzz.cmake
#
# libFuzzer writes new inputs into its first corpus directory, so it fuzzes a copy of the seeds
# in a fresh temp directory (removed afterwards): the source tree is never written. A crash, a
# leak, a timeout or an out-of-memory fails the test; its input is kept in ARTIFACTS.
foreach(var FUZZER CORPUS DICT SECONDS ARTIFACTS)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "brief_fuzz.cmake: -D${var}=... is required")
  endif()
endforeach()

if(DEFINED ENV{TMPDIR} AND NOT "$ENV{TMPDIR}" STREQUAL "")
  set(base "$ENV{TMPDIR}")
else()
  set(base "/tmp")
endif()
string(RANDOM LENGTH 12 suffix)
get_filename_component(name "${FUZZER}" NAME)
set(work "${base}/whistle-${name}-${suffix}")
file(MAKE_DIRECTORY "${work}/corpus" "${ARTIFACTS}")
file(GLOB seeds "${CORPUS}/*")
if(seeds)
  file(COPY ${seeds} DESTINATION "${work}/corpus")
endif()

execute_process(
  COMMAND "${FUZZER}" "${work}/corpus"
          -max_total_time=${SECONDS} -rss_limit_mb=2048 -timeout=60
          -dict=${DICT} -artifact_prefix=${ARTIFACTS}/ -print_final_stats=1
  RESULT_VARIABLE result)
file(REMOVE_RECURSE "${work}")
if(NOT result EQUAL 0)
  message(FATAL_ERROR "${name} failed (exit ${result}): the input is in ${ARTIFACTS}/; "
                      "minimize it and check it in (tests/fuzz/README.md)")
endif()
