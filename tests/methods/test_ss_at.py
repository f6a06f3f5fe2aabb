"""Self-supervision inside AT (seed 003 Algorithm 1): which batch each scheme attacks, which loss
the attack maximises, and which batches the training loss uses."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from robustssl.data.views import random_rotation
from robustssl.methods import PretrainConfig, pretrain
from robustssl.methods import ss_at as ss_at_module
from robustssl.methods.ss_at import SSAT, SSATConfig
from robustssl.models import build_encoder
from robustssl.utils import make_generator

LAMBDA1, LAMBDA2 = 0.7, 0.4
SHIFT = 0.01  # what the spy adversary adds


def _method(scheme: str, **cfg: object) -> SSAT:
    torch.manual_seed(0)
    encoder = build_encoder("small_cnn", 1, (0.5,), (0.25,), width=8)
    config = SSATConfig(
        scheme=scheme,
        lambda1=LAMBDA1,
        lambda2=LAMBDA2,
        views=None,
        adversary={"eps": 0.1, "steps": 3, "random_start": False, "bn_mode": "eval"},
        **cfg,
    )
    return SSAT(encoder, config, 10).eval()  # eval: BN off, so forwards are batch-independent


def _batch() -> tuple[torch.Tensor, torch.Tensor]:
    return torch.rand(8, 1, 28, 28, generator=make_generator(1)), torch.arange(8) % 10


def _spy_step(monkeypatch: pytest.MonkeyPatch, method: SSAT, x, y) -> tuple[list, object]:
    calls: list = []

    def spy(loss, x_in, cfg, model, generator):
        calls.append((loss, x_in.clone()))
        return (x_in + SHIFT).clamp(0, 1)

    monkeypatch.setattr(ss_at_module, "perturb", spy)
    return calls, method.step(x, y, make_generator(5))


def _ce(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(logits, labels, reduction="none")


def _sup(m: SSAT, x, y) -> torch.Tensor:
    return _ce(m.head(m.encoder(x)), y)


def _ss(m: SSAT, x, y) -> torch.Tensor:
    return _ce(m.ss_head(m.encoder(x)), y)


def _shift(x: torch.Tensor) -> torch.Tensor:
    return (x + SHIFT).clamp(0, 1)


@pytest.mark.parametrize("scheme", ["T0", "T1"])
def test_t0_t1_attack_x_only_on_the_supervised_loss(monkeypatch, scheme) -> None:
    m = _method(scheme)
    x, y = _batch()
    calls, out = _spy_step(monkeypatch, m, x, y)
    ((loss_fn, attacked),) = calls
    assert torch.equal(attacked, x)  # the clean batch X, not X_SS
    with torch.no_grad():
        assert torch.allclose(loss_fn(x), _sup(m, x, y) / len(x), atol=1e-6)  # line 6 only
        expected = _sup(m, _shift(x), y).mean()
        if scheme == "T1":  # eq. 8/11: SS loss on the *clean* X_SS
            x_ss, y_ss = random_rotation(x, make_generator(5))
            expected = expected + LAMBDA1 * _ss(m, x_ss, y_ss).mean()
    assert float(out.loss) == pytest.approx(float(expected), rel=1e-5)
    assert ("ss_loss" in out.logs) == (scheme == "T1")


@pytest.mark.parametrize("scheme", ["T2", "T3"])
def test_t2_t3_attack_x_and_x_ss_jointly(monkeypatch, scheme) -> None:
    m = _method(scheme)
    x, y = _batch()
    calls, out = _spy_step(monkeypatch, m, x, y)
    ((loss_fn, attacked),) = calls
    x_ss, y_ss = random_rotation(x, make_generator(5))
    assert torch.equal(attacked, torch.cat([x, x_ss]))  # Algorithm 1: both batches
    joint = attacked.clone().requires_grad_(True)
    total = loss_fn(joint).sum()
    (grad,) = torch.autograd.grad(total, joint)
    with torch.no_grad():
        sup, ss = _sup(m, x, y).mean(), _ss(m, x_ss, y_ss).mean()
        attack_loss = sup + (LAMBDA2 * ss if scheme == "T3" else 0)  # line 6 (+ line 8 for T3)
        assert float(total) == pytest.approx(float(attack_loss), rel=1e-5)
        ss_grad = float(grad[len(x) :].abs().sum())
        assert (ss_grad == 0.0) if scheme == "T2" else (ss_grad > 0)
        assert float(grad[: len(x)].abs().sum()) > 0
        # eq. 9/12: both losses at the attacked batches
        expected = _sup(m, _shift(x), y).mean() + LAMBDA1 * _ss(m, _shift(x_ss), y_ss).mean()
    assert float(out.loss) == pytest.approx(float(expected), rel=1e-5)


def test_eq7_attacks_and_trains_on_x_ss_only(monkeypatch) -> None:
    m = _method("eq7")
    x, y = _batch()
    calls, out = _spy_step(monkeypatch, m, x, y)
    ((loss_fn, attacked),) = calls
    x_ss, y_ss = random_rotation(x, make_generator(5))
    assert torch.equal(attacked, x_ss)
    with torch.no_grad():
        attack = (_sup(m, x_ss, y) + LAMBDA2 * _ss(m, x_ss, y_ss)) / len(x)
        assert torch.allclose(loss_fn(x_ss), attack, atol=1e-6)
        adv = _shift(x_ss)  # eq. 7: L_sup(F(X_SS^adv), y) + λ₁·L_SS(F^SS(X_SS^adv), y_SS)
        expected = _sup(m, adv, y).mean() + LAMBDA1 * _ss(m, adv, y_ss).mean()
    assert float(out.loss) == pytest.approx(float(expected), rel=1e-5)


@pytest.mark.parametrize("scheme", ["T2", "T3"])
def test_real_attack_moves_x_ss_only_when_line_8_is_on(monkeypatch, scheme) -> None:
    """Without a random start, T2 leaves X_SS where it is (no gradient from line 6), T3 moves it;
    X is attacked in both."""
    m = _method(scheme)
    x, y = _batch()
    seen = []
    real = ss_at_module.perturb

    def record(loss, x_in, cfg, model, generator):
        out = real(loss, x_in, cfg, model, generator)
        seen.append((x_in, out))
        return out

    monkeypatch.setattr(ss_at_module, "perturb", record)
    m.step(x, y, make_generator(5))
    ((before, after),) = seen
    moved = (after - before).flatten(1).abs().amax(1)
    assert bool((moved[: len(x)] > 0).all())
    assert bool((moved[len(x) :] == 0).all()) == (scheme == "T2")
    assert float(moved.max()) <= 0.1 + 1e-6


def test_all_rotations_and_jigsaw_shapes() -> None:
    x, y = _batch()
    m = _method("T3", rotation_mode="all")
    out = m.step(x, y, make_generator(0))
    assert torch.isfinite(out.loss) and out.features.shape[0] == len(x)
    m = _method("eq7", rotation_mode="all")
    out = m.step(x, y, make_generator(0))
    assert out.features.shape[0] == len(x)  # the unrotated quarter of the 4b rows
    m = _method("T3", task="jigsaw", jigsaw_grid=2, jigsaw_permutations=6)
    assert m.ss_head.out_dim == 6
    assert torch.isfinite(m.step(x, y, make_generator(0)).loss)


def test_config_rejects_t3_without_an_ss_attack_term() -> None:
    with pytest.raises(ValueError, match="T2"):
        SSATConfig(scheme="T3", lambda2=0.0)


def test_pretrain_runs_ss_at(tiny_fmnist: Path, tmp_path: Path) -> None:
    cfg = PretrainConfig.model_validate(
        {
            "name": "ss_at",
            "output_dir": str(tmp_path),
            "data": {"dataset": "fashion_mnist", "root": str(tiny_fmnist), "batch_size": 40},
            "model": {"backbone": "small_cnn", "backbone_kwargs": {"width": 8}},
            "method": {"name": "ss_at", "scheme": "T3", "adversary": {"eps": 0.1, "steps": 2}},
            "trainer": {"max_epochs": 1, "progress_bar": False, "accelerator": "cpu"},
            "monitor": {"knn": False},
        }
    )
    result = pretrain(cfg)
    header = (result.run_dir / "metrics.csv").read_text().splitlines()[0]
    assert "train/ss_acc_epoch" in header and "train/sup_loss_epoch" in header
