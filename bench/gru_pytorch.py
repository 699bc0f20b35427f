#!/usr/bin/env python3
"""PyTorch training-speed reference for the MOSES-shaped sequence VAE (`vae bench --model gru
--preset moses-vae`): molecules/s and tokens/s of whole training steps on 2 threads.

    python3 bench/gru_pytorch.py                                    # decoder 3x512, batch 512
    python3 bench/gru_pytorch.py --decoder-layers 1,3 --batch 128,512 --batches 5

The model is the one of Sources/VAEKit/Model/SequenceVAE.swift and of MOSES's VAE (moses/vae/
model.py): one-hot tokens (MOSES: an Embedding initialised to the identity) → encoder GRU
(default 1×256), its top state after <eos> → Linear → (μ, log σ²) (latent 128); z = μ + σ·ε;
decoder h₀ = Linear(z) for every layer, a GRU (1 or 3 × 512) fed [one-hot token, z] at every
step, Linear → logits over the vocabulary. Sequences go through PyTorch's packed sequences
(`pack_padded_sequence`), as MOSES does. Loss per item = Σ_t cross-entropy (targets first token
… <eos>, inputs <bos> … last token, as SwiftVAE; MOSES also feeds <eos> and drops its output,
one step more) + KL, averaged over the batch; Adam (lr 3e-4), gradient norm clipped at 50.

Items: SMILES from ../shared/data/moses/train.csv.gz (column SMILES), else the shipped
data/moses-sample.smi.gz; character tokens (MOSES's CharVocab: a vocabulary of 30 on MOSES
train) or --tokens smiles; or lines of text with --tokens words (words and punctuation marks, the
--max-vocab most frequent, the rest <unk>, as `vae --tokens words`), where --embedding D gives
both GRUs a shared nn.Embedding(V, D) instead of one-hot tokens (`vae train --embedding D`). Batches are random (seeded) items; building the padded id tensors is
left out of the timing, everything from there (sort/pack, one-hot, forward, backward, clip,
Adam) is timed, as `vae bench` times its steps. After --warmup untimed steps, --batches timed
steps; tokens/s counts the tokens each step predicts (each item's tokens and its <eos>).
One JSON line per configuration (decoder layers × batch), plus the CPU and torch version.
"""
import argparse
import csv
import gzip
import io
import json
import os
import platform
import random
import re
import resource
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

BOS, EOS, PAD, UNK = 0, 1, 2, 3
SPECIALS = ["<bos>", "<eos>", "<pad>", "<unk>"]
SMILES = re.compile(r"\[[^\]]*\]?|%[0-9]{0,2}|Cl|Br|.", re.DOTALL)
WORDS = re.compile(r"[\w']+|[^\w\s]")   # words (letters, digits, ') and single punctuation marks


def default_data():
    here = os.path.dirname(os.path.abspath(__file__))
    shared = os.path.join(here, "..", "..", "shared", "data", "moses", "train.csv.gz")
    return shared if os.path.exists(shared) else os.path.join(here, "..", "data", "moses-sample.smi.gz")


def read_smiles(path, limit):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", newline="") as f:
        if path.endswith((".csv", ".csv.gz")):
            rows = csv.DictReader(f)
            out = [r["SMILES"] for r in rows if r["SMILES"]]
        else:
            out = [l.strip() for l in f if l.strip()]
    return out[:limit] if limit else out


class SequenceVAE(nn.Module):
    def __init__(self, V, K, He, Le, Hd, Ld, E=0):
        super().__init__()
        self.V, self.K = V, K
        self.embedding = nn.Embedding(V, E) if E else None
        self.encoder_gru = nn.GRU(E or V, He, Le, batch_first=True)
        self.head = nn.Linear(He, 2 * K)
        self.h0 = nn.Linear(K, Hd)
        self.decoder_gru = nn.GRU((E or V) + K, Hd, Ld, batch_first=True)
        self.out = nn.Linear(Hd, V)

    def forward(self, x, lengths):
        """x [B, T] <bos> … <eos> <pad>…, lengths (incl. <bos>/<eos>, on the CPU). Mean loss terms."""
        B = x.shape[0]
        onehot = self.embedding(x) if self.embedding is not None else F.one_hot(x, self.V).float()
        packed = pack_padded_sequence(onehot, lengths, batch_first=True, enforce_sorted=False)
        _, hN = self.encoder_gru(packed)
        h = self.head(hN[-1])
        mu, lv = h[:, :self.K], h[:, self.K:]
        z = mu + (0.5 * lv).exp() * torch.randn_like(mu)
        kl = 0.5 * (mu * mu + lv.exp() - lv - 1).sum()
        # decoder: inputs <bos> … last token, targets first token … <eos>
        T = x.shape[1] - 1
        inp = torch.cat([onehot[:, :-1], z.unsqueeze(1).expand(-1, T, -1)], dim=2)
        h0 = self.h0(z).unsqueeze(0).repeat(self.decoder_gru.num_layers, 1, 1)
        packed = pack_padded_sequence(inp, lengths - 1, batch_first=True, enforce_sorted=False)
        out, _ = self.decoder_gru(packed, h0)
        # the logits of the real steps only (packed data), targets in the same packed order
        logits = self.out(out.data)
        targets = pack_padded_sequence(x[:, 1:], lengths - 1, batch_first=True, enforce_sorted=False).data
        recon = F.cross_entropy(logits, targets, reduction="sum")
        return recon / B, kl / B


def run(cfg, items, V, args):
    torch.manual_seed(1)
    model = SequenceVAE(V, args.latent, args.encoder_width, args.encoder_layers, args.decoder_width, cfg["decoder_layers"], args.embedding)
    opt = torch.optim.Adam(model.parameters(), lr=3e-4)
    B = cfg["batch"]
    rng = random.Random(7)
    steps = args.warmup + args.batches
    prepared = []
    for _ in range(steps):
        chunk = rng.sample(items, B)
        lengths = torch.tensor([len(t) + 2 for t in chunk])
        x = torch.full((B, int(lengths.max())), PAD, dtype=torch.long)
        for r, t in enumerate(chunk):
            x[r, :len(t) + 2] = torch.tensor([BOS] + t + [EOS])
        prepared.append((x, lengths, int(lengths.sum()) - B))  # predicted tokens: tokens + <eos>
    seconds, n_items, n_tokens, times, cpu = 0.0, 0, 0, [], 0.0
    load_before = os.getloadavg()[0]
    for step, (x, lengths, predicted) in enumerate(prepared):
        c0, t0 = sum(os.times()[:2]), time.perf_counter()
        opt.zero_grad(set_to_none=True)
        recon, kl = model(x, lengths)
        loss = recon + kl
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 50.0)
        opt.step()
        dt = time.perf_counter() - t0
        if step >= args.warmup:
            cpu += sum(os.times()[:2]) - c0
            seconds += dt
            n_items += B
            n_tokens += predicted
            times.append(dt)
    times.sort()
    return {
        "peer": "pytorch", "model": "gru",
        "encoder": f"{args.encoder_layers}x{args.encoder_width}",
        "decoder": f"{cfg['decoder_layers']}x{args.decoder_width}",
        "latent": args.latent, "vocabulary": V, "embedding": args.embedding, "batch": B, "batches": args.batches, "warmup": args.warmup,
        "molecules_per_second": round(n_items / seconds, 1),
        "tokens_per_second": round(n_tokens / seconds),
        "median_step_seconds": round(times[len(times) // 2], 4),
        # the fastest timed step: the least disturbed by other work on the machine
        "best_step_molecules_per_second": round(B / times[0], 1),
        "loss": round(float(loss.detach()), 2),
        "threads": torch.get_num_threads(), "torch": torch.__version__,
        # CPU seconds of this process per wall second of the timed steps (≈ threads when the
        # machine is otherwise idle) and the 1-minute load average before and after
        "cpu_per_wall": round(cpu / seconds, 2),
        "loadavg_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=default_data())
    ap.add_argument("--lines", type=int, default=200_000, help="read at most the first N items (0: all)")
    ap.add_argument("--tokens", choices=["characters", "smiles", "words"], default="characters")
    ap.add_argument("--max-vocab", type=int, default=10_000, help="words: the most frequent kept, the rest <unk>")
    ap.add_argument("--embedding", type=int, default=0, help="a shared nn.Embedding this wide (0: one-hot tokens)")
    ap.add_argument("--max-length", type=int, default=100)
    ap.add_argument("--encoder-layers", type=int, default=1)
    ap.add_argument("--encoder-width", type=int, default=256)
    ap.add_argument("--decoder-layers", default="3", help="comma-separated: 1,3")
    ap.add_argument("--decoder-width", type=int, default=512)
    ap.add_argument("--latent", type=int, default=128)
    ap.add_argument("--batch", default="512", help="comma-separated: 128,512")
    ap.add_argument("--batches", type=int, default=5, help="timed steps per configuration")
    ap.add_argument("--warmup", type=int, default=2, help="untimed steps first")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    smiles = read_smiles(args.data, args.lines)
    tok = {"characters": lambda s: list(s), "smiles": lambda s: SMILES.findall(s),
           "words": lambda s: WORDS.findall(s)}[args.tokens]
    toks = [t for t in map(tok, smiles) if 0 < len(t) <= args.max_length]
    counts = {}
    for t in toks:
        for c in t:
            counts[c] = counts.get(c, 0) + 1
    vocab = SPECIALS + sorted(counts, key=lambda c: (-counts[c], c))[:args.max_vocab]
    index = {c: i for i, c in enumerate(vocab)}
    items = [[index.get(c, UNK) for c in t] for t in toks]
    mean_len = sum(map(len, items)) / len(items)
    print(json.dumps({"cpu": cpu_model(), "torch": torch.__version__, "threads": args.threads, "data": args.data,
                      "items": len(items), "vocabulary": len(vocab), "mean_tokens": round(mean_len, 2),
                      "mkldnn": torch.backends.mkldnn.is_available()}), flush=True)
    for layers in [int(v) for v in args.decoder_layers.split(",")]:
        for batch in [int(v) for v in args.batch.split(",")]:
            print(json.dumps(run({"decoder_layers": layers, "batch": batch}, items, len(vocab), args)), flush=True)


if __name__ == "__main__":
    main()
