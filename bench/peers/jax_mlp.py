#!/usr/bin/env python3
"""JAX peer for bench/compare.sh: the same 784-H-K MLP VAE as torch_mlp.py, jitted, with a
whole epoch in one lax.scan (its fastest form, `--mode scan` of the shared anchors) and optax's
Adam(1e-3). Compilation happens before timing. Prints one JSON line (images_per_second =
median epoch after the first when epochs >= 2; the tail batch runs in a separate jitted step).
"""
import argparse, gzip, json, os, resource, struct, time

import numpy as np
import jax
import jax.numpy as jnp
import optax
from jax import lax


def read_images(path):
    with (gzip.open if path.endswith(".gz") else open)(path, "rb") as f:
        raw = f.read()
    _, _, nd = struct.unpack(">HBB", raw[:4])
    dims = struct.unpack(">" + "I" * nd, raw[4:4 + 4 * nd])
    a = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * nd).reshape(dims[0], -1)
    return a.astype(np.float32) / np.float32(255.0)


def dense_init(key, n_in, n_out):
    kw, kb = jax.random.split(key)
    b = 1.0 / np.sqrt(n_in)
    return {"w": jax.random.uniform(kw, (n_in, n_out), jnp.float32, -b, b),
            "b": jax.random.uniform(kb, (n_out,), jnp.float32, -b, b)}


def dense(p, x):
    return x @ p["w"] + p["b"]


def batch_loss(p, x, key):
    h = jax.nn.relu(dense(p["fc1"], x))
    mu, lv = dense(p["mu"], h), dense(p["lv"], h)
    z = mu + jnp.exp(0.5 * lv) * jax.random.normal(key, mu.shape, mu.dtype)
    logits = dense(p["fc4"], jax.nn.relu(dense(p["fc3"], z)))
    bce = jnp.sum(jax.nn.softplus(logits) - x * logits)
    kl = -0.5 * jnp.sum(1.0 + lv - mu * mu - jnp.exp(lv))
    return (bce + kl) / x.shape[0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hidden", type=int, default=400)
    ap.add_argument("--latent", type=int, default=20)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    a = ap.parse_args()
    stem = os.path.join(a.data, "train-images-idx3-ubyte")
    x_np = read_images(stem + ".gz" if os.path.exists(stem + ".gz") else stem)
    n, B = x_np.shape[0], a.batch
    x_all = jnp.asarray(x_np)
    ks = jax.random.split(jax.random.PRNGKey(1), 6)
    H, K = a.hidden, a.latent
    params = {"fc1": dense_init(ks[0], 784, H), "mu": dense_init(ks[1], H, K), "lv": dense_init(ks[2], H, K),
              "fc3": dense_init(ks[3], K, H), "fc4": dense_init(ks[4], H, 784)}
    opt = optax.adam(1e-3)
    opt_state = opt.init(params)
    key = ks[5]

    def one_step(p, s, kk, idx):
        kk, sub = jax.random.split(kk)
        x = jnp.take(x_all, idx, axis=0)
        l, g = jax.value_and_grad(batch_loss)(p, x, sub)
        upd, s = opt.update(g, s, p)
        return optax.apply_updates(p, upd), s, kk, l * x.shape[0]

    def scan_epoch(p, s, kk, idx_mat):
        def body(c, idx):
            p, s, kk = c
            p, s, kk, l = one_step(p, s, kk, idx)
            return (p, s, kk), l
        (p, s, kk), ls = lax.scan(body, (p, s, kk), idx_mat)
        return p, s, kk, ls.sum()

    n_full, tail = n // B, n % B
    scan = jax.jit(scan_epoch, donate_argnums=(0, 1)).lower(params, opt_state, key, np.zeros((n_full, B), np.int32)).compile()
    step = jax.jit(one_step, donate_argnums=(0, 1)).lower(params, opt_state, key, np.zeros((tail,), np.int32)).compile() if tail else None
    rng = np.random.default_rng(1)
    epoch_ips, loss = [], 0.0
    for _ in range(a.epochs):
        perm = rng.permutation(n).astype(np.int32)
        t0 = time.perf_counter()
        params, opt_state, key, total = scan(params, opt_state, key, perm[:n_full * B].reshape(n_full, B))
        if tail:
            params, opt_state, key, lt = step(params, opt_state, key, perm[n_full * B:])
            total = total + lt
        total = float(total)
        jax.block_until_ready(params)
        epoch_ips.append(n / (time.perf_counter() - t0))
        loss = total / n
    timed = epoch_ips[1:] if len(epoch_ips) >= 2 else epoch_ips
    print(json.dumps({"peer": "jax-scan", "jax": jax.__version__, "hidden": H, "latent": K, "batch": B,
                      "threads": os.cpu_count(), "epochs": a.epochs,
                      "images_per_second": round(float(np.median(timed))),
                      "epoch_images_per_second": [round(v) for v in epoch_ips],
                      "final_train_loss": round(loss, 2),
                      "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}))


if __name__ == "__main__":
    main()
