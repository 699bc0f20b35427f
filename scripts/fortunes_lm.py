#!/usr/bin/env python3
"""A plain GRU language model, the baseline for the sequence VAE (docs/text-comparison.md).

    python3 scripts/fortunes_lm.py --run RUN --train train.txt --test test.txt \
        --hidden 256 --epochs E --lr 1e-3 --batch 128 [--limit 1000] [--seed 1] [--threads 1] [--valid valid.txt]

With --valid, every epoch is also scored on the validation file and the model of the epoch with
the lowest validation NLL is the one reported on the test file (early stopping, as the VAE's
epoch is chosen in scripts/text_comparison.sh).

The same vocabulary as the SwiftVAE run (the `config` JSON in RUN/model.safetensors' metadata,
`sequence.vocabulary`; ids 0 <bos> 1 <eos> 2 <pad> 3 <unk>, unknown words -> <unk>), the same
word tokens (runs of letters/digits/apostrophes or one other non-space character; the data is
ASCII), the same targets (<bos> w1 ... wn -> w1 ... wn <eos>).

The model is the VAE's decoder without z: a 1-layer GRU fed the one-hot token, Linear(H, V) to the
logits, h0 = 0. The one-hot input is implemented exactly: a GRU on a one-hot x computes
W_ih x + b_ih = column x of W_ih + b_ih, so the input projection is an nn.Embedding(V, 3H) (W_ih
transposed, initialised as nn.GRU initialises W_ih: U(-1/sqrt(H), 1/sqrt(H))) and nn.GRU's own
W_ih is a frozen 3H x 3H identity. Adam (PyTorch defaults besides lr), no clipping, the loss is the
sum of -log p over an item's predicted tokens averaged over the batch's items (nats per item, as
SwiftVAE's). Prints one JSON line: test NLL per sentence, per token (<eos> included), perplexity.
"""
import argparse, json, math, random, re, struct, sys, time

import torch
import torch.nn as nn
import torch.nn.functional as F

TOKEN = re.compile(r"[A-Za-z0-9']+|\S")
BOS, EOS, PAD, UNK = 0, 1, 2, 3


def vocabulary(run):
    with open(run.rstrip("/") + "/model.safetensors", "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
    cfg = json.loads(header["__metadata__"]["config"])
    return cfg["sequence"]["vocabulary"]


def read(path, index, limit=None):
    items = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            items.append([BOS] + [index.get(w, UNK) for w in TOKEN.findall(line)] + [EOS])
            if limit and len(items) == limit:
                break
    return items


class LM(nn.Module):
    def __init__(self, V, H):
        super().__init__()
        self.inp = nn.Embedding(V, 3 * H)  # = W_ih^T of a GRU on one-hot inputs
        nn.init.uniform_(self.inp.weight, -1 / math.sqrt(H), 1 / math.sqrt(H))
        self.gru = nn.GRU(3 * H, H, batch_first=True)
        with torch.no_grad():
            self.gru.weight_ih_l0.copy_(torch.eye(3 * H))
        self.gru.weight_ih_l0.requires_grad_(False)
        self.out = nn.Linear(H, V)

    def forward(self, x, lengths):
        """Logits of the packed steps only (no work on padding), in PackedSequence order."""
        packed = nn.utils.rnn.pack_padded_sequence(self.inp(x), lengths, batch_first=True, enforce_sorted=False)
        h, _ = self.gru(packed)
        return self.out(h.data)


def batch_nll(model, items):
    """Sum of -log p over each item's predicted tokens: a tensor [B]."""
    inputs = [torch.tensor(t[:-1]) for t in items]
    targets = [torch.tensor(t[1:]) for t in items]
    lengths = torch.tensor([len(t) for t in inputs])
    x = nn.utils.rnn.pad_sequence(inputs, batch_first=True, padding_value=PAD)
    y = nn.utils.rnn.pack_sequence(targets, enforce_sorted=False)  # the same order as the logits
    nll = F.cross_entropy(model(x, lengths), y.data, reduction="none")
    # back to items: scatter each packed step's loss onto its item
    owner = nn.utils.rnn.pack_sequence([torch.full((len(t),), i) for i, t in enumerate(targets)], enforce_sorted=False).data
    return torch.zeros(len(items)).index_add(0, owner, nll)


def evaluate(model, items, batch=256):
    model.eval()
    total = 0.0
    with torch.no_grad():
        for i in range(0, len(items), batch):
            total += batch_nll(model, items[i:i + batch]).sum().item()
    model.train()
    tokens = sum(len(t) - 1 for t in items)
    return total / len(items), total / tokens, tokens


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--run", required=True)
    ap.add_argument("--train", required=True)
    ap.add_argument("--test", required=True)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--epochs", type=int, required=True)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--limit", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--valid")
    a = ap.parse_args()
    torch.manual_seed(a.seed)
    torch.set_num_threads(a.threads)
    vocab = vocabulary(a.run)
    index = {w: i for i, w in enumerate(vocab) if i >= 4}
    train, test = read(a.train, index), read(a.test, index, a.limit)
    valid = read(a.valid, index) if a.valid else None
    best = None  # (valid NLL, epoch, state)
    model = LM(len(vocab), a.hidden)
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=a.lr)
    rng = random.Random(a.seed)
    start = time.time()
    for epoch in range(1, a.epochs + 1):
        order = list(range(len(train)))
        rng.shuffle(order)
        total = 0.0
        for i in range(0, len(order), a.batch):
            items = [train[j] for j in order[i:i + a.batch]]
            loss = batch_nll(model, items).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(items)
        per_item, per_token, _ = evaluate(model, test)
        v = evaluate(model, valid)[0] if valid else None
        print(f"epoch {epoch}: train {total / len(train):.3f} nats/sentence, test {per_item:.3f} "
              f"({per_token:.4f}/token)" + (f", valid {v:.3f}" if v is not None else "") +
              f", {time.time() - start:.0f} s", file=sys.stderr, flush=True)
        if v is not None and (best is None or v < best[0]):
            best = (v, epoch, {k: t.clone() for k, t in model.state_dict().items()})
    chosen = a.epochs
    if best is not None:
        model.load_state_dict(best[2])
        chosen = best[1]
    per_item, per_token, tokens = evaluate(model, test)
    print(json.dumps({"nll": per_item, "nll_per_token": per_token, "perplexity": math.exp(per_token),
                      "tokens": tokens, "items": len(test), "vocabulary": len(vocab), "epochs": a.epochs,
                      "chosen_epoch": chosen, "valid_nll": best[0] if best else None,
                      "seconds": round(time.time() - start, 1),
                      "parameters": sum(p.numel() for p in model.parameters() if p.requires_grad)}))


if __name__ == "__main__":
    main()
