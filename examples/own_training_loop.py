"""Your own training loop around a robustssl method: adversarial SimCLR's ``step`` (views, PGD on
the contrastive loss, NT-Xent on the adversarial pair) driven by a plain PyTorch loop, no
Lightning. The encoder is saved as a self-describing ``encoder.safetensors`` that
``robustssl.models.load_encoder`` reads (see load_encoder_linear_head.py).

    python examples/own_training_loop.py --out my_run                  # tiny synthetic data
    python examples/own_training_loop.py --data ./data --n 2048 --epochs 3 --out my_run
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import torch
from pydantic import TypeAdapter
from tiny_data import fashion_points

from robustssl.methods import build_method
from robustssl.methods.config import MethodConfig
from robustssl.models import build_encoder, describe_encoder, save_encoder

BACKBONE = "small_cnn"


def main(argv: Sequence[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="a Fashion-MNIST data root (default: synthetic points)")
    parser.add_argument("--n", type=int, default=128, help="training points")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--width", type=int, default=8, help="small CNN width")
    parser.add_argument("--out", type=Path, default=Path("own_loop_run"), help="output folder")
    args = parser.parse_args(argv)

    torch.manual_seed(0)
    x, y = fashion_points(args.n, args.data, split="train")
    encoder = build_encoder(BACKBONE, 1, (0.2860,), (0.3530,), width=args.width)
    cfg = TypeAdapter(MethodConfig).validate_python(  # the same keys as a YAML config's method:
        {
            "name": "adv_simclr",
            "projection": {"hidden_dim": 64, "out_dim": 32},
            "views": {"crop_scale": [0.2, 1.0]},
            "adversary": {"norm": "Linf", "eps": 0.1, "steps": 3, "bn_mode": "train"},
        }
    )
    method = build_method(cfg, encoder, num_classes=None).train()
    optimizer = torch.optim.Adam(method.parameters(), lr=2e-3)
    generator = torch.Generator().manual_seed(0)  # all view and attack randomness comes from it
    losses = []
    for epoch in range(args.epochs):
        order = torch.randperm(len(x), generator=generator)
        total = 0.0
        for start in range(0, len(x), args.batch_size):
            idx = order[start : start + args.batch_size]
            out = method.step(x[idx], y[idx], generator)  # a MethodStep: loss, features, logs
            optimizer.zero_grad()
            out.loss.backward()
            optimizer.step()
            total += float(out.loss.detach()) * len(idx)
        losses.append(total / len(x))
        print(f"epoch {epoch}: adversarial NT-Xent {losses[-1]:.4f}")

    trained = method.export_encoder().eval()  # the plain Encoder (Normalize + backbone)
    spec = describe_encoder(
        trained,
        BACKBONE,
        {"width": args.width},
        input_size=(28, 28),
        dataset="fashion_mnist" if args.data else "synthetic",
        method="adv_simclr",
    )
    path = args.out / "encoder.safetensors"
    save_encoder(trained, spec, path, {"epochs": args.epochs, "losses": losses})
    print(f"wrote {path}")
    return {"first_loss": losses[0], "last_loss": losses[-1]}


if __name__ == "__main__":
    main()
