"""Your own model, evaluated in one call: a torchvision ResNet-18 with the normalisation inside
the model (attacks work on [0, 1] pixels), measured with robustssl.evaluation.evaluate_model.

    python examples/own_model.py                       # tiny synthetic Fashion-MNIST-shaped data
    python examples/own_model.py --data ./data --n 200 --weights my_resnet.safetensors
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import torch
from tiny_data import fashion_points
from torch import nn
from torchvision.models import resnet18
from torchvision.transforms import Normalize

from robustssl.evaluation import evaluate_model
from robustssl.utils.checkpoint import load_weights

FASHION_MNIST_MEAN, FASHION_MNIST_STD = (0.2860,), (0.3530,)


def build_model() -> nn.Module:
    """torchvision's ResNet-18 for 1-channel images: Normalize first, so the model takes [0, 1]
    pixels (``robustssl evaluate --model own_model:build_model`` works with this factory too)."""
    net = resnet18(weights=None, num_classes=10)
    net.conv1 = nn.Conv2d(1, 64, kernel_size=7, stride=2, padding=3, bias=False)
    return nn.Sequential(Normalize(FASHION_MNIST_MEAN, FASHION_MNIST_STD), net)


def main(argv: Sequence[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="a Fashion-MNIST data root (default: synthetic points)")
    parser.add_argument("--n", type=int, default=16, help="number of test points")
    parser.add_argument("--weights", help="a .safetensors state dict of build_model()")
    parser.add_argument("--eps", type=float, default=0.1, help="L∞ radius in pixels")
    parser.add_argument("--steps", type=int, default=10, help="PGD steps")
    args = parser.parse_args(argv)

    torch.manual_seed(0)
    model = build_model()
    if args.weights:
        model.load_state_dict(load_weights(args.weights), strict=True)  # safetensors: no pickle
    model.eval()
    x, y = fashion_points(args.n, args.data)
    done = evaluate_model(
        model,
        x,
        y,
        dataset="fashion_mnist" if args.data else "synthetic",
        name="torchvision_resnet18",
        threats={"Linf": args.eps},
        attacks=["fgsm", "pgd"],
        config={
            "attacks": {"pgd": {"steps": args.steps}},
            "diagnostics": {"n_points": args.n, "more_steps": 2 * args.steps, "queries": 50},
        },
    )
    print(done.table)
    return {
        (r.attack or r.metric): float(r.value)
        for r in done.records
        if r.metric in ("sa", "breakdown")
    }


if __name__ == "__main__":
    main()
