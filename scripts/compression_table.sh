#!/usr/bin/env bash
# The compression table of the README: SwiftVAE's bits-back codec against gzip, bzip2, xz, PNG and
# WebP (scripts/compression_peers.py) on the 10,000 test images of MNIST (binarized as `vae
# evaluate` binarizes them, and 8-bit as they are) and Fashion-MNIST (8-bit). By hand, never by CI:
# it needs optipng and webp (apt-get install -y optipng webp) and Pillow; about 25 minutes on 2 cores.
#
#   scripts/compression_table.sh MNIST_DIR FASHION_DIR [OUT=runs/compression]
#
# Models: models/burda2015-vae (binarized MNIST), models/bb-mnist and models/bb-fashion (8-bit,
# beta-binomial). Each archive is decompressed and compared with its input before its size counts.
set -euo pipefail
cd "$(dirname "$0")/.."
MNIST=${1:?usage: scripts/compression_table.sh MNIST_DIR FASHION_DIR [OUT]}
FASHION=${2:?usage: scripts/compression_table.sh MNIST_DIR FASHION_DIR [OUT]}
OUT=${3:-runs/compression}
if [ -z "${VAE:-}" ]; then swift build -c release --product vae >/dev/null; fi
vae=${VAE:-.build/release/vae}
mkdir -p "$OUT"
row() {  # name model images.idx[.gz] [--binarize]
    local name=$1 model=$2 data=$3; shift 3
    local t0 t1 t2
    t0=$(date +%s.%N)
    $vae compress "$model" --data "$data" "$@" --out "$OUT/$name.bba" | tee "$OUT/$name.compress.txt"
    t1=$(date +%s.%N)
    $vae decompress "$model" "$OUT/$name.bba" --out "$OUT/$name.idx" | tee "$OUT/$name.decompress.txt"
    t2=$(date +%s.%N)
    if [ $# -eq 0 ]; then   # 8-bit: the decompressed file is the input, byte for byte
        python3 -c "
import gzip, sys
a = open(sys.argv[1], 'rb').read(); a = gzip.decompress(a) if a[:2] == b'\x1f\x8b' else a
assert a == open(sys.argv[2], 'rb').read(), 'round trip differs'
print('round trip: identical bytes')" "$data" "$OUT/$name.idx"
    fi
    echo "$name: compress $(python3 -c "print(round($t1 - $t0, 1))") s, decompress $(python3 -c "print(round($t2 - $t1, 1))") s"
    python3 scripts/compression_peers.py "$OUT/$name.idx" --json "$OUT/$name-peers.json" > "$OUT/$name-peers.txt"
    tail -n 30 "$OUT/$name-peers.txt"
}
row mnist-binarized models/burda2015-vae "$MNIST/t10k-images-idx3-ubyte.gz" --binarize
row mnist-8bit models/bb-mnist "$MNIST/t10k-images-idx3-ubyte.gz"
row fashion-8bit models/bb-fashion "$FASHION/t10k-images-idx3-ubyte.gz"
