# Packaging (included from the top-level CMakeLists.txt after the modules):
#  - engine_shared: libengine.so, the project's static libraries linked whole
#    into one shared library that exports only the public API (the static
#    libraries are compiled with -fvisibility=hidden; include/engine/ marks the
#    public classes and functions ENGINE_API, see include/engine/export.h);
#  - `cmake --install <build> --prefix P`: P/include/engine/*.h,
#    P/lib/libengine.so*, P/bin/trtexec_like and the package config
#    P/lib/cmake/engine/engineConfig.cmake (+ version file), so that a service
#    does find_package(engine 0.2 REQUIRED) and links engine::engine.
# The in-tree `engine` target (INTERFACE over the static libraries) is what the
# tests and tools keep linking.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

# The project's (non-imported) static libraries that `roots` link, transitively.
function(engine_collect_static_libs out)
  set(seen "")
  set(result "")
  set(queue ${ARGN})
  while(queue)
    list(POP_FRONT queue item)
    string(REGEX REPLACE "^\\$<LINK_ONLY:(.*)>$" "\\1" item "${item}")
    if(NOT TARGET "${item}" OR "${item}" IN_LIST seen)
      continue()
    endif()
    list(APPEND seen "${item}")
    get_target_property(aliased "${item}" ALIASED_TARGET)
    if(aliased)
      list(APPEND queue "${aliased}")
      continue()
    endif()
    get_target_property(imported "${item}" IMPORTED)
    if(imported)
      continue()
    endif()
    get_target_property(type "${item}" TYPE)
    if(type STREQUAL "INTERFACE_LIBRARY")
      get_target_property(deps "${item}" INTERFACE_LINK_LIBRARIES)
    elseif(type STREQUAL "STATIC_LIBRARY")
      list(APPEND result "${item}")
      get_target_property(deps "${item}" LINK_LIBRARIES)
    else()
      continue()
    endif()
    if(deps)
      list(APPEND queue ${deps})
    endif()
  endwhile()
  set(${out} "${result}" PARENT_SCOPE)
endfunction()

engine_collect_static_libs(ENGINE_STATIC_LIBS engine)
set_target_properties(${ENGINE_STATIC_LIBS} PROPERTIES
  CXX_VISIBILITY_PRESET hidden
  VISIBILITY_INLINES_HIDDEN ON)

add_library(engine_shared SHARED ${CMAKE_CURRENT_LIST_DIR}/engine_shared.cc)
add_library(engine::engine ALIAS engine_shared)
# Every member of every static library goes in, once (--whole-archive ahead of
# the objects; the archives' later appearances through `engine`, which brings
# their third-party dependencies, then add nothing).
set(_engine_archives "")
foreach(lib IN LISTS ENGINE_STATIC_LIBS)
  list(APPEND _engine_archives "$<TARGET_FILE:${lib}>")
endforeach()
list(JOIN _engine_archives "," _engine_archives)
target_link_options(engine_shared PRIVATE
  "LINKER:--whole-archive,${_engine_archives},--no-whole-archive")
target_link_libraries(engine_shared PRIVATE engine PUBLIC absl::status absl::statusor)
target_include_directories(engine_shared INTERFACE
  $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
  $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
# Every symbol resolved at link time (not with sanitizers: clang leaves their
# runtime to the executable).
if(NOT ENGINE_FUZZ AND NOT CMAKE_CXX_FLAGS MATCHES "-fsanitize")
  target_link_options(engine_shared PRIVATE "LINKER:--no-undefined")
endif()
# Symbols of third-party static archives (Debian ships libflatbuffers.a) stay
# internal too.
target_link_options(engine_shared PRIVATE "LINKER:--exclude-libs,libflatbuffers.a")
set_target_properties(engine_shared PROPERTIES
  OUTPUT_NAME engine
  EXPORT_NAME engine
  VERSION ${PROJECT_VERSION}
  SOVERSION ${PROJECT_VERSION_MAJOR}.${PROJECT_VERSION_MINOR}
  CXX_VISIBILITY_PRESET hidden
  VISIBILITY_INLINES_HIDDEN ON)

install(TARGETS engine_shared EXPORT engineTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/engine
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
  FILES_MATCHING PATTERN "*.h")
if(TARGET trtexec_like)
  install(TARGETS trtexec_like RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()

set(ENGINE_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/engine)
install(EXPORT engineTargets NAMESPACE engine:: FILE engineTargets.cmake
  DESTINATION ${ENGINE_CMAKE_DIR})
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/engineConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/engineConfig.cmake
  INSTALL_DESTINATION ${ENGINE_CMAKE_DIR})
# 0.x: minor versions may break the API, so 0.2 accepts 0.2.* only.
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/engineConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/engineConfig.cmake
  ${CMAKE_CURRENT_BINARY_DIR}/engineConfigVersion.cmake
  DESTINATION ${ENGINE_CMAKE_DIR})
