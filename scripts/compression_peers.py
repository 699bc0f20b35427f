#!/usr/bin/env python3
"""Classical lossless codecs on a set of 8-bit grayscale images, in bits per dimension, to set
beside SwiftVAE's bits-back (BB-ANS) compressor.

Run by hand, never by CI. Needs Python 3, numpy and Pillow (`pip install pillow`); uses the
command-line tools gzip, bzip2, xz, optipng and cwebp when they are on PATH
(Debian: `apt-get install -y optipng webp`), and says in its output which it used.

    python3 scripts/compression_peers.py IMAGES.idx[.gz] [--limit N] [--json FILE] [--jobs J]
        [--python-codecs] [--no-optipng] [--no-cwebp]

Input: an IDX image file, gzip-wrapped or plain (told apart by the gzip magic bytes, not by the
name): magic 0x00000803, three big-endian int32 dims count, rows, cols, then count*rows*cols uint8
pixels, row-major. --limit N keeps the first N images.

Every number is in bits per dimension:  bpd = 8 * compressed bytes / (images * rows * cols).
Nothing else is counted (no IDX header, no image count, no shapes).

Measured (all on the same pixels):
  raw   gzip -9, bzip2 -9, xz -9 on the pixel bytes of the whole set concatenated in file order
        (one byte per pixel, no IDX header): one stream for the set, as BB-ANS (Townsend et al.
        2019, benchmark_compressors.py) does it. The tools are run as `gzip -9 -n -c`,
        `bzip2 -9 -c`, `xz -9 -T1 -c` (-T1: one block, as a single-threaded xz; -n: no name or
        time in the gzip header). Without the tools, or with --python-codecs, Python's
        gzip.compress(level 9, mtime 0), bz2.compress(level 9) and lzma.compress(preset 9, .xz
        container, CRC64) are used; bzip2 and xz give the same sizes as the tools, gzip does not
        (GNU gzip has its own deflate, Python uses zlib's), so when the gzip tool is used the
        zlib one (what BB-ANS's script used) is measured too, as its own row.
  png   every image its own PNG file; bytes = the sum of the file sizes. Pillow mode 'L',
        optimize=True; and `optipng -o7 -force` run on Pillow's file (-force: keep optipng's result
        even where it is bigger, so the row is optipng's own); "best" = per image the smaller of
        the two. optipng may change colour type / bit depth (e.g. 1-bit grey for 0/255 images).
  png tall   the whole set as one PNG of (images*rows) x cols, images stacked top to bottom;
        Pillow optimize=True, optipng -o7 on that, best of the two.
  webp  every image its own lossless WebP; bytes = sum of file sizes. Pillow (lossless=True,
        quality=100, method=6) and `cwebp -lossless -z 9` (on Pillow's PNG); best = per image the
        smaller. (-z 9 is libwebp's lossless preset method 6 / quality 100, so the two agree when
        the libwebp versions do.)
  webp tall  the whole set as one lossless WebP. WebP's width and height are at most 16383, so when
        images*rows > 16383 the set is tiled: images go top to bottom in strips of
        floor(16383/rows) images, strips left to right, the last strip padded with zero pixels.
        The padding is encoded but not counted in the dims; the output says when it tiled.
  For binary data (every pixel 0 or the largest value present, detected by the script), also:
  packed  1 bit per pixel (largest value -> 1, 0 -> 0), np.packbits over the whole set in file order
        (MSB first, last byte zero-padded), then gzip/bzip2/xz as above on the packed bytes;
        "packed, uncompressed" = ceil(dims/8) bytes.
  png1  PNG at bit depth 1 (Pillow mode '1', optimize=True): per image (sum of sizes) and tall.
Every PNG/WebP output is decoded again with Pillow and compared with the input pixels ("ok" in
the progress lines on stderr, "verified" in the JSON); a mismatch is an error.

"published": numbers printed beside, copied from the papers, NOT measured by this script and not on
this input unless it is the MNIST test set (10,000 images, 28x28). They are for the MNIST test set,
8-bit (bits per dimension over 7,840,000 dims), or for a stochastically binarized copy of it:
  [T19] Townsend, Bird, Barber 2019, "Practical lossless compression with latent variables using
        bits back coding" (ICLR), table of MNIST compression rates: bz2 1.42, BB-ANS 1.41;
        binarized MNIST: BB-ANS 0.19.
  [K19] Kingma, Abbeel, Ho 2019, "Bit-Swap: recursive bits-back coding for lossless compression
        with hierarchical latent variables" (ICML), MNIST column of its benchmark table (also in
        github.com/fhkingma/bitswap README): gzip 1.65, bzip2 1.59, LZMA 1.49, PNG 2.80, WebP 2.10,
        BB-ANS 1.48, Bit-Swap 1.29.
The two papers measured their baselines with their own settings (e.g. BB-ANS's script used Pillow
PNG optimize=True and WebP lossless quality=100 per image, file bytes concatenated, and Python's
lzma default preset 6), so small differences from the rows measured here are expected. In the
table a published number stands beside the measured row closest to how it was made (PNG and WebP:
beside the Pillow per-image rows, BB-ANS's method); the rest are listed under the table.

--json FILE writes every number (sizes, bpd, settings, tool versions, timings, the published
numbers) to FILE, atomically (a temporary file in the same folder, then rename).
--jobs J runs up to J optipng / cwebp processes at once (default 1: the machine is shared).
All files go to a temporary folder that is removed at the end.
"""
import argparse, bz2, gzip, hashlib, io, json, lzma, math, os, shutil, signal, subprocess, sys, tempfile, time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import PIL
from PIL import Image, features

WEBP_MAX = 16383
OPTIPNG_BATCH = 200  # files per optipng call

PUBLISHED_SOURCES = {
    "T19": "Townsend, Bird, Barber 2019, Practical Lossless Compression with Latent Variables using "
           "Bits Back Coding (ICLR 2019), MNIST test set",
    "K19": "Kingma, Abbeel, Ho 2019, Bit-Swap (ICML 2019), benchmark table, MNIST test set "
           "(also github.com/fhkingma/bitswap README)",
}
# (row key it stands beside, name in the paper, bits/dim, source). 8-bit MNIST test set.
PUBLISHED_8BIT = [
    ("raw.gzip", "gzip", 1.65, "K19"),
    ("raw.bzip2", "bz2", 1.42, "T19"),
    ("raw.bzip2", "bzip2", 1.59, "K19"),
    ("raw.xz", "LZMA", 1.49, "K19"),
    ("png.pillow", "PNG", 2.80, "K19"),
    ("webp.pillow", "WebP", 2.10, "K19"),
    (None, "BB-ANS", 1.41, "T19"),
    (None, "BB-ANS", 1.48, "K19"),
    (None, "Bit-Swap", 1.29, "K19"),
]
# Stochastically binarized MNIST test set.
PUBLISHED_BINARY = [
    (None, "BB-ANS", 0.19, "T19"),
]


# ---- input

def read_idx(path):
    with open(path, "rb") as f:
        blob = f.read()
    wrapped = blob[:2] == b"\x1f\x8b"
    data = gzip.decompress(blob) if wrapped else blob
    if len(data) < 16:
        sys.exit(f"{path}: too short for an IDX image file")
    magic, n, rows, cols = (int.from_bytes(data[i:i + 4], "big") for i in range(0, 16, 4))
    if magic != 0x00000803:
        sys.exit(f"{path}: IDX magic is 0x{magic:08x}, want 0x00000803 (uint8, 3 dims)")
    need = n * rows * cols
    if len(data) - 16 < need:
        sys.exit(f"{path}: {len(data) - 16} pixel bytes, header says {n}x{rows}x{cols} = {need}")
    images = np.frombuffer(data, dtype=np.uint8, count=need, offset=16).reshape(n, rows, cols)
    return images, {"file_bytes": len(blob), "gzip_wrapped": wrapped}


# ---- stream codecs

STREAM_CODECS = {
    # name: (command line, python fallback, setting string)
    "gzip": (["gzip", "-9", "-n", "-c"], lambda b: gzip.compress(b, compresslevel=9, mtime=0)),
    "bzip2": (["bzip2", "-9", "-c"], lambda b: bz2.compress(b, compresslevel=9)),
    "xz": (["xz", "-9", "-T1", "-c"], lambda b: lzma.compress(b, format=lzma.FORMAT_XZ, preset=9)),
}


def stream_compress(name, payload, use_python):
    cmd, fallback = STREAM_CODECS[name]
    if not use_python and shutil.which(cmd[0]):
        out = subprocess.run(cmd, input=payload, stdout=subprocess.PIPE, check=True).stdout
        return out, " ".join(cmd)
    py = {"gzip": "python gzip.compress(level=9, mtime=0)", "bzip2": "python bz2.compress(level=9)",
          "xz": "python lzma.compress(FORMAT_XZ, preset=9)"}[name]
    return fallback(payload), py


# ---- image helpers

def png_bytes(arr):
    """Pillow PNG, optimize=True; a bool array becomes mode '1' (bit depth 1), uint8 mode 'L'."""
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "PNG", optimize=True)
    return buf.getvalue()


def webp_bytes(arr):
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "WEBP", lossless=True, quality=100, method=6)
    return buf.getvalue()


def decoded_gray(source):
    """Pixels of a PNG/WebP file or bytes as uint8 grey; None if the file is not grey."""
    img = Image.open(io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else source)
    img.load()
    if img.mode in ("RGB", "RGBA"):
        a = np.asarray(img)
        if not ((a[..., 0] == a[..., 1]).all() and (a[..., 1] == a[..., 2]).all()):
            return None
        return a[..., 0].copy()
    if img.mode == "I;16" or img.mode == "I":
        return None
    return np.asarray(img.convert("L"))


def run_batches(cmds, jobs):
    def one(cmd):
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    if jobs <= 1:
        for c in cmds:
            one(c)
    else:
        with ThreadPoolExecutor(jobs) as pool:
            list(pool.map(one, cmds))


def tool_version(cmd):
    try:
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        lines = [l.strip() for l in r.stdout.splitlines() if l.strip()]
        return lines[0] if lines else "?"
    except OSError:
        return None


def webp_tiles(images):
    """The set as one WebP-sized canvas: one column if it fits, else strips of images side by side."""
    n, rows, cols = images.shape
    if n * rows <= WEBP_MAX and cols <= WEBP_MAX:
        return images.reshape(n * rows, cols), {"tiled": False, "height": n * rows, "width": cols}
    per = WEBP_MAX // rows
    strips = math.ceil(n / per)
    if per < 1 or strips * cols > WEBP_MAX:
        return None, {"tiled": True, "error": "set does not fit in 16383x16383"}
    padded = np.zeros((strips * per, rows, cols), dtype=np.uint8)
    padded[:n] = images
    canvas = padded.reshape(strips, per * rows, cols).transpose(1, 0, 2).reshape(per * rows, strips * cols)
    return canvas, {"tiled": True, "images_per_strip": per, "strips": strips, "height": per * rows,
                    "width": strips * cols, "padding_images": strips * per - n}


# ---- main

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("idx", help="IDX image file (uint8, 3 dims), .gz or plain")
    ap.add_argument("--limit", type=int, default=None, help="only the first N images")
    ap.add_argument("--json", default=None, help="write every number to this JSON file")
    ap.add_argument("--jobs", type=int, default=1, help="parallel optipng/cwebp processes")
    ap.add_argument("--python-codecs", action="store_true",
                    help="use Python's gzip/bz2/lzma modules instead of the command-line tools")
    ap.add_argument("--no-optipng", action="store_true", help="skip optipng even if installed")
    ap.add_argument("--no-cwebp", action="store_true", help="skip cwebp even if installed")
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so the temporary folder is removed

    images, info = read_idx(args.idx)
    if args.limit is not None:
        images = images[:max(args.limit, 0)]
    images = np.ascontiguousarray(images)
    n, rows, cols = images.shape
    dims = n * rows * cols
    if dims == 0:
        sys.exit("no pixels")
    raw = images.tobytes()
    top = int(images.max())
    values = np.unique(images)
    binary = bool(np.all((values == 0) | (values == top)))
    have_webp = features.check("webp")
    optipng = None if args.no_optipng else shutil.which("optipng")
    cwebp = None if args.no_cwebp else shutil.which("cwebp")
    if not have_webp and not cwebp:
        print("warning: neither Pillow WebP nor cwebp available; no WebP rows", file=sys.stderr)

    results = []

    def add(key, label, nbytes, settings, seconds, files=1, verified=None, **extra):
        r = {"key": key, "label": label, "bytes": int(nbytes), "bits_per_dim": 8.0 * nbytes / dims,
             "files": files, "settings": settings, "seconds": round(seconds, 3), "verified": verified}
        r.update(extra)
        results.append(r)
        ok = "" if verified is None else ("ok" if verified else "MISMATCH")
        print(f"  {label:<44} {nbytes:>11,d} B  {r['bits_per_dim']:.4f} bpd  {seconds:7.1f} s  {ok}",
              file=sys.stderr, flush=True)
        if verified is False:
            sys.exit(f"{label}: decoded pixels differ from the input")

    print(f"{args.idx}: {n} images {rows}x{cols}, {'binary 0/' + str(top) if binary else '8-bit'}",
          file=sys.stderr)
    add("uncompressed", "uncompressed (8 bits/pixel)", dims, "raw uint8 pixels", 0.0)

    # stream codecs on raw bytes
    for name in ("gzip", "bzip2", "xz"):
        t = time.time()
        out, how = stream_compress(name, raw, args.python_codecs)
        add(f"raw.{name}", f"{name} -9, raw bytes, whole set", len(out), how, time.time() - t)
        if name == "gzip" and not how.startswith("python"):
            t = time.time()
            out, how = stream_compress(name, raw, True)
            add("raw.zlib", "gzip level 9 (Python zlib), raw bytes, whole set", len(out), how,
                time.time() - t)

    # binary: packed bits
    if binary:
        bits = images.reshape(-1) == top if top > 0 else np.zeros(dims, dtype=bool)
        packed = np.packbits(bits).tobytes()
        add("packed.uncompressed", "packed 1 bit/pixel, uncompressed", len(packed),
            "np.packbits, MSB first, last byte zero-padded", 0.0)
        for name in ("gzip", "bzip2", "xz"):
            t = time.time()
            out, how = stream_compress(name, packed, args.python_codecs)
            add(f"packed.{name}", f"{name} -9, packed bits, whole set", len(out), how, time.time() - t)
            if name == "gzip" and not how.startswith("python"):
                t = time.time()
                out, how = stream_compress(name, packed, True)
                add("packed.zlib", "gzip level 9 (Python zlib), packed bits, whole set", len(out),
                    how, time.time() - t)

    with tempfile.TemporaryDirectory(prefix="compression_peers.") as tmp:
        # ---- per-image PNG (Pillow), written to disk for optipng / cwebp
        t = time.time()
        png_dir = os.path.join(tmp, "png")
        os.mkdir(png_dir)
        names, pil_png = [], []
        ok = True
        for i in range(n):
            b = png_bytes(images[i])
            pil_png.append(len(b))
            p = os.path.join(png_dir, f"{i:07d}.png")
            names.append(p)
            with open(p, "wb") as f:
                f.write(b)
            d = decoded_gray(b)
            ok = ok and d is not None and np.array_equal(d, images[i])
        add("png.pillow", "PNG per image, Pillow optimize", sum(pil_png),
            "Pillow mode L, optimize=True; sum of file sizes", time.time() - t, files=n, verified=ok)

        # ---- per-image WebP: Pillow
        pil_webp = None
        if have_webp:
            t = time.time()
            pil_webp, ok = [], True
            for i in range(n):
                b = webp_bytes(images[i])
                pil_webp.append(len(b))
                d = decoded_gray(b)
                ok = ok and d is not None and np.array_equal(d, images[i])
            add("webp.pillow", "WebP lossless per image, Pillow m6 q100", sum(pil_webp),
                f"Pillow lossless=True, quality=100, method=6 (libwebp {features.version('webp')}); "
                "sum of file sizes", time.time() - t, files=n, verified=ok)

        # ---- per-image WebP: cwebp (on Pillow's PNGs, before optipng rewrites them)
        cw_webp = None
        if cwebp:
            t = time.time()
            webp_dir = os.path.join(tmp, "webp")
            os.mkdir(webp_dir)
            outs = [os.path.join(webp_dir, os.path.basename(p)[:-4] + ".webp") for p in names]
            run_batches([[cwebp, "-quiet", "-lossless", "-z", "9", p, "-o", o] for p, o in zip(names, outs)],
                        args.jobs)
            cw_webp = [os.path.getsize(o) for o in outs]
            ok = True
            for i, o in enumerate(outs):
                d = decoded_gray(o)
                ok = ok and d is not None and np.array_equal(d, images[i])
            add("webp.cwebp", "WebP lossless per image, cwebp -z 9", sum(cw_webp),
                "cwebp -lossless -z 9; sum of file sizes", time.time() - t, files=n, verified=ok)
            shutil.rmtree(webp_dir)
        cands = [c for c in (pil_webp, cw_webp) if c is not None]
        if cands:
            best = [min(v) for v in zip(*cands)]
            add("webp.best", "WebP lossless per image, best of the above", sum(best),
                "per image the smallest of the WebP rows above; sum", 0.0, files=n)

        # ---- per-image PNG: optipng -o7 (in place, on Pillow's files)
        opt_png = None
        if optipng:
            t = time.time()
            cmds = [[optipng, "-quiet", "-force", "-o7"] + names[i:i + OPTIPNG_BATCH]
                    for i in range(0, n, OPTIPNG_BATCH)]
            run_batches(cmds, args.jobs)
            opt_png = [os.path.getsize(p) for p in names]
            ok = True
            for i, p in enumerate(names):
                d = decoded_gray(p)
                ok = ok and d is not None and np.array_equal(d, images[i])
            add("png.optipng", "PNG per image, optipng -o7", sum(opt_png),
                "optipng -o7 -force on Pillow's file; sum of file sizes", time.time() - t, files=n,
                verified=ok)
        best = [min(v) for v in zip(*[c for c in (pil_png, opt_png) if c is not None])]
        add("png.best", "PNG per image, best of the above", sum(best),
            "per image the smaller of Pillow / optipng; sum", 0.0, files=n)
        shutil.rmtree(png_dir)

        # ---- tall PNG
        tall = images.reshape(n * rows, cols)
        t = time.time()
        b = png_bytes(tall)
        d = decoded_gray(b)
        add("png_tall.pillow", f"PNG whole set {n * rows}x{cols}, Pillow", len(b),
            "one image, images stacked top to bottom; Pillow optimize=True", time.time() - t,
            verified=d is not None and np.array_equal(d, tall))
        tall_sizes = [len(b)]
        if optipng:
            p = os.path.join(tmp, "tall.png")
            with open(p, "wb") as f:
                f.write(b)
            t = time.time()
            subprocess.run([optipng, "-quiet", "-force", "-o7", p], check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            d = decoded_gray(p)
            add("png_tall.optipng", f"PNG whole set {n * rows}x{cols}, optipng -o7", os.path.getsize(p),
                "optipng -o7 -force on Pillow's file", time.time() - t,
                verified=d is not None and np.array_equal(d, tall))
            tall_sizes.append(os.path.getsize(p))
            os.remove(p)
        add("png_tall.best", "PNG whole set, best of the above", min(tall_sizes), "smaller of the above", 0.0)

        # ---- tall WebP (tiled if needed)
        canvas, layout = webp_tiles(images)
        webp_tall = []
        if canvas is not None:
            shape = f"{layout['height']}x{layout['width']}" + (
                f" tiled {layout['strips']} strips" if layout["tiled"] else "")
            if have_webp:
                t = time.time()
                b = webp_bytes(canvas)
                d = decoded_gray(b)
                add("webp_tall.pillow", f"WebP whole set {shape}, Pillow", len(b),
                    "Pillow lossless=True, quality=100, method=6", time.time() - t,
                    verified=d is not None and np.array_equal(d, canvas), layout=layout)
                webp_tall.append(len(b))
            if cwebp:
                src, dst = os.path.join(tmp, "canvas.png"), os.path.join(tmp, "canvas.webp")
                Image.fromarray(canvas).save(src, "PNG", compress_level=1)
                t = time.time()
                subprocess.run([cwebp, "-quiet", "-lossless", "-z", "9", src, "-o", dst], check=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                d = decoded_gray(dst)
                add("webp_tall.cwebp", f"WebP whole set {shape}, cwebp -z 9", os.path.getsize(dst),
                    "cwebp -lossless -z 9", time.time() - t,
                    verified=d is not None and np.array_equal(d, canvas), layout=layout)
                webp_tall.append(os.path.getsize(dst))
                os.remove(src)
                os.remove(dst)
            if webp_tall:
                add("webp_tall.best", "WebP whole set, best of the above", min(webp_tall),
                    "smaller of the above", 0.0, layout=layout)

        # ---- binary: 1-bit PNG
        if binary:
            bits3 = images == top if top > 0 else np.zeros_like(images, dtype=bool)
            t = time.time()
            total, ok = 0, True
            for i in range(n):
                b = png_bytes(bits3[i])
                total += len(b)
                img = Image.open(io.BytesIO(b))
                ok = ok and img.mode == "1" and np.array_equal(np.asarray(img), bits3[i])
            add("png1.per_image", "PNG 1-bit per image, Pillow mode 1", total,
                "Pillow mode '1' (bit depth 1), optimize=True; sum of file sizes", time.time() - t,
                files=n, verified=ok)
            t = time.time()
            tb = bits3.reshape(n * rows, cols)
            b = png_bytes(tb)
            img = Image.open(io.BytesIO(b))
            add("png1.tall", f"PNG 1-bit whole set {n * rows}x{cols}, Pillow", len(b),
                "Pillow mode '1', optimize=True, images stacked", time.time() - t,
                verified=img.mode == "1" and np.array_equal(np.asarray(img), tb))

    # ---- table
    order = ["uncompressed", "raw.gzip", "raw.zlib", "raw.bzip2", "raw.xz", "packed.uncompressed",
             "packed.gzip", "packed.zlib", "packed.bzip2", "packed.xz", "png.pillow", "png.optipng", "png.best", "png_tall.pillow",
             "png_tall.optipng", "png_tall.best", "png1.per_image", "png1.tall", "webp.pillow",
             "webp.cwebp", "webp.best", "webp_tall.pillow", "webp_tall.cwebp", "webp_tall.best"]
    results.sort(key=lambda r: order.index(r["key"]))
    published = PUBLISHED_BINARY if binary else PUBLISHED_8BIT
    beside = {}
    for key, name, value, src in published:
        if key:
            beside.setdefault(key, []).append(f"{value:.2f} [{src} {name}]")
    kind = f"binary (0/{top})" if binary else "8-bit"
    print(f"\n{args.idx}")
    print(f"{n} images, {rows}x{cols}, {dims:,d} dims, {kind}"
          + (f", first {n} (--limit)" if args.limit is not None else ""))
    print(f"bits/dim = 8 * bytes / {dims:,d}\n")
    head = "published for MNIST test" + (" binarized" if binary else " 8-bit") + " (not this run)"
    print(f"{'codec':<52} {'bytes':>11} {'bits/dim':>9}  {head}")
    print("-" * (52 + 1 + 11 + 1 + 9 + 2 + len(head)))
    for r in results:
        pub = ", ".join(beside.get(r["key"], []))
        print(f"{r['label']:<52} {r['bytes']:>11,d} {r['bits_per_dim']:>9.4f}  {pub}")
    others = [(name, value, src) for key, name, value, src in published if key is None]
    if others:
        print(f"\npublished (from the papers, not measured here; MNIST test set"
              f"{', stochastically binarized' if binary else ', 8-bit'}):")
        for name, value, src in others:
            print(f"  {name:<10} {value:.2f} bits/dim  [{src}]")
    print("sources:")
    for k, v in PUBLISHED_SOURCES.items():
        if any(src == k for _, _, _, src in published):
            print(f"  [{k}] {v}")
    for r in results:
        lay = r.get("layout")
        if lay and lay.get("tiled") and r["key"].endswith(".best"):
            print(f"note: WebP whole set tiled (max dimension {WEBP_MAX}): {lay['strips']} strips of "
                  f"{lay['images_per_strip']} images, canvas {lay['height']}x{lay['width']}, "
                  f"{lay['padding_images']} zero images of padding (encoded, not counted in dims)")
    tools_used = {r["key"]: r["settings"] for r in results if r["key"].startswith("raw.")}
    print("stream codecs: " + "; ".join(f"{k[4:]}: {v}" for k, v in tools_used.items()))
    print("PNG/WebP: Pillow " + PIL.__version__ + (f" (libwebp {features.version('webp')})" if have_webp else "")
          + ("; " + tool_version([optipng, "-v"]) if optipng else "; no optipng")
          + ("; cwebp " + tool_version([cwebp, "-version"]) if cwebp else "; no cwebp"))

    if args.json:
        doc = {
            "script": "scripts/compression_peers.py",
            "definition": "bits_per_dim = 8 * bytes / (images * rows * cols)",
            "input": dict(info, path=os.path.abspath(args.idx), images=n, rows=rows, cols=cols, dims=dims,
                          limit=args.limit, binary=binary, max_value=top,
                          distinct_values=int(values.size),
                          sha256_pixels=hashlib.sha256(raw).hexdigest()),
            "tools": {
                "python": sys.version.split()[0], "numpy": np.__version__,
                "pillow": PIL.__version__,
                "pillow_libwebp": features.version("webp") if have_webp else None,
                "pillow_zlib": features.version("zlib"),
                "gzip": tool_version(["gzip", "--version"]), "bzip2": tool_version(["bzip2", "--help"]),
                "xz": tool_version(["xz", "--version"]),
                "optipng": tool_version([optipng, "-v"]) if optipng else None,
                "cwebp": tool_version([cwebp, "-version"]) if cwebp else None,
            },
            "results": results,
            "published": {
                "note": "copied from the papers, not measured by this script; MNIST test set"
                        + (", stochastically binarized" if binary else ", 8-bit"),
                "sources": PUBLISHED_SOURCES,
                "values": [{"beside": k, "name": nm, "bits_per_dim": v, "source": s}
                           for k, nm, v, s in published],
            },
        }
        out = os.path.abspath(args.json)
        fd, tmpname = tempfile.mkstemp(prefix=".compression_peers.", suffix=".json", dir=os.path.dirname(out))
        try:
            with os.fdopen(fd, "w") as f:
                json.dump(doc, f, indent=2)
                f.write("\n")
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmpname, 0o666 & ~umask)  # mkstemp makes it 0600
            os.replace(tmpname, out)
        except BaseException:
            if os.path.exists(tmpname):
                os.remove(tmpname)
            raise


if __name__ == "__main__":
    main()
