"""Attacks inside mixed-precision training (AMP autocast, as the adversarial pretraining methods
run them with ``trainer.precision=bf16-mixed`` / ``16-mixed``): a half-precision loss must not
break the PGD core's bookkeeping (found by ``scripts/gpu-check.sh --cpu``)."""

from __future__ import annotations

import torch

from robustssl.attacks import ThreatModel
from robustssl.attacks.core import maximise
from robustssl.utils import make_generator


def test_pgd_core_on_a_bf16_loss_under_autocast() -> None:
    torch.manual_seed(0)
    encoder = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 16))
    x = torch.rand(32, 1, 8, 8)
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        clean = encoder(x)  # bf16, like the features of the clean view inside a training step

    def drift(z: torch.Tensor) -> torch.Tensor:  # a representation-space loss, as ACL/RoCL use
        return (encoder(z) - clean).abs().sum(1)

    threat = ThreatModel("Linf", 0.1)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert drift(x).dtype == torch.bfloat16
        out = maximise(
            drift,
            x,
            threat,
            steps=5,
            step_size=0.025,
            generator=make_generator(0),
            early_stop=False,
            select="last",
        )
    assert out.x_adv.dtype == torch.float32 and out.loss.dtype == torch.float32
    assert float((out.x_adv - x).abs().max()) <= 0.1 + 1e-6
    assert bool(torch.isfinite(out.loss).all())
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        assert float(drift(out.x_adv).mean()) > float(drift(x).mean()) + 0.1
