#!/usr/bin/env python3
"""Writes the small valid seed inputs of the fuzz targets to fuzz/seeds/<target>/ (standard library only).

Run from anywhere: python3 fuzz/make_seeds.py [OUTDIR]. The output is deterministic; it is committed,
so running this again should change nothing.
"""
import gzip, json, os, random, struct, sys, zlib

out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "seeds")
rng = random.Random(6)


def put(target, name, data):
    d = os.path.join(out, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def idx(dims, data):
    return bytes([0, 0, 8, len(dims)]) + b"".join(struct.pack(">I", x) for x in dims) + bytes(data)


def gz(data):
    return gzip.compress(data, compresslevel=6, mtime=0)


images = idx([2, 4, 4], [rng.randrange(256) for _ in range(32)])
labels = idx([2], [3, 7])
vector = idx([5], [0, 1, 2, 3, 4])
matrix = idx([2, 3], [9, 8, 7, 6, 5, 4])

# idx: the first byte picks parse (0), parseImages (1) or parseLabels (2).
put("idx", "array", b"\x00" + matrix)
put("idx", "images", b"\x01" + images)
put("idx", "labels", b"\x02" + labels)
put("idx", "empty-images", b"\x01" + idx([0, 28, 28], []))

# gzip: decompressed and parsed as IDX.
put("gzip", "images.gz", gz(images))
put("gzip", "two-members.gz", gz(labels[:5]) + gz(labels[5:]))
put("gzip", "stored.gz", gzip.compress(vector, compresslevel=0, mtime=0))
put("gzip", "zlib", zlib.compress(matrix))

# cifar: records of 1 label byte + 3072 pixels.
def record(label):
    return bytes([label]) + bytes(rng.randrange(256) for _ in range(3072))
put("cifar", "one-record", record(3))
put("cifar", "two-records", record(0) + record(9))


# safetensors
def safetensors(tensors, metadata=None, dtype="F32"):
    header, body = {}, b""
    for name, shape, values in tensors:
        fmt = "<%d%s" % (len(values), "f" if dtype == "F32" else "d")
        raw = struct.pack(fmt, *values)
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(body), len(body) + len(raw)]}
        body += raw
    if metadata is not None:
        header["__metadata__"] = metadata
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + body

put("safetensors", "two-tensors", safetensors(
    [("encoder.0.weight", [2, 3], [0.5, -1, 2, 0, 1e-3, 7]), ("encoder.0.bias", [2], [1, -1])],
    {"format": "swiftvae-checkpoint-1", "version": "0.1.0"}))
put("safetensors", "f64-scalar", safetensors([("x", [], [3.25]), ("e", [0], [])], dtype="F64"))
put("safetensors", "empty", safetensors([]))
put("safetensors", "escapes", safetensors([("a\u00e9\\n\"", [1, 1], [1.0])], {"k\u2603": "v\t"}))

# config.json: as `vae train` writes it (pretty) and compact.
config = {
    "data": {"classNames": ["T-shirt/top", "Trouser"], "directory": "data/fashion-mnist-sample", "name": "fashion-mnist",
             "shape": [1, 28, 28], "testCount": 1000, "trainCount": 5000},
    "format": "swiftvae-run-1",
    "model": {"architecture": "mlp", "beta": 1, "gaussianSigma": 0.1, "hidden": [16], "inputShape": [1, 28, 28],
              "latent": 2, "likelihood": "bernoulli", "warmupEpochs": 0},
    "parameterCount": 26004,
    "state": {"adamStep": 158, "batchInEpoch": 0, "epoch": 2, "partialCount": 0, "partialKL": 0, "partialRecon": 0,
              "partialSeconds": 0, "rng": [11455067768297419815, 12262014200532656629, 6944905757421434612, 0]},
    "training": {"batchSize": 64, "binarize": False, "epochs": 2, "learningRate": 0.001, "seed": 1, "weightDecay": 0,
                 "clipNorm": 5.0, "testLimit": 100, "classes": [0, 1]},
    "version": "0.1.0",
}
put("config", "config.json", json.dumps(config, indent=2, sort_keys=True).encode() + b"\n")
config2 = dict(config)
config2.pop("data")
config2["model"] = dict(config["model"], architecture="conv", likelihood="gaussian", hidden=[16])
put("config", "conv-no-data.json", json.dumps(config2, separators=(",", ":")).encode())

# metrics.jsonl
def metrics(epoch):
    return json.dumps({"epoch": epoch, "images_per_second": 2408.9, "kl_weight": 1, "seconds": 2.07,
                       "test_kl": 12.1, "test_loss": 431.8, "test_loss_mu": 431.6, "test_recon": 419.7,
                       "train_kl": 4.88, "train_loss": 503.05, "train_recon": 498.1}, sort_keys=True,
                      separators=(",", ":"))
put("metrics", "two-lines.jsonl", (metrics(1) + "\n" + metrics(2) + "\n").encode())
put("metrics", "blank-lines.jsonl", ("\n" + metrics(3) + "\r\n \n").encode())


# png: 8-bit gray / gray+alpha / RGB / RGBA, every filter type.
def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff)

def png(width, height, color, channels, filters):
    raw = b""
    for y in range(height):
        raw += bytes([filters[y % len(filters)]]) + bytes(rng.randrange(256) for _ in range(width * channels))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, color, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"tEXt", b"k\x00v")
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))

put("png", "gray.png", png(3, 5, 0, 1, [0, 1, 2, 3, 4]))
put("png", "gray-alpha.png", png(2, 2, 4, 2, [4, 3]))
put("png", "rgb.png", png(4, 3, 2, 3, [1, 2, 4]))
put("png", "rgba.png", png(2, 3, 6, 4, [3, 0, 4]))

# dataset: the four IDX files of a folder, joined by "\n--\n"; a part starting 0x1f is gzip.
sep = b"\n--\n"
test_images = idx([1, 4, 4], [17] * 16)
test_labels = idx([1], [1])
put("dataset", "plain", sep.join([images, labels, test_images, test_labels]))
put("dataset", "gzip", sep.join([gz(images), gz(labels), test_images, gz(test_labels)]))

# checkpoint: a whole model.safetensors as `vae train` writes it, for Checkpoint.load: a tiny mlp
# (input 1×2×2, hidden 2, latent 1), with and without Adam's moments.
def checkpoint(with_adam, epoch):
    shapes = [("encoder.1.weight", [2, 4]), ("encoder.1.bias", [2]), ("encoder.3.weight", [2, 2]), ("encoder.3.bias", [2]),
              ("decoder.0.weight", [2, 1]), ("decoder.0.bias", [2]), ("decoder.2.weight", [4, 2]), ("decoder.2.bias", [4])]
    def values(shape):
        n = 1
        for d in shape:
            n *= d
        return [round(rng.uniform(-1, 1), 3) for _ in range(n)]
    tensors = [(name, shape, values(shape)) for name, shape in shapes]
    if with_adam:
        for name, shape in shapes:
            tensors.append(("optimizer.exp_avg." + name, shape, values(shape)))
            tensors.append(("optimizer.exp_avg_sq." + name, shape, [abs(v) for v in values(shape)]))
    model = {"architecture": "mlp", "beta": 1, "gaussianSigma": 0.1, "hidden": [2], "inputShape": [1, 2, 2], "latent": 1,
             "likelihood": "bernoulli", "warmupEpochs": 0}
    training = {"batchSize": 64, "binarize": False, "epochs": 3, "learningRate": 0.001, "seed": 1, "weightDecay": 0}
    state = {"adamStep": 10 * epoch if with_adam else 0, "batchInEpoch": 0, "epoch": epoch, "partialCount": 0, "partialKL": 0,
             "partialRecon": 0, "partialSeconds": 0, "rng": [1, 2, 3, 4, 0]}
    dump = lambda v: json.dumps(v, sort_keys=True, separators=(",", ":"))
    return safetensors(tensors, {"format": "swiftvae-checkpoint-1", "version": "0.1.0", "config": dump(model),
                                 "training": dump(training), "state": dump(state)})

put("checkpoint", "adam.safetensors", checkpoint(True, 2))
put("checkpoint", "weights-only.safetensors", checkpoint(False, 0))

# csv: tables for the CSV reader and the table encoder (the first byte's low bit picks a --label).
put("csv", "mixed.csv", b"id,size,colour,kind\nr1,1.5,red,cat\nr2,,\"blue\",dog\nr3,NA,?,cat\n\"r,4\",2.25e1,green,dog\n")
put("csv", "quoted-crlf.csv", b"\xef\xbb\xbfa;b;c\r\n\"x\"\"y\";\"two\r\nlines\";3\r\n4;5;nan\r\n")
put("csv", "tabs.tsv", b"a\tb\n1\t2\n3\t4\n\n5\t\n")
put("csv", "sklearn.csv", b"3,2,setosa,versicolor\n5.1,3.5,0\n4.9,3.0,1\n6.0,2.2,1\n")
put("csv", "numbers.csv", b"x,y,z\n" + b"".join(b"%d,%.3f,%s\n" % (i, rng.uniform(-5, 5), [b"a", b"b", b"c"][i % 3]) for i in range(30)))

# png (more): every colour type and bit depth, palette + tRNS, Adam7 (a separate generator, so the
# seeds above stay as they were).
prng = random.Random(10)

def png_any(width, height, color, depth, interlace, plte=None, trns=None):
    spp = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[color]
    top = (len(plte) // 3) if plte else (1 << depth)
    px = [[[prng.randrange(top) for _ in range(spp)] for _ in range(width)] for _ in range(height)]
    passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)] if interlace else [(0, 0, 1, 1)]
    raw = b""
    for x0, y0, dx, dy in passes:
        xs, ys = range(x0, width, dx), range(y0, height, dy)
        if not xs or not ys:
            continue
        for y in ys:
            bits = [v for x in xs for v in px[y][x]]
            row = bytearray((len(bits) * depth + 7) // 8)
            for k, v in enumerate(bits):
                if depth == 16:
                    row[2 * k:2 * k + 2] = struct.pack(">H", v)
                elif depth == 8:
                    row[k] = v
                else:
                    row[k * depth // 8] |= v << (8 - depth - (k * depth) % 8)
            raw += b"\x00" + bytes(row)
    ihdr = struct.pack(">IIBBBBB", width, height, depth, color, 0, 0, 1 if interlace else 0)
    body = chunk(b"IHDR", ihdr)
    if plte:
        body += chunk(b"PLTE", plte)
    if trns:
        body += chunk(b"tRNS", trns)
    return b"\x89PNG\r\n\x1a\n" + body + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")

put("png", "gray1-adam7.png", png_any(9, 7, 0, 1, True))
put("png", "gray2.png", png_any(5, 3, 0, 2, False))
put("png", "gray4-trns.png", png_any(6, 4, 0, 4, True, trns=b"\x00\x03"))
put("png", "gray16.png", png_any(3, 3, 0, 16, False))
put("png", "rgb16-adam7.png", png_any(5, 9, 2, 16, True))
put("png", "rgb8-trns.png", png_any(4, 2, 2, 8, False, trns=b"\x00\x01\x00\x02\x00\x03"))
put("png", "palette2-trns.png", png_any(7, 5, 3, 2, True, plte=bytes(range(12)), trns=b"\x10\x80"))
put("png", "palette8.png", png_any(4, 4, 3, 8, False, plte=bytes(prng.randrange(256) for _ in range(30))))
put("png", "gray-alpha16.png", png_any(3, 2, 4, 16, True))
put("png", "rgba16.png", png_any(2, 2, 6, 16, False))


# jpeg: written with libturbojpeg's tjCompress2 through ctypes (skipped when it is not installed).
def jpeg_seeds():
    import ctypes
    try:
        tj = ctypes.CDLL("libturbojpeg.so.0")
    except OSError:
        print("libturbojpeg.so.0 not found: no jpeg seeds (apt-get install libturbojpeg0)")
        return
    tj.tjInitCompress.restype = ctypes.c_void_p
    tj.tjCompress2.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_int,
                               ctypes.POINTER(ctypes.POINTER(ctypes.c_ubyte)), ctypes.POINTER(ctypes.c_ulong),
                               ctypes.c_int, ctypes.c_int, ctypes.c_int]
    tj.tjDestroy.argtypes = [ctypes.c_void_p]
    tj.tjFree.argtypes = [ctypes.POINTER(ctypes.c_ubyte)]
    jr = random.Random(11)
    # (name, width, height, pixel format 0 RGB / 6 gray, subsampling 0 444 / 2 420 / 3 gray, flags: 16384 progressive)
    for name, w, h, pf, ss, flags in [("gray.jpg", 16, 16, 6, 3, 0), ("rgb444.jpg", 17, 9, 0, 0, 0),
                                      ("rgb420.jpg", 24, 16, 0, 2, 0), ("progressive.jpg", 16, 24, 0, 2, 16384)]:
        ch = 1 if pf == 6 else 3
        src = bytes((x * 9 + y * 5 + jr.randrange(40)) % 256 for y in range(h) for x in range(w) for _ in range(ch))
        handle = tj.tjInitCompress()
        buf, size = ctypes.POINTER(ctypes.c_ubyte)(), ctypes.c_ulong(0)
        if tj.tjCompress2(handle, src, w, 0, h, pf, ctypes.byref(buf), ctypes.byref(size), ss, 75, flags) == 0:
            put("jpeg", name, ctypes.string_at(buf, size.value))
        tj.tjFree(buf)
        tj.tjDestroy(handle)

jpeg_seeds()


# image: the folder loader's path; one leading byte picks the output shape, then a PNG or JPEG seed.
for target in ("png", "jpeg"):
    d = os.path.join(out, target)
    for k, name in enumerate(sorted(os.listdir(d)) if os.path.isdir(d) else []):
        with open(os.path.join(d, name), "rb") as f:
            put("image", name, bytes([(k * 37 + 5) % 256]) + f.read())


# sequences: one leading byte picks the tokenizer ((b >> 1) % 3: characters, words, smiles), the
# longest item (1 + b >> 3 tokens) and a CSV column 'SMILES' (odd b); then the file's text.
put("sequences", "smiles.txt", bytes([0xFA]) + b"CCO\nc1ccccc1\nCC(=O)[nH]Cl\n")
put("sequences", "csv.txt", bytes([0xFD]) + b'SMILES,id\nCCO,1\n"C,C",2\n')
put("sequences", "words.txt", bytes([0xF8]) + b"the cat sees the moon .\nit's a dog!\n")
# archive: an even first byte gives the bytes to `vae decompress`'s decoder as an archive; an odd one
# XORs them into a valid archive of a small model and reseals its checksum (the decoder meets altered
# content): all zeros is the valid archive itself
put("archive", "valid.bin", bytes([1]) + bytes(24))
put("archive", "header.bin", bytes([0]) + b"SVAEBBA1" + bytes([1, 0, 0, 0]) + bytes(40))
put("archive", "count.bin", bytes([1]) + bytes(29) + bytes([0xFF, 0xFF]))
