#!/usr/bin/env bash
# Imputation on scikit-learn's real tables: SwiftVAE's RMSE next to mean fill, KNNImputer(5) and
# IterativeImputer on the very same emptied cells (scripts/tables_peers.py). By hand, never by CI;
# needs scikit-learn.
#
#   scripts/tables_impute.sh [OUT=runs/tables-impute] [SEEDS="1 2 3"]
#
# For each table: tables_peers.py empties 20% of the feature cells (seed 1) and fits the peers on
# the training rows; `vae train --data emptied.csv --label target` with the defaults for a table
# (training seeds SEEDS), `vae impute` fills every row, and tables_peers.py scores the filled file.
# RMSE over the emptied cells of all rows, in units of each column's standard deviation.
# TRAIN_FLAGS="--likelihood gaussian-learned" (say) trains with other settings than the defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-runs/tables-impute}
SEEDS=${2:-1 2 3}
if [ -z "${VAE:-}" ]; then swift build -c release --product vae >/dev/null; fi
vae=${VAE:-.build/release/vae}
SK=$(python3 -c "import os, sklearn; print(os.path.join(os.path.dirname(sklearn.__file__), 'datasets', 'data'))")
mkdir -p "$OUT"
rmse() { python3 -c "import json, sys; d = json.load(sys.stdin); print(' '.join(str(v['rmse_all']) for k, v in d.items() if k.startswith('scored')))"; }
echo "| table | mean fill | KNNImputer(5) | IterativeImputer | SwiftVAE (training seeds $SEEDS) |"
echo "| --- | --- | --- | --- | --- |"
while read -r name file; do
    dir="$OUT/$name"
    peers=$(python3 scripts/tables_peers.py "$file" --label target --out "$dir" 2>/dev/null)
    filled=()
    for s in $SEEDS; do
        run="$dir-run-$s"
        rm -rf "$run"
        $vae train --data "$dir/emptied.csv" --label target --seed "$s" --out "$run" --no-report ${TRAIN_FLAGS:-} >"$run.log" 2>&1
        $vae impute "$run" --data "$dir/emptied.csv" --out "$run-filled.csv" ${IMPUTE_FLAGS:-} >>"$run.log" 2>&1
        filled+=(--score "$run-filled.csv")
    done
    ours=$(python3 scripts/tables_peers.py "$file" --label target --out "$dir" "${filled[@]}" 2>/dev/null | rmse)
    echo "$peers" | python3 -c "
import json, sys
d = json.load(sys.stdin)
print('| $name |', d['mean_fill']['rmse_all'], '|', d['knn5']['rmse_all'], '|', d['iterative']['rmse_all'], '| $ours |')"
done <<EOF
breast_cancer $SK/breast_cancer.csv
wine $SK/wine_data.csv
iris $SK/iris.csv
EOF
