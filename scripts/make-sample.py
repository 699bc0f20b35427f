#!/usr/bin/env python3
"""Make data/fashion-mnist-sample/ from Debian's dataset-fashion-mnist package.

train = images/labels 0..4999 of Fashion-MNIST's t10k set, test = images 5000..5999.
Written as gzip-compressed IDX files (level 9, mtime 0, so the output is reproducible).
Standard library only.  Usage: python3 scripts/make-sample.py [SOURCE_DIR] [OUTPUT_DIR]
"""
import gzip
import hashlib
import os
import struct
import sys

SOURCE = sys.argv[1] if len(sys.argv) > 1 else "/usr/share/datasets/fashion-mnist"
OUTPUT = sys.argv[2] if len(sys.argv) > 2 else os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "data", "fashion-mnist-sample")


def read_idx(path, magic):
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndims = magic & 0xFF
    got, = struct.unpack(">I", data[:4])
    if got != magic:
        sys.exit(f"{path}: magic {got:#010x}, expected {magic:#010x}")
    dims = struct.unpack(">" + "I" * ndims, data[4:4 + 4 * ndims])
    body = data[4 + 4 * ndims:]
    size = 1
    for d in dims:
        size *= d
    if len(body) != size:
        sys.exit(f"{path}: {len(body)} data bytes, expected {size}")
    return dims, body


def write_idx(path, magic, dims, body):
    header = struct.pack(">I", magic) + struct.pack(">" + "I" * len(dims), *dims)
    with open(path, "wb") as f:
        f.write(gzip.compress(header + body, compresslevel=9, mtime=0))


def main():
    (count, rows, cols), images = read_idx(os.path.join(SOURCE, "t10k-images-idx3-ubyte.gz"), 0x803)
    (label_count,), labels = read_idx(os.path.join(SOURCE, "t10k-labels-idx1-ubyte.gz"), 0x801)
    if count < 6000 or label_count != count:
        sys.exit(f"unexpected t10k set: {count} images, {label_count} labels")
    pixels = rows * cols
    os.makedirs(OUTPUT, exist_ok=True)
    parts = {"train": (0, 5000), "t10k": (5000, 6000)}
    for prefix, (begin, end) in parts.items():
        write_idx(os.path.join(OUTPUT, f"{prefix}-images-idx3-ubyte.gz"), 0x803,
                  (end - begin, rows, cols), images[begin * pixels:end * pixels])
        write_idx(os.path.join(OUTPUT, f"{prefix}-labels-idx1-ubyte.gz"), 0x801,
                  (end - begin,), labels[begin:end])
    for name in sorted(os.listdir(OUTPUT)):
        if name.endswith(".gz"):
            path = os.path.join(OUTPUT, name)
            with open(path, "rb") as f:
                digest = hashlib.md5(f.read()).hexdigest()
            print(f"{digest}  {name}  ({os.path.getsize(path)} bytes)")


if __name__ == "__main__":
    main()
