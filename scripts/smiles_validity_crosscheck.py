#!/usr/bin/env python3
"""Cross-check SwiftVAE's SMILES validity checker (VAEKit's SMILES.problem) against RDKit.

RDKit's verdict is `Chem.MolFromSmiles(s) is not None` (default sanitization). The Swift verdicts come
from `vae smiles FILE --out FILE.swift.tsv` (string, 1/0, problem class, message).

    pip install rdkit
    # 1. make a test set: molecules plus seeded single-character and token mutations of them
    #    (or --fuzz: random token strings with charged, bracket and metal atoms, rings and branches)
    python3 scripts/smiles_validity_crosscheck.py --generate /tmp/smiles-crosscheck.smi \
        --source ../shared/data/moses/train.csv.gz --seed 1     # default source: data/moses-sample.smi.gz
    # 2. compare (runs `vae smiles`, then RDKit)
    python3 scripts/smiles_validity_crosscheck.py /tmp/smiles-crosscheck.smi

This is a tool to run by hand, not a test: see docs/smiles-validity.md for the measured numbers.
"""
import argparse
import collections
import csv
import gzip
import io
import os
import random
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_SOURCE = os.path.join(ROOT, "data", "moses-sample.smi.gz")

# Characters for single-character insertions and substitutions: the MOSES alphabet plus other SMILES
# syntax, so that every part of the checker gets exercised.
ALPHABET = list("CcNnOoSsFPIBbp()[]=#-+0123456789%@/\\.H:*lr")
# Whole tokens for token insertions and substitutions.
TOKENS = [
    "[nH]", "[N+]", "[O-]", "[n+]", "[NH+]", "[NH3+]", "[NH2+]", "[C@@H]", "[C@H]", "[C@]", "[2H]", "[13C]",
    "[S+]", "[S-]", "[Si]", "[se]", "[Se]", "[Na+]", "[Cl-]", "[H]", "Cl", "Br", "%10", "%11", "[o+]", "[c-]",
    "[cH-]", "[CH2]", "[CH]", "[C]", "[B-]", "[BH-]", "[P+]", "[PH]", "[I+]", "[N-]", "[C-]", "[nH+]", "[OH+]",
    "[O+]", "[s+]", "[Fe]", "[Zn+2]", "/", "\\", "=O", "(=O)", "C1", "c1", "n1", ".[Na+]", ".Cl", "(C)", "(Cl)",
    "=", "#", "[N@+]", "[n-]", "[pH]", "[te]", "[B]", "[Xe]", "*",
]
ATOM_LETTERS = set("CcNnOoSsFPIBbp")


def read_smiles(path):
    """SMILES from a .smi/.txt (optionally gzip) file, or the SMILES column of a .csv(.gz)."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt") as handle:
        text = handle.read()
    if ".csv" in os.path.basename(path):
        rows = csv.reader(io.StringIO(text))
        header = next(rows)
        column = [h.strip().lower() for h in header].index("smiles")
        return [row[column] for row in rows if row]
    return [line.strip() for line in text.splitlines() if line.strip()]


def mutate(s, rng):
    kind = rng.choice(["delete", "insert", "substitute", "swap", "token-insert", "token-substitute"])
    if kind == "delete":
        p = rng.randrange(len(s))
        return s[:p] + s[p + 1:], kind
    if kind == "insert":
        p = rng.randrange(len(s) + 1)
        return s[:p] + rng.choice(ALPHABET) + s[p:], kind
    if kind == "substitute":
        p = rng.randrange(len(s))
        return s[:p] + rng.choice(ALPHABET) + s[p + 1:], kind
    if kind == "swap":
        if len(s) < 2:
            return s[::-1], kind
        p = rng.randrange(len(s) - 1)
        return s[:p] + s[p + 1] + s[p] + s[p + 2:], kind
    if kind == "token-insert":
        p = rng.randrange(len(s) + 1)
        return s[:p] + rng.choice(TOKENS) + s[p:], kind
    # token-substitute: an atom letter replaced by a token
    positions = [i for i, ch in enumerate(s) if ch in ATOM_LETTERS]
    p = rng.choice(positions) if positions else rng.randrange(len(s))
    return s[:p] + rng.choice(TOKENS) + s[p + 1:], kind


# Atoms and bonds for --fuzz strings.
FUZZ_ATOMS = [
    "C", "C", "C", "c", "c", "c", "c", "n", "n", "N", "O", "o", "s", "S", "F", "Cl", "Br", "I", "P", "p", "B", "b",
    "[nH]", "[NH+]", "[N+]", "[n+]", "[O-]", "[o+]", "[c-]", "[cH-]", "[C-]", "[CH]", "[C]", "[CH2]", "[S+]", "[s+]",
    "[se]", "[Se]", "[P+]", "[PH]", "[pH]", "[B-]", "[BH-]", "[BH2-]", "[Si]", "[SiH2]", "[Na]", "[Na+]", "[Fe]",
    "[Zn+2]", "[Cu]", "[2H]", "[H]", "[13C]", "[C@H]", "[C@@H]", "[N@+]", "[Cl-]", "[I+]", "[S-]", "[n-]", "[N-]",
    "[O+]", "[OH+]", "[te]", "[as]", "[Te]", "[cH+]", "[c+]", "[nH+]", "[NH3+]", "[NH2+]", "[B]", "[b-]", "[Mg]",
    "[Al]", "[Ge]", "[As]", "[Xe]", "[He]", "[H+]", "[H-]", "[CH3]", "[C+]", "[N]", "[O]", "[S]", "[s]", "[o]",
    "[n]", "[c]",
]
FUZZ_RING_ATOMS = [
    "c", "c", "c", "n", "n", "o", "s", "[nH]", "[n+]", "[o+]", "[c-]", "[cH-]", "C", "[CH2]", "N", "[se]", "p", "b",
    "[n-]", "c(=O)", "c(C)", "n(C)", "c(=C)", "[s+]", "s(=O)", "[pH]",
]
FUZZ_BONDS = ["", "", "", "", "=", "#", "-", ":", "/", "\\", "$"]


def fuzz(rng, dummies):
    """A random string of atoms, bonds, ring numbers, branches and dots, or a random aromatic ring."""
    atoms = FUZZ_ATOMS + (["*"] if dummies else [])
    if rng.random() < 0.5:
        s, depth, open_rings = "", 0, []
        for i in range(rng.randint(2, 14)):
            if i > 0:
                r = rng.random()
                if r < 0.12 and depth > 0:
                    s += ")"
                    depth -= 1
                if r > 0.85:
                    s += "("
                    depth += 1
                if r > 0.97:
                    s += "."
                s += rng.choice(FUZZ_BONDS)
            s += rng.choice(atoms)
            if rng.random() < 0.25:
                if open_rings and rng.random() < 0.6:
                    s += rng.choice(FUZZ_BONDS[:6]) + str(open_rings.pop(rng.randrange(len(open_rings))))
                else:
                    free = [d for d in range(1, 6) if d not in open_rings] or [9]
                    open_rings.append(rng.choice(free))
                    s += str(open_rings[-1])
        for d in open_rings:
            if rng.random() < 0.9:
                s += (rng.choice(atoms) + str(d)) if rng.random() < 0.5 else str(d)
        return s + (")" * depth if rng.random() < 0.9 else "")
    ring_atoms = FUZZ_RING_ATOMS + (["*"] if dummies else [])
    ring = [rng.choice(ring_atoms) for _ in range(rng.choice([3, 4, 5, 5, 6, 6, 6, 7, 8]))]
    s = ring[0] + "1" + "".join(rng.choice(["", "", "", "=", "-", ":"]) + a for a in ring[1:])
    return s + rng.choice(["", "", "-", "="]) + "1"


def generate_fuzz(out, count, seed, dummies):
    rng = random.Random(seed)
    lines, seen = [], set()
    while len(lines) < count:
        s = fuzz(rng, dummies)
        if s not in seen:
            seen.add(s)
            lines.append(s)
    with open(out, "w") as handle:
        handle.write("\n".join(lines) + "\n")
    print(f"wrote {len(lines)} fuzz strings to {out} (seed {seed}{', with dummy atoms' if dummies else ''})")


def generate(out, sources, count, seed, steps, originals_share):
    rng = random.Random(seed)
    molecules = []
    for source in sources:
        molecules.extend(read_smiles(source))
    molecules = sorted(set(molecules))
    rng.shuffle(molecules)
    originals = molecules[: int(count * originals_share)]
    seen = set(originals)
    lines = list(originals)
    kinds = collections.Counter()
    attempts = 0
    while len(lines) < count and attempts < count * 10:
        attempts += 1
        mutated, kind = rng.choice(molecules), None
        for _ in range(rng.randint(1, steps)):
            if not mutated:
                break
            mutated, kind = mutate(mutated, rng)
        if not mutated or mutated in seen or "\t" in mutated or "\n" in mutated:
            continue
        seen.add(mutated)
        lines.append(mutated)
        kinds[kind] += 1
    rng.shuffle(lines)
    with open(out, "w") as handle:
        handle.write("\n".join(lines) + "\n")
    print(f"wrote {len(lines)} strings to {out}: {len(originals)} molecules from {', '.join(sources)} "
          f"(seed {seed}) and {len(lines) - len(originals)} mutants {dict(sorted(kinds.items()))}")


def rdkit_verdicts(lines):
    from rdkit import Chem, RDLogger
    RDLogger.DisableLog("rdApp.*")
    verdicts, reasons = [], []
    for s in lines:
        valid = Chem.MolFromSmiles(s) is not None
        verdicts.append(valid)
        reasons.append("" if valid else rdkit_reason(Chem, s))
    return verdicts, reasons


def rdkit_reason(Chem, s):
    """A class for RDKit's rejection: parse (syntax, rings, branches, elements), valence, kekulize, non-ring aromatic."""
    mol = Chem.MolFromSmiles(s, sanitize=False)
    if mol is None:
        return "parse error"
    try:
        Chem.SanitizeMol(mol)
    except Exception as e:  # noqa: BLE001 - RDKit raises several sanitization exception types
        name = type(e).__name__
        text = str(e)
        if "non-ring atom" in text:
            return "non-ring atom marked aromatic"
        if "Kekulize" in name or "kekulize" in text:
            return "cannot kekulize"
        if "Valence" in name or "valence" in text:
            return "valence"
        return f"sanitize: {name}"
    return "rejected after sanitization (removeHs / stereo)"


def swift_verdicts(path):
    """SwiftVAE's verdicts: `vae smiles FILE --out FILE.swift.tsv` (VAE: the vae binary, default a
    release build in .build/release; build it with `swift build -c release`)."""
    vae = os.environ.get("VAE", os.path.join(ROOT, ".build", "release", "vae"))
    if not os.path.exists(vae):
        sys.exit(f"no {vae}: swift build -c release (or set VAE)")
    tsv = os.path.abspath(path) + ".swift.tsv"
    if os.path.exists(tsv):
        os.remove(tsv)
    started = time.time()
    result = subprocess.run([vae, "smiles", os.path.abspath(path), "--out", tsv], capture_output=True, text=True)
    if result.returncode != 0 or not os.path.exists(tsv):
        sys.stderr.write(result.stdout[-4000:] + result.stderr[-4000:])
        sys.exit(f"vae smiles failed (exit {result.returncode}) or wrote no {tsv}")
    print(f"vae smiles: {time.time() - started:.1f} s")
    with open(tsv) as handle:
        rows = [line.rstrip("\n").split("\t") for line in handle.read().split("\n") if line != ""]
    return rows


def compare(path, examples):
    with open(path) as handle:
        lines = handle.read().split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    rows = swift_verdicts(path)
    if len(rows) != len(lines):
        sys.exit(f"{len(lines)} strings but {len(rows)} Swift rows")
    started = time.time()
    rdkit, rdkit_why = rdkit_verdicts(lines)
    print(f"RDKit: {time.time() - started:.1f} s")

    n = len(lines)
    agree = 0
    confusion = collections.Counter()
    groups = collections.defaultdict(list)
    for s, row, r_valid, r_why in zip(lines, rows, rdkit, rdkit_why):
        if row[0] != s:
            sys.exit(f"row mismatch: {row[0]!r} vs {s!r}")
        s_valid = row[1] == "1"
        confusion[(r_valid, s_valid)] += 1
        if r_valid == s_valid:
            agree += 1
            continue
        if r_valid:
            key = f"RDKit valid, Swift: {row[2]}"
            groups[key].append(f"{s}  ({row[3]})")
        else:
            key = f"RDKit: {r_why}, Swift valid"
            groups[key].append(s)

    from rdkit import __version__ as rdkit_version
    print(f"\n{n} strings, RDKit {rdkit_version}")
    print(f"agreement: {agree}/{n} = {100.0 * agree / n:.2f}%")
    print(f"  both valid {confusion[(True, True)]}, both invalid {confusion[(False, False)]}, "
          f"RDKit valid / Swift invalid {confusion[(True, False)]}, "
          f"RDKit invalid / Swift valid {confusion[(False, True)]}")
    invalid_classes = collections.Counter(row[2] for row in rows if row[1] == "0")
    print("  Swift problem classes among invalid strings: "
          + ", ".join(f"{k} {v}" for k, v in invalid_classes.most_common()))
    if groups:
        print("\n| disagreement | count | examples |")
        print("|---|---:|---|")
        for key, items in sorted(groups.items(), key=lambda kv: -len(kv[1])):
            shown = "; ".join(f"`{x}`" for x in items[:examples])
            print(f"| {key} | {len(items)} | {shown} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("file", help="SMILES file, one per line (written with --generate)")
    parser.add_argument("--generate", action="store_true", help="write a test set to FILE instead of comparing")
    parser.add_argument("--source", action="append",
                        help=f"molecules for --generate (.smi/.csv, gzip or not; repeatable); default {DEFAULT_SOURCE}")
    parser.add_argument("--count", type=int, default=40000, help="strings for --generate")
    parser.add_argument("--originals", type=float, default=0.25,
                        help="--generate: share of unmutated molecules (0.25 makes about half the strings invalid)")
    parser.add_argument("--fuzz", action="store_true", help="--generate: random token strings instead of mutants")
    parser.add_argument("--dummies", action="store_true", help="--fuzz: include dummy atoms '*'")
    parser.add_argument("--seed", type=int, default=1, help="seed for --generate")
    parser.add_argument("--mutations", type=int, default=1,
                        help="--generate: up to this many mutations per mutant (1 to N, uniformly)")
    parser.add_argument("--examples", type=int, default=3, help="examples per disagreement class")
    args = parser.parse_args()
    if args.generate:
        if args.fuzz:
            generate_fuzz(args.file, args.count, args.seed, args.dummies)
        else:
            generate(args.file, args.source or [DEFAULT_SOURCE], args.count, args.seed, args.mutations, args.originals)
    else:
        compare(args.file, args.examples)


if __name__ == "__main__":
    main()
