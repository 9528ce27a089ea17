#!/usr/bin/env python3
"""Runs the README's examples and checks the results the README shows (`make readme-check`).

Every ```console block of README.md is a transcript: lines starting with `$ ` are commands, the lines
after a command are what it printed. This script runs, in one scratch directory and in order, every
command that starts with `nabla` (the binary given by --nabla) or `python3 Scripts/…` (the repository's
scripts), and checks that each shown output line appears among the lines the command printed
(standard error and output together), in order:

* words must be equal, numbers close: |shown − measured| ≤ 0.03 + 3% of |shown| (the figures of a run
  differ slightly between CPUs whose kernels round differently);
* durations are not compared (`seconds=…`, `12.3s`);
* a shown line that is only `…` stands for lines that are not checked, and a line ending in `…` is
  checked up to it: its fields before the `…` must begin a printed line. The fields a run decides by
  its last bits — a trained model's runner-up class at 0.1% probability, an unsure image's
  probability — vary between CPUs beyond any tolerance, so the README elides them.

A ```python block whose first line is a comment naming a file (`# to_pytorch.py`) is written to that
file before the commands run. `python3 FILE` for such a file runs with a Python that has torch and
safetensors (--torch-python, $NABLA_TORCH_PYTHON, or python3 if it imports them); without one, the
rest of that block is skipped with a NOTICE, as CI machines have no PyTorch. Other commands
(`make`, `pip`, `tensorboard`, `export`) change the machine or never end; they are listed as not run.

Exit status 1 when a command fails or a shown line is not found; --transcript FILE keeps everything
that ran with its full output.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NUMBER = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")
TOKEN = re.compile(r"[\s,=\t]+")


def blocks(readme: str):
    """(language, lines) of every fenced block, in order."""
    lines = readme.splitlines()
    i = 0
    while i < len(lines):
        fence = re.match(r"^```(\w*)\s*$", lines[i])
        if not fence:
            i += 1
            continue
        language, body = fence.group(1), []
        i += 1
        while i < len(lines) and not lines[i].startswith("```"):
            body.append(lines[i])
            i += 1
        i += 1
        yield language, body


def tokens(line: str):
    return [t for t in TOKEN.split(line.strip()) if t]


def is_duration(previous: str, token: str) -> bool:
    return previous == "seconds" or bool(re.match(r"^\d+(\.\d+)?s$", token))


def matches(shown: str, actual: str) -> bool:
    a, b = tokens(shown), tokens(actual)
    if a and a[-1] == "…":
        a = a[:-1]
        if len(b) < len(a):
            return False
        b = b[:len(a)]
    if len(a) != len(b):
        return False
    for i, (x, y) in enumerate(zip(a, b)):
        previous = a[i - 1] if i else ""
        if is_duration(previous, x):
            continue
        if NUMBER.match(x) and NUMBER.match(y):
            if abs(float(x) - float(y)) > 0.03 + 0.03 * abs(float(x)):
                return False
        elif x != y:
            return False
    return True


def self_test():
    """The comparison catches what it must: a changed figure or word, a missing field."""
    assert matches("final\ttrain_loss=0.2747\tseconds=57.41", "final\ttrain_loss=0.2790\tseconds=12.00")
    assert not matches("final\ttrain_loss=0.2747", "final\ttrain_loss=0.3400")
    assert matches("loss=0.317662 accuracy=0.8815", "loss=0.318100 accuracy=0.8790")
    assert matches("00004.png,6,Shirt,0.8286,2,Pullover,0.0817", "00004.png,6,Shirt,0.8757,2,Pullover,0.0544")
    assert not matches("loss=0.317662 accuracy=0.8815", "loss=0.317662 accuracy=0.8200")
    assert not matches("00000.png,9,Ankle boot,0.99", "00000.png,7,Sneaker,0.99")
    assert not matches("epoch 1  train_loss 0.5", "epoch 1  train_loss 0.5  test_loss 0.4")
    assert matches("epoch 1  lr 0.1  24.9s", "epoch 1  lr 0.1  3.2s")
    assert matches("00000.png,9,Ankle boot,9,Ankle boot,0.998,…", "00000.png,9,Ankle boot,9,Ankle boot,0.9973187,5,Sandal,0.0016")
    assert not matches("00000.png,9,Ankle boot,9,Ankle boot,…", "00000.png,9,Ankle boot,7,Sneaker,0.51,9,Ankle boot,0.49")
    assert not matches("00000.png,9,Ankle boot,9,Ankle boot,…", "00000.png,9,Ankle boot")


def torch_python(explicit):
    candidates = [explicit, os.environ.get("NABLA_TORCH_PYTHON"), "python3", "/work/torchenv/bin/python"]
    for python in [c for c in candidates if c]:
        try:
            subprocess.run([python, "-c", "import torch, safetensors"], check=True, capture_output=True)
            return python
        except (OSError, subprocess.CalledProcessError):
            continue
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nabla", default=str(ROOT / ".build/release/nabla"))
    parser.add_argument("--torch-python")
    parser.add_argument("--readme", default=str(ROOT / "README.md"))
    parser.add_argument("--transcript", help="write every command and its full output here")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory")
    args = parser.parse_args()
    self_test()
    nabla = str(Path(args.nabla).resolve())
    if not os.access(nabla, os.X_OK):
        print(f"readme-check: {nabla} is not built (make release)")
        return 1
    torch = torch_python(args.torch_python)
    scratch = Path(tempfile.mkdtemp(prefix="nabla-readme-"))
    (scratch / "Scripts").symlink_to(ROOT / "Scripts")
    files = {}
    transcript, failures, checked, ran, not_run, skipped = [], [], 0, 0, [], []
    start = time.time()
    for language, body in blocks(Path(args.readme).read_text()):
        if language == "python" and body and re.match(r"^# ([\w.-]+\.py)\b", body[0]):
            name = re.match(r"^# ([\w.-]+\.py)\b", body[0]).group(1)
            files[name] = "\n".join(body) + "\n"
            (scratch / name).write_text(files[name])
            continue
        if language != "console":
            continue
        commands = []
        for line in body:
            if line.startswith("$ "):
                commands.append((line[2:], []))
            elif commands:
                commands[-1][1].append(line)
        for index, (command, shown) in enumerate(commands):
            words = command.split()
            if words[0] == "nabla":
                argv = ["bash", "-c", nabla + command[len("nabla"):]]
            elif words[0] == "python3" and len(words) > 1 and words[1] in files:
                if not torch:
                    skipped += [c for c, _ in commands[index:]]
                    print(f"NOTICE: no Python with torch and safetensors; skipped: {command} and the rest of its block")
                    break
                argv = ["bash", "-c", torch + command[len("python3"):]]
            elif words[0] == "python3" and len(words) > 1 and words[1].startswith("Scripts/"):
                argv = ["bash", "-c", sys.executable + command[len("python3"):]]
            else:
                not_run.append(command)
                continue
            began = time.time()
            result = subprocess.run(argv, cwd=scratch, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            ran += 1
            output = result.stdout.splitlines()
            transcript.append(f"$ {command}\n{result.stdout}[exit {result.returncode}, {time.time() - began:.1f} s]\n")
            print(f"readme-check: {time.time() - began:6.1f} s  {command}")
            if result.returncode != 0:
                failures.append(f"{command}: exit {result.returncode}\n{result.stdout[-2000:]}")
                continue
            position = 0
            for line in shown:
                if line.strip() == "…" or not line.strip():
                    continue
                found = next((i for i in range(position, len(output)) if matches(line, output[i])), None)
                if found is None:
                    failures.append(f"{command}: the README shows\n    {line}\n  but the command printed\n    "
                                    + "\n    ".join(output[position:] or ["(nothing more)"]))
                else:
                    checked += 1
                    position = found + 1
    if args.transcript:
        Path(args.transcript).write_text("".join(transcript))
    if not args.keep:
        shutil.rmtree(scratch, ignore_errors=True)
    for command in not_run:
        print(f"readme-check: not run (not a nabla or python3 command): {command}")
    for failure in failures:
        print(f"readme-check: FAILED {failure}")
    print(f"readme-check: {ran} commands run, {checked} shown lines checked, {len(skipped)} skipped, "
          f"{len(failures)} failed, {time.time() - start:.0f} s")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
