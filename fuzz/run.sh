#!/usr/bin/env bash
# Builds the libFuzzer targets of SwiftVAE's parsers and runs them.
#
#   fuzz/run.sh [BUDGET] [TARGET...]
#
# BUDGET: executions per target (default 1000000), or seconds per target with an "s" suffix (60s).
# TARGET: idx gzip cifar safetensors checkpoint config metrics png jpeg image dataset csv sequences archive (default: all of them).
# JOBS=2: targets run in parallel. Each run: -timeout=1 (no input may take a second),
# -malloc_limit_mb=64 (no single allocation over 64 MiB), -rss_limit_mb=2048, AddressSanitizer.
# Corpora grow in fuzz/corpus-TARGET/ (not committed; seeds in fuzz/seeds/TARGET/, from
# fuzz/make_seeds.py); crashers go to .build-fuzz/crashes/, logs to .build-fuzz/logs/.
# Replay a crasher with a normal build: swift run vae-fuzz TARGET FILE (or the fuzz binary:
# FUZZ_TARGET=TARGET .build-fuzz/release/vae-fuzz FILE).
set -euo pipefail
cd "$(dirname "$0")/.."

BUDGET=${1:-1000000}
shift || true
TARGETS=("$@")
[ ${#TARGETS[@]} -eq 0 ] && TARGETS=(idx gzip cifar safetensors checkpoint config metrics png jpeg image dataset csv sequences archive)
JOBS=${JOBS:-2}
SCRATCH=.build-fuzz

echo "building the fuzz targets (release, -sanitize=fuzzer,address) in $SCRATCH ..."
swift build -c release --product vae-fuzz --scratch-path "$SCRATCH" \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING 2>&1 | grep -E "error|Compiling vae_fuzz|Build of|Linking" || true
BIN="$SCRATCH/release/vae-fuzz"
[ -x "$BIN" ] || { echo "fuzz build failed" >&2; exit 1; }

[ -d fuzz/seeds ] || python3 fuzz/make_seeds.py
mkdir -p "$SCRATCH/logs" "$SCRATCH/crashes"

if [[ "$BUDGET" == *s ]]; then LIMIT=(-max_total_time="${BUDGET%s}"); else LIMIT=(-runs="$BUDGET"); fi

run_one() {
    local t=$1
    local maxlen=8192 dict=()
    case $t in
        cifar|jpeg|image) maxlen=16384 ;;
        safetensors|checkpoint|config|metrics) dict=(-dict=fuzz/json.dict) ;;
        csv) dict=(-dict=fuzz/csv.dict) ;;
    esac
    mkdir -p "fuzz/corpus-$t"
    FUZZ_TARGET=$t "$BIN" "fuzz/corpus-$t" "fuzz/seeds/$t" "${LIMIT[@]}" "${dict[@]}" \
        -timeout=1 -malloc_limit_mb=64 -rss_limit_mb=2048 -max_len=$maxlen \
        -artifact_prefix="$SCRATCH/crashes/$t-" -print_final_stats=1 \
        > "$SCRATCH/logs/$t.log" 2>&1
}

declare -A STATUS
pids=()
names=()
for t in "${TARGETS[@]}"; do
    while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do sleep 1; done
    echo "fuzzing $t ..."
    run_one "$t" &
    pids+=($!)
    names+=("$t")
done
failed=0
for i in "${!pids[@]}"; do
    if wait "${pids[$i]}"; then STATUS[${names[$i]}]=ok; else STATUS[${names[$i]}]=FAILED; failed=1; fi
done

printf "\n%-12s %-7s %12s %10s %8s %8s\n" target result executions "exec/s" seconds corpus
for t in "${TARGETS[@]}"; do
    log="$SCRATCH/logs/$t.log"
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | awk '{print $2}' | tail -1)
    rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | awk '{print $2}' | tail -1)
    secs=$(grep -oE 'Done [0-9]+ runs in [0-9]+ second' "$log" | awk '{print $5}' | tail -1)
    corpus=$(ls "fuzz/corpus-$t" | wc -l)
    printf "%-12s %-7s %12s %10s %8s %8s\n" "$t" "${STATUS[$t]}" "${execs:-?}" "${rate:-?}" "${secs:-?}" "$corpus"
done
if [ $failed -ne 0 ]; then
    echo "failures: see $SCRATCH/logs/*.log and $SCRATCH/crashes/" >&2
    exit 1
fi
