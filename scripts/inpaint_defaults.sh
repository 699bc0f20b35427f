#!/usr/bin/env bash
# Inpainting with the defaults a user gets, against filling the hole with the mean training image:
# default-trained mlp models (training seeds 1 and 2) and one trained with --corrupt box:0.5, on
# MNIST and Fashion-MNIST; `vae inpaint --mask bottom` on 500 test images prints the PSNR on the
# missing pixels of the mean training image, a single encode-decode, pseudo-Gibbs and --fill mean.
# By hand, never by CI (about 10 minutes on 2 cores).
#
#   scripts/inpaint_defaults.sh MNIST_DIR [FASHION_DIR] [OUT=runs/inpaint-defaults]
set -euo pipefail
cd "$(dirname "$0")/.."
MNIST=${1:?usage: scripts/inpaint_defaults.sh MNIST_DIR [FASHION_DIR] [OUT]}
FASHION=${2:-}
OUT=${3:-runs/inpaint-defaults}
if [ -z "${VAE:-}" ]; then swift build -c release --product vae >/dev/null; fi
vae=${VAE:-.build/release/vae}
mkdir -p "$OUT"
for pair in "mnist:$MNIST" ${FASHION:+"fashion:$FASHION"}; do
    name=${pair%%:*}; data=${pair#*:}
    for variant in "seed1:--seed 1" "seed2:--seed 2" "box:--corrupt box:0.5"; do
        tag=${variant%%:*}; flags=${variant#*:}
        run="$OUT/$name-$tag"
        [ -f "$run/model.safetensors" ] || $vae train --data "$data" --epochs 10 $flags --out "$run" --no-report >"$run.log" 2>&1
        echo "$name $tag: $($vae inpaint "$run" --mask bottom --limit 500 --out "$run-inpaint.png" 2>/dev/null | grep PSNR)"
    done
done
