# cmake -DCMD=<exe> -DEXPECT=<regex> -P RunExpect.cmake
# Runs CMD; passes only if it exits 0 AND its stdout matches EXPECT (a crash
# after printing the right line must fail, which PASS_REGULAR_EXPRESSION alone
# would not catch).
execute_process(COMMAND ${CMD} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err
                TIMEOUT 120)
message("${out}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "exit status ${rc}\n${err}")
endif()
if(NOT out MATCHES "${EXPECT}")
  message(FATAL_ERROR "output does not match: ${EXPECT}")
endif()
