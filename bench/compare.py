#!/usr/bin/env python3
"""Nabla vs PyTorch, side by side, on the SPEC's reference models (mlp, lenet-bn, convnet).

Runs `nabla bench MODEL` and the same training step in PyTorch (when importable) alternately, in
separate processes with the same thread count, for several rounds, and prints per model the median
step time of each, the ratio PyTorch time / Nabla time (> 1 means Nabla is faster), and each
process's peak resident memory.

    python3 bench/compare.py [--threads 2] [--rounds 3] [--steps 50] [--nabla .build/release/nabla]
    python3 bench/compare.py --markdown     # the README's Speed table, naming this machine (make bench-report)

OpenBLAS's kernel family sets Nabla's GEMM rate; it is printed at the end. An `OPENBLAS_CORETYPE` in
the environment pins it (the `nabla` tool otherwise picks the AVX-512 kernels on CPUs that have them):
run `env -u OPENBLAS_CORETYPE python3 bench/compare.py` to measure without the pin. PyTorch's own
kernels (oneDNN, ATen) ignore that variable and use AVX-512; `--torch-avx2` adds a second PyTorch run
limited to AVX2 (`ONEDNN_MAX_CPU_ISA=AVX2`, `ATEN_CPU_CAPABILITY=avx2`), the instruction set of the
Haswell kernels, for a comparison at equal vector width.

One step = forward, softmax cross-entropy, backward, SGD(lr=0.01, momentum=0.9, weight_decay=5e-4).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

TORCH_STEP = r"""
import json, resource, sys, time
import torch, torch.nn as nn, torch.nn.functional as F
name, steps, warmup, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
torch.set_num_threads(threads)
torch.manual_seed(1)
def conv(i, o, k, p): return nn.Conv2d(i, o, k, padding=p)
if name == "mlp":
    batch, shape = 128, (1, 28, 28)
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 512), nn.BatchNorm1d(512), nn.ReLU(), nn.Dropout(0.5),
                          nn.Linear(512, 512), nn.BatchNorm1d(512), nn.ReLU(), nn.Dropout(0.5), nn.Linear(512, 10))
elif name == "lenet-bn":
    batch, shape = 128, (1, 28, 28)
    model = nn.Sequential(conv(1, 6, 5, 2), nn.BatchNorm2d(6), nn.ReLU(), nn.MaxPool2d(2),
                          conv(6, 16, 5, 0), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                          nn.Linear(400, 120), nn.BatchNorm1d(120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))
elif name == "convnet":
    batch, shape = 64, (3, 32, 32)
    def block(i, o): return [conv(i, o, 3, 1), nn.BatchNorm2d(o), nn.ReLU()]
    model = nn.Sequential(*block(3, 32), *block(32, 32), nn.MaxPool2d(2), *block(32, 64), *block(64, 64), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(4096, 256), nn.ReLU(), nn.Dropout(0.5), nn.Linear(256, 10))
opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
x = torch.randn(batch, *shape)
y = torch.randint(0, 10, (batch,))
times = []
for i in range(warmup + steps):
    t = time.perf_counter()
    opt.zero_grad()
    F.cross_entropy(model(x), y).backward()
    opt.step()
    if i >= warmup:
        times.append((time.perf_counter() - t) * 1000)
times.sort()
median = times[len(times) // 2] if len(times) % 2 else (times[len(times) // 2 - 1] + times[len(times) // 2]) / 2
print(json.dumps({"median_ms": median, "batch": batch, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


TORCH_CONV = r"""
import sys, time, torch, torch.nn.functional as F
torch.set_num_threads(int(sys.argv[1])); reps = int(sys.argv[2])
for cin, cout, size in [(3, 32, 32), (32, 32, 32), (32, 64, 16), (64, 64, 16)]:
    x = torch.randn(64, cin, size, size, requires_grad=True)
    w = torch.randn(cout, cin, 3, 3, requires_grad=True)
    b = torch.zeros(cout, requires_grad=True)
    g = torch.randn(64, cout, size, size)
    times = []
    for i in range(reps + 1):
        t = time.perf_counter()
        x.grad = w.grad = b.grad = None
        F.conv2d(x, w, b, padding=1).backward(g)
        if i: times.append(time.perf_counter() - t)
    times.sort(); s = times[len(times) // 2]
    flops = 3 * 2.0 * 64 * cout * size * size * cin * 9
    print(f"torch conv2d {cin}->{cout} {size}x{size} batch 64\tms={s * 1000:.2f}\tgflops={flops / s / 1e9:.1f}")
"""


def run_nabla(binary, model, steps, warmup, threads):
    out = subprocess.run([binary, "bench", model, "--steps", str(steps), "--warmup", str(warmup), "--threads", str(threads)],
                         capture_output=True, text=True, check=True).stdout
    fields = {}
    for line in out.splitlines():
        for part in line.split("\t"):
            if "=" in part:
                key, value = part.split("=", 1)
                try:
                    fields[key] = float(value)
                except ValueError:
                    fields[key] = value  # blas_core=SkylakeX, change=+0.4%
    return {"median_ms": fields["median_ms"], "batch": int(fields["batch"]), "peak_rss_mb": fields["peak_rss_mb"],
            "blas_core": fields.get("blas_core", "?")}


# Environment that limits PyTorch's CPU kernels to AVX2 (oneDNN's and ATen's dispatch).
TORCH_AVX2 = {"ONEDNN_MAX_CPU_ISA": "AVX2", "ATEN_CPU_CAPABILITY": "avx2"}


def run_torch(python, model, steps, warmup, threads, extra_env=None):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads), **(extra_env or {}))
    out = subprocess.run([python, "-c", TORCH_STEP, model, str(steps), str(warmup), str(threads)],
                         capture_output=True, text=True, check=True, env=env).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", default=["mlp", "lenet-bn", "convnet"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--nabla", default=".build/release/nabla")
    parser.add_argument("--python", default=sys.executable, help="a Python with torch (default: this one)")
    parser.add_argument("--kernels", action="store_true", help="also sgemm and conv2d kernel rates")
    parser.add_argument("--markdown", action="store_true",
                        help="print the README's speed table for this machine (CPU, kernels, threads, versions) instead")
    parser.add_argument("--torch-avx2", action="store_true",
                        help="also run PyTorch limited to AVX2 kernels (equal vector width to OpenBLAS's Haswell kernels)")
    args = parser.parse_args()

    has_torch = subprocess.run([args.python, "-c", "import torch"], capture_output=True).returncode == 0
    if not has_torch:
        print(f"NOTICE: {args.python} cannot import torch; showing Nabla only (pass --python)")
    if args.markdown:
        return markdown(args, has_torch)
    print(f"threads={args.threads} rounds={args.rounds} steps={args.steps} (medians over rounds of per-step medians)")
    avx2 = has_torch and args.torch_avx2
    print(f"{'model':10} {'batch':>5} {'nabla ms':>9} {'torch ms':>9} {'torch/nabla':>11} {'nabla MiB':>9} {'torch MiB':>9}"
          + (f" {'torch-avx2 ms':>13} {'ratio':>6}" if avx2 else ""))
    cores = set()
    for model in args.models:
        nabla, torch_runs, avx2_runs = [], [], []
        for _ in range(args.rounds):  # interleaved, so drifting machine load hits both alike
            nabla.append(run_nabla(args.nabla, model, args.steps, args.warmup, args.threads))
            if has_torch:
                torch_runs.append(run_torch(args.python, model, args.steps, args.warmup, args.threads))
            if avx2:
                avx2_runs.append(run_torch(args.python, model, args.steps, args.warmup, args.threads, TORCH_AVX2))
        n_ms = statistics.median(r["median_ms"] for r in nabla)
        n_mb = max(r["peak_rss_mb"] for r in nabla)
        cores.add(nabla[0]["blas_core"])
        if torch_runs:
            t_ms = statistics.median(r["median_ms"] for r in torch_runs)
            t_mb = max(r["peak_rss_mb"] for r in torch_runs)
            line = f"{model:10} {nabla[0]['batch']:>5} {n_ms:>9.2f} {t_ms:>9.2f} {t_ms / n_ms:>10.2f}x {n_mb:>9.1f} {t_mb:>9.1f}"
            if avx2_runs:
                a_ms = statistics.median(r["median_ms"] for r in avx2_runs)
                line += f" {a_ms:>13.2f} {a_ms / n_ms:>5.2f}x"
            print(line)
        else:
            print(f"{model:10} {nabla[0]['batch']:>5} {n_ms:>9.2f} {'-':>9} {'-':>11} {n_mb:>9.1f} {'-':>9}")
    pinned = os.environ.get("OPENBLAS_CORETYPE")
    print(f"Nabla's OpenBLAS kernels: {', '.join(sorted(cores))}"
          + (f" (pinned by OPENBLAS_CORETYPE={pinned} in the environment)" if pinned else ""))
    if args.kernels:
        kernels(args, has_torch)


def cpu_name():
    """The CPU's model name and core count, from lscpu (or /proc/cpuinfo)."""
    try:
        fields = dict(line.split(":", 1) for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines()
                      if ":" in line)
        return f"{fields['Model name'].strip()}, {fields['CPU(s)'].strip()} logical CPUs"
    except (OSError, KeyError):
        with open("/proc/cpuinfo") as f:
            names = [line.split(":", 1)[1].strip() for line in f if line.startswith("model name")]
        return f"{names[0]}, {len(names)} logical CPUs" if names else "unknown CPU"


def markdown(args, has_torch):
    """The README's Speed table, measured here: interleaved rounds, medians, the machine named."""
    version = subprocess.run([args.nabla, "--version"], capture_output=True, text=True).stdout.strip()
    torch_version = (subprocess.run([args.python, "-c", "import torch; print(torch.__version__)"], capture_output=True,
                                    text=True).stdout.strip() if has_torch else None)
    rows, cores = [], set()
    for model in args.models:
        nabla, torch_runs = [], []
        for _ in range(args.rounds):
            nabla.append(run_nabla(args.nabla, model, args.steps, args.warmup, args.threads))
            if has_torch:
                torch_runs.append(run_torch(args.python, model, args.steps, args.warmup, args.threads))
        cores.add(nabla[0]["blas_core"])
        n_ms, n_mb = statistics.median(r["median_ms"] for r in nabla), max(r["peak_rss_mb"] for r in nabla)
        if torch_runs:
            t_ms, t_mb = statistics.median(r["median_ms"] for r in torch_runs), max(r["peak_rss_mb"] for r in torch_runs)
            rows.append(f"| {model} | {nabla[0]['batch']} | {n_ms:.3g} ms | {t_ms:.3g} ms | {t_ms / n_ms:.2f}× | {n_mb:.0f} / {t_mb:.0f} MiB |")
        else:
            rows.append(f"| {model} | {nabla[0]['batch']} | {n_ms:.3g} ms | – | – | {n_mb:.0f} / – MiB |")
    pinned = os.environ.get("OPENBLAS_CORETYPE")
    kernels = ", ".join(sorted(cores)) + (f" (pinned by OPENBLAS_CORETYPE={pinned})" if pinned else "")
    print(f"Measured by `make bench-report` on **{cpu_name()}**: {args.threads} threads, Nabla {version} "
          f"(OpenBLAS {kernels} kernels), " + (f"PyTorch {torch_version} (CPU eager)" if torch_version else "no PyTorch")
          + f", medians of {args.rounds} interleaved rounds of {args.steps} steps.")
    print()
    print("| model | batch | Nabla | PyTorch | PyTorch / Nabla | peak memory Nabla / PyTorch |")
    print("|---|---|---|---|---|---|")
    print("\n".join(rows))


def kernels(args, has_torch):
    print(subprocess.run([args.nabla, "bench", "--kernels", "--steps", "10", "--threads", str(args.threads)],
                         capture_output=True, text=True, check=True).stdout, end="")
    if has_torch:
        env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
        print(subprocess.run([args.python, "-c", TORCH_CONV, str(args.threads), "10"], capture_output=True, text=True,
                             check=True, env=env).stdout, end="")


if __name__ == "__main__":
    main()
