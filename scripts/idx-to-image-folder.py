#!/usr/bin/env python3
"""Writes an MNIST-style IDX folder as an image folder (for measuring `vae train --data DIR`).

    scripts/idx-to-image-folder.py IDX_DIR OUT_DIR [--format png|jpg] [--limit N] [--scale K] [--rgb]

OUT_DIR/train/<label>/<index>.png and OUT_DIR/test/<label>/<index>.png: the same split as the
IDX files. 8-bit gray PNGs (zlib, filter 0), or JPEGs (quality 95) through libturbojpeg.so.0's
tjCompress2 via ctypes (apt-get install libturbojpeg0). Run by hand, not by CI.
--scale K enlarges each image K× (nearest neighbour) and --rgb tints it with a colour drawn per
image (PNG only): a folder whose decoded cache is as large as wanted (60,000 × 4× RGB = 2.1 GiB),
for measuring a folder larger than the memory `vae train` is given.
"""
import gzip, os, struct, sys, zlib

def read_idx(path):
    opener = gzip.open if path.endswith(".gz") or open(path, "rb").read(2) == b"\x1f\x8b" else open
    with opener(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return dims, data[4 + 4 * ndim:]

def find(d, name):
    for n in (name, name + ".gz"):
        if os.path.exists(os.path.join(d, n)):
            return os.path.join(d, n)
    sys.exit(f"{d} has no {name}[.gz]")

def png(w, h, pixels, channels=1):
    def chunk(t, b):
        c = t + b
        return struct.pack(">I", len(b)) + c + struct.pack(">I", zlib.crc32(c) & 0xffffffff)
    row = w * channels
    raw = b"".join(b"\0" + pixels[y * row:(y + 1) * row] for y in range(h))
    kind = 0 if channels == 1 else 2
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, kind, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))

_tj = None

def jpeg(w, h, pixels, quality=95):
    import ctypes
    global _tj
    if _tj is None:
        _tj = ctypes.CDLL("libturbojpeg.so.0")
        _tj.tjInitCompress.restype = ctypes.c_void_p
        _tj.tjCompress2.argtypes = [ctypes.c_void_p, ctypes.c_char_p] + [ctypes.c_int] * 4 + [
            ctypes.POINTER(ctypes.POINTER(ctypes.c_ubyte)), ctypes.POINTER(ctypes.c_ulong)] + [ctypes.c_int] * 3
        _tj.tjDestroy.argtypes = [ctypes.c_void_p]
        _tj.tjFree.argtypes = [ctypes.POINTER(ctypes.c_ubyte)]
    handle = _tj.tjInitCompress()
    buf, size = ctypes.POINTER(ctypes.c_ubyte)(), ctypes.c_ulong(0)
    # TJPF_GRAY = 6, TJSAMP_GRAY = 3, TJFLAG_ACCURATEDCT = 4096
    assert _tj.tjCompress2(handle, bytes(pixels), w, 0, h, 6, ctypes.byref(buf), ctypes.byref(size), 3, quality, 4096) == 0
    data = ctypes.string_at(buf, size.value)
    _tj.tjFree(buf)
    _tj.tjDestroy(handle)
    return data

def main():
    args = sys.argv[1:]
    fmt = "png"
    limit = None
    if "--format" in args:
        i = args.index("--format"); fmt = args[i + 1]; del args[i:i + 2]
    if "--limit" in args:
        i = args.index("--limit"); limit = int(args[i + 1]); del args[i:i + 2]
    scale, rgb = 1, "--rgb" in args
    if "--scale" in args:
        i = args.index("--scale"); scale = int(args[i + 1]); del args[i:i + 2]
    if rgb:
        args.remove("--rgb")
    if (scale > 1 or rgb) and fmt != "png":
        sys.exit("--scale and --rgb write PNGs")
    tint = 12345
    src, out = args
    for split, prefix in (("train", "train"), ("test", "t10k")):
        (n, h, w), px = read_idx(find(src, f"{prefix}-images-idx3-ubyte"))
        _, labels = read_idx(find(src, f"{prefix}-labels-idx1-ubyte"))
        n = min(n, limit or n)
        for label in set(labels[:n]):
            os.makedirs(os.path.join(out, split, str(label)), exist_ok=True)
        for i in range(n):
            img = px[i * h * w:(i + 1) * h * w]
            path = os.path.join(out, split, str(labels[i]), f"{i:05d}.{fmt}")
            if fmt == "png" and (scale > 1 or rgb):
                import numpy as np
                a = np.frombuffer(img, dtype=np.uint8).reshape(h, w).repeat(scale, 0).repeat(scale, 1)
                if rgb:
                    tint = (tint * 1103515245 + 12345) & 0x7fffffff
                    colour = np.array([64 + (tint >> s) % 192 for s in (0, 8, 16)], dtype=np.uint32)
                    a = (a[:, :, None].astype(np.uint32) * colour // 255).astype(np.uint8)
                big = a.tobytes()
                with open(path, "wb") as f:
                    f.write(png(w * scale, h * scale, big, 3 if rgb else 1))
            elif fmt == "png":
                with open(path, "wb") as f:
                    f.write(png(w, h, img))
            else:
                with open(path, "wb") as f:
                    f.write(jpeg(w, h, img))
    print(f"wrote {out}")

main()
