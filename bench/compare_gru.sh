#!/usr/bin/env bash
# Side-by-side training throughput of the sequence VAE: SwiftVAE (`vae bench --preset moses-vae`)
# against PyTorch's nn.GRU (bench/gru_pytorch.py) on the same model (MOSES shape: one-hot
# characters, encoder 1x256, latent 128, decoder 1x512 or 3x512 fed [token, z]), loss, optimizer
# (Adam, clip 50), batch and data, alternating A B A B ... for --rounds rounds; prints molecules/s
# of each run, the medians and the ratio. Run by hand, never by CI (needs torch).
#
#   bench/compare_gru.sh                                  # decoders 1x512 and 3x512, batches 128 and 512, 3 rounds
#   bench/compare_gru.sh --rounds 5 --batches 10 --data ../shared/data/moses/train.csv.gz
#   bench/compare_gru.sh --data lines.txt --tokens words --embedding 256   # text: words, a shared embedding
#
# Environment: TORCH_PY (a python with torch; default python3), VAE (the vae binary; default
# .build/release/vae — build it with swift build -c release).
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=3 BATCHES=8 DATA=data/moses-sample.smi.gz DECODERS="1 3" SIZES="128 512" THREADS=2 TOKENS=characters EMBEDDING=0
while [ $# -gt 0 ]; do
    case "$1" in
        --rounds) ROUNDS=$2; shift ;;
        --batches) BATCHES=$2; shift ;;
        --data) DATA=$2; shift ;;
        --decoders) DECODERS=$2; shift ;;
        --batch) SIZES=$2; shift ;;
        --threads) THREADS=$2; shift ;;
        --tokens) TOKENS=$2; shift ;;
        --embedding) EMBEDDING=$2; shift ;;
        -h|--help) sed -n 2,13p "$0"; exit 0 ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
    shift
done
TORCH_PY=${TORCH_PY:-python3}
VAE=${VAE:-.build/release/vae}
[ -x "$VAE" ] || { echo "no $VAE: swift build -c release" >&2; exit 1; }
COLUMN=()
case "$DATA" in *.csv|*.csv.gz) COLUMN=(--text-column SMILES) ;; esac

"$VAE" info | grep -E "^CPU|^GEMM" || true
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
printf '%-10s %-6s %-28s %-28s %s\n' decoder batch "SwiftVAE molecules/s" "PyTorch molecules/s" "SwiftVAE / PyTorch"
for L in $DECODERS; do
    for B in $SIZES; do
        swift_runs=() torch_runs=()
        for _ in $(seq "$ROUNDS"); do
            s=$(VAE_THREADS=$THREADS "$VAE" bench --preset moses-vae --data "$DATA" "${COLUMN[@]}" --decoder "${L}x512" --batch "$B" \
                  --batches "$BATCHES" --threads "$THREADS" --tokens "$TOKENS" --embedding "$EMBEDDING" 2>/dev/null | tail -1 | sed -E 's/.*"items_per_second":([0-9.]+).*/\1/')
            t=$("$TORCH_PY" bench/gru_pytorch.py --data "$DATA" --decoder-layers "$L" --batch "$B" --batches "$BATCHES" --threads "$THREADS" \
                  --tokens "$TOKENS" --embedding "$EMBEDDING" \
                  2>/dev/null | grep '"molecules_per_second"' | tail -1 | sed -E 's/.*"molecules_per_second": *([0-9.]+).*/\1/')
            swift_runs+=("$s") torch_runs+=("$t")
        done
        ms=$(printf '%s\n' "${swift_runs[@]}" | median) mt=$(printf '%s\n' "${torch_runs[@]}" | median)
        printf '%-10s %-6s %-28s %-28s %.2f\n' "${L}x512" "$B" "${swift_runs[*]} (median $ms)" "${torch_runs[*]} (median $mt)" \
            "$(awk -v a="$ms" -v b="$mt" 'BEGIN {print (b > 0) ? a / b : 0}')"
    done
done
