# Test registration helpers (STYLE.md "Tests"). Included from the top-level
# CMakeLists.txt after enable_testing(); every test goes through one of:
#
#   casty_add_test(NAME <name> SOURCES <src>... LABELS <label>...
#                  [TIMEOUT <s>] [LIBS <lib>...] [ARGS <arg>...])
#       One cmocka executable linked against casty_internal (static library
#       plus internal headers), built with the library's warning set, and one
#       CTest of the same name. TIMEOUT (default 60 s) is multiplied by
#       CASTY_TEST_TIMEOUT_MULTIPLIER. Exit code 77 means "skipped" (missing
#       kernel feature, e.g. io_uring).
#
#   casty_add_compile_fail_test(NAME <name> SOURCE <file.c> REGEX <regex>)
#       Two CTests (label compile_fail): <name> passes only if SOURCE fails to
#       compile AND the diagnostics match REGEX, so an unrelated error cannot
#       pass; <name>_control passes only if SOURCE compiles with
#       -DCASTY_COMPILE_FAIL_CONTROL (the file wraps its bad line in
#       #ifndef CASTY_COMPILE_FAIL_CONTROL), proving that line is the failure.

include_guard(GLOBAL)

find_package(PkgConfig REQUIRED)
pkg_check_modules(CMOCKA REQUIRED IMPORTED_TARGET cmocka)

# Sanitizers slow everything down (ASan ~2-3x, TSan ~5-15x): stretch timeouts.
# The default follows CASTY_SANITIZE unless the user set the cache entry.
if(CASTY_SANITIZE STREQUAL "")
  set(_casty_default_multiplier 1)
else()
  set(_casty_default_multiplier 3)
endif()
set(_casty_multiplier_doc "Factor applied to every test TIMEOUT (default: 1, or 3 with CASTY_SANITIZE)")
# Reconfiguring an existing build with another CASTY_SANITIZE moves a value
# that was chosen automatically; a value the user set is left alone.
if(DEFINED CACHE{_CASTY_TEST_TIMEOUT_MULTIPLIER_AUTO}
   AND CASTY_TEST_TIMEOUT_MULTIPLIER STREQUAL _CASTY_TEST_TIMEOUT_MULTIPLIER_AUTO)
  set(CASTY_TEST_TIMEOUT_MULTIPLIER ${_casty_default_multiplier} CACHE STRING
      "${_casty_multiplier_doc}" FORCE)
endif()
set(_CASTY_TEST_TIMEOUT_MULTIPLIER_AUTO ${_casty_default_multiplier} CACHE INTERNAL "")
set(CASTY_TEST_TIMEOUT_MULTIPLIER ${_casty_default_multiplier} CACHE STRING "${_casty_multiplier_doc}")
if(NOT CASTY_TEST_TIMEOUT_MULTIPLIER MATCHES "^[1-9][0-9]*$")
  message(FATAL_ERROR "CASTY_TEST_TIMEOUT_MULTIPLIER must be a positive integer, "
                      "got '${CASTY_TEST_TIMEOUT_MULTIPLIER}'")
endif()

# Runtime options for sanitized tests. The runtimes read these at start-up, so
# they go into each test's ENVIRONMENT rather than into the binaries.
set(CASTY_TSAN_SUPPRESSIONS ${PROJECT_SOURCE_DIR}/tests/tsan.supp)
set(CASTY_TEST_ENVIRONMENT "CASTY_TEST_TIMEOUT_MULTIPLIER=${CASTY_TEST_TIMEOUT_MULTIPLIER}")
if(CASTY_SANITIZE STREQUAL "address")
  list(APPEND CASTY_TEST_ENVIRONMENT
    "ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1:check_initialization_order=1"
    "UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1")
elseif(CASTY_SANITIZE STREQUAL "thread")
  list(APPEND CASTY_TEST_ENVIRONMENT
    "TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:suppressions=${CASTY_TSAN_SUPPRESSIONS}")
endif()

# Seconds after multiplying by CASTY_TEST_TIMEOUT_MULTIPLIER.
function(casty_scaled_timeout out seconds)
  if(NOT seconds MATCHES "^[1-9][0-9]*$")
    message(FATAL_ERROR "TIMEOUT must be a positive integer number of seconds, got '${seconds}'")
  endif()
  math(EXPR scaled "${seconds} * ${CASTY_TEST_TIMEOUT_MULTIPLIER}")
  set(${out} ${scaled} PARENT_SCOPE)
endfunction()

function(casty_add_test)
  cmake_parse_arguments(PARSE_ARGV 0 T "" "NAME;TIMEOUT" "SOURCES;LABELS;LIBS;ARGS")
  if(T_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "casty_add_test: unknown arguments: ${T_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT T_NAME OR NOT T_SOURCES OR NOT T_LABELS)
    message(FATAL_ERROR "casty_add_test: NAME, SOURCES and LABELS are required")
  endif()
  if(NOT DEFINED T_TIMEOUT)
    set(T_TIMEOUT 60)
  endif()
  casty_scaled_timeout(timeout ${T_TIMEOUT})

  add_executable(${T_NAME} ${T_SOURCES})
  # Tests include "support/casty_test.h" and internal headers ("core/cell.h").
  target_include_directories(${T_NAME} PRIVATE ${PROJECT_SOURCE_DIR}/tests)
  target_link_libraries(${T_NAME} PRIVATE casty_internal PkgConfig::CMOCKA ${T_LIBS})
  target_compile_options(${T_NAME} PRIVATE ${CASTY_WARNINGS})

  add_test(NAME ${T_NAME} COMMAND $<TARGET_FILE:${T_NAME}> ${T_ARGS})
  set_tests_properties(${T_NAME} PROPERTIES
    LABELS "${T_LABELS}"
    TIMEOUT ${timeout}
    SKIP_RETURN_CODE 77
    ENVIRONMENT "${CASTY_TEST_ENVIRONMENT}")
endfunction()

function(casty_add_compile_fail_test)
  cmake_parse_arguments(PARSE_ARGV 0 T "" "NAME;SOURCE;REGEX" "")
  if(T_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "casty_add_compile_fail_test: unknown arguments: ${T_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT T_NAME OR NOT T_SOURCE OR NOT DEFINED T_REGEX OR T_REGEX STREQUAL "")
    message(FATAL_ERROR "casty_add_compile_fail_test: NAME, SOURCE and REGEX are required")
  endif()
  get_filename_component(source "${T_SOURCE}" ABSOLUTE)
  if(NOT EXISTS "${source}")
    message(FATAL_ERROR "casty_add_compile_fail_test: no such file: ${source}")
  endif()

  # The regex travels in a generated file (a bracket argument), so that ';',
  # quotes and backslashes in it survive the trip through add_test().
  set(args_file ${CMAKE_CURRENT_BINARY_DIR}/compile_fail/${T_NAME}.cmake)
  file(CONFIGURE OUTPUT ${args_file} CONTENT [==[
# Generated by casty_add_compile_fail_test(); read by cmake/compile_fail.cmake.
set(CF_COMPILER [=[@CMAKE_C_COMPILER@]=])
set(CF_SOURCE [=[@source@]=])
set(CF_REGEX [=[@T_REGEX@]=])
set(CF_INCLUDES [=[@PROJECT_SOURCE_DIR@/include;@PROJECT_SOURCE_DIR@]=])
]==] @ONLY)

  foreach(mode fail control)
    if(mode STREQUAL "fail")
      set(test ${T_NAME})
    else()
      set(test ${T_NAME}_control)
    endif()
    add_test(NAME ${test}
      COMMAND ${CMAKE_COMMAND} -DCF_ARGS=${args_file} -DCF_MODE=${mode}
              -P ${PROJECT_SOURCE_DIR}/cmake/compile_fail.cmake)
    set_tests_properties(${test} PROPERTIES LABELS compile_fail TIMEOUT 60)
  endforeach()
endfunction()
