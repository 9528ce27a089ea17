#!/bin/bash
# Lists the register-tile kernels of a built nabla binary with the number of vector-register stack
# accesses (spills and reloads) in each: a tile whose accumulators do not fit the register file is
# slow without being wrong, so no test sees it. SwiftPM compiles with a frame pointer, under which
# LLVM unrolled and spilled the 3x8 broadcast tile while a plain `swiftc -O` compile of the same source
# did not (docs/speed.md) — check the binary that `swift build` made, not a standalone compile.
#
# usage: Scripts/kernel-stack-report.sh [BINARY]   (default .build/release/nabla; x86-64 only)
set -euo pipefail
binary=${1:-.build/release/nabla}
[ -f "$binary" ] || { echo "kernel-stack-report: no binary at $binary (run make release)" >&2; exit 2; }
command -v objdump >/dev/null || { echo "kernel-stack-report: objdump not found (binutils)" >&2; exit 2; }
nm "$binary" | awk '$2 ~ /[tT]/ && ($3 ~ /Kernel[OV].*tile[0-9]/ || $3 ~ /Kernel[OV][0-9]+[A-Za-z]*([Rr]ow|taps)[0-9]/) {print $3}' | sort -u | while read -r symbol; do
    count=$(objdump -d --no-show-raw-insn "$binary" --disassemble="$symbol" | grep -cE '[xyz]mm[0-9]+.*\(%r[sb]p\)|\(%r[sb]p\).*[xyz]mm[0-9]+' || true)
    vector=$(echo "$symbol" | grep -oE 'SIMD[0-9]+VyS[fd]G' | tail -1 | sed -E 's/VySfG/<Float>/; s/VySdG/<Double>/')
    printf '%5d  %-16s %s\n' "$count" "${vector:-?}" "$symbol"
done | sort -rn | { if command -v swift >/dev/null; then swift demangle --simplified; else cat; fi; } | cut -c1-150
