# cmake -DBUILD_DIR=... -DWORK_DIR=... -DCONSUMER_SRC=... -DLIBDIR=... -DINCLUDEDIR=...
#       -DCMAKEDIR=... -DC_COMPILER=... -DGENERATOR=... [-DMAKE_PROGRAM=...]
#       -DVERSION=x.y.z -DSOVERSION=n -P run_install_test.cmake
#
# The packaging test behind CTest `install_consumer`:
#   1. cmake --install BUILD_DIR --prefix WORK_DIR/prefix
#   2. the expected files are there; libcasty.so carries SONAME libcasty.so.N
#      and exports only casty_* symbols (no casty__ internals);
#   3. consumer/ configures with find_package(Casty) from that prefix only,
#      builds against Casty::casty and Casty::casty_static, and both print
#      "consumer ok VERSION";
#   4. main.c built with `cc $(pkg-config --cflags --libs casty)` does too.
# Prints "CASTY_SKIP: ..." (the test's SKIP_REGULAR_EXPRESSION) when a consumer
# exits 77 because io_uring is unavailable.

cmake_minimum_required(VERSION 3.20)

foreach(var BUILD_DIR WORK_DIR CONSUMER_SRC LIBDIR INCLUDEDIR CMAKEDIR C_COMPILER GENERATOR
            VERSION SOVERSION)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "run_install_test.cmake: -D${var}=... is required")
  endif()
endforeach()

set(prefix ${WORK_DIR}/prefix)
set(libdir ${prefix}/${LIBDIR})
if(IS_ABSOLUTE "${LIBDIR}")
  message(FATAL_ERROR "install_consumer: CMAKE_INSTALL_LIBDIR is absolute (${LIBDIR}); "
                      "an install under a test prefix cannot be checked")
endif()
set(lib_env LD_LIBRARY_PATH=${libdir})

# Run a command; stop the test if it fails. Output goes to the test log.
function(run_checked what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out
                  TIMEOUT 240)
  if(NOT rc EQUAL 0)
    list(JOIN ARGN " " cmd_text)
    message(FATAL_ERROR "install_consumer: ${what} failed (exit status ${rc})\n  ${cmd_text}\n${out}")
  endif()
  set(run_out "${out}" PARENT_SCOPE)
endfunction()

# Run a built consumer and check its line of output.
function(run_consumer_checked what exe)
  execute_process(COMMAND ${CMAKE_COMMAND} -E env ${lib_env} ${exe}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 60)
  message("${what}: exit ${rc}: ${out}${err}")
  set(consumer_skipped FALSE PARENT_SCOPE)
  if(rc EQUAL 77)
    set(consumer_skipped TRUE PARENT_SCOPE)
    return()
  endif()
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "install_consumer: ${what} exited with status ${rc}")
  endif()
  string(REPLACE "." "\\." version_re "${VERSION}")
  if(NOT out MATCHES "(^|\n)consumer ok ${version_re}\n")
    message(FATAL_ERROR "install_consumer: ${what} printed '${out}', expected 'consumer ok ${VERSION}'")
  endif()
endfunction()

# A macro, so that its return() ends the whole script: once io_uring is found
# missing, no later consumer can run either.
macro(run_consumer what exe)
  run_consumer_checked("${what}" "${exe}")
  if(consumer_skipped)
    message("CASTY_SKIP: ${what} could not start a system (io_uring unavailable); "
            "the packaging checks before it passed")
    return()
  endif()
endmacro()

file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})

# 1. Install.
run_checked("cmake --install" ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix})
message("installed into ${prefix}")

# 2. Layout, SONAME and exported symbols.
foreach(file
    ${INCLUDEDIR}/casty/casty.h
    ${INCLUDEDIR}/casty/version.h
    ${LIBDIR}/libcasty.so
    ${LIBDIR}/libcasty.so.${SOVERSION}
    ${LIBDIR}/libcasty.so.${VERSION}
    ${LIBDIR}/libcasty.a
    ${CMAKEDIR}/CastyConfig.cmake
    ${CMAKEDIR}/CastyConfigVersion.cmake
    ${CMAKEDIR}/CastyTargets.cmake
    ${LIBDIR}/pkgconfig/casty.pc)
  if(NOT EXISTS ${prefix}/${file})
    message(FATAL_ERROR "install_consumer: missing ${prefix}/${file}")
  endif()
endforeach()
file(GLOB stray RELATIVE ${prefix}/${INCLUDEDIR} ${prefix}/${INCLUDEDIR}/*)
if(NOT stray STREQUAL "casty")
  message(FATAL_ERROR "install_consumer: ${prefix}/${INCLUDEDIR} holds more than casty/: ${stray}")
endif()

find_program(READELF readelf)
find_program(OBJDUMP objdump)
if(READELF)
  run_checked("readelf -d" ${READELF} -d ${libdir}/libcasty.so.${VERSION})
  set(soname_re "\\(SONAME\\)[^\n]*\\[libcasty\\.so\\.${SOVERSION}\\]")
elseif(OBJDUMP)
  run_checked("objdump -p" ${OBJDUMP} -p ${libdir}/libcasty.so.${VERSION})
  set(soname_re "SONAME[ \t]+libcasty\\.so\\.${SOVERSION}\n")
else()
  message(FATAL_ERROR "install_consumer: neither readelf nor objdump found (binutils)")
endif()
if(NOT run_out MATCHES "${soname_re}")
  message(FATAL_ERROR "install_consumer: libcasty.so has no SONAME libcasty.so.${SOVERSION}:\n${run_out}")
endif()
message("SONAME libcasty.so.${SOVERSION}: ok")

find_program(NM nm)
if(NM)
  run_checked("nm -D" ${NM} -D --defined-only ${libdir}/libcasty.so.${VERSION})
  string(REGEX MATCHALL "[^\n]+" lines "${run_out}")
  set(exported 0)
  set(leaked "")
  foreach(line IN LISTS lines)
    if(NOT line MATCHES "^[0-9a-fA-F]* *[A-Za-z] ([^ @]+)")
      continue()
    endif()
    set(sym ${CMAKE_MATCH_1})
    if(sym MATCHES "^casty__")
      list(APPEND leaked ${sym}) # internal (casty__module_verb) must stay hidden
    elseif(sym MATCHES "^casty_")
      math(EXPR exported "${exported} + 1")
    elseif(NOT sym MATCHES "^_")  # linker symbols such as _init, __bss_start
      list(APPEND leaked ${sym})
    endif()
  endforeach()
  if(leaked)
    message(FATAL_ERROR "install_consumer: libcasty.so exports non-API symbols "
                        "(missing -fvisibility=hidden or a stray CASTY_API?): ${leaked}")
  endif()
  if(NOT run_out MATCHES " casty_version\n")
    message(FATAL_ERROR "install_consumer: libcasty.so does not export casty_version")
  endif()
  message("exported symbols: ${exported} casty_* symbols, no internals: ok")
endif()

# 3. find_package(Casty) consumer, shared and static.
set(consumer_build ${WORK_DIR}/consumer-build)
set(configure_args -S ${CONSUMER_SRC} -B ${consumer_build} -G ${GENERATOR}
    -DCMAKE_BUILD_TYPE=Release
    -DCMAKE_C_COMPILER=${C_COMPILER}
    -DCMAKE_PREFIX_PATH=${prefix}
    -DCASTY_EXPECT_VERSION=${VERSION}
    # Only our prefix may satisfy find_package(Casty): no user package registry.
    -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF)
if(MAKE_PROGRAM)
  list(APPEND configure_args -DCMAKE_MAKE_PROGRAM=${MAKE_PROGRAM})
endif()
run_checked("consumer configure" ${CMAKE_COMMAND} ${configure_args})
if(NOT run_out MATCHES "Casty_DIR=([^\n]*)")
  message(FATAL_ERROR "install_consumer: the consumer did not report Casty_DIR:\n${run_out}")
endif()
set(casty_dir "${CMAKE_MATCH_1}")
message("consumer: Casty_DIR=${casty_dir}")
file(REAL_PATH "${casty_dir}" real_casty_dir)
file(REAL_PATH "${prefix}" real_prefix)
string(FIND "${real_casty_dir}/" "${real_prefix}/" at)
if(NOT at EQUAL 0)
  message(FATAL_ERROR "install_consumer: find_package(Casty) used ${casty_dir}, not the test prefix ${prefix}")
endif()
run_checked("consumer build" ${CMAKE_COMMAND} --build ${consumer_build})

if(READELF)
  run_checked("readelf -d consumer_static" ${READELF} -d ${consumer_build}/consumer_static)
  if(run_out MATCHES "libcasty\\.so")
    message(FATAL_ERROR "install_consumer: consumer_static (Casty::casty_static) depends on libcasty.so")
  endif()
  run_checked("readelf -d consumer" ${READELF} -d ${consumer_build}/consumer)
  if(NOT run_out MATCHES "\\(NEEDED\\)[^\n]*\\[libcasty\\.so\\.${SOVERSION}\\]")
    message(FATAL_ERROR "install_consumer: consumer (Casty::casty) does not need libcasty.so.${SOVERSION}")
  endif()
endif()

run_consumer("find_package consumer (shared)" ${consumer_build}/consumer)
run_consumer("find_package consumer (static)" ${consumer_build}/consumer_static)

# 4. pkg-config consumer.
find_program(PKG_CONFIG_EXE NAMES pkg-config pkgconf)
if(NOT PKG_CONFIG_EXE)
  message(FATAL_ERROR "install_consumer: pkg-config not found")
endif()
set(pc_env PKG_CONFIG_PATH=${libdir}/pkgconfig)
run_checked("pkg-config --modversion" ${CMAKE_COMMAND} -E env ${pc_env}
            ${PKG_CONFIG_EXE} --modversion casty)
string(STRIP "${run_out}" pc_version)
if(NOT pc_version STREQUAL VERSION)
  message(FATAL_ERROR "install_consumer: casty.pc says version '${pc_version}', expected ${VERSION}")
endif()
# --static resolves Requires.private (liburing, libxxhash) too.
run_checked("pkg-config --static --libs" ${CMAKE_COMMAND} -E env ${pc_env}
            ${PKG_CONFIG_EXE} --static --libs casty)
message("pkg-config --static --libs casty: ${run_out}")
run_checked("pkg-config --cflags --libs" ${CMAKE_COMMAND} -E env ${pc_env}
            ${PKG_CONFIG_EXE} --cflags --libs casty)
string(STRIP "${run_out}" pc_flags)
message("pkg-config --cflags --libs casty: ${pc_flags}")
string(FIND "${pc_flags}" "-I${prefix}/${INCLUDEDIR}" at_include)
string(FIND "${pc_flags}" "-L${libdir}" at_lib)
if(at_include LESS 0 OR at_lib LESS 0)
  message(FATAL_ERROR "install_consumer: casty.pc does not point into the test prefix: ${pc_flags}")
endif()
separate_arguments(pc_flags UNIX_COMMAND "${pc_flags}")
run_checked("cc main.c \$(pkg-config --cflags --libs casty)"
            ${C_COMPILER} -std=c17 -Wall -Wextra -Werror ${CONSUMER_SRC}/main.c ${pc_flags}
            -o ${WORK_DIR}/consumer_pc)
run_consumer("pkg-config consumer" ${WORK_DIR}/consumer_pc)

message("install_consumer: all packaging checks passed")
