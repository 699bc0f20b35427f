#!/bin/sh
# The sequence VAE against a GRU language model of the same size on fortune sentences
# (Bowman et al. 2016; docs/text-comparison.md). Both train for up to EPOCHS epochs; each is
# scored on valid.txt after every epoch and the epoch with the lowest validation loss is the one
# scored on the first 1,000 lines of test.txt (the VAE by its IWAE bound, k = 50).
#
#   python3 scripts/fortunes_sentences.py /tmp/fortunes        # train.txt valid.txt test.txt
#   swift build -c release
#   scripts/text_comparison.sh /tmp/fortunes runs/text-comparison [EPOCHS] [extra vae train flags]
#
# Needs PyTorch for the language model (pip install torch); run by hand, never by the tests.
# VAE=path/to/vae picks the binary (default .build/release/vae). Prints the two results last.
set -eu
D=$1; O=$2; E=${3:-10}
shift 2; [ $# -gt 0 ] && shift
B=${VAE:-.build/release/vae}
mkdir -p "$O"
run="$O/vae"
flags="--model gru --tokens words --max-vocab 10000 --embedding 0 --encoder 1x256 --decoder 1x256 --latent 32 --warmup 2 \
  --free-bits 2 --batch 128 --lr 1e-3 --seed 1 --threads 2 $*"
best=""
for e in $(seq 1 "$E"); do
  if [ "$e" = 1 ]; then
    # shellcheck disable=SC2086
    "$B" train $flags --data "$D/train.txt" --test "$D/valid.txt" --epochs 1 --no-report --out "$run" 2>&1 | tail -n 2
    python3 scripts/fortunes_lm.py --run "$run" --train "$D/train.txt" --test "$D/test.txt" --valid "$D/valid.txt" \
      --hidden 256 --epochs "$E" --lr 1e-3 --batch 128 --limit 1000 --seed 1 --threads 1 > "$O/lm.json" 2> "$O/lm.log" &
    lm=$!
  else
    "$B" train --resume --epochs "$e" --no-report --out "$run" 2>&1 | tail -n 1
  fi
  # the validation −ELBO of this epoch (the run's test set is valid.txt)
  v=$(tail -n 1 "$run/metrics.jsonl" | python3 -c 'import json,sys; print(json.load(sys.stdin)["test_loss"])')
  if [ -z "$best" ] || python3 -c "import sys; sys.exit(0 if $v < $best else 1)"; then
    best=$v
    rm -rf "$O/vae-best"
    "$B" export "$run" --out "$O/vae-best" > /dev/null
    echo "epoch $e: valid -ELBO $v (best so far)"
  else
    echo "epoch $e: valid -ELBO $v"
  fi
done
"$B" evaluate "$O/vae-best" --data "$D/test.txt" --iwae 50 --limit 1000 --threads 2 | tee "$O/vae-test.txt"
wait "$lm"
cat "$O/lm.log"
echo "language model: $(cat "$O/lm.json")"
