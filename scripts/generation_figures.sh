#!/usr/bin/env bash
# The figures of "Generating, denoising, inpainting" in the README, on any labelled image data
# (IDX, CIFAR-10 or class folders). Run by hand, never by CI:
#
#   scripts/generation_figures.sh DATA OUT [train options for the data, e.g. --image-size 32]
#
# Trains three mlp models (10 epochs each, seed 1) and prints their numbers:
#   1. conditional, latent 4 → 100 samples per class in OUT/cvae-samples/K; with scikit-learn and
#      IDX data, scripts/check_conditional.py prints the share classified as the asked class;
#   2. --corrupt box:0.5 (inpainting) → vae inpaint on the test set, bottom half missing: PSNR on the
#      missing pixels against the mean training image, a single pass and pseudo-Gibbs;
#   3. --corrupt gaussian:0.3 (denoising) → vae denoise --noise 0.3: PSNR against a 3×3 median filter.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${1:?usage: scripts/generation_figures.sh DATA OUT [train options]}
OUT=${2:?usage: scripts/generation_figures.sh DATA OUT [train options]}
shift 2
# VAE=path/to/vae uses that binary instead of building one
if [ -z "${VAE:-}" ]; then swift build -c release --product vae >/dev/null; fi
vae=${VAE:-.build/release/vae}
mkdir -p "$OUT"
train() { local run=$1; shift; [ -f "$OUT/$run/model.safetensors" ] || $vae train --data "$DATA" --epochs 10 --seed 1 --out "$OUT/$run" "$@" >"$OUT/$run.log" 2>&1; tail -n 1 "$OUT/$run.log"; }

train cvae --conditional --latent 4 "$@"
classes=$(python3 -c "import json,sys; print(len(json.load(open(sys.argv[1]))['data']['classNames']))" "$OUT/cvae/config.json" 2>/dev/null || echo 10)
mkdir -p "$OUT/cvae-samples"
for ((k = 0; k < classes; k++)); do
    $vae sample "$OUT/cvae" --class "$k" --count 100 --out-dir "$OUT/cvae-samples/$k" --out "$OUT/cvae-class-$k.png" 2>/dev/null
done
if ls "$DATA"/t10k-images-idx3-ubyte* >/dev/null 2>&1 && python3 -c "import sklearn" 2>/dev/null; then
    python3 scripts/check_conditional.py "$DATA" "$OUT/cvae-samples"
fi

train box --corrupt box:0.5 "$@"
$vae inpaint "$OUT/box" --data "$DATA" --mask bottom --out "$OUT/box-inpaint.png" 2>/dev/null

train dvae --corrupt gaussian:0.3 "$@"
$vae denoise "$OUT/dvae" --data "$DATA" --noise 0.3 --out "$OUT/dvae-denoise.png" 2>/dev/null
