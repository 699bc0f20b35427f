#!/bin/sh
# The per-epoch evaluations of a MOSES run (models/moses-cpu/README.md's tables): whenever
# RUN/metrics.jsonl gains an epoch, the run's files are copied to SNAPS/eN (a snapshot of that
# epoch's model), 2,000 molecules are sampled from its prior (`vae sample SNAP --count 2000
# --seed 1 --threads 1`) and scored with MOSES's metrics (scripts/moses_metrics.py; Python with
# RDKit, by hand) into SNAPS/eN/metrics-moses-2000.json.
#
#   scripts/moses_epochs.sh [RUN=runs/moses-cpu] [SNAPS=runs/moses-cpu-epochs] [MOSES=../shared/data/moses]
#
# Runs beside `scripts/moses_cpu.sh RUN` (at nice 10) until stopped; epochs already in SNAPS are
# skipped, so it can be started again at any time. ONCE=1 evaluates the last finished epoch and
# returns. VAE=path/to/vae picks the binary (default .build/release/vae).
set -eu
RUN=${1:-runs/moses-cpu}
SNAPS=${2:-runs/moses-cpu-epochs}
M=${3:-../shared/data/moses}
B=${VAE:-.build/release/vae}
mkdir -p "$SNAPS"
while true; do
    n=0
    if [ -f "$RUN/metrics.jsonl" ]; then n=$(wc -l < "$RUN/metrics.jsonl"); fi
    if [ "$n" -ge 1 ] && [ ! -d "$SNAPS/e$n" ]; then
        sleep 10   # the epoch's checkpoint is written just after its metrics line
        tmp="$SNAPS/e$n.tmp"
        rm -rf "$tmp" && mkdir -p "$tmp"
        for f in config.json metrics.jsonl model.safetensors walltime.log; do
            if [ -f "$RUN/$f" ]; then cp "$RUN/$f" "$tmp/"; fi
        done
        if [ "$(wc -l < "$tmp/metrics.jsonl")" -eq "$n" ]; then   # the copy is of epoch n
            mv "$tmp" "$SNAPS/e$n"
            nice -n 10 "$B" sample "$SNAPS/e$n" --count 2000 --seed 1 --threads 1 \
                --out "$SNAPS/e$n/samples-2000.smi" > "$SNAPS/e$n/sample.log" 2>&1
            nice -n 10 python3 scripts/moses_metrics.py --samples "$SNAPS/e$n/samples-2000.smi" \
                --train "$M/train.csv.gz" --vae "$B" --json "$SNAPS/e$n/metrics-moses-2000.json" \
                > "$SNAPS/e$n/metrics.log" 2>&1
            echo "$(date -u +%H:%M) epoch $n: $(grep -o '"valid": [0-9.]*' "$SNAPS/e$n/metrics-moses-2000.json")"
        else
            rm -rf "$tmp"   # the run moved on while copying: try again
            continue
        fi
    fi
    if [ "${ONCE:-0}" = 1 ]; then break; fi
    sleep 60
done
