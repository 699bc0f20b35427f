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
# finished model there: weights without Adam's moments (`vae export`), config, metrics, report, its
# curves and the 30,000-sample metrics (the folder's README stays); run again with EXPORT on a run that is
# trained and scored, it only ships it. EPOCHS=N trains to N epochs instead of
# the preset's 20, a new run or one that stopped or finished (after epoch 20 at the last stage's rate).
#
# PARK=models/moses-cpu/run-state carries an unfinished run from one machine to the next through
# git: when training stops, the checkpoint (16.8 MB with Adam's moments) is split there into
# parts under 6 MB with their SHA-256 sums, beside the run's config, metrics and wall-time log;
# when RUN has no checkpoint yet, the parts are joined back (sums checked) and training resumes
# exactly where it stopped.
set -eu
RUN=${1:-runs/moses-cpu}
M=${2:-../shared/data/moses}
B=${VAE:-.build/release/vae}
N=${NICE:-0}
KEEP="config.json metrics.jsonl walltime.log"   # parked beside the checkpoint's parts
if [ -n "${PARK:-}" ] && [ ! -f "$RUN/model.safetensors" ] && [ -f "$PARK/SHA256SUMS" ]; then
    mkdir -p "$RUN"
    (cd "$PARK" && sha256sum --quiet -c SHA256SUMS) || { echo "error: $PARK: a part does not match SHA256SUMS; fetch the folder again (git checkout -- $PARK)" >&2; exit 1; }
    cat "$PARK"/model.safetensors.part-* > "$RUN/model.safetensors.tmp" && mv "$RUN/model.safetensors.tmp" "$RUN/model.safetensors"
    for f in $KEEP; do if [ -f "$PARK/$f" ]; then cp "$PARK/$f" "$RUN/"; fi; done
    echo "unparked $PARK into $RUN"
fi
park() {
    [ -n "${PARK:-}" ] && [ -f "$RUN/model.safetensors" ] || return 0
    tmp="$PARK.tmp.$$"
    rm -rf "$tmp" && mkdir -p "$tmp"
    split -b 5000000 -d -a 2 "$RUN/model.safetensors" "$tmp/model.safetensors.part-"
    for f in $KEEP; do if [ -f "$RUN/$f" ]; then cp "$RUN/$f" "$tmp/"; fi; done
    (cd "$tmp" && sha256sum model.safetensors.part-* > SHA256SUMS)
    rm -rf "$PARK.old" && if [ -d "$PARK" ]; then mv "$PARK" "$PARK.old"; fi
    mv "$tmp" "$PARK" && rm -rf "$PARK.old"
    echo "parked $RUN in $PARK (commit it to carry the run to the next machine)"
}
start=$(date +%s)
status=0
if [ -f "$RUN/metrics-moses.json" ] && [ "$RUN/metrics-moses.json" -nt "$RUN/model.safetensors" ] && [ -z "${EPOCHS:-}" ]; then
    finished=1   # scored after its last epoch: nothing to train or sample again (EXPORT still ships it)
elif [ -f "$RUN/model.safetensors" ]; then
    nice -n "$N" "$B" train --resume --out "$RUN" ${EPOCHS:+--epochs "$EPOCHS"} || status=$?
else
    nice -n "$N" "$B" train --preset moses-cpu --data "$M/train.csv.gz" --text-column SMILES \
        --test "$M/test.csv.gz" --out "$RUN" ${EPOCHS:+--epochs "$EPOCHS"} || status=$?
fi
end=$(date +%s)
if [ -z "${finished:-}" ]; then
    [ -d "$RUN" ] && echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) trained $((end - start)) s" >> "$RUN/walltime.log"
    awk '{ s += $3 } END { printf "training wall time so far: %.2f h\n", s / 3600 }' "$RUN/walltime.log"
    if [ "$status" -ne 0 ]; then park; exit "$status"; fi   # stopped: run this script again to continue
    "$B" sample "$RUN" --count 30000 --seed 1 --out "$RUN/samples-30000.smi"
    python3 scripts/moses_metrics.py --samples "$RUN/samples-30000.smi" --train "$M/train.csv.gz" \
        --vae "$B" --json "$RUN/metrics-moses.json"
else
    echo "$RUN is trained and scored ($RUN/metrics-moses.json); EPOCHS=N trains it further"
fi
if [ -n "${EXPORT:-}" ]; then
    tmp=$(mktemp -d)
    "$B" export "$RUN" --out "$tmp/model"
    mkdir -p "$EXPORT"
    cp "$tmp/model/"* "$RUN/metrics-moses.json" "$EXPORT/"
    for f in walltime.log loss.png kl.png validity.png latent.png; do   # the log and the report's curves
        if [ -f "$RUN/$f" ]; then cp "$RUN/$f" "$EXPORT/"; fi
    done
    rm -rf "$tmp"
    echo "shipped $RUN in $EXPORT: $(ls "$EXPORT" | tr '\n' ' ')"
fi
