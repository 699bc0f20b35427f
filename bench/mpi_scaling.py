#!/usr/bin/env python3
"""Scaling model of `mpirun -np N vae train` on a cluster (README, "Training on many processes").

time per step = compute + exposed all-reduce
  compute        = t_img * B                  (forward + backward of B images on one rank)
  backward       = 2/3 of compute             (a backward costs about two forwards)
  all-reduce     = 2(N-1)/N * 4P / bandwidth  (bytes a ring moves per rank; SwiftVAE's
                 + 2(N-1) * latency            reduce-scatter + all-gather move the same)
  exposed        = last-bucket share * all-reduce + max(0, rest of all-reduce - backward)
The last bucket (the encoder's first layer) is final only when the backward ends, so it can
never hide; B* is the batch per rank from which the rest hides behind the backward.

usage: bench/mpi_scaling.py T_IMG_MLP_MS T_IMG_CONV_MS   (ms per image, 1 thread, measured)
"""
import sys

t_mlp = float(sys.argv[1]) if len(sys.argv) > 1 else 0.25
t_conv = float(sys.argv[2]) if len(sys.argv) > 2 else 2.0
models = {
    # P, share of P in the last bucket (256 KiB buckets), ms per image
    "mlp (784-400-20, 652,824 parameters)": (652_824, 314_000 / 652_824, t_mlp),
    "conv (28×28, latent 2, dense 16, 134,165 parameters)": (134_165, 320 / 134_165, t_conv),
}
links = [("10 Gb/s Ethernet, TCP (20 µs)", 10e9 / 8, 20e-6), ("100 Gb/s RDMA (2 µs)", 100e9 / 8, 2e-6)]
batch = 64  # images per rank

for name, (p, last, t_img) in models.items():
    comp = t_img * 1e-3 * batch
    print(f"\n**{name}**: {t_img:g} ms per image on one thread, so {comp * 1e3:.1f} ms of compute per step "
          f"at {batch} images per rank; {last:.1%} of the parameters in the last bucket\n")
    head = " | ".join(f"{l.split(' (')[0]}: all-reduce, step, efficiency, B*" for l, _, _ in links)
    print(f"| N | bytes per rank | {head} |")
    print("|---:|---:|" + "---:|" * len(links))
    for n in [2, 4, 8, 16, 32, 64]:
        bytes_ = 2 * (n - 1) / n * 4 * p
        cells = []
        for lname, bw, lat in links:
            ar = bytes_ / bw + 2 * (n - 1) * lat
            bwd = comp * 2 / 3
            exposed = last * ar + max(0.0, (1 - last) * ar - bwd)
            step = comp + exposed
            b_star = (1 - last) * ar / (t_img * 1e-3 * 2 / 3)
            cells.append(f"{ar * 1e3:.2f} ms, {step * 1e3:.2f} ms, {comp / step:.0%}, {b_star:.0f}")
        print(f"| {n} | {bytes_ / 1e6:.2f} MB | " + " | ".join(cells) + " |")
