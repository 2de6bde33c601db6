// Symbol visibility of the public API.
//
// The shared library (libengine.so, CMake target engine::engine) is compiled
// with -fvisibility=hidden: only the classes and functions of include/engine/
// marked ENGINE_API are exported; everything else stays internal to it.
// Marking a class exports its out-of-line members, vtable and typeinfo.
#ifndef ENGINE_EXPORT_H_
#define ENGINE_EXPORT_H_

// The public headers use C++20 (std::span in tensor.h, tensor_io.h). The CMake
// targets engine::engine and engine::runtime request it (INTERFACE compile
// feature cxx_std_20), so a CMake consumer gets C++20 whatever its own
// CMAKE_CXX_STANDARD; a consumer that sets its flags by hand gets this error
// instead of one about std::span.
#if __cplusplus < 202002L
#error "the engine's headers need C++20: compile with -std=c++20 (or link the CMake target engine::engine or engine::runtime, which requests cxx_std_20)"
#endif

#if defined(__GNUC__) || defined(__clang__)
#define ENGINE_API __attribute__((visibility("default")))
#else
#define ENGINE_API
#endif

#endif  // ENGINE_EXPORT_H_
