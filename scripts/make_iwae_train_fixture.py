#!/usr/bin/env python3
"""Writes Tests/VAEKitTests/Fixtures/iwae_train.json: the IWAE training loss of Burda et al. (2015)
and its gradient for a tiny VAE, computed independently of SwiftVAE in float64.

The oracle is HIPS autograd (`pip install autograd`, reverse-mode differentiation of numpy code),
used because PyTorch could not be installed here; the model is written from the paper's formulas,
not from SwiftVAE's code:

  encoder 6 -> 5 -> 4 (tanh) -> [mu | log sigma^2] (2 + 2), decoder 2 -> 4 -> 5 (tanh) -> 6 logits
  z_ij = mu_i + sigma_i * eps_ij,  j = 1..K
  log w_ij = log Bern(x_i | sigmoid(o_ij)) [observed pixels] + log N(z_ij; 0, I) - log N(z_ij; mu_i, sigma_i^2)
  loss = -(1/B) sum_i [ logsumexp_j log w_ij - log K ]

Parameter names and shapes ([out, in]) are SwiftVAE's (PyTorch state-dict order). Run by hand:
  pip install autograd && python3 scripts/make_iwae_train_fixture.py
"""
import json
import os

import autograd.numpy as np
from autograd import grad
from autograd.scipy.special import logsumexp

B, D, K, Z = 3, 6, 4, 2
H1, H2 = 5, 4
rs = np.random.RandomState(2015)

shapes = [
    ("encoder.1.weight", (H1, D)), ("encoder.1.bias", (H1,)),
    ("encoder.3.weight", (H2, H1)), ("encoder.3.bias", (H2,)),
    ("encoder.5.weight", (2 * Z, H2)), ("encoder.5.bias", (2 * Z,)),
    ("decoder.0.weight", (H2, Z)), ("decoder.0.bias", (H2,)),
    ("decoder.2.weight", (H1, H2)), ("decoder.2.bias", (H1,)),
    ("decoder.4.weight", (D, H1)), ("decoder.4.bias", (D,)),
]
params = {n: rs.uniform(-0.8, 0.8, size=s) for n, s in shapes}
x = (rs.uniform(size=(B, D)) < 0.5).astype(np.float64)
eps = rs.normal(size=(B, K, Z))
mask = np.ones((B, D))
mask[0, 1] = mask[1, 4] = mask[2, 0] = mask[2, 5] = 0
x_masked = x * mask


def dense(p, name, h):
    return h @ p[name + ".weight"].T + p[name + ".bias"]


def neg_bound(p, x, m):
    h = np.tanh(dense(p, "encoder.1", x))
    h = np.tanh(dense(p, "encoder.3", h))
    out = dense(p, "encoder.5", h)
    mu, logvar = out[:, :Z], out[:, Z:]
    sigma = np.exp(0.5 * logvar)
    z = mu[:, None, :] + sigma[:, None, :] * eps                      # [B, K, Z]
    g = np.tanh(dense(p, "decoder.0", z.reshape(B * K, Z)))
    g = np.tanh(dense(p, "decoder.2", g))
    logits = dense(p, "decoder.4", g).reshape(B, K, D)
    # log Bernoulli(x | sigmoid(o)) = x*o - softplus(o), summed over observed pixels
    softplus = np.logaddexp(0.0, logits)
    log_px = np.sum(m[:, None, :] * (x[:, None, :] * logits - softplus), axis=2)
    log_pz = np.sum(-0.5 * z ** 2 - 0.5 * np.log(2 * np.pi), axis=2)
    log_qz = np.sum(-0.5 * ((z - mu[:, None, :]) / sigma[:, None, :]) ** 2 - 0.5 * logvar[:, None, :]
                    - 0.5 * np.log(2 * np.pi), axis=2)
    log_w = log_px + log_pz - log_qz                                 # [B, K]
    per_image = -(logsumexp(log_w, axis=1) - np.log(K))
    return np.mean(per_image), per_image


def case(name, x, m):
    loss, per_image = neg_bound(params, x, m)
    grads = grad(lambda p: neg_bound(p, x, m)[0])(params)
    return {"name": name, "x": t(x), "mask": t(m), "loss": float(loss), "neg_bound_per_image": t(per_image),
            "grads": {n: t(grads[n]) for n, _ in shapes}}


def t(a):
    a = np.asarray(a, dtype=np.float64)
    return {"shape": list(a.shape), "data": [float(v) for v in a.ravel()]}


fixture = {
    "about": "IWAE training loss -(1/B) sum_i log (1/K) sum_j w_ij and its gradient (float64, HIPS autograd) "
             "for a 6-5-4-2 tanh mlp VAE with a Bernoulli decoder; eps[b][k][j]; see scripts/make_iwae_train_fixture.py",
    "k": K, "latent": Z, "hidden": [H1, H2],
    "params": {n: t(params[n]) for n, _ in shapes},
    "eps": t(eps),
    "cases": [case("all observed", x, np.ones((B, D))), case("masked", x_masked, mask)],
}
path = os.path.join(os.path.dirname(__file__), "..", "Tests", "VAEKitTests", "Fixtures", "iwae_train.json")
with open(path, "w") as f:
    json.dump(fixture, f)
print("wrote", os.path.normpath(path), "loss", [c["loss"] for c in fixture["cases"]])
