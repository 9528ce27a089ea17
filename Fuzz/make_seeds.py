"""Seed corpora for the libFuzzer targets (Fuzz/corpus/<target>/), written by the real NumPy, gzip,
zipfile and safetensors libraries so the fuzzer starts from valid files and mutates their structure.
Each seed is small (< 8 KB) so mutations stay fast. The checkpoint seed is a real Nabla checkpoint,
copied from a tiny `nabla train --checkpoint-dir` run (pass its path as the first argument).

Run: /work/torchenv/bin/python Fuzz/make_seeds.py [checkpoint.safetensors]
"""
import gzip
import io
import json
import shutil
import struct
import sys
import zlib
from pathlib import Path

import numpy as np
from safetensors.numpy import save as save_safetensors

CORPUS = Path(__file__).resolve().parent / "corpus"


def write(target, name, data):
    path = CORPUS / target
    path.mkdir(parents=True, exist_ok=True)
    (path / name).write_bytes(data)


def npy_bytes(array, version=None):
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array, version=version)
    return buffer.getvalue()


def idx(dims, payload):
    return struct.pack(">BBBB", 0, 0, 0x08, len(dims)) + b"".join(struct.pack(">I", d) for d in dims) + bytes(payload)


def main():
    rng = np.random.default_rng(0)
    # IDX: images [3, 4, 4] and labels [3], raw and gzip-compressed.
    images = idx([3, 4, 4], rng.integers(0, 256, 48, dtype=np.uint8))
    labels = idx([3], [1, 7, 9])
    write("idx", "images.idx", images)
    write("idx", "labels.idx", labels)
    write("idx", "images.idx.gz", gzip.compress(images, mtime=0))
    write("idx", "labels.idx.gz", gzip.compress(labels, mtime=0))
    write("idx", "two-members.gz", gzip.compress(images[:10], mtime=0) + gzip.compress(images[10:], mtime=0))

    # gzip/deflate: byte 0 selects the format (even = gzip), bytes 1-4 the count to read.
    payload = bytes(range(64)) * 4
    write("gzip", "gzip", b"\x00" + struct.pack("<I", len(payload)) + gzip.compress(payload, mtime=0))
    raw = zlib.compressobj(9, zlib.DEFLATED, -15)
    write("gzip", "deflate", b"\x01" + struct.pack("<I", len(payload)) + raw.compress(payload) + raw.flush())
    write("gzip", "stored-block", b"\x00" + struct.pack("<I", 5) + gzip.compress(b"hello", compresslevel=0, mtime=0))

    # CIFAR: two CIFAR-10 records (3073 bytes) and one CIFAR-100 record (3074 bytes).
    cifar10 = b"".join(bytes([label]) + bytes(rng.integers(0, 256, 3072, dtype=np.uint8)) for label in (3, 9))
    write("cifar", "cifar10-2", cifar10)
    write("cifar", "cifar100-1", bytes([4, 57]) + bytes(rng.integers(0, 256, 3072, dtype=np.uint8)))

    # .npy: every supported dtype, both byte orders, versions 1-3, a table, an empty array.
    base = np.arange(6, dtype=np.float64).reshape(2, 3) * 0.5 - 1
    for name, array, version in [
        ("f4", base.astype("<f4"), None), ("f8-big", base.astype(">f8"), None), ("i8", np.arange(6).reshape(3, 2), None),
        ("i4-big", np.arange(-2, 4, dtype=">i4"), None), ("u1", np.array([0, 7, 255], np.uint8), None),
        ("b1", np.array([True, False]), None), ("i1", np.array([-128, 127], np.int8), None),
        ("v2", base.astype("<f4"), (2, 0)), ("v3", base.astype("<f4"), (3, 0)),
        ("table", np.stack([np.arange(4.0), np.arange(4.0) % 2], axis=1), None), ("empty", np.zeros((0, 3), np.float32), None),
    ]:
        write("npy", name + ".npy", npy_bytes(array, version))

    # .npz: stored and deflated archives with train and test splits.
    x = (np.arange(8, dtype=np.float32) / 8).reshape(4, 2)
    y = np.array([0, 1, 1, 0], dtype=np.int64)
    for name, save in [("stored.npz", np.savez), ("deflated.npz", np.savez_compressed)]:
        buffer = io.BytesIO()
        save(buffer, x=x, y=y, x_test=x[:2], y_test=y[:2])
        write("npz", name, buffer.getvalue())
    buffer = io.BytesIO()
    np.savez(buffer, x=np.linspace(-1, 1, 3), y=np.linspace(0, 1, 3).astype(np.float32))
    write("npz", "regression.npz", buffer.getvalue())

    # .safetensors: a dataset file and a state dict with metadata.
    write("safetensors", "dataset.safetensors", save_safetensors({"x": x, "y": y, "x_test": x[:1], "y_test": y[:1]}))
    write("safetensors", "state.safetensors", save_safetensors(
        {"0.weight": np.ones((3, 4), np.float32), "0.bias": np.zeros(3, np.float64), "1.num_batches_tracked": np.array(5, np.int64),
         "2.mask": np.array([1, 0], np.uint8), "2.count": np.array([7], np.int32)}, metadata={"format": "pt"}))

    # CSV: header, no header, quotes, CRLF, BOM.
    write("csv", "header.csv", b"a,b,label\n1,2.5,0\n-3,4e-2,1\n")
    write("csv", "plain.csv", b"1,2,3\n4,5,6\n")
    write("csv", "quoted.csv", b'\xef\xbb\xbf"x","y ""q""",t\r\n 1 ,"2",0\r\n\r\n3,4,1\r\n')

    # Model files: YAML and JSON, nested residual blocks, anchors.
    write("model", "mlp.yaml", b"name: tiny\nlayers:\n  - Flatten: {}\n  - Linear: {in_features: 64, out_features: 16}\n"
          b"  - BatchNorm1d: {num_features: 16, momentum: null}\n  - ReLU:\n  - Dropout: {p: 0.25}\n"
          b"  - Linear: {in_features: 16, out_features: 4, bias: false}\n")
    write("model", "residual.yaml", b"input_shape: [6]\nlayers:\n  - Residual:\n      drop_path: 0.1\n      layers:\n"
          b"        - Linear: {in_features: 6, out_features: 6}\n        - LayerNorm: {normalized_shape: [6]}\n"
          b"        - GELU: {}\n  - GroupNorm: {num_groups: 2, num_channels: 6}\n  - LogSoftmax: {dim: -1}\n")
    write("model", "anchors.yaml", b"layers:\n  - &block {Linear: {in_features: 6, out_features: 6}}\n  - *block\n  - Tanh: {}\n"
          b"input_shape: [6]\n")
    write("model", "model.json", json.dumps({"input_shape": [1, 8, 8], "layers": [
        {"Flatten": {"start_dim": 1}}, {"Linear": {"in_features": 64, "out_features": 8}}, {"LeakyReLU": {"negative_slope": 0.2}},
        {"Softmax": {"dim": 1}}]}).encode())

    # Checkpoint: a real one, from a tiny run (see the module docstring).
    if len(sys.argv) > 1:
        shutil.copy(sys.argv[1], CORPUS / "checkpoint" / "run.safetensors")
    write("checkpoint", "state.safetensors", save_safetensors(
        {"model.0.weight": np.ones((3, 4), np.float32), "optimizer.0.momentum_buffer": np.zeros((3, 4))},
        metadata={"nabla.format": "1", "nabla.progress": '{"epoch":1,"epochsWithoutImprovement":0,"globalStep":3,"history":[],"stepInEpoch":0}',
                  "nabla.generators": '{"layer.2":["1","2","3","ff"]}', "nabla.configuration": "{}"}))


if __name__ == "__main__":
    main()
