#!/usr/bin/env python3
"""Data-parallel scaling of the reference models: measured on this machine, projected to clusters.

Runs `nabla bench --distributed` (one job per number of ranks, one thread per rank; see
`nabla bench --help`) for several rounds, keeps the median of each figure over the rounds, prints
the measured table, then projects the step time and the scaling efficiency to K = 8, 64 and 512
ranks with a ring-allreduce model of the gradient reduction:

    T_allreduce(K) = 2 (K - 1) / K * S / B  +  2 (K - 1) * alpha

for S the gradient bytes of the model, B the link bandwidth and alpha the per-message latency, on
three networks (stated below). Weak scaling, as the measurement: each rank keeps the reference
batch, so the compute time C of a step (the one-rank step time measured here) stays, and

    no overlap:    T(K) = C + T_allreduce(K)
    with overlap:  T(K) = C + max(0, T_allreduce(K) - W)

where W is the measured one-rank backward time, the window in which DDP-style buckets can be
reduced while backward still runs (an upper bound on what overlap hides). Efficiency = C / T(K).

    python3 bench/scaling.py [--nabla .build/release/nabla] [--rounds 3] [--steps 30] [--world-sizes 1 2]
    python3 bench/scaling.py --from-file measured.txt     # project saved `nabla bench --distributed` output
"""
import argparse
import statistics
import subprocess
import sys
from collections import defaultdict

# (name, bandwidth in bytes/s, latency in seconds): line rates; an MPI allreduce reaches about 80-90 %
# of them, so the projected communication is optimistic by that much.
NETWORKS = [
    ("10 Gb Ethernet (TCP)", 1.25e9, 25e-6),
    ("100 Gb Ethernet (RoCE)", 12.5e9, 5e-6),
    ("InfiniBand HDR 200 Gb/s", 25e9, 1.5e-6),
]
RANKS = [8, 64, 512]


def parse(lines):
    """The Measurement lines of `nabla bench --distributed`, as dicts."""
    rows = []
    for line in lines:
        fields = line.rstrip("\n").split("\t")
        if len(fields) != 9 or not fields[1].startswith("ranks="):
            continue
        row = {"model": fields[0]}
        for field in fields[1:]:
            key, value = field.split("=", 1)
            row[key] = float(value)
        rows.append(row)
    return rows


def hooks(lines):
    """The `MODEL<TAB>hook<TAB>backward_ms=..<TAB>backward_with_ready_callback_ms=..` lines."""
    result = []
    for line in lines:
        fields = line.rstrip("\n").split("\t")
        if len(fields) == 4 and fields[1] == "hook":
            result.append((fields[0], float(fields[2].split("=")[1]), float(fields[3].split("=")[1])))
    return result


def median_rows(rounds):
    """Median of every figure over rounds, per (model, ranks, overlap)."""
    groups = defaultdict(list)
    for rows in rounds:
        for row in rows:
            groups[(row["model"], int(row["ranks"]), int(row["overlap"]))].append(row)
    merged = []
    for key, rows in groups.items():
        row = {"model": key[0], "ranks": key[1], "overlap": key[2]}
        for figure in rows[0]:
            if figure not in row:
                row[figure] = statistics.median(r[figure] for r in rows)
        row["rounds"] = len(rows)
        merged.append(row)
    order = {"mlp": 0, "lenet-bn": 1, "convnet": 2}
    return sorted(merged, key=lambda r: (order.get(r["model"], 9), r["ranks"], -r["overlap"]))


def ring_seconds(k, size, bandwidth, latency):
    return 2 * (k - 1) / k * size / bandwidth + 2 * (k - 1) * latency


def report(rows, hook_rows):
    print("Measured (medians over rounds; weak scaling: every rank keeps the reference batch):\n")
    print("| model | ranks | overlap | batch/rank | step ms | backward ms | allreduce ms/step | exposed ms/step | gradient MB | efficiency |")
    print("| --- | ---: | :---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    base = {r["model"]: r for r in rows if r["ranks"] == 1}
    for r in rows:
        b = base.get(r["model"])
        efficiency = f"{100 * b['step_ms'] / r['step_ms']:.0f} %" if b else "-"
        overlap = "-" if r["ranks"] == 1 else ("yes" if r["overlap"] else "no")
        print(f"| {r['model']} | {r['ranks']} | {overlap} | {int(r['batch_per_rank'])} | {r['step_ms']:.2f} | "
              f"{r['backward_ms']:.2f} | {r['allreduce_ms']:.2f} | {r['exposed_ms']:.2f} | {r['gradient_mb']:.2f} | {efficiency} |")
    if hook_rows:
        print("\nBackward on one rank, plain and with a no-op gradient-ready callback (interleaved steps, medians):\n")
        print("| model | backward ms | with callback ms |")
        print("| --- | ---: | ---: |")
        for model, plain, hooked in hook_rows:
            print(f"| {model} | {plain:.2f} | {hooked:.2f} |")

    print("\nProjected (ring allreduce; C = measured one-rank step, W = measured one-rank backward):\n")
    header = "| model | network | " + " | ".join(f"K={k}: allreduce ms, step ms, efficiency" for k in RANKS) + " |"
    print(header)
    print("| --- | --- | " + " | ".join("---:" for _ in RANKS) + " |")
    for model, b in base.items():
        compute, window, size = b["step_ms"] / 1e3, b["backward_ms"] / 1e3, b["gradient_mb"] * 1e6
        for name, bandwidth, latency in NETWORKS:
            cells = []
            for k in RANKS:
                t = ring_seconds(k, size, bandwidth, latency)
                plain, hidden = compute + t, compute + max(0.0, t - window)
                cells.append(f"{t * 1e3:.1f}; {plain * 1e3:.0f} / {hidden * 1e3:.0f}; "
                             f"{100 * compute / plain:.0f} / {100 * compute / hidden:.0f} %")
            print(f"| {model} | {name} | " + " | ".join(cells) + " |")
    print("\n(step ms and efficiency: without overlap / with backward fully overlapped)")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nabla", default=".build/release/nabla")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--world-sizes", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--models", nargs="+", default=["mlp", "lenet-bn", "convnet"])
    parser.add_argument("--from-file", help="project the measurements saved in this file instead of measuring")
    args = parser.parse_args()
    if args.from_file:
        with open(args.from_file) as f:
            lines = f.readlines()
        report(median_rows([parse(lines)]), hooks(lines))
        return
    rounds, hook_rows = [], []
    for round in range(args.rounds):
        command = [args.nabla, "bench", "--distributed", *args.models, "--steps", str(args.steps), "--warmup", str(args.warmup),
                   "--world-sizes", *map(str, args.world_sizes)]
        output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        print(f"round {round + 1}:\n{output}", file=sys.stderr)
        lines = output.splitlines()
        rounds.append(parse(lines))
        hook_rows += hooks(lines)
    merged_hooks = defaultdict(list)
    for model, plain, hooked in hook_rows:
        merged_hooks[model].append((plain, hooked))
    report(median_rows(rounds), [(m, statistics.median(p for p, _ in v), statistics.median(h for _, h in v))
                                 for m, v in merged_hooks.items()])


if __name__ == "__main__":
    main()
