#!/usr/bin/env python3
"""Writes Tests/VAEKitTests/Fixtures/gru_vae_embedding_step.json: one step of a tiny sequence VAE
whose GRUs read a learned token embedding (MOSES's `x_emb`, shared by encoder and decoder),
computed by PyTorch in float64, independently of SwiftVAE:

  tokens: 0 <bos>, 1 <eos>, 2 <pad>, 3..6 characters; three sequences of lengths 5, 3, 7
  e_t = Embedding(7, 4)[token t]
  encoder: nn.GRU(4, 5, num_layers=2) over e of <bos> .. <eos> (packed: each sequence's own last
           token), its top layer's final state -> Linear(5, 2K) = [mu | logvar]
  z = mu + exp(logvar / 2) * eps
  decoder: h0 = Linear(z) for each of its 2 layers; nn.GRU(4 + K, 4, num_layers=2) fed [e_t, z] for
           t = 0 .. T-2 (teacher forcing), predicting token t + 1; logits = Linear(4, 7)
  recon = cross-entropy summed over the non-pad targets / batch; kl = sum over latent dims / batch

Parameter names and shapes are SwiftVAE's (its checkpoints use PyTorch's state-dict names). Run by
hand: python3 -m venv .venv-torch && .venv-torch/bin/pip install torch &&
.venv-torch/bin/python scripts/make_sequence_embedding_fixture.py
"""
import json
import os

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

torch.manual_seed(2016)
torch.set_default_dtype(torch.float64)
V, E, K, He, Hd, L = 7, 4, 3, 5, 4, 2
tokens = [[0, 3, 4, 5, 1, 2, 2], [0, 6, 1, 2, 2, 2, 2], [0, 4, 4, 6, 3, 5, 1]]
lengths = [5, 3, 7]

emb = nn.Embedding(V, E)
enc = nn.GRU(E, He, num_layers=L, batch_first=True)
head = nn.Linear(He, 2 * K)
h0 = nn.Linear(K, Hd)
dec = nn.GRU(E + K, Hd, num_layers=L, batch_first=True)
out = nn.Linear(Hd, V)
params = {"embedding.weight": emb.weight}
for prefix, m in [("encoder.gru", enc), ("encoder.head", head), ("decoder.h0", h0), ("decoder.gru", dec), ("decoder.out", out)]:
    for name, p in m.named_parameters():
        params[f"{prefix}.{name}"] = p

x = torch.tensor(tokens)
B = x.shape[0]
eps = torch.randn(B, K)
# encoder: packed, so each sequence's final state is after its own <eos>
packed = pack_padded_sequence(emb(x), torch.tensor(lengths), batch_first=True, enforce_sorted=False)
_, hN = enc(packed)
hk = head(hN[-1])
mu, logvar = hk[:, :K], hk[:, K:]
z = mu + torch.exp(logvar / 2) * eps
# decoder: inputs tokens 0 .. T-2, targets 1 .. T-1
T = x.shape[1]
dec_in = torch.cat([emb(x[:, :-1]), z.unsqueeze(1).expand(B, T - 1, K)], dim=2)
start = h0(z).unsqueeze(0).repeat(L, 1, 1)
o, _ = dec(dec_in, start.contiguous())
logits = out(o)
targets = x[:, 1:]
mask = targets != 2
ce = nn.functional.cross_entropy(logits.reshape(-1, V), targets.reshape(-1), reduction="none").reshape(B, T - 1)
recon = (ce * mask).sum() / B
kl = 0.5 * (mu ** 2 + logvar.exp() - logvar - 1).sum() / B
loss = recon + kl
loss.backward()


def t(a):
    a = a.detach()
    return {"shape": list(a.shape), "data": a.reshape(-1).tolist()}


fixture = {"sequence_vae_embedding_step": {
    "note": __doc__.strip().split("\n\n")[0] + " (see scripts/make_sequence_embedding_fixture.py)",
    "vocab": V, "tokens": tokens, "lengths": lengths, "pad": 2, "eps": t(eps),
    "params": {k: t(p) for k, p in params.items()},
    "mu": t(mu), "logvar": t(logvar), "z": t(z),
    "recon": recon.item(), "kl": kl.item(), "loss": loss.item(),
    "grads": {k: t(p.grad) for k, p in params.items()},
}}
path = os.path.join(os.path.dirname(__file__), "..", "Tests", "VAEKitTests", "Fixtures", "gru_vae_embedding_step.json")
with open(path, "w") as f:
    json.dump(fixture, f)
print("wrote", os.path.normpath(path))
