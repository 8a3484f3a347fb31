# `cmake --install`: the headers (in their source layout under include/ember/), libember, and a
# package config exporting ember::ember, so that another project can write
#   find_package(ember 0.1 REQUIRED)
#   target_link_libraries(app PRIVATE ember::ember)
# and `#include <ember/ember.h>`. Included from the top-level CMakeLists.txt after the target exists.
include(CMakePackageConfigHelpers)

set(EMBER_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/ember)

# Public headers only: ops/cpu/ (kernels, CBLAS) and cuda/ are implementation details that no
# public header includes.
install(FILES ember/ember.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/ember)
foreach(dir core autograd ops ops/formulas nn nn/optim)
  file(GLOB headers CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/${dir}/*.h)
  install(FILES ${headers} DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/ember/${dir})
endforeach()

install(TARGETS ember EXPORT emberTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(EXPORT emberTargets NAMESPACE ember:: DESTINATION ${EMBER_INSTALL_CMAKEDIR})

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/emberConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/emberConfig.cmake
                              INSTALL_DESTINATION ${EMBER_INSTALL_CMAKEDIR})
# 0.x: minor versions may break the API, so a request for 0.1 accepts 0.1.z only.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/emberConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/emberConfig.cmake ${PROJECT_BINARY_DIR}/emberConfigVersion.cmake
        DESTINATION ${EMBER_INSTALL_CMAKEDIR})
