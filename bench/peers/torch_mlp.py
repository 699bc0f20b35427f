#!/usr/bin/env python3
"""PyTorch peer for bench/compare.sh: the 784-H-K MLP VAE of SwiftVAE's `vae bench`
(`--model conv`: the conv VAE of `vae bench --model conv`, latent 2, as the shared anchors).

encoder 784-H (ReLU) -> (mu, logvar) [K each]; decoder K-H (ReLU) -> 784 logits;
loss = (BCE from logits, summed + KL) / batch; Adam(lr 1e-3); new permutation each epoch.
Only the training loop is timed. Prints one JSON line (images_per_second = median epoch after
the first when epochs >= 2).
"""
import argparse, gzip, json, os, resource, struct, time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def read_images(path):
    with (gzip.open if path.endswith(".gz") else open)(path, "rb") as f:
        raw = f.read()
    _, _, nd = struct.unpack(">HBB", raw[:4])
    dims = struct.unpack(">" + "I" * nd, raw[4:4 + 4 * nd])
    a = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * nd).reshape(dims[0], -1)
    return a.astype(np.float32) / np.float32(255.0)


class VAE(nn.Module):
    def __init__(self, hidden, latent):
        super().__init__()
        self.fc1, self.mu, self.lv = nn.Linear(784, hidden), nn.Linear(hidden, latent), nn.Linear(hidden, latent)
        self.fc3, self.fc4 = nn.Linear(latent, hidden), nn.Linear(hidden, 784)

    def forward(self, x):
        h = F.relu(self.fc1(x))
        mu, lv = self.mu(h), self.lv(h)
        z = mu + torch.exp(0.5 * lv) * torch.randn_like(mu)
        return self.fc4(F.relu(self.fc3(z))), mu, lv


class ConvVAE(nn.Module):
    def __init__(self, latent, dense=16):
        super().__init__()
        self.enc = nn.Sequential(
            nn.Conv2d(1, 32, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(32, 64, 3, stride=2, padding=1), nn.ReLU(), nn.Flatten(),
            nn.Linear(7 * 7 * 64, dense), nn.ReLU())
        self.mu, self.lv = nn.Linear(dense, latent), nn.Linear(dense, latent)
        self.dec_fc = nn.Linear(latent, 7 * 7 * 64)
        self.dec = nn.Sequential(
            nn.ConvTranspose2d(64, 64, 3, stride=2, padding=1, output_padding=1), nn.ReLU(),
            nn.ConvTranspose2d(64, 32, 3, stride=2, padding=1, output_padding=1), nn.ReLU(),
            nn.ConvTranspose2d(32, 1, 3, stride=1, padding=1))

    def forward(self, x):
        h = self.enc(x.view(-1, 1, 28, 28))
        mu, lv = self.mu(h), self.lv(h)
        z = mu + torch.exp(0.5 * lv) * torch.randn_like(mu)
        return self.dec(F.relu(self.dec_fc(z)).view(-1, 64, 7, 7)).view(-1, 784), mu, lv


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", choices=["mlp", "conv"], default="mlp")
    ap.add_argument("--hidden", type=int, default=None, help="mlp: 400; conv: the dense width, 16")
    ap.add_argument("--latent", type=int, default=None, help="20 (mlp) or 2 (conv)")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    a = ap.parse_args()
    if a.latent is None: a.latent = 20 if a.model == "mlp" else 2
    if a.hidden is None: a.hidden = 400 if a.model == "mlp" else 16
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    stem = os.path.join(a.data, "train-images-idx3-ubyte")
    x_train = torch.from_numpy(read_images(stem + ".gz" if os.path.exists(stem + ".gz") else stem))
    n = x_train.shape[0]
    model = VAE(a.hidden, a.latent) if a.model == "mlp" else ConvVAE(a.latent, a.hidden)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    epoch_ips, loss = [], 0.0
    for _ in range(a.epochs):
        perm = torch.randperm(n)
        total = 0.0
        t0 = time.perf_counter()
        for i in range(0, n, a.batch):
            x = x_train[perm[i:i + a.batch]]
            logits, mu, lv = model(x)
            bce = F.binary_cross_entropy_with_logits(logits, x, reduction="sum")
            kl = -0.5 * torch.sum(1 + lv - mu * mu - lv.exp())
            l = (bce + kl) / x.shape[0]
            opt.zero_grad(set_to_none=True)
            l.backward()
            opt.step()
            total += l.item() * x.shape[0]
        epoch_ips.append(n / (time.perf_counter() - t0))
        loss = total / n
    timed = epoch_ips[1:] if len(epoch_ips) >= 2 else epoch_ips
    print(json.dumps({"peer": "pytorch", "model": a.model, "torch": torch.__version__, "hidden": a.hidden, "latent": a.latent,
                      "batch": a.batch, "threads": a.threads, "epochs": a.epochs,
                      "images_per_second": round(float(np.median(timed))),
                      "epoch_images_per_second": [round(v) for v in epoch_ips],
                      "final_train_loss": round(loss, 2),
                      "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}))


if __name__ == "__main__":
    main()
