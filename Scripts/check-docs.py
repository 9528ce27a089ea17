#!/usr/bin/env python3
"""Fails on any public declaration of the library targets without a `///` doc comment (`make docs`).

Reads the symbol graphs that `swift package dump-symbol-graph --skip-synthesized-members
--skip-inherited-docs` writes (one `<Module>.symbols.json`, plus `<Module>@<Other>.symbols.json` for
extensions of another module's types), keeps every public or open symbol whose declaration lies in a
library target's folder (`Sources/Nabla*/`, so neither the `nabla` executable nor the tests), and
prints `file:line: symbol` for each one whose own doc comment is missing or empty. With
`--skip-inherited-docs` a declaration that only inherits its documentation from a protocol
requirement counts as undocumented: DocC would show the requirement's text, which rarely says what
this implementation does.

Exit status 1 when anything is undocumented, 0 otherwise; the last line gives the counts per target.

    swift package dump-symbol-graph --skip-synthesized-members --skip-inherited-docs
    Scripts/check-docs.py .build/x86_64-unknown-linux-gnu/symbolgraph

`--self-test` checks the classification on a small synthetic symbol graph.
"""
import json
import re
import sys
import tempfile
from collections import Counter
from pathlib import Path
from urllib.parse import unquote, urlparse

LIBRARY_FILE = re.compile(r"/Sources/(Nabla\w*)/.+\.swift$")


def documented(symbol) -> bool:
    """Whether the symbol carries a non-empty doc comment written at its own declaration."""
    doc = symbol.get("docComment")
    if not doc or not any(line.get("text", "").strip() for line in doc.get("lines", [])):
        return False
    # A doc comment taken from elsewhere (inherited) names another file or lies after the declaration.
    if doc.get("uri") and doc["uri"] != symbol["location"]["uri"]:
        return False
    last = doc["lines"][-1].get("range", {}).get("end", {}).get("line")
    return last is None or last < symbol["location"]["position"]["line"]


def collect(directory: Path, root: Path):
    """[(target, path relative to root, 1-based line, symbol path)] of the undocumented symbols, and
    a Counter of all public library symbols per target."""
    seen, missing, total = set(), [], Counter()
    for graph_file in sorted(directory.glob("*.symbols.json")):
        graph = json.loads(graph_file.read_text())
        for symbol in graph.get("symbols", []):
            if symbol.get("accessLevel") not in ("public", "open"):
                continue
            if symbol["kind"]["identifier"] == "swift.extension" or "location" not in symbol:
                continue
            precise = symbol["identifier"]["precise"]
            if "::SYNTHESIZED::" in precise or precise in seen:
                continue
            path = unquote(urlparse(symbol["location"]["uri"]).path)
            match = LIBRARY_FILE.search(path)
            if not match:
                continue
            seen.add(precise)
            target = match.group(1)
            total[target] += 1
            if not documented(symbol):
                try:
                    shown = str(Path(path).resolve().relative_to(root.resolve()))
                except ValueError:
                    shown = path
                line = symbol["location"]["position"]["line"] + 1
                missing.append((target, shown, line, ".".join(symbol["pathComponents"])))
    return sorted(missing, key=lambda m: (m[1], m[2], m[3])), total


def main(arguments) -> int:
    if arguments[:1] == ["--self-test"]:
        return self_test()
    if len(arguments) != 1:
        print("usage: check-docs.py SYMBOL_GRAPH_DIRECTORY | --self-test", file=sys.stderr)
        return 2
    directory = Path(arguments[0])
    if not any(directory.glob("*.symbols.json")):
        print(f"check-docs: no *.symbols.json in {directory}", file=sys.stderr)
        return 2
    expected = sorted(d.name for d in Path.cwd().glob("Sources/Nabla*") if d.is_dir() and d.name != "Nabla")
    absent = [t for t in expected if not (directory / f"{t}.symbols.json").exists()]
    if absent:
        print(f"check-docs: no symbol graph for {', '.join(absent)} in {directory} (did the build fail?)", file=sys.stderr)
        return 2
    missing, total = collect(directory, Path.cwd())
    for _, path, line, name in missing:
        print(f"{path}:{line}: undocumented public symbol {name}")
    per_target = Counter(m[0] for m in missing)
    summary = ", ".join(f"{t} {per_target[t]}/{total[t]}" for t in sorted(total))
    print(f"check-docs: {len(missing)} of {sum(total.values())} public declarations undocumented ({summary})")
    return 1 if missing else 0


def self_test() -> int:
    def symbol(name, line, doc_lines=None, doc_uri=None, kind="swift.var", access="public",
               file="/p/Sources/NablaX/A.swift", precise=None):
        s = {"kind": {"identifier": kind}, "identifier": {"precise": precise or "s:" + name},
             "pathComponents": name.split("."), "accessLevel": access,
             "location": {"uri": "file://" + file, "position": {"line": line, "character": 4}}}
        if doc_lines is not None:
            s["docComment"] = {"uri": doc_uri or "file://" + file,
                               "lines": [{"text": t, "range": {"start": {"line": l}, "end": {"line": l}}}
                                         for l, t in doc_lines]}
        return s

    symbols = [
        symbol("T.documented", 10, [(9, "A summary.")]),
        symbol("T.missing", 20),
        symbol("T.empty", 30, [(29, "  ")]),
        symbol("T.inherited", 40, [(3, "The requirement's text.")], doc_uri="file:///p/Sources/NablaX/P.swift"),
        symbol("T.internalThing", 50, access="internal"),
        symbol("T.cli", 60, file="/p/Sources/nabla/Main.swift"),
        symbol("T.test", 70, file="/p/Tests/NablaXTests/ATests.swift"),
        symbol("T.synthesized", 80, precise="s:x::SYNTHESIZED::s:y"),
        symbol("Ext", 90, kind="swift.extension"),
        symbol("T.missing", 20),  # the same symbol in a second graph counts once
    ]
    with tempfile.TemporaryDirectory() as scratch:
        Path(scratch, "NablaX.symbols.json").write_text(json.dumps({"symbols": symbols}))
        missing, total = collect(Path(scratch), Path("/p"))
    names = [m[3] for m in missing]
    expected = ["T.missing", "T.empty", "T.inherited"]
    if names != expected or total != Counter({"NablaX": 4}):
        print(f"check-docs --self-test: FAILED: reported {names}, expected {expected}; counted {dict(total)}")
        return 1
    print("check-docs --self-test: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
