# cmake --install: the programs, the SDK (headers + static libraries) and a CMake package, so that
# a user's worker project can do find_package(Chronicle) and link Chronicle::worker.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

install(TARGETS chronicle-node chronicle greeting-worker RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS chronicle_codec chronicle_protocol chronicle_sdk chronicle_worker EXPORT ChronicleTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
# The time-skipping test environment (docs/testing.md) runs the server's state machine: shards too.
install(TARGETS chronicle_shards chronicle_testing EXPORT ChronicleTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(FILES protocol/codec.hpp protocol/messages.hpp protocol/runtime.hpp
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/protocol)
install(DIRECTORY ${CMAKE_BINARY_DIR}/protocol/chronicle DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
  FILES_MATCHING PATTERN "*.pb.h")
install(DIRECTORY protocol/chronicle DESTINATION ${CMAKE_INSTALL_DATADIR}/chronicle/proto
  FILES_MATCHING PATTERN "*.proto")
install(FILES worker/worker.hpp worker/client.hpp worker/replay_check.hpp DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/worker)
install(DIRECTORY worker/sdk DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/worker
  FILES_MATCHING PATTERN "*.hpp")
install(FILES samples/greeting_worker.cpp samples/greeting_workflows.hpp samples/replay_flags.hpp DESTINATION ${CMAKE_INSTALL_DATADIR}/chronicle/samples)
install(EXPORT ChronicleTargets NAMESPACE Chronicle:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/Chronicle)
configure_package_config_file(cmake/ChronicleConfig.cmake.in
  ${CMAKE_BINARY_DIR}/ChronicleConfig.cmake INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/Chronicle)
write_basic_package_version_file(${CMAKE_BINARY_DIR}/ChronicleConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMajorVersion)
install(FILES ${CMAKE_BINARY_DIR}/ChronicleConfig.cmake ${CMAKE_BINARY_DIR}/ChronicleConfigVersion.cmake
  cmake/caf_targets.cmake DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/Chronicle)
install(FILES deploy/chronicle-node@.service deploy/chronicle-worker@.service DESTINATION ${CMAKE_INSTALL_DATADIR}/chronicle/systemd)
