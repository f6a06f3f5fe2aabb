"""A pretrained encoder from its one ``encoder.safetensors`` (robustssl.models.load_encoder: the
file's header says how to build it; no run directory needed) with a linear head trained on its
frozen features (standard linear finetuning, SLF), then the classifier's clean accuracy.

    python examples/load_encoder_linear_head.py --encoder own_loop_run/encoder.safetensors
    python examples/load_encoder_linear_head.py --data ./data \
        --encoder runs/simclr_fashion_mnist/encoder.safetensors
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import torch
from tiny_data import fashion_points
from torch import nn

from robustssl.models import Classifier, LinearClassifier, load_encoder, read_encoder_spec


def main(argv: Sequence[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--encoder", type=Path, required=True, help="an encoder.safetensors")
    parser.add_argument("--data", help="a Fashion-MNIST data root (default: synthetic points)")
    parser.add_argument("--n", type=int, default=256, help="training points for the head")
    parser.add_argument("--steps", type=int, default=100, help="head training steps")
    args = parser.parse_args(argv)

    encoder = load_encoder(args.encoder)  # strict, eval mode; a clear error for a wrong file
    spec = read_encoder_spec(args.encoder)
    print(
        f"{spec.backbone} {dict(spec.backbone_kwargs)}: {spec.feature_dim} features, trained "
        f"by {spec.method} on {spec.dataset} at {spec.input_size}"
    )
    for p in encoder.parameters():
        p.requires_grad_(False)
    model = Classifier(encoder, LinearClassifier(encoder.feature_dim, 10))
    x, y = fashion_points(args.n, args.data, split="train")
    with torch.no_grad():
        features = encoder(x)  # frozen encoder: compute the features once
    torch.manual_seed(0)
    optimizer = torch.optim.Adam(model.head.parameters(), lr=1e-2)
    for _ in range(args.steps):
        loss = nn.functional.cross_entropy(model.head(features), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    x_test, y_test = fashion_points(args.n, args.data, split="test", seed=1)
    with torch.no_grad():
        train_acc = float((model(x).argmax(1) == y).float().mean())
        test_acc = float((model(x_test).argmax(1) == y_test).float().mean())
    print(
        f"linear head: train accuracy {100 * train_acc:.1f}%, test accuracy "
        f"{100 * test_acc:.1f}% ({len(y_test)} points)"
    )
    return {"train_accuracy": train_acc, "test_accuracy": test_acc, "loss": float(loss.detach())}


if __name__ == "__main__":
    main()
