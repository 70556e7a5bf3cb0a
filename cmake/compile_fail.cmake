# cmake -DCF_ARGS=<args.cmake> -DCF_MODE=fail|control -P compile_fail.cmake
#
# Negative-compilation check behind casty_add_compile_fail_test()
# (cmake/CastyTesting.cmake). CF_ARGS is a generated file setting CF_COMPILER,
# CF_SOURCE, CF_REGEX and CF_INCLUDES.
#
#   fail     passes only if CF_SOURCE does NOT compile and the diagnostics
#            match CF_REGEX (an unrelated error, or a missing compiler, fails).
#   control  passes only if CF_SOURCE compiles with -DCASTY_COMPILE_FAIL_CONTROL,
#            which removes the offending line: the rest of the file is sound.
#
# The compiler runs with LC_ALL=C so that GCC quotes names with ASCII 'x'
# rather than UTF-8 quotes, which a '.' in CF_REGEX would not match.

cmake_minimum_required(VERSION 3.20)

if(NOT DEFINED CF_ARGS OR NOT EXISTS "${CF_ARGS}")
  message(FATAL_ERROR "compile_fail.cmake: CF_ARGS must name the generated arguments file")
endif()
include("${CF_ARGS}")
foreach(var CF_COMPILER CF_SOURCE CF_REGEX CF_INCLUDES)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "compile_fail.cmake: ${var} is not set by ${CF_ARGS}")
  endif()
endforeach()
if(NOT CF_MODE MATCHES "^(fail|control)$")
  message(FATAL_ERROR "compile_fail.cmake: CF_MODE must be 'fail' or 'control', got '${CF_MODE}'")
endif()

set(flags -fsyntax-only -std=gnu17 -Wall -Wextra -fdiagnostics-color=never)
foreach(dir IN LISTS CF_INCLUDES)
  list(APPEND flags -I${dir})
endforeach()
if(CF_MODE STREQUAL "control")
  list(APPEND flags -DCASTY_COMPILE_FAIL_CONTROL)
endif()

set(cmd ${CF_COMPILER} ${flags} ${CF_SOURCE})
list(JOIN cmd " " cmd_text)
message("compile_fail (${CF_MODE}): ${cmd_text}")
execute_process(
  COMMAND ${CMAKE_COMMAND} -E env LC_ALL=C ${cmd}
  RESULT_VARIABLE rc
  OUTPUT_VARIABLE out
  ERROR_VARIABLE out
  TIMEOUT 50)
message("--- compiler output (exit status ${rc}) ---\n${out}--- end of compiler output ---")

if(CF_MODE STREQUAL "fail")
  if(rc EQUAL 0)
    message(FATAL_ERROR "FAIL: ${CF_SOURCE} compiled, but it must be rejected "
                        "with a diagnostic matching: ${CF_REGEX}")
  endif()
  if(NOT out MATCHES "${CF_REGEX}")
    message(FATAL_ERROR "FAIL: compilation failed, but not with the expected diagnostic.\n"
                        "expected regex: ${CF_REGEX}")
  endif()
  message("PASS: rejected with the expected diagnostic (${CF_REGEX})")
else()
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "FAIL: ${CF_SOURCE} must compile with -DCASTY_COMPILE_FAIL_CONTROL "
                        "(the file is broken beyond the line under test)")
  endif()
  message("PASS: compiles without the offending line")
endif()
