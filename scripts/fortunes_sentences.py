#!/usr/bin/env python3
"""Sentences from Debian's fortune files for the text VAE / LM comparison (docs/text-comparison.md).

    python3 scripts/fortunes_sentences.py OUTDIR [--dir /usr/share/games/fortunes] [--seed 0]

Every file in the fortunes folder (not *.dat, *.u8, nor the off/ folder) is split into fortunes at
lines holding only '%'; a fortune's lines are joined by spaces, split into sentences after . ! or ?
followed by white space, lowercased, white space collapsed. A sentence is kept when it is ASCII
(so Python's tokenizer below matches SwiftVAE's `--tokens words` exactly) and has 4-25 word tokens
(runs of letters/digits/apostrophes, or one other non-space character, as
Sources/VAEKit/Data/Vocabulary.swift `words`). Duplicates are dropped (first kept), the rest
shuffled with a fixed seed and written 90/5/5 to OUTDIR/train.txt, valid.txt, test.txt.
"""
import argparse, os, random, re, sys

TOKEN = re.compile(r"[A-Za-z0-9']+|\S")


def words(line):
    """SwiftVAE's word tokens for an ASCII line."""
    return TOKEN.findall(line)


def fortunes(folder):
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        if name.endswith((".dat", ".u8")) or not os.path.isfile(path):
            continue
        with open(path, "rb") as f:
            text = f.read().decode("utf-8", errors="replace")
        current = []
        for line in text.splitlines():
            if line.strip() == "%":
                if current:
                    yield name, current
                current = []
            else:
                current.append(line)
        if current:
            yield name, current


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("outdir")
    ap.add_argument("--dir", default="/usr/share/games/fortunes")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--min-tokens", type=int, default=4)
    ap.add_argument("--max-tokens", type=int, default=25)
    a = ap.parse_args()

    n_fortunes = n_sentences = n_nonascii = n_length = 0
    seen, kept = set(), []
    for _, lines in fortunes(a.dir):
        n_fortunes += 1
        text = " ".join(lines)
        for s in re.split(r"(?<=[.!?])\s+", text):
            s = " ".join(s.split()).lower()
            if not s:
                continue
            n_sentences += 1
            if not s.isascii() or not s.isprintable():
                n_nonascii += 1
                continue
            if not a.min_tokens <= len(words(s)) <= a.max_tokens:
                n_length += 1
                continue
            if s in seen:
                continue
            seen.add(s)
            kept.append(s)
    random.Random(a.seed).shuffle(kept)
    n = len(kept)
    n_valid = n_test = n // 20
    parts = {"test.txt": kept[:n_test], "valid.txt": kept[n_test:n_test + n_valid],
             "train.txt": kept[n_test + n_valid:]}
    os.makedirs(a.outdir, exist_ok=True)
    for name, items in parts.items():
        with open(os.path.join(a.outdir, name), "w") as f:
            f.writelines(s + "\n" for s in items)
    toks = sum(len(words(s)) + 1 for s in parts["train.txt"])
    print(f"fortunes {n_fortunes}, sentences {n_sentences}, non-ASCII dropped {n_nonascii}, "
          f"outside {a.min_tokens}-{a.max_tokens} tokens {n_length}, duplicates {n_sentences - n_nonascii - n_length - n}, "
          f"kept {n}: train {len(parts['train.txt'])} ({toks} tokens with <eos>), "
          f"valid {len(parts['valid.txt'])}, test {len(parts['test.txt'])}", file=sys.stderr)


if __name__ == "__main__":
    main()
