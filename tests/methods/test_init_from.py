"""Seed 003 P0/P1/P2: adversarial pretext pretraining with the configured norm, and
``model.init_from`` loading exactly those weights (strictly) before training."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from robustssl.data.views import random_rotation
from robustssl.methods import PretrainConfig, pretrain
from robustssl.methods import pretext as pretext_module
from robustssl.methods.pretext import Rotation, RotationConfig
from robustssl.methods.pretrain import build_module
from robustssl.models import build_encoder
from robustssl.utils import make_generator
from robustssl.utils.checkpoint import load_weights, save_weights


def _config(root: Path, out: Path, name: str, method: dict, **model: object) -> PretrainConfig:
    return PretrainConfig.model_validate(
        {
            "name": name,
            "output_dir": str(out),
            "data": {"dataset": "fashion_mnist", "root": str(root), "batch_size": 40},
            "model": {"backbone": "small_cnn", "backbone_kwargs": {"width": 8}, **model},
            "method": method,
            "trainer": {"max_epochs": 1, "progress_bar": False, "accelerator": "cpu"},
            "monitor": {"knn": False, "online_probe": False},
        }
    )


P1 = {"name": "rotation", "adversary": {"norm": "L2", "eps": 1.0, "steps": 2}}
SS_AT = {"name": "ss_at", "scheme": "T0", "adversary": {"eps": 0.1, "steps": 1}}


def _rotation(norm: str, eps: float) -> Rotation:
    torch.manual_seed(0)
    encoder = build_encoder("small_cnn", 1, (0.5,), (0.25,), width=8)
    adversary = {"norm": norm, "eps": eps, "steps": 3, "bn_mode": "eval"}
    return Rotation(encoder, RotationConfig(views=None, adversary=adversary))


def test_adversarial_pretext_attacks_the_transformed_batch_on_the_pretext_loss(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    m = _rotation("L2", 1.0)
    x = torch.rand(8, 1, 28, 28, generator=make_generator(1))
    calls = []

    def spy(loss, x_in, cfg, model, generator):
        calls.append((loss, x_in, cfg))
        return x_in

    monkeypatch.setattr(pretext_module, "perturb", spy)
    m.step(x, torch.zeros(8, dtype=torch.long), make_generator(4))
    ((loss_fn, attacked, cfg),) = calls
    x_ss, y_ss = random_rotation(x, make_generator(4))
    assert torch.equal(attacked, x_ss) and cfg.norm == "L2" and cfg.eps == 1.0
    with torch.no_grad():
        expected = F.cross_entropy(m.head(m.encoder(x_ss)), y_ss, reduction="none")
        assert torch.allclose(loss_fn(x_ss), expected, atol=1e-6)


def test_p1_and_p2_perturbations_live_in_their_own_norm_ball(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """L∞ ε = 0.05 on 28×28 spreads ‖δ‖₂ far beyond 1; L2 ε = 1 keeps ‖δ‖₂ ≤ 1."""
    x = torch.rand(8, 1, 28, 28, generator=make_generator(1))
    deltas = {}
    real = pretext_module.perturb

    def record(loss, x_in, cfg, model, generator):
        out = real(loss, x_in, cfg, model, generator)
        deltas[cfg.norm] = (out - x_in).flatten(1)
        return out

    monkeypatch.setattr(pretext_module, "perturb", record)
    for norm, eps in (("Linf", 0.05), ("L2", 1.0)):
        _rotation(norm, eps).step(x, torch.zeros(8, dtype=torch.long), make_generator(4))
    assert float(deltas["Linf"].abs().max()) <= 0.05 + 1e-6
    assert float(deltas["Linf"].norm(dim=1).min()) > 1.0
    assert float(deltas["L2"].norm(dim=1).max()) <= 1.0 + 1e-5
    assert float(deltas["L2"].abs().max()) > 0.05


def test_init_from_loads_exactly_the_saved_encoder(tiny_fmnist: Path, tmp_path: Path) -> None:
    p1 = pretrain(_config(tiny_fmnist, tmp_path, "p1", P1)).run_dir
    saved = load_weights(p1 / "encoder.safetensors")
    cfg = _config(tiny_fmnist, tmp_path, "p1_t0", SS_AT, init_from=str(p1))
    module = build_module(cfg, 10, 1)
    state = module.encoder.state_dict()
    assert state.keys() == saved.keys()
    assert all(torch.equal(state[k], saved[k]) for k in saved)
    fresh = build_module(
        cfg.model_copy(update={"model": cfg.model.model_copy(update={"init_from": None})}), 10, 1
    )
    assert not torch.equal(
        fresh.encoder.state_dict()["backbone.block1.0.weight"], saved["backbone.block1.0.weight"]
    )
    result = pretrain(cfg)  # P1 followed by T0 trains end to end
    assert (result.run_dir / "encoder.safetensors").is_file()


def _fake_run(path: Path, state: dict[str, torch.Tensor]) -> Path:
    save_weights(
        state, path / "encoder.safetensors", {"config": {"model": {"backbone": "small_cnn"}}}
    )
    return path


def test_init_from_errors_name_the_keys(tiny_fmnist: Path, tmp_path: Path) -> None:
    encoder = build_encoder("small_cnn", 1, (0.5,), (0.25,), width=8)
    state = encoder.state_dict()
    missing = _fake_run(tmp_path / "missing", {k: v for k, v in state.items() if "block3" not in k})
    cfg = _config(tiny_fmnist, tmp_path, "a", SS_AT, init_from=str(missing))
    with pytest.raises(ValueError, match=r"missing keys \['backbone\.block3"):
        build_module(cfg, 10, 1)
    extra = _fake_run(tmp_path / "extra", {**state, "head.weight": torch.zeros(2)})
    cfg = _config(tiny_fmnist, tmp_path, "b", SS_AT, init_from=str(extra))
    with pytest.raises(ValueError, match=r"unexpected keys \['head\.weight'\]"):
        build_module(cfg, 10, 1)
    cfg = _config(tiny_fmnist, tmp_path, "c", SS_AT, init_from=str(extra))
    cfg.model.backbone_kwargs["width"] = 16
    with pytest.raises(ValueError, match="shape mismatches"):
        build_module(cfg, 10, 1)
    cfg = _config(tiny_fmnist, tmp_path, "d", SS_AT, init_from=str(missing))
    cfg.model.backbone = "resnet18"
    with pytest.raises(ValueError, match=r"'small_cnn' encoder but model\.backbone is 'resnet18'"):
        build_module(cfg, 10, 1)


def test_missing_init_run_fails_before_the_run_directory_is_made(
    tiny_fmnist: Path, tmp_path: Path
) -> None:
    cfg = _config(tiny_fmnist, tmp_path, "e", SS_AT, init_from=str(tmp_path / "nowhere"))
    with pytest.raises(FileNotFoundError, match=r"model\.init_from"):
        pretrain(cfg)
    assert not (tmp_path / "e").exists()
