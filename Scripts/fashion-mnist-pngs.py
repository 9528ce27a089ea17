#!/usr/bin/env python3
"""Writes Fashion-MNIST test images as PNG files in class folders, with nothing but the standard library.

    python3 Scripts/fashion-mnist-pngs.py DIR [--count N] [--flat]

DIR/<class>/<index>.png for the first N test images (default 20), named by class as torchvision's
ImageFolder expects (`nabla train --data images:DIR`); with --flat, DIR/<index>.png without class folders
(`nabla predict --input DIR`). Reads Debian's dataset-fashion-mnist (/usr/share/datasets/fashion-mnist).
"""
import argparse
import gzip
import struct
import zlib
from pathlib import Path

SOURCE = Path("/usr/share/datasets/fashion-mnist")
CLASSES = ["T-shirt-top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


def png(width: int, height: int, gray: bytes) -> bytes:
    """An 8-bit grayscale PNG (PNG spec §11: IHDR, one IDAT of filter-0 rows, IEND)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    rows = b"".join(b"\x00" + gray[y * width:(y + 1) * width] for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path)
    parser.add_argument("--count", type=int, default=20)
    parser.add_argument("--flat", action="store_true", help="no class folders")
    args = parser.parse_args()
    images = gzip.open(SOURCE / "t10k-images-idx3-ubyte.gz").read()
    labels = gzip.open(SOURCE / "t10k-labels-idx1-ubyte.gz").read()
    count, height, width = struct.unpack(">III", images[4:16])
    for i in range(min(args.count, count)):
        pixels = images[16 + i * height * width:16 + (i + 1) * height * width]
        folder = args.directory if args.flat else args.directory / CLASSES[labels[8 + i]]
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{i:05d}.png").write_bytes(png(width, height, pixels))
    print(f"wrote {min(args.count, count)} images to {args.directory}")


if __name__ == "__main__":
    main()
