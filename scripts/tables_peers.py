#!/usr/bin/env python3
"""scikit-learn's numbers on a CSV table, to set beside SwiftVAE's `vae anomaly` and `vae impute`.

Run by hand, never by CI (it needs scikit-learn: `pip install scikit-learn`):

    python3 scripts/tables_peers.py FILE.csv --label COL [--ignore A,B] [--normal CLASS,...]
        [--test-fraction 0.2] [--seed 1] [--missing-fraction 0.2] [--missing-seed 1] [--out DIR]

It reads the table as SwiftVAE does (header row, delimiter `,` `;` or tab from the header line,
missing cells: empty, NA, NaN, ? in any case; the scikit-learn layout "n_samples,n_features,class
names" detected; rows without a label dropped; numeric columns = all non-missing cells numbers,
the others categorical) and splits it with SwiftVAE's rule (`TableSplitRule`, ported below:
nTest = round(N * fraction), xoshiro256** seeded like `RNG(seed:)`, Fisher-Yates, test = the
first nTest of the permutation).

Anomaly detection: IsolationForest (seeded) fitted on the training rows of the --normal classes
(default: the most frequent class), features standardised with the training rows' statistics and
categories one-hot; ROC-AUC on the test rows, positives = rows of other classes.

Imputation: a copy of the file with --missing-fraction of its observed feature cells emptied
(seeded), written to OUT/emptied.csv with the truth in OUT/truth.csv (id, column, value) and the
split in OUT/split.csv (id, split) — run SwiftVAE on the very same files. KNNImputer(5) and
IterativeImputer are fitted on the training rows of the emptied table and fill every row; RMSE over
the emptied numeric cells in units of each column's training standard deviation (so columns weigh
the same; 1.0 is roughly what filling with the mean gives), for the test rows and for all rows;
accuracy over emptied categorical cells (argmax of the imputed one-hot).
"""
import argparse, csv, io, json, math, os, re, sys

# One BLAS thread: on a small, shared machine several threads per process made IterativeImputer
# take minutes instead of seconds (and one thread keeps the numbers reproducible).
for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

MASK64 = (1 << 64) - 1
MISSING = {"", "na", "nan", "?"}
NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


# ---- SwiftVAE's split rule (Sources/VAEKit/Formats/TableSplit.swift, Sources/VAECore/Random.swift)

def _splitmix(x):
    x = (x + 0x9E3779B97F4A7C15) & MASK64
    z = x
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return x, z ^ (z >> 31)


class Xoshiro:
    def __init__(self, seed):
        sm, s = seed & MASK64, []
        for _ in range(4):
            sm, v = _splitmix(sm)
            s.append(v)
        self.s = s

    def next(self):
        s = self.s
        rotl = lambda x, k: ((x << k) | (x >> (64 - k))) & MASK64
        result = (rotl((s[1] * 5) & MASK64, 7) * 9) & MASK64
        t = (s[1] << 17) & MASK64
        s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3]; s[2] ^= t
        s[3] = rotl(s[3], 45)
        return result

    def below(self, n):  # Lemire's unbiased method, as RNG.int(below:)
        m = self.next() * n
        low = m & MASK64
        if low < n:
            threshold = ((1 << 64) - n) % n
            while low < threshold:
                m = self.next() * n
                low = m & MASK64
        return m >> 64


def swiftvae_split(n, fraction, seed):
    """(train, test) row positions, each in file order."""
    if n <= 0:
        return [], []
    x = n * fraction
    n_test = int(math.floor(x + 0.5)) if x >= 0 else -int(math.floor(-x + 0.5))  # Swift's .rounded()
    if fraction > 0 and n >= 2:
        n_test = max(n_test, 1)
    n_test = min(max(n_test, 0), n - 1)
    rng, p = Xoshiro(seed), list(range(n))
    for i in range(n - 1, 0, -1):
        j = rng.below(i + 1)
        p[i], p[j] = p[j], p[i]
    test = set(p[:n_test])
    return [i for i in range(n) if i not in test], sorted(test)


# ---- reading the table as SwiftVAE does

def read_table(path):
    raw = open(path, "rb").read()
    text = raw.decode("utf-8-sig")
    first = text.split("\n", 1)[0]
    counts, inq = {",": 0, ";": 0, "\t": 0}, False
    for ch in first:
        if ch == '"':
            inq = not inq
        elif not inq and ch in counts:
            counts[ch] += 1
    delim = max([";", "\t"], key=lambda d: counts[d])
    delim = delim if counts[delim] > counts[","] else ","
    rows = [r for r in csv.reader(io.StringIO(text, newline=""), delimiter=delim) if r and r != [""]]
    header, data = rows[0], rows[1:]
    header_line = text.splitlines()[0]
    target_names = None
    h = [c.strip() for c in header]
    if len(h) >= 2 and h[0].isdigit() and h[1].isdigit() and data and int(h[1]) + 1 == len(data[0]) \
            and int(h[0]) == len(data) and (int(h[1]) + 1 != len(h) or not any(c.isdigit() for c in h[2:])):
        f = int(h[1])
        names = ["feature_%d" % (i + 1) for i in range(f)] + ["target"]
        target_names = h[2:]
    else:
        names = [c if c else "column %d" % (i + 1) for i, c in enumerate(h)]
    for r in data:
        if len(r) != len(names):
            sys.exit("%s: a row of %d fields, the header has %d" % (path, len(r), len(names)))
    return names, data, delim, header_line, target_names


def is_missing(cell):
    return cell.strip().lower() in MISSING


def sort_levels(values):
    if all(NUMBER.match(v) for v in values):
        return sorted(values, key=lambda v: (float(v), v.encode()))
    return sorted(values, key=lambda v: v.encode())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("csv")
    ap.add_argument("--label", required=True)
    ap.add_argument("--ignore", default="")
    ap.add_argument("--normal", default=None, help="comma-separated class values (default: the most frequent class)")
    ap.add_argument("--test-fraction", type=float, default=0.2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--missing-fraction", type=float, default=0.2)
    ap.add_argument("--missing-seed", type=int, default=1)
    ap.add_argument("--out", default="tables-peers")
    ap.add_argument("--score", action="append", default=[], metavar="FILLED.csv",
                    help="also score these filled copies of OUT/emptied.csv (e.g. `vae impute RUN --data OUT/emptied.csv --out F`)")
    a = ap.parse_args()

    import numpy as np
    from sklearn.ensemble import IsolationForest
    from sklearn.metrics import roc_auc_score
    from sklearn.impute import KNNImputer
    from sklearn.experimental import enable_iterative_imputer  # noqa: F401
    from sklearn.impute import IterativeImputer

    names, data, delim, header_line, target_names = read_table(a.csv)
    if a.label not in names:
        sys.exit("no column %r; columns: %s" % (a.label, ", ".join(names)))
    ignore = [c for c in a.ignore.split(",") if c]
    li = names.index(a.label)
    features = [i for i, n in enumerate(names) if i != li and n not in ignore]
    kept = [r for r in range(len(data)) if not is_missing(data[r][li])]
    labels = [data[r][li].strip() for r in kept]
    train_pos, test_pos = swiftvae_split(len(kept), a.test_fraction, a.seed)
    train_rows, test_rows = [kept[p] for p in train_pos], [kept[p] for p in test_pos]

    kinds = {}
    for c in features:
        cells = [data[r][c].strip() for r in range(len(data)) if not is_missing(data[r][c])]
        kinds[c] = "numeric" if cells and all(NUMBER.match(v) for v in cells) else sort_levels(sorted(set(cells)))

    def encode(rows, table, stats):
        """rows × encoded width, NaN where missing (numbers standardised with `stats`)."""
        out = []
        for r in rows:
            v = []
            for c in features:
                cell = table[r][c]
                if kinds[c] == "numeric":
                    mean, std = stats[c]
                    v.append(np.nan if is_missing(cell) else (float(cell) - mean) / std)
                else:
                    lv = kinds[c]
                    v += [np.nan] * len(lv) if is_missing(cell) else [1.0 if cell.strip() == l else 0.0 for l in lv]
            out.append(v)
        return np.array(out, dtype=np.float64)

    def fit_stats(table):
        stats = {}
        for c in features:
            if kinds[c] == "numeric":
                vals = np.array([float(table[r][c]) for r in train_rows if not is_missing(table[r][c])])
                std = vals.std() if len(vals) else 1.0
                stats[c] = (vals.mean() if len(vals) else 0.0, std if std > 0 else 1.0)
        return stats

    result = {"file": a.csv, "rows": len(data), "rows_with_label": len(kept), "train": len(train_rows),
              "test": len(test_rows), "features": [names[c] for c in features],
              "categorical": [names[c] for c in features if kinds[c] != "numeric"], "seed": a.seed}

    # ---- anomaly detection
    values = sort_levels(sorted(set(labels)))
    label_of = dict(zip(kept, labels))
    normal = a.normal.split(",") if a.normal else [max(values, key=lambda v: sum(label_of[r] == v for r in train_rows))]
    stats = fit_stats(data)
    x_train = encode([r for r in train_rows if label_of[r] in normal], data, stats)
    x_test = encode(test_rows, data, stats)
    col_mean = np.nanmean(x_train, axis=0)
    col_mean = np.where(np.isnan(col_mean), 0, col_mean)
    fill = lambda x: np.where(np.isnan(x), col_mean, x)  # IsolationForest takes no NaN: mean-fill
    forest = IsolationForest(random_state=a.seed).fit(fill(x_train))
    y = [0 if label_of[r] in normal else 1 for r in test_rows]
    if 0 < sum(y) < len(y):
        result["isolation_forest_roc_auc"] = round(float(roc_auc_score(y, -forest.score_samples(fill(x_test)))), 4)
        # the forest's own randomness, on the same split: five more seeds
        more = [roc_auc_score(y, -IsolationForest(random_state=a.seed + k).fit(fill(x_train)).score_samples(fill(x_test)))
                for k in range(1, 6)]
        result["isolation_forest_roc_auc_other_seeds"] = [round(float(v), 4) for v in more]
    result["normal"] = normal
    result["classes"] = [target_names[int(v)] if target_names and v.isdigit() and int(v) < len(target_names) else v for v in values]

    # ---- imputation: empty a fraction of the observed feature cells
    os.makedirs(a.out, exist_ok=True)
    observed = [(r, c) for r in range(len(data)) for c in features if not is_missing(data[r][c])]
    rng = np.random.RandomState(a.missing_seed)
    chosen = rng.choice(len(observed), size=int(round(a.missing_fraction * len(observed))), replace=False)
    emptied = [list(row) for row in data]
    truth = []
    for k in sorted(chosen):
        r, c = observed[k]
        truth.append((r, c, data[r][c]))
        emptied[r][c] = ""
    with open(os.path.join(a.out, "emptied.csv"), "w", newline="") as f:
        f.write(header_line + "\n")
        csv.writer(f, delimiter=delim, lineterminator="\n").writerows(emptied)
    with open(os.path.join(a.out, "truth.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["id", "column", "value"])
        w.writerows([(r + 1, names[c], v) for r, c, v in truth])
    with open(os.path.join(a.out, "split.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["id", "split"])
        split_of = {r: "train" for r in train_rows}
        split_of.update({r: "test" for r in test_rows})
        w.writerows([(r + 1, split_of.get(r, "none")) for r in range(len(data))])

    stats_e = fit_stats(emptied)  # SwiftVAE would fit its statistics on the emptied file, too
    x_fit = encode(train_rows, emptied, stats_e)
    every = list(range(len(data)))
    x_all = encode(every, emptied, stats_e)
    offsets, o = {}, 0
    for c in features:
        offsets[c] = o
        o += 1 if kinds[c] == "numeric" else len(kinds[c])
    test_set = set(test_rows)

    def score(filled):
        se = {"all": [], "test": []}
        hits = {"all": [], "test": []}
        for r, c, v in truth:
            keys = ["all"] + (["test"] if r in test_set else [])
            if kinds[c] == "numeric":
                mean, std = stats_e[c]
                err = filled[r, offsets[c]] - (float(v) - mean) / std
                for key in keys: se[key].append(err * err)
            else:
                k = int(np.argmax(filled[r, offsets[c]:offsets[c] + len(kinds[c])]))
                for key in keys: hits[key].append(kinds[c][k] == v.strip())
        out = {}
        for key in ("test", "all"):
            if se[key]: out["rmse_" + key] = round(math.sqrt(sum(se[key]) / len(se[key])), 4)
            if hits[key]: out["accuracy_" + key] = round(sum(hits[key]) / len(hits[key]), 4)
        return out

    result["emptied_cells"] = len(truth)
    result["mean_fill"] = score(np.where(np.isnan(x_all), np.nan_to_num(np.nanmean(x_fit, axis=0)), x_all))
    result["knn5"] = score(KNNImputer(n_neighbors=5).fit(x_fit).transform(x_all))
    result["iterative"] = score(IterativeImputer(random_state=a.seed, max_iter=10).fit(x_fit).transform(x_all))
    for path in a.score:
        # a filled file is read like the original, encoded with the emptied file's statistics
        _, filled_rows, _, _, _ = read_table(path)
        result["scored " + path] = score(encode(every, filled_rows, stats_e))
    result["files"] = {k: os.path.join(a.out, k + ".csv") for k in ("emptied", "truth", "split")}
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
