#!/usr/bin/env python3
"""Nabla vs PyTorch, side by side, on the SPEC's reference models (mlp, lenet-bn, convnet) and resnet20.

Runs `nabla bench MODEL` and the same training step in PyTorch (when importable) alternately, in
separate processes with the same thread count, for several rounds, and prints per model the median
step time of each, the ratio PyTorch time / Nabla time (> 1 means Nabla is faster), and each
process's peak resident memory.

    python3 bench/compare.py [MODELS] [--threads 2] [--rounds 3] [--steps 50] [--nabla .build/release/nabla]
                             [--cpu-time] [--conv-algorithm auto|gemm|direct] [--precision float32|bf16]
                             [--report FILE]

`--report FILE` writes the table as Markdown with the machine named (CPU from lscpu, thread count,
OpenBLAS kernels, PyTorch version, timing mode) and the limit per step (FLOPs ÷ Nabla's sgemm rate);
`make bench-report` runs it into README.md's bench-report block. `--cpu-time` times both sides by
process CPU time ÷ threads, which a machine shared with other jobs disturbs far less than the wall clock.
resnet20 is He et al.'s CIFAR ResNet-20 with 1×1 projection shortcuts (option B), as `nabla bench resnet20`.

OpenBLAS's kernel family sets Nabla's GEMM rate; it is printed at the end. An `OPENBLAS_CORETYPE` in
the environment pins it (the `nabla` tool otherwise picks the AVX-512 kernels on CPUs that have them):
run `env -u OPENBLAS_CORETYPE python3 bench/compare.py` to measure without the pin. PyTorch's own
kernels (oneDNN, ATen) ignore that variable and use AVX-512; `--torch-avx2` adds a second PyTorch run
limited to AVX2 (`ONEDNN_MAX_CPU_ISA=AVX2`, `ATEN_CPU_CAPABILITY=avx2`), the instruction set of the
Haswell kernels, for a comparison at equal vector width.

One step = forward, softmax cross-entropy, backward, SGD(lr=0.01, momentum=0.9, weight_decay=5e-4).
`--precision bf16` runs Nabla's step with `--precision bf16` and PyTorch's forward and loss inside
`torch.autocast("cpu", dtype=torch.bfloat16)` (backward and the step outside it, as autocast's docs
recommend); the Nabla column then says which precision ran (float32 where the CPU lacks AVX512_BF16).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

TORCH_STEP = r"""
import json, resource, sys, time
import torch, torch.nn as nn, torch.nn.functional as F
name, steps, warmup, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
# --cpu-time: the process's CPU time ÷ threads (as `nabla bench --cpu-time`), for a shared machine.
clock = (lambda: time.process_time() / threads) if len(sys.argv) > 5 and sys.argv[5] == "cpu" else time.perf_counter
# --precision bf16: the forward pass and the loss under CPU autocast (bf16 matmuls/convolutions, Float accumulation).
autocast = len(sys.argv) > 6 and sys.argv[6] == "bf16"
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
elif name == "resnet20":
    batch, shape = 128, (3, 32, 32)
    class Block(nn.Module):
        def __init__(self, i, o, stride):
            super().__init__()
            self.body = nn.Sequential(nn.Conv2d(i, o, 3, stride, 1, bias=False), nn.BatchNorm2d(o), nn.ReLU(),
                                      nn.Conv2d(o, o, 3, 1, 1, bias=False), nn.BatchNorm2d(o))
            self.shortcut = (nn.Sequential(nn.Conv2d(i, o, 1, stride, bias=False), nn.BatchNorm2d(o))
                             if stride != 1 or i != o else nn.Identity())
        def forward(self, x): return F.relu(self.body(x) + self.shortcut(x))
    stages, width = [], 16
    for s, w in enumerate([16, 32, 64]):
        for b in range(3):
            stages.append(Block(width, w, 2 if s and b == 0 else 1))
            width = w
    model = nn.Sequential(nn.Conv2d(3, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU(), *stages,
                          nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10))
if name not in ("mlp", "lenet-bn", "convnet", "resnet20"):
    sys.exit(f"unknown model {name}")
opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
x = torch.randn(batch, *shape)
y = torch.randint(0, 10, (batch,))
times = []
for i in range(warmup + steps):
    t = clock()
    opt.zero_grad()
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
        loss = F.cross_entropy(model(x), y)
    loss.backward()
    opt.step()
    if i >= warmup:
        times.append((clock() - t) * 1000)
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


def run_nabla(binary, model, steps, warmup, threads, cpu_time=False, conv_algorithm="auto", precision="float32"):
    command = [binary, "bench", model, "--steps", str(steps), "--warmup", str(warmup), "--threads", str(threads),
               "--conv-algorithm", conv_algorithm] + (["--cpu-time"] if cpu_time else []) \
        + (["--precision", precision] if precision != "float32" else [])
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
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
            "blas_core": fields.get("blas_core", "?"), "gflop_per_step": fields.get("gflop_per_step"),
            "precision": fields.get("precision", "float32")}


# Environment that limits PyTorch's CPU kernels to AVX2 (oneDNN's and ATen's dispatch).
TORCH_AVX2 = {"ONEDNN_MAX_CPU_ISA": "AVX2", "ATEN_CPU_CAPABILITY": "avx2"}


def run_torch(python, model, steps, warmup, threads, extra_env=None, cpu_time=False, precision="float32"):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads), **(extra_env or {}))
    out = subprocess.run([python, "-c", TORCH_STEP, model, str(steps), str(warmup), str(threads), "cpu" if cpu_time else "wall",
                          precision],
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
    parser.add_argument("--torch-avx2", action="store_true",
                        help="also run PyTorch limited to AVX2 kernels (equal vector width to OpenBLAS's Haswell kernels)")
    parser.add_argument("--cpu-time", action="store_true",
                        help="time both by process CPU time / threads instead of the wall clock (a shared machine)")
    parser.add_argument("--conv-algorithm", default="auto", help="nabla's convolution kernels: auto, gemm, direct or winograd")
    parser.add_argument("--precision", default="float32", choices=["float32", "bf16"],
                        help="bf16: nabla --precision bf16 vs PyTorch under torch.autocast('cpu', dtype=torch.bfloat16)")
    parser.add_argument("--report", metavar="FILE",
                        help="also write the table as Markdown, naming the machine; a README.md gets it between "
                             "its '<!-- bench-report:begin -->' and '<!-- bench-report:end -->' lines")
    args = parser.parse_args()

    has_torch = subprocess.run([args.python, "-c", "import torch"], capture_output=True).returncode == 0
    if not has_torch:
        print(f"NOTICE: {args.python} cannot import torch; showing Nabla only (pass --python)")
    clock = "process CPU time / threads" if args.cpu_time else "wall clock"
    print(f"threads={args.threads} rounds={args.rounds} steps={args.steps} conv_algorithm={args.conv_algorithm} "
          f"precision={args.precision} "
          f"timing={clock} (medians over rounds of per-step medians)")
    avx2 = has_torch and args.torch_avx2
    print(f"{'model':10} {'batch':>5} {'nabla ms':>9} {'torch ms':>9} {'torch/nabla':>11} {'nabla MiB':>9} {'torch MiB':>9}"
          + (f" {'torch-avx2 ms':>13} {'ratio':>6}" if avx2 else ""))
    cores, rows = set(), []
    for model in args.models:
        nabla, torch_runs, avx2_runs = [], [], []
        for _ in range(args.rounds):  # interleaved, so drifting machine load hits both alike
            nabla.append(run_nabla(args.nabla, model, args.steps, args.warmup, args.threads, args.cpu_time, args.conv_algorithm,
                                   args.precision))
            if has_torch:
                torch_runs.append(run_torch(args.python, model, args.steps, args.warmup, args.threads, cpu_time=args.cpu_time,
                                            precision=args.precision))
            if avx2:
                avx2_runs.append(run_torch(args.python, model, args.steps, args.warmup, args.threads, TORCH_AVX2,
                                           cpu_time=args.cpu_time, precision=args.precision))
        row = {"model": model, "batch": nabla[0]["batch"], "nabla_ms": statistics.median(r["median_ms"] for r in nabla),
               "nabla_mb": max(r["peak_rss_mb"] for r in nabla), "gflop": nabla[0]["gflop_per_step"]}
        cores.add(nabla[0]["blas_core"])
        line = f"{model:10} {row['batch']:>5} {row['nabla_ms']:>9.2f}"
        if torch_runs:
            row["torch_ms"] = statistics.median(r["median_ms"] for r in torch_runs)
            row["torch_mb"] = max(r["peak_rss_mb"] for r in torch_runs)
            line += f" {row['torch_ms']:>9.2f} {row['torch_ms'] / row['nabla_ms']:>10.2f}x {row['nabla_mb']:>9.1f} {row['torch_mb']:>9.1f}"
            if avx2_runs:
                a_ms = statistics.median(r["median_ms"] for r in avx2_runs)
                line += f" {a_ms:>13.2f} {a_ms / row['nabla_ms']:>5.2f}x"
        else:
            line += f" {'-':>9} {'-':>11} {row['nabla_mb']:>9.1f} {'-':>9}"
        if args.precision != "float32":
            line += f"  (nabla ran {nabla[0]['precision']})"
        print(line, flush=True)
        rows.append(row)
    pinned = os.environ.get("OPENBLAS_CORETYPE")
    print(f"Nabla's OpenBLAS kernels: {', '.join(sorted(cores))}"
          + (f" (pinned by OPENBLAS_CORETYPE={pinned} in the environment)" if pinned else ""))
    if args.kernels:
        kernels(args, has_torch)
    if args.report:
        write_report(args, rows, cores, has_torch)


def cpu_name():
    """The CPU's model name and its vector extensions, from lscpu (or /proc/cpuinfo)."""
    try:
        text = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        info = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
        info = {k.strip(): v.strip() for k, v in info.items()}
        flags = info.get("Flags", "").split()
        name = info.get("Model name", "?")
        if info.get("CPU family") and info.get("Model"):
            name += f" (family {info['CPU family']} model {info['Model']})"
        name += f", {os.cpu_count()} logical CPUs"
        vector = [f for f in ("avx512f", "avx512_bf16", "avx512_fp16", "amx_bf16", "avx2", "fma") if f in flags]
        return name + (", " + " ".join(vector) if vector else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown CPU"


def sgemm_rate(args):
    """Nabla's sgemm GFLOP/s at 1024³ with the run's thread count and clock (`nabla bench --kernels`)."""
    command = [args.nabla, "bench", "--kernels", "mlp", "--steps", "10", "--threads", str(args.threads)]
    out = subprocess.run(command + (["--cpu-time"] if args.cpu_time else []), capture_output=True, text=True,
                         check=True).stdout
    for line in out.splitlines():
        if line.startswith("sgemm 1024x1024x1024"):
            return float(line.split("nabla_gflops=")[1].split()[0])
    return None


def write_report(args, rows, cores, has_torch):
    torch_version = "-"
    if has_torch:
        torch_version = subprocess.run([args.python, "-c", "import torch; print(torch.__version__)"],
                                       capture_output=True, text=True).stdout.strip()
    rate = sgemm_rate(args)
    pinned = os.environ.get("OPENBLAS_CORETYPE")
    lines = [
        f"Measured by `make bench-report` (bench/compare.py) on {time.strftime('%Y-%m-%d', time.gmtime())}, all rows on one machine:",
        f"**{cpu_name()}**; {args.threads} thread(s) each; Nabla's OpenBLAS kernels {', '.join(sorted(cores))}"
        + (f" (pinned by OPENBLAS_CORETYPE={pinned})" if pinned else "") + f"; PyTorch {torch_version}; "
        f"`--conv-algorithm {args.conv_algorithm}`; timed by {'process CPU time ÷ threads' if args.cpu_time else 'wall clock'}, "
        f"median of {args.rounds} interleaved rounds of {args.steps} steps.",
        "Limit = convolution and linear FLOPs per step ÷ Nabla's sgemm rate at 1024³"
        + (f" ({rate:.0f} GFLOP/s here)." if rate else "."),
        "Other machines give other ratios: rerun `make bench-report` there rather than reading these across.",
        "",
        "| model | batch | Nabla ms/step | PyTorch ms/step | PyTorch ÷ Nabla | Nabla images/s | GFLOP/step | limit ms | Nabla peak MiB | PyTorch peak MiB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        torch_ms = row.get("torch_ms")
        limit = row["gflop"] / rate * 1000 if rate and row["gflop"] else None
        lines.append("| " + " | ".join([
            row["model"], str(row["batch"]), f"{row['nabla_ms']:.2f}", f"{torch_ms:.2f}" if torch_ms else "-",
            f"{torch_ms / row['nabla_ms']:.2f}×" if torch_ms else "-", f"{row['batch'] / row['nabla_ms'] * 1000:.0f}",
            f"{row['gflop']:.2f}" if row["gflop"] else "-", f"{limit:.1f}" if limit else "-",
            f"{row['nabla_mb']:.0f}", f"{row['torch_mb']:.0f}" if torch_ms else "-"]) + " |")
    table = "\n".join(lines) + "\n"
    begin, end = "<!-- bench-report:begin -->", "<!-- bench-report:end -->"
    if os.path.basename(args.report) == "README.md":
        text = open(args.report, encoding="utf-8").read()
        if begin not in text or end not in text:
            sys.exit(f"compare.py: {args.report}: no '{begin}' … '{end}' lines to put the table between")
        head, rest = text.split(begin, 1)
        text = head + begin + "\n" + table + end + rest.split(end, 1)[1]
    else:
        text = table
    with open(args.report, "w", encoding="utf-8") as file:
        file.write(text)
    print(f"wrote {args.report}")


def kernels(args, has_torch):
    print(subprocess.run([args.nabla, "bench", "--kernels", "--steps", "10", "--threads", str(args.threads)],
                         capture_output=True, text=True, check=True).stdout, end="")
    if has_torch:
        env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
        print(subprocess.run([args.python, "-c", TORCH_CONV, str(args.threads), "10"], capture_output=True, text=True,
                             check=True, env=env).stdout, end="")


if __name__ == "__main__":
    main()
