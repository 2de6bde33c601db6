// Symbol visibility of the public API.
//
// The shared library (libengine.so, CMake target engine::engine) is compiled
// with -fvisibility=hidden: only the classes and functions of include/engine/
// marked ENGINE_API are exported; everything else stays internal to it.
// Marking a class exports its out-of-line members, vtable and typeinfo.
#ifndef ENGINE_EXPORT_H_
#define ENGINE_EXPORT_H_

#if defined(__GNUC__) || defined(__clang__)
#define ENGINE_API __attribute__((visibility("default")))
#else
#define ENGINE_API
#endif

#endif  // ENGINE_EXPORT_H_
