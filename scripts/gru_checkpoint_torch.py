#!/usr/bin/env python3
"""Cross-check a `vae train --model gru` checkpoint in PyTorch.

    python3 scripts/gru_checkpoint_torch.py RUN DATAFILE [--vae PATH] [--text-column C] [--no-cli]

Builds the sequence VAE of Sources/VAEKit/Model/SequenceVAE.swift from stock PyTorch modules
(`torch.nn.GRU` with batch_first and packed sequences, `torch.nn.Linear` heads), loads
RUN/model.safetensors into them with `load_state_dict(strict=True)` under the checkpoint's own
names (the `optimizer.*` Adam moments and the `best.*` copy of a run stopped with early stopping
under way are left out, and every other tensor must map; a `--bidirectional` encoder is a
bidirectional `nn.GRU` whose head reads both directions' last states), reads
DATAFILE as `vae evaluate --data` does (Sources/VAEKit/Data/SequenceSource.swift and
Vocabulary.swift: the run's tokenizer and vocabulary, unseen tokens as <unk>, items over the
run's maxLength skipped), and computes in float64 the mean over the items of

    recon = Σ_t −log p(x_{t+1} | x_≤t, z = μ)      (targets: first token … <eos>)
    KL    = ½ Σ_k (μ² + σ² − log σ² − 1)
    loss  = recon + KL                               (the negative ELBO at z = μ)

DATAFILE is read whole; give a file other than the run's own training file (a copy will do):
`vae` reads that one split as the run split it, its test items only.

It then runs `vae evaluate RUN --data DATAFILE --iwae 0` and prints both, with the relative
differences, as one JSON line; and runs `vae encode RUN --data DATAFILE` to compare μ and σ of
every item (no CLI command prints the per-item loss at z = μ, so the loss is compared as means).
Exit status 1 when a relative difference exceeds --tolerance (default 1e-4).

Needs `torch`, `safetensors` and `regex` (grapheme clusters and Unicode properties for the
characters and words tokenizers).
"""
import argparse
import csv
import gzip
import json
import os
import subprocess
import sys
import tempfile
import unicodedata

import regex
import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors import safe_open
from safetensors.torch import load_file
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

BOS, EOS, PAD, UNK = 0, 1, 2, 3
SPECIALS = 4


# ---------------------------------------------------------------------------------------------
# Reading items: Dataset.readItems / encodeItems (SequenceSource.swift)

def read_items(path, text_column=None):
    """(line number, text) of every item, as Dataset.readItems reads them."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    text = data.decode("utf-8")
    # Swift splits the String on the Character "\n"; "\r\n" is ONE Character (a grapheme
    # cluster), so it is not a separator: a CRLF file is read as one line. Mirror that.
    if "\r\n" in text:
        print("warning: DATAFILE has CRLF line ends, which `vae` (String.split on \"\\n\") does not "
              "split; mirroring that", file=sys.stderr)
    raw_lines = regex.split(r"(?<!\r)\n", text)
    out, column = [], None
    for number, line in enumerate(raw_lines, start=1):
        if line.endswith("\r"):
            line = line[:-1]
        if text_column is not None:
            fields = csv_fields(line)
            if column is None:
                column = fields.index(text_column)
                continue
            if all(c in " \t" for c in line):
                continue
            out.append((number, fields[column]))
        else:
            if line.lstrip(" \t") == "":
                continue
            out.append((number, line))
    return out


def csv_fields(line):
    if '"' not in line:
        return line.split(",")
    out, field, quoted, i = [], [], False, 0
    while i < len(line):
        c = line[i]
        if quoted:
            if c == '"':
                if i + 1 < len(line) and line[i + 1] == '"':
                    field.append('"')
                    i += 1
                else:
                    quoted = False
            else:
                field.append(c)
        elif c == '"':
            quoted = True
        elif c == ",":
            out.append("".join(field))
            field = []
        else:
            field.append(c)
        i += 1
    out.append("".join(field))
    return out


# ---------------------------------------------------------------------------------------------
# Tokenizers: Vocabulary.swift. Swift's Character is an extended grapheme cluster; its
# isLetter / isNumber / isWhitespace look at the cluster's first scalar: Alphabetic,
# Numeric_Type ≠ None and White_Space (checked against swiftc: Ⓐ and U+0903 are letters,
# U+001C is not whitespace, U+0085 is).

GRAPHEME = regex.compile(r"\X", regex.DOTALL)
ALPHABETIC = regex.compile(r"\p{Alphabetic}")
WHITE_SPACE = regex.compile(r"\p{White_Space}")
SMILES = regex.compile(r"\[[^\]]*\]?|%[0-9]{0,2}|Cl|Br|.", regex.DOTALL)


def _is_letter(g):
    return ALPHABETIC.match(g[0]) is not None


def _is_number(g):
    return g[0].isnumeric()


def _is_word_char(g):
    return _is_letter(g) or _is_number(g) or g == "'"


def tokenize(line, tokenizer):
    if tokenizer == "characters":
        return GRAPHEME.findall(line)
    if tokenizer == "smiles":
        # `[…]` (an unclosed bracket runs to the end), `%` with up to two digits, Cl, Br, else
        # one character (a non-ASCII one as its whole UTF-8 sequence: one code point)
        return SMILES.findall(line)
    if tokenizer == "words":
        gs = GRAPHEME.findall(line)
        out, i = [], 0
        while i < len(gs):
            g = gs[i]
            if WHITE_SPACE.match(g[0]):
                i += 1
            elif _is_word_char(g):
                j = i + 1
                while j < len(gs) and _is_word_char(gs[j]):
                    j += 1
                out.append("".join(gs[i:j]))
                i = j
            else:
                out.append(g)
                i += 1
        return out
    raise ValueError(f"unknown tokenizer {tokenizer!r}")


def encode_items(items, vocabulary, tokenizer, max_length):
    """Token ids (without <bos>/<eos>) of the kept items, their line numbers, skipped, unknown."""
    # Swift's Substring keys compare by canonical equivalence: look tokens up by their NFC form;
    # the last of equal vocabulary entries wins, as in the Swift loop.
    index = {}
    for i, t in enumerate(vocabulary):
        if i >= SPECIALS:
            index[unicodedata.normalize("NFC", t)] = i
    kept, lines, skipped, unknown = [], [], 0, 0
    for number, text in items:
        if len(text.encode("utf-8")) > max_length * 64:
            skipped += 1
            continue
        toks = tokenize(text, tokenizer)
        if not toks:
            continue
        if len(toks) > max_length:
            skipped += 1
            continue
        ids = []
        for t in toks:
            i = index.get(unicodedata.normalize("NFC", t))
            if i is None:
                ids.append(UNK)
                unknown += 1
            else:
                ids.append(i)
        kept.append(ids)
        lines.append(number)
    return kept, lines, skipped, unknown


# ---------------------------------------------------------------------------------------------
# The model, in stock PyTorch modules under the checkpoint's names

class Encoder(nn.Module):
    def __init__(self, V, H, L, K, bi=False):
        super().__init__()
        self.gru = nn.GRU(V, H, L, batch_first=True, bidirectional=bi)
        self.head = nn.Linear(H * (2 if bi else 1), 2 * K)


class Decoder(nn.Module):
    def __init__(self, V, I, H, L, K):
        super().__init__()
        self.h0 = nn.Linear(K, H)
        self.gru = nn.GRU(I + K, H, L, batch_first=True)  # layer-0 input: [token (one-hot, I = V, or embedded), z]
        self.out = nn.Linear(H, V)


class SequenceVAE(nn.Module):
    def __init__(self, V, K, He, Le, Hd, Ld, E=0, bi=False):
        super().__init__()
        self.V, self.K = V, K
        if E:  # `--embedding E`: both GRUs read a learned E-wide vector per token (one table)
            self.embedding = nn.Embedding(V, E)
        self.encoder = Encoder(E or V, He, Le, K, bi)
        self.bi = bi
        self.decoder = Decoder(V, E or V, Hd, Ld, K)

    def tokens(self, x, dtype):
        """The GRUs' input per token: its embedding, or its one-hot."""
        if hasattr(self, "embedding"):
            return self.embedding(x)
        return F.one_hot(x, self.V).to(dtype)

    def encode(self, x, lengths):
        """x [B, T] ids <bos> … <eos> <pad>…, lengths: tokens incl. <bos>/<eos>. Returns μ, log σ²."""
        onehot = self.tokens(x, self.encoder.head.weight.dtype)
        packed = pack_padded_sequence(onehot, lengths, batch_first=True, enforce_sorted=False)
        _, hN = self.encoder.gru(packed)  # [L, B, H], in the batch's order
        h = self.encoder.head(torch.cat([hN[-2], hN[-1]], 1) if self.bi else hN[-1])
        return h[:, :self.K], h[:, self.K:]

    def recon(self, x, lengths, z):
        """Σ_t cross-entropy of each item: inputs <bos> … last token, targets first token … <eos>."""
        inputs, targets = x[:, :-1], x[:, 1:]
        steps = lengths - 1
        onehot = self.tokens(inputs, z.dtype)
        T = inputs.shape[1]
        inp = torch.cat([onehot, z.unsqueeze(1).expand(-1, T, -1)], dim=2)
        L = self.decoder.gru.num_layers
        h0 = self.decoder.h0(z).unsqueeze(0).repeat(L, 1, 1).contiguous()  # the same for every layer
        packed = pack_padded_sequence(inp, steps, batch_first=True, enforce_sorted=False)
        out, _ = self.decoder.gru(packed, h0)
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=T)
        logits = self.decoder.out(out)  # [B, T, V]
        nll = F.cross_entropy(logits.reshape(-1, self.V), targets.reshape(-1), reduction="none").view(targets.shape)
        mask = torch.arange(T).unsqueeze(0) < steps.unsqueeze(1)
        return (nll * mask).sum(dim=1)


def load_run(run, dtype=torch.float64):
    path = os.path.join(run, "model.safetensors")
    with safe_open(path, framework="pt") as f:
        meta = f.metadata() or {}
    config = json.loads(meta["config"])
    if config.get("architecture") != "gru":
        raise SystemExit(f"{run}: architecture {config.get('architecture')!r}, not gru")
    seq = config["sequence"]
    tensors = load_file(path)
    # the model's own weights: not Adam's moments, nor the best epoch's copy of a run stopped with
    # early stopping under way (best.<name>; the run's commands use the plain names until it ends)
    state = {k: v for k, v in tensors.items() if not k.startswith(("optimizer.", "best."))}
    V = len(seq["vocabulary"])
    K = state["encoder.head.weight"].shape[0] // 2
    He = state["encoder.gru.weight_hh_l0"].shape[1]
    Hd = state["decoder.gru.weight_hh_l0"].shape[1]
    Le = sum(1 for k in state if k.startswith("encoder.gru.weight_hh_l") and not k.endswith("_reverse"))
    Ld = sum(1 for k in state if k.startswith("decoder.gru.weight_hh_l"))
    expected = (config["latent"], seq["encoderHidden"], seq["encoderLayers"], seq["decoderHidden"], seq["decoderLayers"])
    if (K, He, Le, Hd, Ld) != expected:
        raise SystemExit(f"shapes give K, He, Le, Hd, Ld = {(K, He, Le, Hd, Ld)}, the config {expected}")
    E = state["embedding.weight"].shape[1] if "embedding.weight" in state else 0
    if E != seq.get("embedding", 0):
        raise SystemExit(f"embedding.weight gives a width of {E}, the config {seq.get('embedding', 0)}")
    model = SequenceVAE(V, K, He, Le, Hd, Ld, E, seq.get("bidirectional", False))
    mine = set(model.state_dict())
    if mine != set(state):
        raise SystemExit(f"names differ: only in the checkpoint {sorted(set(state) - mine)}, only in the model {sorted(mine - set(state))}")
    model.load_state_dict(state, strict=True)
    return model.to(dtype).eval(), config


def batches(items, size):
    for s in range(0, len(items), size):
        chunk = items[s:s + size]
        lengths = torch.tensor([len(t) + 2 for t in chunk])
        x = torch.full((len(chunk), int(lengths.max())), PAD, dtype=torch.long)
        for r, t in enumerate(chunk):
            x[r, :len(t) + 2] = torch.tensor([BOS] + t + [EOS])
        yield s, x, lengths


def rel(a, b):
    return abs(a - b) / max(abs(b), 1e-300)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("run")
    ap.add_argument("data")
    ap.add_argument("--vae", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".build", "release", "vae"),
                    help="the vae binary (default: the release build, swift build -c release)")
    ap.add_argument("--text-column", default=None)
    ap.add_argument("--batch", type=int, default=500)
    ap.add_argument("--tolerance", type=float, default=1e-4)
    ap.add_argument("--no-cli", action="store_true", help="only the PyTorch numbers")
    a = ap.parse_args()

    torch.set_num_threads(min(2, os.cpu_count() or 1))
    model, config = load_run(a.run)
    seq = config["sequence"]
    items = read_items(a.data, a.text_column)
    kept, lines, skipped, unknown = encode_items(items, seq["vocabulary"], seq["tokenizer"], seq["maxLength"])
    n = len(kept)
    recon = torch.zeros(n, dtype=torch.float64)
    kl = torch.zeros(n, dtype=torch.float64)
    mus, sigmas = [], []
    with torch.no_grad():
        for s, x, lengths in batches(kept, a.batch):
            mu, lv = model.encode(x, lengths)
            kl[s:s + len(lengths)] = 0.5 * (mu * mu + lv.exp() - lv - 1).sum(dim=1)
            recon[s:s + len(lengths)] = model.recon(x, lengths, mu)
            mus.append(mu)
            sigmas.append((0.5 * lv).exp())
    mu_all, sigma_all = torch.cat(mus), torch.cat(sigmas)
    torch_terms = {"loss_mu": float((recon + kl).mean()), "recon_mu": float(recon.mean()), "kl": float(kl.mean())}
    result = {"run": a.run, "data": a.data, "tokenizer": seq["tokenizer"], "count": n, "skipped": skipped, "unknown": unknown,
              "tokens": sum(len(t) for t in kept), "torch": torch_terms}
    ok = True
    if not a.no_cli:
        cmd = [a.vae, "evaluate", a.run, "--data", a.data, "--iwae", "0"]
        if a.text_column:
            cmd += ["--text-column", a.text_column]
        p = subprocess.run(cmd, capture_output=True, text=True, check=True)
        ev = json.loads([l for l in p.stdout.splitlines() if l.startswith("{")][-1])
        result["vae"] = {k: ev[k] for k in ("loss_mu", "recon_mu", "kl", "count", "tokens")}
        result["relative_difference"] = {k: rel(torch_terms[k], ev[k]) for k in torch_terms}
        result["command"] = " ".join(cmd)
        ok = ev["count"] == n and ev["tokens"] == result["tokens"] + n and all(
            d <= a.tolerance for d in result["relative_difference"].values())
        # per item: μ and σ from `vae encode` against ours (ids are line numbers)
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "z.csv")
            cmd = [a.vae, "encode", a.run, "--data", a.data, "--out", out]
            if a.text_column:
                cmd += ["--text-column", a.text_column]
            subprocess.run(cmd, capture_output=True, text=True, check=True)
            with open(out, newline="") as f:
                rows = {int(r["id"]): r for r in csv.DictReader(f)}
        K = model.K
        dmu = dsig = 0.0
        missing = 0
        for i, line in enumerate(lines):
            r = rows.get(line)
            if r is None:
                missing += 1
                continue
            for k in range(K):
                dmu = max(dmu, abs(float(r[f"mu{k + 1}"]) - float(mu_all[i, k])))
                dsig = max(dsig, abs(float(r[f"sigma{k + 1}"]) - float(sigma_all[i, k])))
        result["encode_per_item"] = {"items": len(rows), "missing": missing, "max_abs_mu": dmu, "max_abs_sigma": dsig}
        ok = ok and missing == 0 and len(rows) == n
    result["agree"] = ok
    print(json.dumps(result))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
