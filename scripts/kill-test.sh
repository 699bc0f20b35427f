#!/usr/bin/env bash
# SIGKILL test: kills `vae train` N times — half at random moments, half as soon as a checkpoint
# write has begun (its temporary file exists) — and checks
# that the run folder always holds a loadable checkpoint — the previous good one or the new one,
# never a torn file — and that resuming reaches bit-identical final weights to an uninterrupted run.
#
#   scripts/kill-test.sh [N=20]
#
# Env: DATA (default: a 1000/200-image subset of data/fashion-mnist-sample, so that epochs are
# short and checkpoint writes are a large share of the time), EPOCHS (40), SCRATCH (.build-hard),
# SEED (random delays), KEEP=1 keeps the work folder.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
N=${1:-20}
EPOCHS=${EPOCHS:-40}
SCRATCH=${SCRATCH:-.build-hard}
RANDOM=${SEED:-$$}

echo "building vae (release) in $SCRATCH ..."
swift build -c release --product vae --scratch-path "$SCRATCH" 2>&1 | grep -E "error|Build of|Compiling" | tail -3
VAE="$ROOT/$SCRATCH/release/vae"
TOOL="python3 $ROOT/scripts/safetensors-tool.py"
[ -x "$VAE" ] || { echo "no vae binary at $VAE" >&2; exit 1; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/vae-kill-test.XXXXXX")
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$WORK"' EXIT
if [ -z "${DATA:-}" ]; then
    DATA="$WORK/data"
    python3 - "$ROOT/data/fashion-mnist-sample" "$DATA" <<'PY'
import gzip, os, struct, sys
src, dst = sys.argv[1], sys.argv[2]
os.makedirs(dst)
def subset(name, count):
    with gzip.open(os.path.join(src, name + ".gz")) as f:
        data = f.read()
    ndims = data[3]
    dims = list(struct.unpack(">%dI" % ndims, data[4:4 + 4 * ndims]))
    per = 1
    for d in dims[1:]:
        per *= d
    dims[0] = count
    out = data[:4] + struct.pack(">%dI" % ndims, *dims) + data[4 + 4 * ndims:4 + 4 * ndims + count * per]
    with open(os.path.join(dst, name), "wb") as f:
        f.write(out)
subset("train-images-idx3-ubyte", 1000); subset("train-labels-idx1-ubyte", 1000)
subset("t10k-images-idx3-ubyte", 200); subset("t10k-labels-idx1-ubyte", 200)
PY
fi
ARGS=(--data "$DATA" --hidden 64 --latent 8 --batch 64 --seed 7 --no-report)

# The uninterrupted reference run, timed; and the start-up time (data, model, first checkpoint).
t0=$(date +%s.%N)
"$VAE" train "${ARGS[@]}" --epochs 0 --out "$WORK/startup" > /dev/null 2>&1
t1=$(date +%s.%N)
"$VAE" train "${ARGS[@]}" --epochs "$EPOCHS" --out "$WORK/reference" > /dev/null 2>&1
t2=$(date +%s.%N)
STARTUP=$(echo "$t1 - $t0" | bc -l)
EPOCH_TIME=$(echo "($t2 - $t1 - $STARTUP) / $EPOCHS" | bc -l)
printf "reference: %d epochs in %.2f s (start-up %.2f s, %.3f s per epoch)\n" "$EPOCHS" "$(echo "$t2 - $t1" | bc -l)" "$STARTUP" "$EPOCH_TIME"

RUN="$WORK/run"
kills=0 survived=0 hit_write=0 fresh_starts=0 attempts=0 failures=0
prev_epoch=-1 prev_hash=""
fail() { echo "FAIL (kill $kills): $*"; failures=$((failures + 1)); }

while [ $kills -lt "$N" ]; do
    attempts=$((attempts + 1))
    if [ -f "$RUN/model.safetensors" ]; then
        "$VAE" train --resume --out "$RUN" --no-report > "$WORK/last.log" 2>&1 &
    else
        fresh_starts=$((fresh_starts + 1))
        "$VAE" train "${ARGS[@]}" --epochs "$EPOCHS" --out "$RUN" > "$WORK/last.log" 2>&1 &
    fi
    pid=$!
    t_start=$(date +%s.%N)
    if [ $((kills % 2)) -eq 1 ]; then
        # Every other kill aims at a checkpoint write: it waits for this process's temporary
        # model.safetensors to appear (a tight loop of bash built-ins) and kills at once.
        deadline=$((SECONDS + 30))
        while kill -0 "$pid" 2> /dev/null && [ $SECONDS -lt $deadline ]; do
            compgen -G "$RUN/.model.safetensors.tmp-$pid-*" > /dev/null && break
        done
    else
        # A random moment within start-up plus about three epochs.
        sleep "$(echo "($RANDOM / 32767) * ($STARTUP + 3 * $EPOCH_TIME)" | bc -l)"
    fi
    if kill -KILL "$pid" 2> /dev/null; then
        delay=$(echo "$(date +%s.%N) - $t_start" | bc -l)
        wait "$pid" 2> /dev/null || true
        kills=$((kills + 1))
    else
        delay=0
        wait "$pid" && status=0 || status=$?
        if [ $status -ne 0 ]; then fail "vae train exited $status without being killed: $(tail -2 "$WORK/last.log")"; break; fi
        echo "the run finished before kill $((kills + 1)); stopping the kills here"
        break
    fi

    temps=$(find "$RUN" -maxdepth 1 -name '.*.tmp-*' 2> /dev/null | wc -l)
    # AtomicFile names its temporary files .NAME.tmp-PID-RANDOM: one of this process's means the
    # kill landed inside a write of the checkpoint, config.json or metrics.jsonl.
    if writing=$(find "$RUN" -maxdepth 1 -name ".*.tmp-$pid-*" 2> /dev/null | head -1) && [ -n "$writing" ]; then
        hit_write=$((hit_write + 1)); during=" (during the write of $(basename "$writing" | sed 's/^\.\(.*\)\.tmp-.*/\1/'))"
    else
        during=""
    fi
    if [ ! -f "$RUN/model.safetensors" ]; then
        if [ $prev_epoch -ge 0 ]; then fail "model.safetensors vanished"; else survived=$((survived + 1)); fi
        printf "kill %2d after %.2f s%s: no checkpoint yet (killed during start-up)\n" $kills "$delay" "$during"
        continue
    fi
    if ! info=$("$VAE" info "$RUN" 2>&1); then fail "vae info failed: $(echo "$info" | tail -1)"; continue; fi
    if ! digest=$($TOOL digest "$RUN/model.safetensors"); then fail "torn model.safetensors: $digest"; continue; fi
    epoch=$(echo "$digest" | sed 's/.*epoch=\([0-9]*\).*/\1/')
    batch=$(echo "$digest" | sed 's/.*batch=\([0-9]*\).*/\1/')
    hash=$(echo "$digest" | sed 's/.*sha256=//')
    verdict=""
    if [ "$batch" != 0 ]; then fail "a checkpoint in the middle of an epoch ($batch batches) after SIGKILL"; continue; fi
    if [ "$epoch" -lt "$prev_epoch" ]; then fail "checkpoint went back from epoch $prev_epoch to $epoch"; continue; fi
    if [ "$epoch" -eq "$prev_epoch" ]; then
        if [ "$hash" != "$prev_hash" ]; then fail "epoch $epoch checkpoint changed without progress"; continue; fi
        verdict="the previous checkpoint"
    else
        verdict="a new checkpoint"
    fi
    survived=$((survived + 1))
    printf "kill %2d after %.2f s%s: %s, epoch %d, loads (%d temp files in the folder)\n" $kills "$delay" "$during" "$verdict" "$epoch" "$temps"
    prev_epoch=$epoch
    prev_hash=$hash
done

# Finish the run without kills.
if [ -f "$RUN/model.safetensors" ]; then
    "$VAE" train --resume --out "$RUN" --no-report > "$WORK/last.log" 2>&1 || fail "the final resume failed: $(tail -2 "$WORK/last.log")"
else
    "$VAE" train "${ARGS[@]}" --epochs "$EPOCHS" --out "$RUN" > "$WORK/last.log" 2>&1 || fail "the final run failed"
fi
identical=no
if compare=$($TOOL compare "$WORK/reference/model.safetensors" "$RUN/model.safetensors"); then identical=yes; else fail "final weights differ from the uninterrupted run: $compare"; fi
lines=$(grep -c . "$RUN/metrics.jsonl" || true)
[ "$lines" -eq "$EPOCHS" ] || fail "metrics.jsonl has $lines lines, expected $EPOCHS"
epochs_listed=$(python3 -c "import json,sys; print(' '.join(str(json.loads(l)['epoch']) for l in open(sys.argv[1]) if l.strip()))" "$RUN/metrics.jsonl")
[ "$epochs_listed" = "$(seq -s ' ' 1 "$EPOCHS")" ] || fail "metrics.jsonl lists epochs $epochs_listed"
leftover=$(find "$RUN" -maxdepth 1 -name '.*.tmp-*' | wc -l)
[ "$leftover" -eq 0 ] || fail "$leftover stale temporary files left in the run folder"

echo
echo "kills: $kills ($hit_write during a checkpoint write, $fresh_starts fresh starts), survived: $survived of $kills"
echo "final weights vs. uninterrupted run: $compare"
echo "metrics.jsonl: $lines lines; stale temporary files at the end: $leftover"
if [ $failures -ne 0 ]; then echo "kill test FAILED ($failures problems)"; exit 1; fi
echo "kill test passed"
