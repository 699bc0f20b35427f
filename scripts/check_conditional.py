#!/usr/bin/env python3
"""An independent check of a conditional VAE's samples (run by hand, never by CI; needs
scikit-learn and numpy): a logistic regression trained on MNIST pixels classifies the PNGs that
`vae sample RUN --class K --out-dir DIR/K` wrote, and the script prints the share assigned to the
asked class, next to the classifier's accuracy on the real test digits.

    for k in 0 1 2 3 4 5 6 7 8 9; do vae sample RUN --class $k --count 100 --out-dir S/$k; done
    python3 scripts/check_conditional.py MNIST-IDX-FOLDER S
"""
import gzip, os, struct, sys, zlib
import numpy as np
from sklearn.linear_model import LogisticRegression


def idx(path):
    raw = open(path, "rb").read()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    magic, = struct.unpack(">I", raw[:4])
    dims = struct.unpack(">" + "I" * (magic & 0xFF), raw[4:4 + 4 * (magic & 0xFF)])
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * len(dims)).reshape(dims)


def find(folder, name):
    for n in (name, name + ".gz"):
        if os.path.exists(os.path.join(folder, n)):
            return os.path.join(folder, n)
    raise SystemExit(f"{folder} has no {name}[.gz]")


def png_gray(path):
    """8-bit gray or RGB, non-interlaced PNGs as SwiftVAE writes them (independent of its decoder)."""
    data = open(path, "rb").read()
    pos, idat, w = 8, b"", 0
    while pos < len(data):
        n, = struct.unpack(">I", data[pos:pos + 4]); kind = data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
            ch = {0: 1, 2: 3, 4: 2, 6: 4}[ctype]
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw = zlib.decompress(idat)
    stride = w * ch
    out = np.zeros((h, stride), dtype=np.int32)
    prev = np.zeros(stride, dtype=np.int32)
    for y in range(h):
        f = raw[y * (stride + 1)]; line = np.frombuffer(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)], dtype=np.uint8).astype(np.int32)
        cur = np.zeros(stride, dtype=np.int32)
        for x in range(stride):
            a = cur[x - ch] if x >= ch else 0; b = prev[x]; c = prev[x - ch] if x >= ch else 0
            p = {0: 0, 1: a, 2: b, 3: (a + b) // 2}.get(f)
            if f == 4:
                pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                p = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
            cur[x] = (line[x] + p) & 0xFF
        out[y] = cur; prev = cur
    return out.reshape(h, w, ch)[:, :, 0].astype(np.float64) / 255


def main():
    mnist, samples = sys.argv[1], sys.argv[2]
    xtr = idx(find(mnist, "train-images-idx3-ubyte")).reshape(-1, 784) / 255.0
    ytr = idx(find(mnist, "train-labels-idx1-ubyte"))
    xte = idx(find(mnist, "t10k-images-idx3-ubyte")).reshape(-1, 784) / 255.0
    yte = idx(find(mnist, "t10k-labels-idx1-ubyte"))
    clf = LogisticRegression(max_iter=200).fit(xtr, ytr)
    print(f"logistic regression on real test digits: {clf.score(xte, yte):.4f}")
    total = right = 0
    for k in sorted(os.listdir(samples)):
        files = sorted(f for f in os.listdir(os.path.join(samples, k)) if f.endswith(".png"))
        x = np.stack([png_gray(os.path.join(samples, k, f)).reshape(784) for f in files])
        pred = clf.predict(x)
        share = float(np.mean(pred == int(k)))
        print(f"class {k}: {share:.2f} of {len(files)} samples classified as {k}")
        total += len(files); right += int(np.sum(pred == int(k)))
    print(f"all: {right / total:.4f} of {total} samples classified as the asked class")


if __name__ == "__main__":
    main()
