#!/usr/bin/env python3
"""Nabla vs PyTorch: one full Fashion-MNIST training epoch of lenet-bn, same recipe, same threads.

Runs `nabla train --model lenet-bn --data fashion-mnist --epochs 1 ...` and the same epoch in PyTorch
alternately, in separate processes, for several rounds, and prints the median epoch time of each, the
ratio PyTorch time / Nabla time (> 1 means Nabla is faster), each side's test accuracy (a sanity
check: about 0.85-0.89 after one epoch) and each process's peak resident memory.

    python3 bench/epoch.py --python /work/torchenv/bin/python [--threads 2] [--rounds 3] [--nabla .build/release/nabla]

Recipe (both sides): Debian's /usr/share/datasets/fashion-mnist/*.gz, pixels byte / 255 in Float32
(what Nabla's MNIST loader does; no normalization, as `nabla train` without --normalize), batch 128,
a fresh shuffle, last partial batch kept (469 steps: Nabla's DataLoader default), Adam(lr=1e-3,
PyTorch's defaults otherwise), softmax cross-entropy, then evaluation of the 10,000 test images in
eval mode without gradients in batches of 1000 (Nabla's evaluation batch size). The model is
BuiltinModels' lenet-bn: Conv 5x5 pad 2 -> 6, BN2d, ReLU, MaxPool 2, Conv 5x5 -> 16, BN2d, ReLU,
MaxPool 2, Flatten, Linear 400 -> 120, BN1d, ReLU, Linear 120 -> 84, ReLU, Linear 84 -> 10 (no dropout).

Timed span: Nabla's `seconds=` on the `final` line is the wall time of `Trainer.fit()`: the epoch's
training steps (with per-step running loss/accuracy and a finite-gradient check) plus the per-epoch
test evaluation; dataset loading, model building, and the CLI's post-training evaluation of the train
and test sets are outside it (no --logdir / --checkpoint-dir, so nothing is written). The PyTorch side
times the same span: the data are loaded into tensors before the timer starts, and the timer covers
the shuffle, the 469 steps (accumulating the running loss/accuracy like Nabla) and the test evaluation.
PyTorch runs without torch.utils.data.DataLoader: batches are slices of the preloaded tensors by an
index permutation, so it pays no worker or collation overhead. Nabla's DataLoader builds batches
ahead on a background prefetch thread (depth 2), as `nabla train` always does.

Peak memory is each whole process's ru_maxrss (from wait4 for Nabla): the datasets in Float32 (about
220 MiB on both sides) included, and for PyTorch its import (about 0.5 GiB with a CUDA build of torch).

Threads: PyTorch gets torch.set_num_threads(--threads) (and OMP_NUM_THREADS), `nabla train` gets
--threads; with --threads below the core count both processes are also pinned to the first --threads
cores with taskset.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

DATA = "/usr/share/datasets/fashion-mnist"

TORCH_EPOCH = r"""
import gzip, json, resource, sys, time
import numpy as np, torch, torch.nn as nn, torch.nn.functional as F
data, threads, seed, batch = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
torch.set_num_threads(threads)
torch.manual_seed(seed)

def idx(path):  # an IDX file: 2 zero bytes, type 0x08 (ubyte), rank, big-endian int32 dimensions, data
    raw = gzip.open(path, "rb").read()
    rank = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(rank)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * rank).reshape(dims)

def split(prefix):  # images [N, 1, 28, 28] Float32 byte / 255 (a true division, like Nabla), int64 labels
    images = torch.from_numpy(idx(f"{data}/{prefix}-images-idx3-ubyte.gz").astype(np.float32)).div_(255)
    labels = torch.from_numpy(idx(f"{data}/{prefix}-labels-idx1-ubyte.gz").astype(np.int64))
    return images.unsqueeze(1).contiguous(), labels

x_train, y_train = split("train")
x_test, y_test = split("t10k")
model = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.BatchNorm2d(6), nn.ReLU(), nn.MaxPool2d(2),
                      nn.Conv2d(6, 16, 5), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                      nn.Linear(400, 120), nn.BatchNorm1d(120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))
opt = torch.optim.Adam(model.parameters(), lr=1e-3)

start = time.perf_counter()
model.train()
order = torch.randperm(len(x_train))
loss_sum, correct, seen = 0.0, 0, 0
for i in range(0, len(x_train), batch):  # the last partial batch is kept
    rows = order[i:i + batch]
    x, y = x_train[rows], y_train[rows]
    opt.zero_grad()
    out = model(x)
    loss = F.cross_entropy(out, y)
    loss.backward()
    opt.step()
    loss_sum += loss.item() * len(rows)
    correct += (out.detach().argmax(1) == y).sum().item()
    seen += len(rows)
model.eval()
test_loss, test_correct = 0.0, 0
with torch.no_grad():
    for i in range(0, len(x_test), 1000):
        out = model(x_test[i:i + 1000])
        test_loss += F.cross_entropy(out, y_test[i:i + 1000], reduction="sum").item()
        test_correct += (out.argmax(1) == y_test[i:i + 1000]).sum().item()
seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "train_loss": loss_sum / seen, "test_loss": test_loss / len(x_test),
                  "test_accuracy": test_correct / len(x_test),
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run_child(command, env=None):
    """Runs `command`; returns its stdout and its own peak RSS in MiB (from wait4, not RUSAGE_CHILDREN)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        process = subprocess.Popen(command, stdout=out, stderr=err, env=env)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0), err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if process.returncode != 0:
        sys.exit(f"{' '.join(command)} failed with exit code {process.returncode}:\n{stderr}")
    return stdout, usage.ru_maxrss / 1024


def pinned(command, threads):
    cores = os.cpu_count() or threads
    return (["taskset", "-c", f"0-{threads - 1}"] + command) if threads < cores else command


def run_nabla(binary, threads, seed, batch):
    command = [binary, "train", "--model", "lenet-bn", "--data", "fashion-mnist", "--epochs", "1",
               "--optimizer", "adam", "--lr", "1e-3", "--batch-size", str(batch), "--seed", str(seed), "--quiet",
               "--threads", str(threads)]
    stdout, rss = run_child(pinned(command, threads))
    final = stdout.strip().splitlines()[-1].split("\t")
    if final[0] != "final":
        sys.exit(f"unexpected last line of nabla train: {final}")
    fields = dict(part.split("=", 1) for part in final[1:])
    return {"seconds": float(fields["seconds"]), "test_accuracy": float(fields["test_accuracy"]), "peak_rss_mb": rss}


def run_torch(python, threads, seed, batch):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    stdout, _ = run_child(pinned([python, "-c", TORCH_EPOCH, DATA, str(threads), str(seed), str(batch)], threads), env)
    return json.loads(stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0, help="seed of both sides (different generators: not the same init)")
    parser.add_argument("--nabla", default=".build/release/nabla")
    parser.add_argument("--python", default=sys.executable, help="a Python with torch and numpy (default: this one)")
    args = parser.parse_args()

    if not os.path.exists(os.path.join(DATA, "train-images-idx3-ubyte.gz")):
        sys.exit(f"{DATA}: no Fashion-MNIST (apt-get install dataset-fashion-mnist)")
    if not os.access(args.nabla, os.X_OK):
        sys.exit(f"{args.nabla}: not an executable (swift build -c release --product nabla, or pass --nabla)")
    if subprocess.run([args.python, "-c", "import torch, numpy"], capture_output=True).returncode != 0:
        sys.exit(f"{args.python} cannot import torch and numpy (pass --python)")
    cores = os.cpu_count() or args.threads
    if not 1 <= args.threads <= cores:
        sys.exit(f"--threads {args.threads}: this machine has {cores} cores")
    if args.threads < cores:
        print(f"NOTICE: both sides pinned to {args.threads} of {cores} cores")

    print(f"lenet-bn, Fashion-MNIST, 1 epoch ({-(-60000 // args.batch_size)} steps of {args.batch_size}) + test eval, Adam lr 1e-3, "
          f"threads={args.threads} rounds={args.rounds}")
    nabla, torch_runs = [], []
    for round in range(args.rounds):  # interleaved, so drifting machine load hits both alike
        nabla.append(run_nabla(args.nabla, args.threads, args.seed, args.batch_size))
        torch_runs.append(run_torch(args.python, args.threads, args.seed, args.batch_size))
        print(f"  round {round + 1}: nabla {nabla[-1]['seconds']:.2f} s, torch {torch_runs[-1]['seconds']:.2f} s", flush=True)

    rows = [("nabla", nabla), ("torch", torch_runs)]
    print(f"{'':6} {'median s':>8} {'min s':>7} {'max s':>7} {'test acc':>8} {'peak MiB':>8}")
    for name, runs in rows:
        seconds = [r["seconds"] for r in runs]
        accuracy = statistics.median(r["test_accuracy"] for r in runs)
        print(f"{name:6} {statistics.median(seconds):>8.2f} {min(seconds):>7.2f} {max(seconds):>7.2f} "
              f"{accuracy:>8.4f} {max(r['peak_rss_mb'] for r in runs):>8.1f}")
    ratio = statistics.median(r["seconds"] for r in torch_runs) / statistics.median(r["seconds"] for r in nabla)
    print(f"torch/nabla {ratio:.2f}x ({'Nabla' if ratio > 1 else 'PyTorch'} faster)")


if __name__ == "__main__":
    main()
