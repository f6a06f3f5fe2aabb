"""Layer-wise contrastive loss (seed 004 eq. 4) and its Tikhonov form (eq. 5); contrastive
Tikhonov on SimCLR (eq. 3)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from lightly.loss import NTXentLoss

from robustssl.data.views import SimCLRViews
from robustssl.methods import PretrainConfig, pretrain
from robustssl.methods.layerwise_simclr import LayerwiseSimCLR, LayerwiseSimCLRConfig
from robustssl.methods.simclr import SimCLR, SimCLRConfig
from robustssl.models import build_encoder
from robustssl.objectives.tikhonov import contrastive_penalty
from robustssl.utils import make_generator

PROJ = {"hidden_dim": 16, "out_dim": 8}
LAYERS = [
    {"layer": "backbone.block1", "alpha": 0.1},
    {"layer": "backbone.block2", "alpha": 0.3},
    {"layer": "output", "alpha": 1.0},
]


def _encoder():
    torch.manual_seed(0)
    return build_encoder("small_cnn", 1, (0.5,), (0.25,), width=4)


def _batch() -> torch.Tensor:
    return torch.rand(6, 1, 28, 28, generator=make_generator(1))


def test_loss_is_the_weighted_sum_of_per_layer_ntxent() -> None:
    cfg = LayerwiseSimCLRConfig(layers=LAYERS, projection=PROJ)
    m = LayerwiseSimCLR(_encoder(), cfg).eval()
    x = _batch()
    out = m.step(x, torch.zeros(6, dtype=torch.long), make_generator(7))
    # Independent reference: the backbone's blocks by hand, lightly's NT-Xent (τ = 0.5)
    v1, v2 = SimCLRViews(cfg.views).views(x, n_views=2, generator=make_generator(7))
    bb = m.encoder.backbone
    ntxent = NTXentLoss(temperature=0.5)
    expected = torch.zeros(())
    with torch.no_grad():
        h = {}
        for i, v in enumerate((v1, v2)):
            b1 = bb.block1(m.encoder.normalize(v))
            b2 = bb.block2(b1)  # conv blocks: average-pool H, W; the output is already (B, C)
            h[i] = {"backbone.block1": b1.mean((2, 3)), "backbone.block2": b2.mean((2, 3))}
            h[i]["output"] = m.encoder(v)
        for term, proj in zip(cfg.layers, m.projectors, strict=True):
            z1, z2 = proj(h[0][term.layer]), proj(h[1][term.layer])
            expected = expected + term.alpha * ntxent(z1, z2)
    assert float(out.loss) == pytest.approx(float(expected), rel=1e-4)
    assert [p.in_dim for p in m.projectors] == [4, 8, 16]
    assert set(out.logs) == {"loss/backbone.block1", "loss/backbone.block2", "loss/output"}


def test_beta_adds_the_layer_penalty_and_trains_through_it() -> None:
    layers = [{"layer": "backbone.block1", "alpha": 0.0, "beta": 5.0}, {"layer": "output"}]
    m = LayerwiseSimCLR(_encoder(), LayerwiseSimCLRConfig(layers=layers, projection=PROJ))
    out = m.step(_batch(), torch.zeros(6, dtype=torch.long), make_generator(3))
    penalty = out.logs["tikhonov/backbone.block1"]
    assert float(penalty) > 0
    # alpha = 0: the first layer enters only through β·R; its projector gets gradient from R
    expected = out.logs["loss/output"] + 5.0 * penalty
    assert float(out.loss.detach()) == pytest.approx(float(expected), rel=1e-5)
    out.loss.backward()
    assert float(m.projectors[0].fc1.weight.grad.abs().sum()) > 0


def test_unknown_or_repeated_layers_fail_before_training() -> None:
    with pytest.raises(ValueError, match="did you mean"):
        LayerwiseSimCLR(_encoder(), LayerwiseSimCLRConfig(layers=[{"layer": "backbone.blok1"}]))
    with pytest.raises(ValueError, match="twice"):
        LayerwiseSimCLRConfig(layers=[{"layer": "output"}, {"layer": "output"}])
    with pytest.raises(ValueError, match="positive alpha"):
        LayerwiseSimCLRConfig(layers=[{"layer": "output", "alpha": 0.0}])


def test_simclr_tikhonov_adds_half_lambda_times_eq3_penalty() -> None:
    cfg = SimCLRConfig(tikhonov=4.0, projection=PROJ)
    m = SimCLR(_encoder(), cfg)
    x = _batch()
    out = m.step(x, torch.zeros(6, dtype=torch.long), make_generator(2))
    plain = SimCLR(m.encoder, cfg.model_copy(update={"tikhonov": 0.0}))
    plain.projector = m.projector
    views = [
        v.requires_grad_(True) for v in m.views.views(x, n_views=2, generator=make_generator(2))
    ]
    z = plain.projector(plain.encoder(torch.cat(views))).chunk(2)
    loss = plain.contrastive_loss(list(z), torch.zeros(6))
    expected = loss + 2.0 * contrastive_penalty(loss, views)
    assert float(out.loss.detach()) == pytest.approx(float(expected.detach()), rel=1e-5)
    assert float(out.logs["tikhonov"]) > 0


def test_pretrain_runs_layerwise_simclr(tiny_fmnist: Path, tmp_path: Path) -> None:
    cfg = PretrainConfig.model_validate(
        {
            "name": "lw",
            "output_dir": str(tmp_path),
            "data": {"dataset": "fashion_mnist", "root": str(tiny_fmnist), "batch_size": 40},
            "model": {"backbone": "small_cnn", "backbone_kwargs": {"width": 8}},
            "method": {
                "name": "layerwise_simclr",
                "projection": PROJ,
                "layers": [
                    {"layer": "backbone.block2", "alpha": 0.3, "beta": 0.1},
                    {"layer": "output"},
                ],
            },
            "trainer": {"max_epochs": 1, "progress_bar": False, "accelerator": "cpu"},
        }
    )
    result = pretrain(cfg)
    assert (result.run_dir / "encoder.safetensors").is_file()
    assert 0.0 <= result.metrics["knn_top1"] <= 1.0


def test_contrastive_tikhonov_refuses_multi_process_gathers(monkeypatch) -> None:
    """The gather's backward all-reduces in place: no second derivative across processes."""
    import robustssl.methods.distributed as distributed

    monkeypatch.setattr(distributed.dist, "is_initialized", lambda: True)
    monkeypatch.setattr(distributed.dist, "get_world_size", lambda: 2)
    m = SimCLR(_encoder(), SimCLRConfig(tikhonov=1.0, projection=PROJ))
    with pytest.raises(RuntimeError, match=r"trainer\.devices=1"):
        m.step(_batch(), torch.zeros(6, dtype=torch.long), make_generator(0))
    layers = [{"layer": "output", "beta": 1.0}]
    m = LayerwiseSimCLR(_encoder(), LayerwiseSimCLRConfig(layers=layers, projection=PROJ))
    with pytest.raises(RuntimeError, match=r"beta > 0"):
        m.step(_batch(), torch.zeros(6, dtype=torch.long), make_generator(0))
