#!/bin/sh
# MOSES's VAE row on two CPU cores (issue 27): trains --preset moses-cpu on MOSES's training file,
# resuming the run when it exists, then scores 30,000 prior samples with MOSES's metrics.
#
#   scripts/moses_cpu.sh [RUN=runs/moses-cpu] [MOSES=../shared/data/moses]
#
# Run it again after a stop (Ctrl-C, a killed job, the end of a session): training continues
# exactly from the checkpoint (saved every 30 minutes within an epoch). Each invocation appends
# its training wall time to RUN/walltime.log, so the total is the run's sum, not a guess. When the
# 20 epochs are done it samples 30,000 molecules (`vae sample RUN --count 30000 --seed 1`) and
# writes RUN/metrics-moses.json with scripts/moses_metrics.py (Python with RDKit, by hand:
# pip install rdkit). VAE=path/to/vae picks the binary (default .build/release/vae);
# NICE=19 trains at a low priority beside other work. EXPORT=models/moses-cpu then ships the
# finished model there: weights without Adam's moments (`vae export`), config, metrics, report and
# the 30,000-sample metrics (the folder's README stays).
set -eu
RUN=${1:-runs/moses-cpu}
M=${2:-../shared/data/moses}
B=${VAE:-.build/release/vae}
N=${NICE:-0}
start=$(date +%s)
status=0
if [ -f "$RUN/model.safetensors" ]; then
    nice -n "$N" "$B" train --resume --out "$RUN" || status=$?
else
    nice -n "$N" "$B" train --preset moses-cpu --data "$M/train.csv.gz" --text-column SMILES \
        --test "$M/test.csv.gz" --out "$RUN" || status=$?
fi
end=$(date +%s)
[ -d "$RUN" ] && echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) trained $((end - start)) s" >> "$RUN/walltime.log"
awk '{ s += $3 } END { printf "training wall time so far: %.2f h\n", s / 3600 }' "$RUN/walltime.log"
[ "$status" -eq 0 ] || exit "$status"   # stopped: run this script again to continue
"$B" sample "$RUN" --count 30000 --seed 1 --out "$RUN/samples-30000.smi"
python3 scripts/moses_metrics.py --samples "$RUN/samples-30000.smi" --train "$M/train.csv.gz" \
    --vae "$B" --json "$RUN/metrics-moses.json"
if [ -n "${EXPORT:-}" ]; then
    tmp=$(mktemp -d)
    "$B" export "$RUN" --out "$tmp/model"
    mkdir -p "$EXPORT"
    cp "$tmp/model/"* "$RUN/metrics-moses.json" "$EXPORT/"
    if [ -f "$RUN/walltime.log" ]; then cp "$RUN/walltime.log" "$EXPORT/"; fi
    rm -rf "$tmp"
    echo "shipped $RUN in $EXPORT: $(ls "$EXPORT" | tr '\n' ' ')"
fi
