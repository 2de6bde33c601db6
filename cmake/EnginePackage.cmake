# Packaging (included from the top-level CMakeLists.txt after the modules):
#  - engine_shared: libengine.so, the project's static libraries linked whole
#    into one shared library that exports only the public API (the static
#    libraries are compiled with -fvisibility=hidden; include/engine/ marks the
#    public classes and functions ENGINE_API, see include/engine/export.h);
#  - engine_runtime_shared: libengine_runtime.so, the same for the runtime
#    alone (engine_runtime: plan loading, executor, kernels), which links
#    neither ONNX nor Protobuf;
#  - `cmake --install <build> --prefix P`: P/include/engine/*.h,
#    P/lib/libengine.so*, P/lib/libengine_runtime.so*, P/bin/trtexec_like and
#    the package config P/lib/cmake/engine/engineConfig.cmake (+ version
#    file), so that a service does find_package(engine 0.2 REQUIRED) and links
#    engine::engine (= engine::builder) or engine::runtime.
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

# engine_add_shared(<target> <output name> <export name> <root>): a shared
# library made of every static library `root` links, exporting the public API.
function(engine_add_shared target output_name export_name root)
  engine_collect_static_libs(static_libs ${root})
  add_library(${target} SHARED ${CMAKE_CURRENT_FUNCTION_LIST_DIR}/engine_shared.cc)
  add_library(engine::${export_name} ALIAS ${target})
  # Every member of every static library goes in, once (--whole-archive ahead
  # of the objects; the archives' later appearances through `root`, which
  # brings their third-party dependencies, then add nothing).
  set(archives "")
  foreach(lib IN LISTS static_libs)
    list(APPEND archives "$<TARGET_FILE:${lib}>")
  endforeach()
  list(JOIN archives "," archives)
  target_link_options(${target} PRIVATE "LINKER:--whole-archive,${archives},--no-whole-archive")
  target_link_libraries(${target} PRIVATE ${root} PUBLIC absl::status absl::statusor)
  target_include_directories(${target} INTERFACE
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  # The public headers need C++20 (std::span): a consumer compiles with C++20
  # at least, whatever its CMAKE_CXX_STANDARD (export.h gives a clear #error to
  # one that sets -std=c++17 by hand).
  target_compile_features(${target} INTERFACE cxx_std_20)
  # Every symbol resolved at link time (not with sanitizers: clang leaves
  # their runtime to the executable).
  if(NOT ENGINE_FUZZ AND NOT CMAKE_CXX_FLAGS MATCHES "-fsanitize")
    target_link_options(${target} PRIVATE "LINKER:--no-undefined")
  endif()
  # Symbols of third-party static archives (Debian ships libflatbuffers.a)
  # stay internal too.
  target_link_options(${target} PRIVATE "LINKER:--exclude-libs,libflatbuffers.a")
  set_target_properties(${target} PROPERTIES
    OUTPUT_NAME ${output_name}
    EXPORT_NAME ${export_name}
    VERSION ${PROJECT_VERSION}
    SOVERSION ${PROJECT_VERSION_MAJOR}.${PROJECT_VERSION_MINOR}
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
endfunction()

# libengine.so (engine::engine, also engine::builder): builder, runtime and
# tensor I/O. libengine_runtime.so (engine::runtime): plan loading and
# execution only, without ONNX and Protobuf, for services that load plans.
# A consumer links one of the two, not both (each holds the runtime).
engine_add_shared(engine_shared engine engine engine)
engine_add_shared(engine_runtime_shared engine_runtime runtime engine_runtime)
add_library(engine_builder_package INTERFACE)
target_link_libraries(engine_builder_package INTERFACE engine_shared)
set_target_properties(engine_builder_package PROPERTIES EXPORT_NAME builder)
add_library(engine::builder ALIAS engine_builder_package)

# engine::plugin_api: the plugin interface alone (include/engine/plugin.h, a
# C ABI plus a header-only C++ layer), for plugin libraries: no engine library
# is linked, the host process holds the engine (docs/plugins.md).
add_library(engine_plugin_api INTERFACE)
target_include_directories(engine_plugin_api INTERFACE
  $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
  $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
target_compile_features(engine_plugin_api INTERFACE cxx_std_20)
set_target_properties(engine_plugin_api PROPERTIES EXPORT_NAME plugin_api)
add_library(engine::plugin_api ALIAS engine_plugin_api)

install(TARGETS engine_shared engine_runtime_shared engine_builder_package engine_plugin_api
  EXPORT engineTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/engine
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
  FILES_MATCHING PATTERN "*.h")
if(TARGET trtexec_like)
  install(TARGETS trtexec_like RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()
if(TARGET engine_server)
  install(TARGETS engine_server RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
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
