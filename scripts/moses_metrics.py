#!/usr/bin/env python3
"""MOSES benchmark metrics for a file of generated SMILES, with MOSES's own definitions.

Re-implements, without pandas/torch/scipy, the metrics of MOSES (Polykovskiy et al. 2020,
github.com/molecularsets/moses, `moses/metrics/metrics.py` `get_all_metrics`, `moses/metrics/utils.py`,
`moses/utils.py` `get_mol`), with the same RDKit calls, in the same order on the same inputs:

  Valid        fraction_valid: share of ALL samples (lines) that `get_mol` turns into a molecule:
               not the empty string, `Chem.MolFromSmiles` not None, `Chem.SanitizeMol` raises no
               ValueError. (The empty string is the only input MolFromSmiles turns into a 0-atom
               molecule; get_mol rejects it, so "valid" = "RDKit molecule with >= 1 atom".)
               A blank line is a sample, and invalid (in MOSES an empty sample goes through its CSV as
               NaN -> "nan", which is invalid too).
  gen          remove_invalid(canonize=True): the RDKit-canonical SMILES (`Chem.MolToSmiles`) of the
               valid samples, in order, duplicates kept. Everything below is computed on gen.
  Unique@k     fraction_unique(gen, k): len(set(canonic_smiles(s) for s in gen[:k])) / len(gen[:k]),
               i.e. over the first k VALID samples (if fewer than k are valid, over all of them, with a
               warning, as MOSES).
  mols         get_mol(s) for s in gen (canonical SMILES parsed again, duplicates kept).
  IntDiv       internal_diversity(mols, p=1) = 1 - (1/|A|^2) sum_{x,y in A x A} T(x, y): mean Tanimoto
               similarity over ALL ordered pairs, the diagonal (x = y, T = 1) and duplicates INCLUDED, of
               Morgan fingerprints (`GetMorganFingerprintAsBitVect(mol, 2, nBits=1024)`) of the valid
               samples. A 0/0 similarity (two empty fingerprints) counts as 1, as in MOSES.
  IntDiv2      internal_diversity(mols, p=2) = 1 - mean_x sqrt(mean_y T(x, y)^2) (MOSES's code: root of
               the mean square per row, then the mean over rows).
  Filters      fraction_passes_filters(mols): share of mols that pass `mol_passes_filters`: no ring of
               >= 8 atoms, no formal charge, only atoms C N S O F Cl Br H, no match (on Chem.AddHs(mol))
               of any of the 22 MCF + 480 PAINS SMARTS (mcf.csv, wehi_pains.csv), and a non-empty
               non-isomeric SMILES that parses again.
  Novelty      novelty(mols, train): S = set(MolToSmiles(m) for m in mols); |S - set(train)| / |S|.
               The train SMILES are compared AS GIVEN (not canonicalised), as MOSES does (they are RDKit
               canonical, but RDKit versions drift: with RDKit 2026.09, 2 of 20,000 differ).
  SNN/Test     (with --test) SNNMetric: mean over mols of the max Tanimoto (same fingerprints) to the
               test set.
  Frag/Test    (with --test) FragMetric: cosine similarity of the BRICS-fragment counts
               (`FragmentOnBRICSBonds`, MolToSmiles split on '.') of mols and of the test molecules.
  Scaf/Test    (with --test) ScafMetric: cosine similarity of the Bemis-Murcko scaffold counts
               (`MurckoScaffold.GetScaffoldForMol`, scaffolds with < 2 rings dropped, MOSES's
               min_rings=2) of mols and of the test molecules. It depends on the sample size (the test
               set has 77,114 distinct scaffolds in 163,412 molecules): 30,000 TRAINING molecules
               score only 0.851 (SNN 0.652, Frag 0.997).
  FCD          not computed (needs ChemNet; see ../shared/data/moses/README.md).

  Valid (Swift) the share of lines that SwiftVAE's own checker (`vae smiles FILE --out TSV`, column 2)
               calls valid, and on how many lines it disagrees with RDKit.

Checked against MOSES: the numbers of MOSES's tests/test_metrics.py (valid, unique@3, IntDiv, Filters,
SNN, Frag, Scaf) come out to <= 1.5e-9; the test-set side of SNN/Frag/Scaf matches MOSES's precomputed
test_stats.npz (molsets 0.3.1) but for RDKit drift (6 of 176,074 fingerprints, 12 of 16,038 fragment
and 10 of 77,114 scaffold counts differ); IntDiv/SNN equal RDKit's TanimotoSimilarity summed pair by pair.

Differences from running MOSES itself: no pandas (the samples file is read as plain lines, not as a
CSV); similarities are summed in float64 from exact integer intersection counts (MOSES uses float32 on
GPU/CPU, differences ~1e-7); MOSES raises an error where a canonical SMILES of a valid sample does not
parse again (unique@k) or nothing is valid; here a warning is printed instead. Such a molecule is
None in mols: as in MOSES it fails Filters, is left out of Novelty, and its NaN fingerprint makes its
similarity 1 to everything (IntDiv, SNN).

Cost for 30,000 samples on 2 busy cores: parsing 10 s, IntDiv 40 s (tiles of a float32 product of
0/1 fingerprint matrices, exact intersection counts; symmetric, so only the upper triangle), Filters
3-4 min (502 SMARTS per molecule), Novelty 5 s; peak memory < 2 GB. --test adds ~7 min (176,074
test molecules: parsing, BRICS, scaffolds, 5e9 similarities).

Usage (from the repo root; the defaults are the MOSES files in ../shared/data/moses):
    python3 scripts/moses_metrics.py --samples samples.smi [--json metrics.json]
        [--train ../shared/data/moses/train.csv.gz] [--test ../shared/data/moses/test.csv.gz]
        [--vae .build/release/vae] [--k 1000 10000]
"""
import argparse
import csv
import gzip
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter

import numpy as np
from rdkit import Chem, rdBase
from rdkit.Chem import AllChem
from rdkit.Chem.Scaffolds import MurckoScaffold

if hasattr(AllChem, "GetMorganFingerprintAsBitVect"):  # MOSES's call (deprecated in new RDKit)
    def morgan_fp(mol):
        return AllChem.GetMorganFingerprintAsBitVect(mol, 2, nBits=1024)
else:  # the generator gives the same bits (checked on 3,000 MOSES molecules, RDKit 2026.09)
    from rdkit.Chem import rdFingerprintGenerator
    _MORGAN = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=1024)

    def morgan_fp(mol):
        return _MORGAN.GetFingerprint(mol)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.normpath(os.path.join(ROOT, "..", "shared", "data", "moses"))

# MOSES README, VAE row (mean over 3 runs), for the table's reference column.
MOSES_VAE = {"valid": 0.9767, "unique_at_1k": 1.0, "unique_at_10k": 0.9984, "novelty": 0.6949,
             "int_div": 0.8558, "filters": 0.997, "snn_test": 0.6257, "frag_test": 0.9994,
             "scaf_test": 0.9386}


def log(message):
    print(message, file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------------------- reading

def read_lines(path):
    """Lines of a plain or gzip text file: '\\n'-separated, a trailing '\\r' dropped, no line after a
    final newline (as `vae smiles` counts them). Blank lines are kept."""
    with open(path, "rb") as handle:
        raw = handle.read()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    text = raw.decode("utf-8", errors="replace")
    if text == "":
        return []
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def read_smiles_column(path):
    """The SMILES column of a (gzip) CSV file with a header, values as given (MOSES's
    `pd.read_csv(path)['SMILES'].values`)."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        column = header.index("SMILES")
        return [row[column] for row in reader if row]


def load_filters(mcf_path, pains_path):
    """MOSES's `_filters`: the `smarts` column of mcf.csv (header `names,smarts`) followed by the first
    column of wehi_pains.csv (no header), each parsed by Chem.MolFromSmarts."""
    with open(mcf_path, newline="") as handle:
        rows = list(csv.reader(handle))
    column = rows[0].index("smarts")
    smarts = [row[column] for row in rows[1:] if row]
    with open(pains_path, newline="") as handle:
        smarts += [row[0] for row in csv.reader(handle) if row]
    filters = [Chem.MolFromSmarts(s) for s in smarts]
    if any(f is None for f in filters):
        bad = [s for s, f in zip(smarts, filters) if f is None]
        raise SystemExit("unparsable filter SMARTS: %r" % bad[:3])
    return filters


# ------------------------------------------------------------------- MOSES's per-molecule functions

def get_mol(smiles_or_mol):
    """moses.utils.get_mol."""
    if isinstance(smiles_or_mol, str):
        if len(smiles_or_mol) == 0:
            return None
        mol = Chem.MolFromSmiles(smiles_or_mol)
        if mol is None:
            return None
        try:
            Chem.SanitizeMol(mol)
        except ValueError:
            return None
        return mol
    return smiles_or_mol


def canonic_smiles(smiles_or_mol):
    """moses.metrics.utils.canonic_smiles."""
    mol = get_mol(smiles_or_mol)
    if mol is None:
        return None
    return Chem.MolToSmiles(mol)


ALLOWED = {"C", "N", "S", "O", "F", "Cl", "Br", "H"}


def mol_passes_filters(mol, filters, allowed=ALLOWED, isomericSmiles=False):
    """moses.metrics.utils.mol_passes_filters, line by line."""
    mol = get_mol(mol)
    if mol is None:
        return False
    ring_info = mol.GetRingInfo()
    if ring_info.NumRings() != 0 and any(len(x) >= 8 for x in ring_info.AtomRings()):
        return False
    h_mol = Chem.AddHs(mol)
    if any(atom.GetFormalCharge() != 0 for atom in mol.GetAtoms()):
        return False
    if any(atom.GetSymbol() not in allowed for atom in mol.GetAtoms()):
        return False
    if any(h_mol.HasSubstructMatch(smarts) for smarts in filters):
        return False
    smiles = Chem.MolToSmiles(mol, isomericSmiles=isomericSmiles)
    if smiles is None or len(smiles) == 0:
        return False
    if Chem.MolFromSmiles(smiles) is None:
        return False
    return True


def fragmenter(mol):
    """moses.metrics.utils.fragmenter: BRICS fragments as SMILES."""
    fgs = AllChem.FragmentOnBRICSBonds(get_mol(mol))
    return Chem.MolToSmiles(fgs).split(".")


def compute_scaffold(mol, min_rings=2):
    """moses.metrics.utils.compute_scaffold."""
    mol = get_mol(mol)
    try:
        scaffold = MurckoScaffold.GetScaffoldForMol(mol)
    except (ValueError, RuntimeError):
        return None
    n_rings = scaffold.GetRingInfo().NumRings()
    scaffold_smiles = Chem.MolToSmiles(scaffold)
    if scaffold_smiles == "" or n_rings < min_rings:
        return None
    return scaffold_smiles


def fingerprint_matrix(mols):
    """Morgan radius 2, 1024 bits (MOSES `fingerprint(..., 'morgan')`) as a uint8 0/1 matrix, and a
    mask of the rows whose molecule is None (MOSES: a NaN row)."""
    matrix = np.zeros((len(mols), 1024), dtype=np.uint8)
    missing = np.zeros(len(mols), dtype=bool)
    for i, mol in enumerate(mols):
        if mol is None:
            missing[i] = True
            continue
        fp = morgan_fp(mol)
        matrix[i] = np.frombuffer(fp.ToBitString().encode("ascii"), dtype=np.uint8) - 48
    return matrix, missing


# -------------------------------------------------------------------------------------- Tanimoto

def tanimoto_tile(a, b, count_a, count_b, missing_a, missing_b):
    """Tanimoto similarities (float64) between the rows of a and of b (float32 0/1 matrices). The
    intersection counts come out of the float32 product exactly (integers <= 1024). 0/0 -> 1 and rows
    of missing molecules -> 1, as MOSES's `jac[np.isnan(jac)] = 1`."""
    inter = (a @ b.T).astype(np.float64)
    union = count_a[:, None] + count_b[None, :] - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        sim = inter / union
    sim[union == 0] = 1.0
    if missing_a.any():
        sim[missing_a, :] = 1.0
    if missing_b.any():
        sim[:, missing_b] = 1.0
    return sim


def internal_diversity(fps, missing, tile=2048):
    """(IntDiv, IntDiv2) of MOSES's `internal_diversity(p=1)` and `(p=2)`: all N x N ordered pairs,
    diagonal included. Computed on the upper triangle of tiles; an off-diagonal tile counts for its
    rows and, transposed, for its columns."""
    n = fps.shape[0]
    if n == 0:
        return float("nan"), float("nan")
    counts = fps.sum(axis=1, dtype=np.int64).astype(np.float64)
    row_sum = np.zeros(n)
    row_sq = np.zeros(n)
    starts = list(range(0, n, tile))
    total = len(starts) * (len(starts) + 1) // 2
    done = 0
    last = time.time()
    for bi, i in enumerate(starts):
        a = fps[i:i + tile].astype(np.float32)
        for j in starts[bi:]:
            b = a if j == i else fps[j:j + tile].astype(np.float32)
            sim = tanimoto_tile(a, b, counts[i:i + tile], counts[j:j + tile],
                                missing[i:i + tile], missing[j:j + tile])
            sq = sim * sim
            row_sum[i:i + tile] += sim.sum(axis=1)
            row_sq[i:i + tile] += sq.sum(axis=1)
            if j != i:
                row_sum[j:j + tile] += sim.sum(axis=0)
                row_sq[j:j + tile] += sq.sum(axis=0)
            done += 1
            if time.time() - last > 30:
                log("  IntDiv: %d/%d tiles" % (done, total))
                last = time.time()
    int_div = 1.0 - float(np.mean(row_sum / n))
    int_div2 = 1.0 - float(np.mean(np.sqrt(row_sq / n)))
    return int_div, int_div2


def snn(gen_fps, gen_missing, ref_fps, ref_missing, tile_gen=2048, tile_ref=4096):
    """MOSES `average_agg_tanimoto(ref, gen, agg='max')`: mean over gen of the max similarity to ref."""
    if gen_fps.shape[0] == 0 or ref_fps.shape[0] == 0:
        return float("nan")
    gen_counts = gen_fps.sum(axis=1, dtype=np.int64).astype(np.float64)
    ref_counts = ref_fps.sum(axis=1, dtype=np.int64).astype(np.float64)
    best = np.zeros(gen_fps.shape[0])
    last = time.time()
    for i in range(0, gen_fps.shape[0], tile_gen):
        a = gen_fps[i:i + tile_gen].astype(np.float32)
        for j in range(0, ref_fps.shape[0], tile_ref):
            b = ref_fps[j:j + tile_ref].astype(np.float32)
            sim = tanimoto_tile(a, b, gen_counts[i:i + tile_gen], ref_counts[j:j + tile_ref],
                                gen_missing[i:i + tile_gen], ref_missing[j:j + tile_ref])
            best[i:i + tile_gen] = np.maximum(best[i:i + tile_gen], sim.max(axis=1))
        if time.time() - last > 30:
            log("  SNN: %d/%d generated molecules" % (min(i + tile_gen, gen_fps.shape[0]),
                                                     gen_fps.shape[0]))
            last = time.time()
    return float(np.mean(best))


def cos_similarity(ref_counts, gen_counts):
    """moses.metrics.metrics.cos_similarity of two {name: count} dictionaries."""
    if len(ref_counts) == 0 or len(gen_counts) == 0:
        return float("nan")
    keys = sorted(set(ref_counts) | set(gen_counts))
    ref = np.array([ref_counts.get(k, 0) for k in keys], dtype=np.float64)
    gen = np.array([gen_counts.get(k, 0) for k in keys], dtype=np.float64)
    return float(np.dot(ref, gen) / (np.linalg.norm(ref) * np.linalg.norm(gen)))


def fragment_and_scaffold_counts(mols):
    """MOSES `compute_fragments` and `compute_scaffolds` (min_rings=2) of the non-None molecules."""
    fragments, scaffolds = Counter(), Counter()
    for mol in mols:
        if mol is None:  # MOSES would crash here; leave it out
            continue
        fragments.update(fragmenter(mol))
        scaffolds[compute_scaffold(mol)] += 1
    scaffolds.pop(None, None)
    return fragments, scaffolds


def reference_statistics(smiles):
    """What MOSES's `compute_intermediate_statistics` keeps of a test set for SNN, Frag and Scaf:
    fingerprints, BRICS-fragment counts, scaffold counts. One molecule at a time, so that memory holds
    the 180 MB fingerprint matrix and not 176,074 molecules."""
    fps = np.zeros((len(smiles), 1024), dtype=np.uint8)
    missing = np.zeros(len(smiles), dtype=bool)
    fragments, scaffolds = Counter(), Counter()
    for i, s in enumerate(smiles):
        mol = get_mol(s)
        if mol is None:
            missing[i] = True
            continue
        fps[i] = fingerprint_matrix([mol])[0][0]
        fragments.update(fragmenter(mol))
        scaffolds[compute_scaffold(mol)] += 1
    scaffolds.pop(None, None)
    return fps, missing, fragments, scaffolds


# ------------------------------------------------------------------------------------ Swift check

def swift_validity(vae, samples_path, n_samples):
    """Share of lines `vae smiles` calls valid, and its per-line verdicts (None if not available)."""
    if not os.path.exists(vae):
        print("Valid (Swift): skipped, no binary at %s" % vae)
        return None, None
    with tempfile.TemporaryDirectory() as tmp:
        tsv = os.path.join(tmp, "swift.tsv")
        run = subprocess.run([vae, "smiles", samples_path, "--out", tsv],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if run.returncode != 0 or not os.path.exists(tsv):
            print("Valid (Swift): skipped, `%s smiles` failed (exit %d): %s"
                  % (vae, run.returncode, run.stderr.strip()[:300]))
            return None, None
        with open(tsv, encoding="utf-8", errors="replace", newline="\n") as handle:
            lines = handle.read().split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    # string \t 1|0 \t class \t message; the string may itself hold tabs, so split from the right.
    verdicts = [line.rsplit("\t", 3)[1] == "1" for line in lines]
    if len(verdicts) != n_samples:
        print("Valid (Swift): warning: `vae smiles` wrote %d lines for %d samples"
              % (len(verdicts), n_samples))
    if not verdicts:
        return None, None
    return sum(verdicts) / len(verdicts), verdicts


# ------------------------------------------------------------------------------------------- main

def unique_key(k):
    return "unique_at_%dk" % (k // 1000) if k % 1000 == 0 else "unique_at_%d" % k


def compute(args):
    rdBase.DisableLog("rdApp.*")
    timings = {}
    result = {}

    t0 = time.time()
    samples = read_lines(args.samples)
    if not samples:
        raise SystemExit("no samples in %s" % args.samples)
    result["samples"] = len(samples)

    # Valid, and gen = remove_invalid(samples, canonize=True)
    first_mols = [get_mol(s) for s in samples]
    valid_mask = [m is not None for m in first_mols]
    n_valid = sum(valid_mask)
    result["valid"] = n_valid / len(samples)
    result["n_valid"] = n_valid
    gen = [Chem.MolToSmiles(m) for m in first_mols if m is not None]
    del first_mols
    result["n_unique_valid"] = len(set(gen))
    timings["parse"] = time.time() - t0

    # Unique@k on the first k valid canonical SMILES
    for k in args.k:
        head = gen[:k]
        if len(head) < k:
            print("warning: unique@%d computed on the %d valid samples only" % (k, len(head)))
        if not head:
            result[unique_key(k)] = float("nan")
            continue
        canonic = set(canonic_smiles(s) for s in head)
        if None in canonic:
            print("warning: a canonical SMILES does not parse again (MOSES raises here)")
        result[unique_key(k)] = len(canonic) / len(head)
        result[unique_key(k) + "_n"] = len(head)

    # mols: the canonical SMILES parsed again
    t0 = time.time()
    mols = [get_mol(s) for s in gen]
    n_missing = sum(m is None for m in mols)
    if n_missing:
        print("warning: %d canonical SMILES of valid samples do not parse again" % n_missing)
    result["n_reparse_failed"] = n_missing

    # IntDiv, IntDiv2
    fps, missing = fingerprint_matrix(mols)
    result["int_div"], result["int_div2"] = internal_diversity(fps, missing, tile=args.tile)
    timings["int_div"] = time.time() - t0

    # Filters
    t0 = time.time()
    filters = load_filters(args.mcf, args.pains)
    passes = [mol_passes_filters(m, filters) for m in mols]
    result["filters"] = float(np.mean(passes)) if passes else float("nan")
    timings["filters"] = time.time() - t0

    # Novelty
    t0 = time.time()
    gen_set = set(canonic_smiles(m) for m in mols) - {None}
    train = set(read_smiles_column(args.train))
    result["n_train"] = len(train)
    result["novelty"] = len(gen_set - train) / len(gen_set) if gen_set else float("nan")
    del train
    timings["novelty"] = time.time() - t0

    # SNN / Frag / Scaf against the test set
    if args.test:
        t0 = time.time()
        log("test set: fingerprints, fragments and scaffolds of %s" % args.test)
        test_smiles = read_smiles_column(args.test)
        result["n_test"] = len(test_smiles)
        test_fps, test_missing, test_frag, test_scaf = reference_statistics(test_smiles)
        del test_smiles
        log("test set: SNN")
        result["snn_test"] = snn(fps, missing, test_fps, test_missing)
        del test_fps
        gen_frag, gen_scaf = fragment_and_scaffold_counts(mols)
        result["frag_test"] = cos_similarity(test_frag, gen_frag)
        result["scaf_test"] = cos_similarity(test_scaf, gen_scaf)
        timings["test"] = time.time() - t0

    # Valid (Swift)
    t0 = time.time()
    share, verdicts = swift_validity(args.vae, args.samples, len(samples))
    result["valid_swift"] = share
    if verdicts is not None and len(verdicts) == len(samples):
        result["swift_rdkit_disagree"] = sum(a != b for a, b in zip(verdicts, valid_mask))
    timings["swift"] = time.time() - t0

    result["timings_s"] = {k: round(v, 1) for k, v in timings.items()}
    result["inputs"] = {"samples": os.path.abspath(args.samples), "train": os.path.abspath(args.train),
                        "test": os.path.abspath(args.test) if args.test else None,
                        "vae": os.path.abspath(args.vae)}
    result["rdkit"] = rdBase.rdkitVersion
    return result


def fmt(value):
    if value is None:
        return "-"
    if isinstance(value, float):
        return "nan" if math.isnan(value) else "%.4f" % value
    return str(value)


def print_table(result, ks):
    rows = [("Valid", "valid"), ("Valid (Swift)", "valid_swift")]
    rows += [("Unique@%s" % (("%dk" % (k // 1000)) if k % 1000 == 0 else k), unique_key(k)) for k in ks]
    rows += [("Novelty", "novelty"), ("IntDiv", "int_div"), ("IntDiv2", "int_div2"),
             ("Filters", "filters")]
    if "snn_test" in result:
        rows += [("SNN/Test", "snn_test"), ("Frag/Test", "frag_test"), ("Scaf/Test", "scaf_test")]
    print("%-14s %8s %10s" % ("metric", "value", "MOSES VAE"))
    for name, key in rows:
        if result.get(key) is None:  # not computed (e.g. no vae binary)
            continue
        print("%-14s %8s %10s" % (name, fmt(result[key]), fmt(MOSES_VAE.get(key))))
    line = "samples %d, valid %d, unique valid %d" % (result["samples"], result["n_valid"],
                                                      result["n_unique_valid"])
    if "swift_rdkit_disagree" in result:
        line += ", Swift/RDKit disagree on %d" % result["swift_rdkit_disagree"]
    print(line)


def write_json_atomically(path, obj):
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w") as handle:
            json.dump(obj, handle, indent=2, sort_keys=True, allow_nan=False)
            handle.write("\n")
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def json_safe(value):
    """NaN -> null (JSON has no NaN)."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    return value


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", required=True, help="generated SMILES, one per line (plain or gz)")
    parser.add_argument("--train", default=os.path.join(DATA, "train.csv.gz"),
                        help="training set CSV with a SMILES column (default: %(default)s)")
    parser.add_argument("--test", default=None,
                        help="test set CSV (e.g. %s); adds SNN/Frag/Scaf"
                             % os.path.join(DATA, "test.csv.gz"))
    parser.add_argument("--mcf", default=os.path.join(DATA, "mcf.csv"))
    parser.add_argument("--pains", default=os.path.join(DATA, "wehi_pains.csv"))
    parser.add_argument("--vae", default=os.path.join(ROOT, ".build", "release", "vae"),
                        help="SwiftVAE binary for Valid (Swift) (default: %(default)s)")
    parser.add_argument("--k", type=int, nargs="+", default=[1000, 10000], help="unique@k values")
    parser.add_argument("--json", default=None, help="write the metrics here (atomically)")
    parser.add_argument("--tile", type=int, default=2048, help=argparse.SUPPRESS)
    args = parser.parse_args()

    result = compute(args)
    print_table(result, args.k)
    if args.json:
        write_json_atomically(args.json, json_safe(result))
        print("wrote %s" % args.json)


if __name__ == "__main__":
    main()
