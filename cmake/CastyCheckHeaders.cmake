# Public header discipline (STYLE.md): every include/casty/*.h must compile on
# its own, twice in a row (include guard), as C17 and as C++17, with
# -Wall -Wextra -Werror, and a header that declares CASTY_API functions must
# wrap them in extern "C". Macros are checked only where they are expanded, so
# C-only GNU constructs inside macro bodies are fine; plain inclusion must work.
#
# This file has two roles:
#   include(cmake/CastyCheckHeaders.cmake)
#       defines the `check-headers` target (not part of ALL) and, once testing
#       is enabled, the CTest `check_headers` (label unit) so CI runs it too.
#   cmake -DCH_C_COMPILER=... -DCH_CXX_COMPILER=... -DCH_INCLUDE_DIR=...
#         -DCH_WORK_DIR=... -P cmake/CastyCheckHeaders.cmake
#       runs the checks. The header list is globbed at run time so that a new
#       header is checked without touching the build files.
# The project enables only C; the C++ compiler is located with find_program().
# Without one, the C checks still run and the CTest reports "skipped".

cmake_minimum_required(VERSION 3.20)

if(NOT CMAKE_SCRIPT_MODE_FILE)
  include_guard(GLOBAL)

  if(CMAKE_C_COMPILER_ID MATCHES "Clang")
    set(_casty_cxx_names clang++ g++ c++)
  else()
    set(_casty_cxx_names g++ c++ clang++)
  endif()
  find_program(CASTY_CXX_COMPILER NAMES ${_casty_cxx_names}
               DOC "C++ compiler used only by check-headers (the project itself is C)")
  if(NOT CASTY_CXX_COMPILER)
    message(STATUS "check-headers: no C++ compiler found, C++ inclusion checks will be skipped")
  endif()

  set(CASTY_CHECK_HEADERS_COMMAND
    ${CMAKE_COMMAND}
      -DCH_C_COMPILER=${CMAKE_C_COMPILER}
      -DCH_CXX_COMPILER=${CASTY_CXX_COMPILER}
      -DCH_INCLUDE_DIR=${PROJECT_SOURCE_DIR}/include
      -DCH_WORK_DIR=${PROJECT_BINARY_DIR}/check-headers
      -P ${CMAKE_CURRENT_LIST_FILE})
  add_custom_target(check-headers
    COMMAND ${CASTY_CHECK_HEADERS_COMMAND}
    COMMENT "Compiling each public header alone as C17 and C++17"
    VERBATIM USES_TERMINAL)

  # The CTest is added at the end of the top-level directory, after
  # enable_testing() has run, whatever the include order.
  function(_casty_check_headers_add_test)
    if(CASTY_BUILD_TESTS)
      add_test(NAME check_headers COMMAND ${CASTY_CHECK_HEADERS_COMMAND})
      set_tests_properties(check_headers PROPERTIES
        LABELS unit TIMEOUT 120 SKIP_REGULAR_EXPRESSION "CASTY_SKIP:")
    endif()
  endfunction()
  cmake_language(DEFER DIRECTORY ${PROJECT_SOURCE_DIR} CALL _casty_check_headers_add_test)
  return()
endif()

# ---- script mode -------------------------------------------------------------

foreach(var CH_C_COMPILER CH_INCLUDE_DIR CH_WORK_DIR)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "CastyCheckHeaders.cmake: -D${var}=... is required")
  endif()
endforeach()

get_filename_component(CH_INCLUDE_DIR "${CH_INCLUDE_DIR}" ABSOLUTE)
get_filename_component(CH_WORK_DIR "${CH_WORK_DIR}" ABSOLUTE)
file(GLOB headers RELATIVE ${CH_INCLUDE_DIR} ${CH_INCLUDE_DIR}/casty/*.h)
list(SORT headers)
if(NOT headers)
  message(FATAL_ERROR "check-headers: no headers found in ${CH_INCLUDE_DIR}/casty")
endif()
file(MAKE_DIRECTORY ${CH_WORK_DIR})

set(common -fsyntax-only -Wall -Wextra -Werror -fdiagnostics-color=never -I${CH_INCLUDE_DIR})
set(c_flags -x c -std=c17 ${common})
set(cxx_flags -x c++ -std=c++17 ${common})
set(have_cxx FALSE)
if(CH_CXX_COMPILER AND NOT CH_CXX_COMPILER MATCHES "NOTFOUND$")
  set(have_cxx TRUE)
endif()

set(failed "")
set(checked 0)
foreach(header IN LISTS headers)
  get_filename_component(stem ${header} NAME_WE)
  # Included twice: the first proves it is self-contained, the second that
  # its include guard works.
  set(tu ${CH_WORK_DIR}/${stem}.inc)
  file(WRITE ${tu} "#include <${header}>\n#include <${header}>\n")

  file(READ ${CH_INCLUDE_DIR}/${header} text)
  if(text MATCHES "\nCASTY_API " AND NOT text MATCHES "extern \"C\"")
    list(APPEND failed "${header} (declares CASTY_API functions without an extern \"C\" guard)")
  endif()

  set(langs c)
  if(have_cxx)
    list(APPEND langs cxx)
  endif()
  foreach(lang IN LISTS langs)
    if(lang STREQUAL "c")
      set(cmd ${CH_C_COMPILER} ${c_flags} ${tu})
      set(what "C17")
    else()
      set(cmd ${CH_CXX_COMPILER} ${cxx_flags} ${tu})
      set(what "C++17")
    endif()
    execute_process(COMMAND ${CMAKE_COMMAND} -E env LC_ALL=C ${cmd}
                    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out TIMEOUT 60)
    math(EXPR checked "${checked} + 1")
    if(rc EQUAL 0)
      message("ok    ${what}  ${header}")
    else()
      list(JOIN cmd " " cmd_text)
      message("FAIL  ${what}  ${header}\n  ${cmd_text}\n${out}")
      list(APPEND failed "${header} (${what})")
    endif()
  endforeach()
endforeach()

if(failed)
  list(JOIN failed "\n  " failed_text)
  message(FATAL_ERROR "check-headers: failures:\n  ${failed_text}")
endif()
list(LENGTH headers n)
message("check-headers: ${n} headers, ${checked} compilations, all clean")
if(NOT have_cxx)
  message("CASTY_SKIP: no C++ compiler found; the C++ inclusion checks did not run")
endif()
