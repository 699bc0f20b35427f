#!/usr/bin/env bash
# The literature's benchmark: a one-stochastic-layer MLP VAE (784-200-200-50, as in Burda et al.
# 2015) trained on dynamically binarized MNIST, test NLL estimated with IWAE k = 5000 on a fixed
# binarization of the test images. Burda et al. report 86.76 nats after 3,280 epochs.
#
#   scripts/mnist-binarized.sh [EPOCHS=200] [DATA=../shared/data/mnist] [OUT=runs/mnist-binarized]
set -euo pipefail
cd "$(dirname "$0")/.."
EPOCHS=${1:-200}
DATA=${2:-../shared/data/mnist}
OUT=${3:-runs/mnist-binarized}
swift build -c release >/dev/null
vae=.build/release/vae
if [ -f "$OUT/model.safetensors" ]; then
    $vae train --resume --epochs "$EPOCHS" --out "$OUT" --data "$DATA"
else
    $vae train --data "$DATA" --binarize --hidden 200,200 --latent 50 --batch 128 --lr 1e-3 \
        --epochs "$EPOCHS" --seed 1 --out "$OUT"
fi
$vae evaluate "$OUT" --data "$DATA" --iwae 5000 --limit 1000
