#!/usr/bin/python3
"""Checks that the code follows the module dependencies of docs/architecture.md.

Usage: /usr/bin/python3 tests/architecture/check_deps.py [SOURCE_DIR]
(registered with CTest as architecture/module_dependencies). Exits 1 and
prints one line per violation, naming the file and the include or link.

What it checks:
 1. Includes. Each file under src/<module>/ may include `"<other>/..."` only
    for an <other> module that ALLOWED lets <module> depend on. A public
    header `"engine/<name>.h"` counts as a dependency on the module that
    implements it (the module holding `<name>.cc`, see 3).
 2. CMake links. Each library a src/<module>/CMakeLists.txt defines may link
    only engine_* libraries of allowed modules; a module whose headers
    (src/<module>/*.h, and the public headers it implements) include another
    module links one of its libraries PUBLIC (or INTERFACE); a module that
    uses another only from its .cc files links it PRIVATE; a module links no
    module it does not include.
 3. Public headers. Each include/engine/<name>.h (but the header-only ones in
    HEADER_ONLY) is implemented in exactly one src/<module>/<name>.cc, which
    includes it; no other .cc under src/ defines a member of a class the
    header declares, or a function the header declares at namespace engine's
    scope.

Only the Python standard library is used (Debian's python3).
"""

import glob
import os
import re
import sys

# docs/architecture.md: module -> the modules it may depend on.
ALLOWED = {
    "common": set(),
    "kernels": {"common"},
    "hw": {"common"},
    "ir": {"common"},
    "ops": {"common", "kernels", "hw"},
    "parser": {"common", "ir", "ops", "kernels"},
    "optimizer": {"common", "ir", "ops", "kernels"},
    "codegen": {"common", "ir", "hw", "ops", "kernels"},
    "builder": {"common", "ir", "hw", "ops", "kernels", "parser", "optimizer", "codegen"},
    "executor": {"common", "kernels", "hw", "ops"},
    "serving": {"common", "executor"},
}

# Public headers with no implementation file.
HEADER_ONLY = {"export.h", "plugin.h"}

# CMake targets defined under src/ that are not a module's library: the
# umbrella libraries users link (engine joins builder, executor and tensor
# I/O; engine_runtime is the executor alone, for services that load plans).
UMBRELLA = {"engine", "engine_runtime"}

INCLUDE_RE = re.compile(r'^\s*#\s*include\s+"([a-z_0-9]+)/([^"]+)"')


def rel(path, root):
    return os.path.relpath(path, root)


def module_files(root, module):
    out = []
    for ext in ("*.h", "*.cc"):
        out += glob.glob(os.path.join(root, "src", module, "**", ext), recursive=True)
    return sorted(out)


def includes(path):
    """(line number, directory, rest) of every quoted include of `path`."""
    found = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for n, line in enumerate(f, 1):
            m = INCLUDE_RE.match(line)
            if m:
                found.append((n, m.group(1), m.group(2)))
    return found


def public_header_owners(root, errors):
    """Maps each public header name to its module (None for header-only)."""
    owners = {}
    for header in sorted(glob.glob(os.path.join(root, "include", "engine", "*.h"))):
        name = os.path.basename(header)
        stem = name[:-2]
        impls = sorted(glob.glob(os.path.join(root, "src", "*", "**", stem + ".cc"), recursive=True))
        if name in HEADER_ONLY:
            owners[name] = None
            if impls:
                errors.append(f"{rel(header, root)}: listed as header-only but implemented in "
                              + ", ".join(rel(p, root) for p in impls))
            continue
        if len(impls) != 1:
            where = ", ".join(rel(p, root) for p in impls) if impls else "no src/<module>/" + stem + ".cc"
            errors.append(f"{rel(header, root)}: a public header is implemented in exactly one "
                          f".cc named after it; found {where}")
            owners[name] = None
            continue
        impl = impls[0]
        owners[name] = rel(impl, root).split(os.sep)[1]
        if not any(d == "engine" and r == name for _, d, r in includes(impl)):
            errors.append(f"{rel(impl, root)}: implements include/engine/{name} but does not "
                          f'#include "engine/{name}"')
    return owners


def dependency_of(directory, rest, owners):
    """The module an include refers to, or None (third-party, same-name dirs)."""
    if directory == "engine":
        return owners.get(rest)
    if directory in ALLOWED:
        return directory
    return None


def check_includes(root, owners, errors):
    """Returns {module: (header deps, source deps)} and reports forbidden edges."""
    deps = {}
    public_by_module = {}
    for name, owner in owners.items():
        if owner is not None:
            public_by_module.setdefault(owner, []).append(os.path.join(root, "include", "engine", name))
    for module in ALLOWED:
        header_deps, source_deps = set(), set()
        files = module_files(root, module) + public_by_module.get(module, [])
        for path in files:
            is_header = path.endswith(".h")
            for n, directory, rest in includes(path):
                dep = dependency_of(directory, rest, owners)
                if dep is None or dep == module:
                    continue
                if dep not in ALLOWED[module]:
                    via = f" (implemented by src/{dep}/)" if directory == "engine" else ""
                    errors.append(f'{rel(path, root)}:{n}: #include "{directory}/{rest}"{via}: '
                                  f"module {module} may not depend on {dep} "
                                  f"(allowed: {', '.join(sorted(ALLOWED[module])) or 'nothing'})")
                    continue
                (header_deps if is_header else source_deps).add(dep)
        deps[module] = (header_deps, source_deps)
    return deps


def strip_cmake_comments(text):
    return "\n".join(line.split("#", 1)[0] for line in text.splitlines())


def cmake_calls(text, command):
    """Argument lists of every `command(...)` call (no nested parentheses)."""
    calls = []
    for m in re.finditer(r"\b" + command + r"\s*\(([^)]*)\)", text):
        calls.append(m.group(1).split())
    return calls


def check_links(root, deps, errors):
    # Library targets per module, and the module of each engine_* target.
    target_module = {}
    texts = {}
    for module in ALLOWED:
        path = os.path.join(root, "src", module, "CMakeLists.txt")
        if not os.path.exists(path):
            errors.append(f"src/{module}/CMakeLists.txt: missing")
            continue
        with open(path, encoding="utf-8") as f:
            texts[module] = strip_cmake_comments(f.read())
        for args in cmake_calls(texts[module], "add_library"):
            if args and args[0] not in UMBRELLA:
                target_module[args[0]] = module
    for module, text in texts.items():
        where = f"src/{module}/CMakeLists.txt"
        public, private = set(), set()
        for args in cmake_calls(text, "target_link_libraries"):
            if not args or target_module.get(args[0]) != module:
                continue  # executables (benchmarks) and the umbrella library
            scope = "PUBLIC"
            for a in args[1:]:
                if a in ("PUBLIC", "PRIVATE", "INTERFACE"):
                    scope = a
                    continue
                dep = target_module.get(a)
                if dep is None or dep == module:
                    continue
                if dep not in ALLOWED[module]:
                    errors.append(f"{where}: {args[0]} links {a}: module {module} may not depend "
                                  f"on {dep}")
                    continue
                (private if scope == "PRIVATE" else public).add(dep)
        header_deps, source_deps = deps.get(module, (set(), set()))
        for dep in sorted(header_deps - public):
            errors.append(f"{where}: headers of src/{module}/ include {dep}/ (or a public header "
                          f"it implements) but no {module} library links an engine_{dep} library "
                          f"PUBLIC")
        for dep in sorted(source_deps - header_deps - public - private):
            errors.append(f"{where}: src/{module}/*.cc include {dep}/ but no {module} library links "
                          f"an engine_{dep} library")
        for dep in sorted(public - header_deps):
            if dep in source_deps:
                errors.append(f"{where}: {dep} is used only by src/{module}/*.cc: link it PRIVATE")
            else:
                errors.append(f"{where}: links {dep} PUBLIC but src/{module}/ does not include it")
        for dep in sorted(private - header_deps - source_deps):
            errors.append(f"{where}: links {dep} but src/{module}/ does not include it")


NAMESPACE_OPEN_RE = re.compile(r"^namespace\s*([\w:]*)\s*\{")
NAMESPACE_CLOSE_RE = re.compile(r"^\}\s*//\s*namespace")


def declared_names(header):
    """(classes, functions) a public header declares at namespace engine scope."""
    classes, functions = set(), set()
    with open(header, encoding="utf-8") as f:
        for line in f:
            m = re.match(r"^(?:class|struct)\s+(?:ENGINE_API\s+)?([A-Z]\w*)\b(?!;)", line)
            if m and not line.rstrip().endswith(";"):
                classes.add(m.group(1))
                continue
            if not line or line[0] in " /#}\n" or re.match(
                    r"^(class|struct|enum|namespace|using|template|inline|constexpr|typedef)\b", line):
                continue
            m = re.match(r"^(?:ENGINE_API\s+)?[\w:<>,*&\s]+?[\s*&]([A-Za-z_]\w*)\s*\(", line)
            if m:
                functions.add(m.group(1))
    return classes, functions


def check_public_definitions(root, owners, errors):
    sources = sorted(glob.glob(os.path.join(root, "src", "**", "*.cc"), recursive=True))
    for name, owner in sorted(owners.items()):
        if owner is None:
            continue
        classes, functions = declared_names(os.path.join(root, "include", "engine", name))
        impl = os.path.join(root, "src", owner, name[:-2] + ".cc")
        member_re = (re.compile(r"^[^\s/#].*?\b(" + "|".join(sorted(classes)) + r")::(~?\w+)\s*\(")
                     if classes else None)
        function_re = (re.compile(r"^(?:[\w:<>,*&]+\s+)+[*&]*(?:engine::)?(" +
                                  "|".join(sorted(functions)) + r")\s*\(") if functions else None)
        for path in sources:
            if os.path.samefile(path, impl):
                continue
            stack = []
            with open(path, encoding="utf-8", errors="replace") as f:
                for n, line in enumerate(f, 1):
                    m = NAMESPACE_OPEN_RE.match(line)
                    if m:
                        stack.append(m.group(1) or "<anonymous>")
                        continue
                    if NAMESPACE_CLOSE_RE.match(line) and stack:
                        stack.pop()
                        continue
                    if line.rstrip().endswith(";"):
                        continue  # a declaration or a statement, not a definition
                    in_engine = "::".join(stack) == "engine"
                    if member_re is not None and member_re.match(line) and in_engine:
                        m = member_re.match(line)
                        errors.append(f"{rel(path, root)}:{n}: defines {m.group(1)}::{m.group(2)} "
                                      f"of include/engine/{name}, which src/{owner}/{name[:-2]}.cc "
                                      f"implements")
                    elif function_re is not None and in_engine:
                        m = function_re.match(line)
                        if m:
                            errors.append(f"{rel(path, root)}:{n}: defines {m.group(1)} of "
                                          f"include/engine/{name}, which src/{owner}/{name[:-2]}.cc "
                                          f"implements")


def main(argv):
    root = os.path.abspath(argv[1] if len(argv) > 1 else
                           os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
    errors = []
    owners = public_header_owners(root, errors)
    deps = check_includes(root, owners, errors)
    check_links(root, deps, errors)
    check_public_definitions(root, owners, errors)
    for e in errors:
        print("check_deps: " + e)
    if errors:
        print(f"check_deps: {len(errors)} violation(s) of the module dependencies "
              f"(docs/architecture.md)")
        return 1
    print(f"check_deps: OK ({len(ALLOWED)} modules, "
          f"{sum(1 for o in owners.values() if o)} public headers with their .cc)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
