#!/usr/bin/env bash
# Side-by-side training throughput: SwiftVAE (`vae bench`) against PyTorch and JAX (whole epoch in
# one lax.scan) on the same machine, same model, loss (BCE from logits + KL), optimizer (Adam 1e-3),
# batch and data (Fashion-MNIST), alternating A B C A B C ... for --rounds rounds, then the median
# images/s of each and the ratios. Run by hand, never by CI (needs torch / jax + optax).
#
#   bench/compare.sh                       # mlp 784-400-20, batch 128, 3 rounds, 2 epochs per run
#   bench/compare.sh --scaling             # + batch 32/128/512 × hidden 400/1024, all three stacks
#   bench/compare.sh --conv                # + the conv VAE (latent 2) against PyTorch
#   bench/compare.sh --rounds 5 --epochs 3 --threads 2
#   VAE_BEFORE=/tmp/vae-old bench/compare.sh --peers "swiftvae-before swiftvae jax"   # before/after
#
# Every run times only its training loop; with epochs >= 2 the first epoch (warm-up, JIT
# compile for JAX) is left out and the run's number is the median of the later epochs.
# Environment: TORCH_PY, JAX_PY (python interpreters), VAE (the vae binary; default: a release
# build in .build-perf), VAE_BEFORE (another vae binary, the peer "swiftvae-before": a change's
# before and after in the same alternation), DATA (default /usr/share/datasets/fashion-mnist).
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=3 EPOCHS=2 THREADS=$(nproc) BATCH=128 HIDDEN=400 SCALING=0 CONV=0 CONV_EPOCHS=2 PEERS="swiftvae pytorch jax"
while [ $# -gt 0 ]; do
    case "$1" in
        --rounds) ROUNDS=$2; shift ;;
        --epochs) EPOCHS=$2; shift ;;
        --threads) THREADS=$2; shift ;;
        --batch) BATCH=$2; shift ;;
        --hidden) HIDDEN=$2; shift ;;
        --scaling) SCALING=1 ;;
        --conv) CONV=1 ;;
        --conv-epochs) CONV_EPOCHS=$2; shift ;;
        --peers) PEERS=$2; shift ;;
        -h|--help) sed -n 2,16p "$0"; exit 0 ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
    shift
done

# The peers live in virtual environments beside the repo's sources (ignored by git):
#   python3 -m venv --system-site-packages .venv-torch && .venv-torch/bin/pip install torch
#   python3 -m venv --system-site-packages .venv-jax && .venv-jax/bin/pip install jax optax
TORCH_PY=${TORCH_PY:-.venv-torch/bin/python}
JAX_PY=${JAX_PY:-.venv-jax/bin/python}
DATA=${DATA:-/usr/share/datasets/fashion-mnist}
if [ -z "${VAE:-}" ]; then
    swift build -c release --scratch-path .build-perf >/dev/null
    VAE=.build-perf/release/vae
fi
OUT=$(mktemp -d /tmp/vae-compare.XXXXXX)
RESULTS=$OUT/results.jsonl
echo "results: $RESULTS   load before: $(cat /proc/loadavg)"
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores; $($VAE bench --kernels 2>/dev/null | tail -1 | sed -n 's/.*"gemm":"\([^"]*\)".*/\1/p')"

# run <label> <stack> <model> <batch> <hidden> <epochs>
run() {
    local label=$1 stack=$2 model=$3 batch=$4 hidden=$5 epochs=$6 line
    case "$stack" in
        swiftvae|swiftvae-before)
            local bin=$VAE
            [ "$stack" = swiftvae-before ] && bin=${VAE_BEFORE:?VAE_BEFORE names the binary of swiftvae-before}
            line=$(VAE_THREADS=$THREADS "$bin" bench --model "$model" --batch "$batch" --epochs "$epochs" \
                         ${hidden:+--hidden $hidden} --data "$DATA" 2>/dev/null | tail -1) ;;
        pytorch) line=$("$TORCH_PY" bench/peers/torch_mlp.py --model "$model" --batch "$batch" --epochs "$epochs" \
                         ${hidden:+--hidden $hidden} --threads "$THREADS" --data "$DATA" 2>/dev/null | tail -1) ;;
        jax) line=$(taskset -c 0-$((THREADS - 1)) \
                         "$JAX_PY" bench/peers/jax_mlp.py --batch "$batch" --epochs "$epochs" \
                         ${hidden:+--hidden $hidden} --data "$DATA" 2>/dev/null | tail -1) ;;
    esac
    if [ -z "$line" ]; then echo "  $label $stack: failed" >&2; return; fi
    echo "{\"label\": \"$label\", \"stack\": \"$stack\", \"load\": \"$(cut -d' ' -f1-3 /proc/loadavg)\", \"run\": $line}" >> "$RESULTS"
    printf '  %-22s %-9s %8s images/s  peak RSS %s MiB\n' "$label" "$stack" \
        "$(echo "$line" | sed -n 's/.*"images_per_second": *\([0-9.]*\).*/\1/p')" \
        "$(echo "$line" | sed -n 's/.*"peak_rss_mib": *\([0-9.]*\).*/\1/p')"
}

# series <label> <model> <batch> <hidden> <epochs> <stacks...>: A B C, A B C, ...
series() {
    local label=$1 model=$2 batch=$3 hidden=$4 epochs=$5; shift 5
    for r in $(seq 1 "$ROUNDS"); do
        for s in "$@"; do run "$label" "$s" "$model" "$batch" "$hidden" "$epochs"; done
    done
}

echo "== mlp 784-$HIDDEN-20, batch $BATCH, $THREADS threads, $ROUNDS rounds × $EPOCHS epochs"
series "mlp-h$HIDDEN-b$BATCH" mlp "$BATCH" "$HIDDEN" "$EPOCHS" $PEERS
if [ "$CONV" = 1 ]; then
    echo "== conv latent 2, batch 128 (PyTorch only: XLA is 10× slower on it)"
    series "conv-b128" conv 128 "" "$CONV_EPOCHS" $(echo "$PEERS" | sed 's/jax//')
fi
if [ "$SCALING" = 1 ]; then
    echo "== scaling"
    for h in 400 1024; do
        for b in 32 128 512; do
            [ "$h" = "$HIDDEN" ] && [ "$b" = "$BATCH" ] && continue   # already measured
            series "mlp-h$h-b$b" mlp "$b" "$h" "$EPOCHS" $PEERS
        done
    done
fi
echo "load after: $(cat /proc/loadavg)"

python3 - "$RESULTS" <<'EOF'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
labels, stacks = [], ["swiftvae", "pytorch", "jax"]
for r in rows:
    if r["label"] not in labels: labels.append(r["label"])
def med(label, stack, key):
    v = [r["run"][key] for r in rows if r["label"] == label and r["stack"] == stack]
    return (statistics.median(v), len(v)) if v else (None, 0)
print()
print("| config | SwiftVAE images/s | PyTorch images/s | JAX (scan) images/s | × PyTorch | × JAX | peak RSS MiB (ours / torch / jax) | runs |")
print("| --- | ---: | ---: | ---: | ---: | ---: | --- | --- |")
for lab in labels:
    o, n = med(lab, "swiftvae", "images_per_second")
    t, nt = med(lab, "pytorch", "images_per_second")
    j, nj = med(lab, "jax", "images_per_second")
    f = lambda v: f"{v:,.0f}" if v else "—"
    rt = f"{o / t:.2f}" if o and t else "—"
    rj = f"{o / j:.2f}" if o and j else "—"
    rss = " / ".join(f"{v:.0f}" if v else "—" for v in (med(lab, s, "peak_rss_mib")[0] for s in stacks))
    print(f"| {lab} | {f(o)} | {f(t)} | {f(j)} | {rt} | {rj} | {rss} | {n}/{nt}/{nj} |")
# The same ratios round by round: each SwiftVAE run against the peer's run of the same round,
# seconds apart. On a machine whose speed drifts (a VM's modes), these pairs are steadier than
# the ratio of the two medians above.
def runs(label, stack):
    return [r["run"]["images_per_second"] for r in rows if r["label"] == label and r["stack"] == stack]
print()
print("| config | × PyTorch per round | × JAX per round |")
print("| --- | --- | --- |")
for lab in labels:
    o = runs(lab, "swiftvae")
    cells = []
    for peer in ("pytorch", "jax"):
        p = runs(lab, peer)
        q = [a / b for a, b in zip(o, p)]
        cells.append("—" if not q else " ".join(f"{x:.2f}" for x in q) + f" (median {statistics.median(q):.2f})")
    print(f"| {lab} | {cells[0]} | {cells[1]} |")
if any(r["stack"] == "swiftvae-before" for r in rows):
    print()
    print("| config | SwiftVAE before images/s | after | after / before (medians) | after / before per round |")
    print("| --- | ---: | ---: | ---: | --- |")
    for lab in labels:
        b, a = runs(lab, "swiftvae-before"), runs(lab, "swiftvae")
        if not b or not a: continue
        q = [x / y for x, y in zip(a, b)]
        print(f"| {lab} | {statistics.median(b):,.0f} | {statistics.median(a):,.0f} | "
              f"{statistics.median(a) / statistics.median(b):.3f} | " + " ".join(f"{x:.2f}" for x in q) + " |")
EOF
