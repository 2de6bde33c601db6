// libengine.so (CMake target engine_shared, installed as engine::engine) is
// made of the project's static libraries, linked whole (see
// cmake/EnginePackage.cmake); this file only gives the target a source.
#include "engine/export.h"
