#!/usr/bin/env bash
# Reproduces a row of Table 1 of Burda, Grosse & Salakhutdinov (2015), one stochastic layer on
# dynamically binarized MNIST: trains with the preset (784-200-200-50 tanh, Bernoulli decoder,
# Adam ε = 1e-4, batch 20, lr 0.001·10^(−i/7) for 3^i epochs, i = 0…7: 3,280 epochs), then
# estimates the test NLL with IWAE k = 5000 on the 10,000 test images (binarized once with
# Trainer.testBinarizationSeed), printing the mean, its standard error and the wall times.
# Resumable: run it again (or after Ctrl-C) and it continues the run from its last checkpoint,
# the learning-rate schedule included.
#
#   scripts/burda2015.sh vae|iwae5|iwae50 [EPOCHS=3280] [DATA=../shared/data/mnist] [OUT=runs/burda2015-ROW] [EVAL_LIMIT=10000]
#
# EPOCHS below 3,280 stops early (a partial run; resume later with a larger EPOCHS).
set -euo pipefail
cd "$(dirname "$0")/.."
ROW=${1:?usage: scripts/burda2015.sh vae|iwae5|iwae50 [EPOCHS] [DATA] [OUT] [EVAL_LIMIT]}
case "$ROW" in vae|iwae5|iwae50) ;; *) echo "error: the row is vae, iwae5 or iwae50, not $ROW" >&2; exit 2 ;; esac
EPOCHS=${2:-3280}
DATA=${3:-../shared/data/mnist}
OUT=${4:-runs/burda2015-$ROW}
EVAL_LIMIT=${5:-10000}
swift build -c release --product vae >/dev/null
vae=.build/release/vae
start=$(date +%s)
if [ -f "$OUT/model.safetensors" ]; then
    $vae train --resume --epochs "$EPOCHS" --out "$OUT" --data "$DATA"
else
    $vae train --preset "burda2015-$ROW" --epochs "$EPOCHS" --seed 1 --data "$DATA" --out "$OUT"
fi
trained=$(date +%s)
echo "training wall time this invocation: $((trained - start)) s (the run's metrics.jsonl has the seconds of every epoch)"
$vae evaluate "$OUT" --data "$DATA" --iwae 5000 --limit "$EVAL_LIMIT" | tee "$OUT/evaluate-iwae5000.json"
echo "evaluation wall time: $(($(date +%s) - trained)) s"
