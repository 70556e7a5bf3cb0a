# cmake -DCMD=<exe> "-DARGS=<space-separated arguments>" -DEXPECT=<regex> -P smoke.cmake
# A perf_smoke test: skipped if the program exits 77 (no io_uring here);
# otherwise passes only if the program exits 0 AND every line it
# prints is a result line of the suite's form ("<TAG> <runtime> key=value ...")
# AND its output matches EXPECT (the tags the program must print).
separate_arguments(args UNIX_COMMAND "${ARGS}")
execute_process(COMMAND ${CMD} ${args} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err
                TIMEOUT 60)
message("${out}")
if(rc EQUAL 77)
  # The test's SKIP_REGULAR_EXPRESSION turns this into a skip (no io_uring here).
  message(FATAL_ERROR "perf-skip: ${err}")
endif()
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "exit status ${rc}\n${err}")
endif()
string(REGEX REPLACE "\n$" "" body "${out}")
string(REPLACE "\n" ";" lines "${body}")
foreach(line IN LISTS lines)
  if(NOT line MATCHES "^[WL][0-9]+i? (casty|limit)( [a-z0-9_]+=[^ =]+)+$")
    message(FATAL_ERROR "not a result line: '${line}'")
  endif()
endforeach()
if(NOT out MATCHES "${EXPECT}")
  message(FATAL_ERROR "output does not match: ${EXPECT}")
endif()
