#!/usr/bin/env python3
"""What the invalid samples of a SMILES file are (models/moses-cpu/README.md): each line that
RDKit does not parse is put in one class — unbalanced parentheses, a ring bond opened and not
closed, other syntax, or (parsed without sanitising, then sanitised) an aromatic system RDKit
cannot kekulize, an aromatic atom outside a ring, a valence error, or another sanitisation error. Python with RDKit, by hand:

    pip install rdkit
    python3 scripts/moses_invalid.py RUN/samples-30000.smi
"""
import collections
import sys

from rdkit import Chem, RDLogger


def ring_bonds_open(smiles):
    """The ring-bond labels left open (digits and %nn outside brackets)."""
    open_, i, depth = set(), 0, 0
    while i < len(smiles):
        c = smiles[i]
        if c == "[":
            depth += 1
        elif c == "]":
            depth -= 1
        elif depth == 0 and c == "%" and smiles[i + 1:i + 3].isdigit():
            open_ ^= {smiles[i + 1:i + 3]}
            i += 2
        elif depth == 0 and c.isdigit():
            open_ ^= {c}
        i += 1
    return open_


def kind(smiles):
    mol = Chem.MolFromSmiles(smiles, sanitize=False)
    if mol is None:
        if smiles.count("(") != smiles.count(")"):
            return "parentheses unbalanced"
        return "ring bond not closed" if ring_bonds_open(smiles) else "other syntax"
    try:
        Chem.SanitizeMol(mol)
    except Chem.rdchem.AtomKekulizeException:
        return "aromatic atom not in a ring"
    except Chem.rdchem.KekulizeException:
        return "aromatic system not kekulizable"
    except Chem.rdchem.AtomValenceException:
        return "valence"
    except Exception as e:  # noqa: BLE001 - reported by its class
        return "sanitisation: " + type(e).__name__
    return "other"


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: moses_invalid.py SAMPLES.smi")
    RDLogger.DisableLog("rdApp.*")
    kinds, example, n = collections.Counter(), {}, 0
    with open(sys.argv[1]) as f:
        for line in f:
            s = line.strip()
            n += 1
            if Chem.MolFromSmiles(s) is not None:
                continue
            k = kind(s)
            kinds[k] += 1
            example.setdefault(k, s)
    total = sum(kinds.values())
    print(f"{total} invalid of {n} ({total / max(n, 1):.2%})")
    for k, v in kinds.most_common():
        print(f"  {k:34s} {v:6d}  {v / total:6.1%}  e.g. {example[k]}")


if __name__ == "__main__":
    main()
