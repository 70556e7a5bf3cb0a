# Installation: `cmake --install <build> [--prefix <dir>]` puts
#   include/casty/*.h                      public headers
#   <libdir>/libcasty.so.<version>          shared library, SONAME libcasty.so.<major>
#   <libdir>/libcasty.so.<major>, .so       symlinks
#   <libdir>/libcasty.a                     static library
#   <libdir>/cmake/Casty/                   find_package(Casty): Casty::casty (shared),
#                                           Casty::casty_static
#   <libdir>/pkgconfig/casty.pc             pkg-config --cflags --libs casty
# tests/install checks all of it from a consumer project.
#
# The static target's interface names the imported targets PkgConfig::URING,
# PkgConfig::XXHASH, mimalloc and Threads::Threads; CastyConfig.cmake re-creates
# them (find_dependency / pkg_check_modules) before loading CastyTargets.cmake.
# The shared target links them privately, so its users need none of them.

include_guard(GLOBAL)
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(CASTY_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/Casty CACHE STRING
    "Where to install CastyConfig.cmake (relative to the prefix)")
mark_as_advanced(CASTY_INSTALL_CMAKEDIR)

# Both targets are named libcasty on disk; in the export they become
# Casty::casty and Casty::casty_static, matching the in-tree aliases.
set_target_properties(casty_shared PROPERTIES EXPORT_NAME casty)
set_target_properties(casty_static PROPERTIES EXPORT_NAME casty_static)

install(TARGETS casty_shared casty_static
  EXPORT CastyTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

# Public headers only: include/casty holds nothing else (STYLE.md).
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/casty
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
  FILES_MATCHING PATTERN "*.h")

install(EXPORT CastyTargets
  NAMESPACE Casty::
  FILE CastyTargets.cmake
  DESTINATION ${CASTY_INSTALL_CMAKEDIR})

configure_package_config_file(
  ${PROJECT_SOURCE_DIR}/cmake/CastyConfig.cmake.in
  ${PROJECT_BINARY_DIR}/CastyConfig.cmake
  INSTALL_DESTINATION ${CASTY_INSTALL_CMAKEDIR})
# 0.x: a minor release may break the API, so only 0.1.* satisfies 0.1.
write_basic_package_version_file(
  ${PROJECT_BINARY_DIR}/CastyConfigVersion.cmake
  VERSION ${PROJECT_VERSION}
  COMPATIBILITY SameMinorVersion)
install(FILES
  ${PROJECT_BINARY_DIR}/CastyConfig.cmake
  ${PROJECT_BINARY_DIR}/CastyConfigVersion.cmake
  DESTINATION ${CASTY_INSTALL_CMAKEDIR})

# casty.pc: the prefix is only known at install time (`--prefix` overrides the
# configured one), so the file is configured twice: now for everything but the
# prefix, then by the install script with the prefix actually used.
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
  set(CASTY_PC_LIBDIR "${CMAKE_INSTALL_LIBDIR}")
else()
  set(CASTY_PC_LIBDIR "\${prefix}/${CMAKE_INSTALL_LIBDIR}")
endif()
if(IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
  set(CASTY_PC_INCLUDEDIR "${CMAKE_INSTALL_INCLUDEDIR}")
else()
  set(CASTY_PC_INCLUDEDIR "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
endif()
set(CASTY_PC_PREFIX "@CASTY_PC_PREFIX@") # filled in at install time
configure_file(${PROJECT_SOURCE_DIR}/cmake/casty.pc.in ${PROJECT_BINARY_DIR}/casty.pc.tmpl @ONLY)
install(CODE "
  set(CASTY_PC_PREFIX \"\${CMAKE_INSTALL_PREFIX}\")
  configure_file([[${PROJECT_BINARY_DIR}/casty.pc.tmpl]] [[${PROJECT_BINARY_DIR}/casty.pc]] @ONLY)
")
install(FILES ${PROJECT_BINARY_DIR}/casty.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
