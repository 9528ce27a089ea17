#!/usr/bin/env python3
"""Checks that the target graph stays one-way (`make check-imports`, part of `make test`).

The graph is declared once, in Package.swift's `libraries` list: each library target names the
targets it depends on, and may name only targets listed before it. This script reads that list and
fails (one line per violation, exit 1) when

* a library target depends on a target listed after it, or on itself (the graph must be one-way);
* a Swift file under `Sources/<Target>/` imports a Nabla target that is not a declared dependency of
  its target (an import against the graph), or imports the umbrella `Nabla`, or `ArgumentParser`
  (command-line parsing belongs to the `nabla` executable);
* a file under `Tests/<Target>Tests/` imports a Nabla target outside `<Target>` and its transitive
  dependencies (`NablaTestSupport` is allowed everywhere; `NablaTests` and `NablaCLITests` may
  import everything);
* a folder under `Sources/` is not a target, or a library target has no folder (folders mirror
  targets).

`--self-test` runs the checker on small synthetic packages, one per rule, and fails unless each
violation is reported and the clean package passes.
"""
import re
import sys
import tempfile
from pathlib import Path

IMPORT = re.compile(r"^\s*(?:@testable\s+|@_exported\s+)?import\s+(?:(?:struct|class|enum|func|protocol|var|let)\s+)?(\w+)", re.M)
SYSTEM = {"CBLAS", "CZlib", "CMalloc", "CMPI", "CPNG"}


def read_graph(root: Path):
    """The ordered `libraries` list of Package.swift: [(name, [dependencies on Nabla targets])]."""
    text = (root / "Package.swift").read_text()
    block = re.search(r"let libraries[^=]*=\s*\[(.*?)\n\]", text, re.S)
    if not block:
        raise SystemExit("check-imports: Package.swift has no `let libraries = [...]` list")
    graph = []
    for entry in re.finditer(r'\(\s*"(\w+)"\s*,\s*\[(.*?)\]\s*\)', block.group(1), re.S):
        names = re.findall(r'"(\w+)"', entry.group(2))
        graph.append((entry.group(1), [n for n in names if n.startswith("Nabla")]))
    return graph


def check(root: Path) -> list[str]:
    problems = []
    graph = read_graph(root)
    order = [name for name, _ in graph]
    declared = dict(graph)
    for index, (name, deps) in enumerate(graph):
        for dep in deps:
            if dep not in order:
                problems.append(f"Package.swift: {name} depends on {dep}, which is not a library target")
            elif order.index(dep) >= index:
                problems.append(f"Package.swift: {name} depends on {dep}, listed at or after it: the graph must be one-way")

    def closure(name):
        seen, stack = set(), list(declared.get(name, []))
        while stack:
            dep = stack.pop()
            if dep not in seen:
                seen.add(dep)
                stack.extend(declared.get(dep, []))
        return seen

    libraries = set(order)
    sources = root / "Sources"
    known = libraries | SYSTEM | {"Nabla", "nabla", "mpi-selftest"}
    for folder in sorted(p for p in sources.iterdir() if p.is_dir()):
        if folder.name not in known and not folder.name.startswith("C"):
            problems.append(f"Sources/{folder.name}: a folder that is not a target (folders mirror targets)")
    for name in order:
        if not (sources / name).is_dir():
            problems.append(f"Sources/{name}: library target {name} has no folder")

    for name in order:
        allowed = set(declared[name])
        for file in sorted((sources / name).rglob("*.swift")) if (sources / name).is_dir() else []:
            rel = file.relative_to(root)
            for module in IMPORT.findall(file.read_text()):
                if module == "Nabla" or module == "ArgumentParser":
                    problems.append(f"{rel}: imports {module}, which a library target must not")
                elif module in libraries and module not in allowed:
                    problems.append(f"{rel}: imports {module}, not a dependency of {name} (allowed: {', '.join(sorted(allowed)) or 'none'})")

    tests = root / "Tests"
    for folder in sorted(p for p in tests.iterdir() if p.is_dir()) if tests.is_dir() else []:
        if folder.name in ("NablaTests", "NablaCLITests"):
            continue
        if folder.name == "NablaTestSupport":
            allowed = {"NablaTensor", "NablaIO"}
        elif folder.name.endswith("Tests") and folder.name[:-5] in libraries:
            target = folder.name[:-5]
            allowed = {target} | closure(target) | {"NablaTestSupport"}
        else:
            problems.append(f"Tests/{folder.name}: not the test folder of a library target")
            continue
        for file in sorted(folder.rglob("*.swift")):
            rel = file.relative_to(root)
            for module in IMPORT.findall(file.read_text()):
                if (module in libraries or module in ("Nabla", "NablaTestSupport")) and module not in allowed:
                    problems.append(f"{rel}: imports {module}, outside {folder.name}'s target and its dependencies")
    return problems


CLEAN_PACKAGE = '''let libraries: [(name: String, dependencies: [Target.Dependency])] = [
    ("NablaTensor", []),
    ("NablaNN", ["NablaTensor"]),
]
'''


def self_test() -> int:
    cases = {
        "clean": ({}, CLEAN_PACKAGE, 0),
        "upward import": ({"Sources/NablaTensor/A.swift": "import NablaNN\n"}, CLEAN_PACKAGE, 1),
        "umbrella import": ({"Sources/NablaNN/A.swift": "import Nabla\n"}, CLEAN_PACKAGE, 1),
        "argument parser in a library": ({"Sources/NablaNN/A.swift": "import ArgumentParser\n"}, CLEAN_PACKAGE, 1),
        "cycle in the manifest": ({}, CLEAN_PACKAGE.replace('("NablaTensor", [])', '("NablaTensor", ["NablaNN"])'), 1),
        "test imports above its target": ({"Tests/NablaTensorTests/T.swift": "@testable import NablaNN\n"}, CLEAN_PACKAGE, 1),
        "stray source folder": ({"Sources/Stray/A.swift": "\n"}, CLEAN_PACKAGE, 1),
    }
    failures = 0
    for label, (files, manifest, expected) in cases.items():
        with tempfile.TemporaryDirectory() as scratch:
            root = Path(scratch)
            (root / "Package.swift").write_text(manifest)
            for folder in ("Sources/NablaTensor", "Sources/NablaNN", "Tests/NablaTensorTests", "Tests/NablaNNTests"):
                (root / folder).mkdir(parents=True)
            (root / "Sources/NablaNN/Ok.swift").write_text("import NablaTensor\n")
            for path, text in files.items():
                (root / path).parent.mkdir(parents=True, exist_ok=True)
                (root / path).write_text(text)
            found = len(check(root))
            if (found > 0) != (expected > 0):
                print(f"check-imports self-test: '{label}' reported {found} problems, expected {'some' if expected else 'none'}")
                failures += 1
    print(f"check-imports self-test: {len(cases) - failures} of {len(cases)} cases behave")
    return 1 if failures else 0


def main() -> int:
    if "--self-test" in sys.argv:
        return self_test()
    root = Path(__file__).resolve().parents[1]
    problems = check(root)
    for line in problems:
        print("check-imports: " + line)
    if problems:
        return 1
    graph = read_graph(root)
    print(f"check-imports: {len(graph)} library targets, one-way; every import follows Package.swift")
    return 0


if __name__ == "__main__":
    sys.exit(main())
