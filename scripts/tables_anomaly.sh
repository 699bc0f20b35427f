#!/usr/bin/env bash
# Anomaly detection on scikit-learn's real tables: SwiftVAE's ROC-AUC next to IsolationForest's on
# the very same split (scripts/tables_peers.py). Run by hand, never by CI; needs scikit-learn.
#
#   scripts/tables_anomaly.sh [OUT=runs/tables-anomaly] [SEEDS="1 2 3 4 5"]
#
# For each table and choice of normal classes: the model trains on the training rows of the normal
# classes (`--classes`), then `vae anomaly --normal` scores the test rows (negative ELBO averaged over
# 50 draws of z, and the IWAE estimate with K = 200); one line per table with the ROC-AUC of every
# seed. The split is seed 1 for every model (`--test-fraction 0.2`), as in tables_peers.py.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-runs/tables-anomaly}
SEEDS=${2:-1 2 3 4 5}
if [ -z "${VAE:-}" ]; then swift build -c release --product vae >/dev/null; fi
vae=${VAE:-.build/release/vae}
SK=$(python3 -c "import os, sklearn; print(os.path.join(os.path.dirname(sklearn.__file__), 'datasets', 'data'))")
mkdir -p "$OUT"
# digits ships without a header and gzipped: write it with one (p0 … p63, target)
python3 - "$SK/digits.csv.gz" "$OUT/digits.csv" <<'EOF'
import gzip, sys
with gzip.open(sys.argv[1], "rt") as f, open(sys.argv[2], "w") as out:
    out.write(",".join([f"p{i}" for i in range(64)] + ["target"]) + "\n")
    for line in f.read().split():
        v = [str(int(float(x))) for x in line.split(",")]
        out.write(",".join(v) + "\n")
EOF
auc() { grep -o "ROC-AUC.*" | sed -E 's/.*\): ([0-9.]+).*/\1/'; }
echo "| table | normal | IsolationForest (seed 1; seeds 2–6) | SwiftVAE −ELBO (seeds $SEEDS) | SwiftVAE IWAE-200 |"
echo "| --- | --- | --- | --- | --- |"
while read -r name file normal; do
    forest=$(python3 scripts/tables_peers.py "$file" --label target --normal "$normal" --out "$OUT/$name-peers" \
        | python3 -c "import json, sys; d = json.load(sys.stdin); print(d['isolation_forest_roc_auc'], '(other forest seeds', ' '.join(map(str, d['isolation_forest_roc_auc_other_seeds'])) + ')')")
    elbo=""; iwae=""
    for s in $SEEDS; do
        run="$OUT/$name-$s"
        rm -rf "$run"
        $vae train --data "$file" --label target --classes "$normal" --seed "$s" --out "$run" --no-report >"$run.log" 2>&1
        elbo="$elbo $($vae anomaly "$run" --normal "$normal" --samples 50 --out "$run-scores.csv" 2>&1 | auc)"
        iwae="$iwae $($vae anomaly "$run" --normal "$normal" --iwae 200 --out "$run-iwae.csv" 2>&1 | auc)"
    done
    echo "| $name | $normal | $forest |$elbo |$iwae |"
done <<EOF
breast_cancer $SK/breast_cancer.csv 1
iris $SK/iris.csv 2
wine $SK/wine_data.csv 1
digits-0 $OUT/digits.csv 0
digits-0to4 $OUT/digits.csv 0,1,2,3,4
EOF
