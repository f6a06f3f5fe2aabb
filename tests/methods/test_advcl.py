"""AdvCL (seed 001 §4): views of Table 4, the adversary on the multi-view loss (eq. 7) and on
the pseudo-label CE (eq. 10), HFC + LFC = x (eq. 8), three BN sets, export of the pgd branch."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import torch

from adversarial_ssl import attack_gain, batch, in_ball, make_method, run_config
from robustssl.data.views.translate import random_translate_flip
from robustssl.methods import advcl, pretrain
from robustssl.methods.adversary import perturb
from robustssl.models import Encoder, MultiBatchNorm, bn_branch, build_encoder, load_state_strict
from robustssl.utils import make_generator
from robustssl.utils.checkpoint import load_weights

BN = "backbone.block1.1"
TABLE_4 = [  # seed 001 Table 4, rows in order (x_1 in the table is the LFC x_l)
    ["adv_aug1", "aug2"],
    ["adv_aug1", "adv_aug2"],
    ["adv_aug1", "adv_aug2", "aug1", "aug2"],
    ["adv", "aug1", "aug2"],
    ["adv", "aug1", "aug2", "lfc"],
    ["adv", "aug1", "aug2", "lfc", "hfc"],
    ["adv", "aug1", "aug2", "hfc"],
]
CLUSTERFIT = {"encoder": "unused", "ks": [2, 5]}


def _advcl(**kw):  # type: ignore[no-untyped-def]
    kw.setdefault("adversary", {"eps": 0.1, "steps": 5, "bn_mode": "train"})
    return make_method(name="advcl", radius=7, **kw)


def _labels(y: torch.Tensor, n: int = 16) -> torch.Tensor:
    g = make_generator(9)
    pseudo = torch.stack([torch.randint(0, k, (n,), generator=g) for k in (2, 5)], 1)
    return torch.cat([y[:, None], pseudo], 1)


def test_defaults_follow_the_paper_and_reference() -> None:
    cfg = make_method(name="advcl").cfg
    assert cfg.view_set == ["adv", "aug1", "aug2", "hfc"] and cfg.radius == 8
    a = cfg.adversary
    assert (a.steps, a.eps, a.alpha, a.bn_mode) == (5, 8 / 255, 2 / 255, "train")
    with pytest.raises(ValueError, match="no adversarial view"):
        make_method(name="advcl", view_set=["aug1", "aug2", "hfc"])
    with pytest.raises(ValueError, match="distinct"):
        make_method(name="advcl", view_set=["adv", "adv"])


@pytest.mark.parametrize("norm,eps", [("Linf", 0.1), ("L2", 1.0)])
def test_contrastive_adversary_raises_the_multiview_loss(norm: str, eps: float) -> None:
    method = _advcl(adversary={"norm": norm, "eps": eps, "steps": 5, "bn_mode": "train"})
    x, _ = batch()
    views = method.make_views(x, make_generator(0))
    source = method.adversarial_sources(views)
    cfg = method.cfg.adversary
    x_adv, before, after = attack_gain(method, method.contrastive_objective(views), source, cfg)
    assert in_ball(x_adv, source, cfg)
    assert float((after > before).float().mean()) >= 0.8
    assert float(after.mean()) > float(before.mean())


def test_pseudo_label_adversary_raises_the_ensemble_ce() -> None:
    method = _advcl(clusterfit=CLUSTERFIT)
    x, y = batch()
    _, pseudo = method.split_labels(_labels(y))
    cfg = method.cfg.adversary
    x_adv, before, after = attack_gain(method, method.pseudo_label_objective(pseudo), x, cfg)
    assert in_ball(x_adv, x, cfg)
    assert float((after > before).float().mean()) >= 0.9


def test_hfc_plus_lfc_reconstructs_the_original_view() -> None:
    method = _advcl(view_set=["adv", "aug1", "lfc", "hfc"], original={"kind": "crop_flip"})
    x, _ = batch()
    views = method.make_views(x, make_generator(3))
    assert torch.allclose(views["lfc"] + views["hfc"], views["original"], atol=1e-5)
    assert float(views["hfc"].abs().max()) > 0.01 and float(views["hfc"].min()) < 0  # unclamped
    expected = random_translate_flip(x, 4, 0.5, make_generator(3))  # drawn first, from x
    assert torch.equal(views["original"], expected)


def _recording(monkeypatch) -> list[torch.Tensor]:  # type: ignore[no-untyped-def]
    seen: list[torch.Tensor] = []

    def record(loss, x0, cfg, model, generator):  # type: ignore[no-untyped-def]
        seen.append(x0)
        return perturb(loss, x0, cfg, model, generator)

    monkeypatch.setattr(advcl, "perturb", record)
    return seen


@pytest.mark.parametrize("kind", ["identity", "crop_flip"])
def test_adversarial_views_start_from_the_original_not_the_augmented_image(
    kind: str, monkeypatch
) -> None:
    method = _advcl(clusterfit=CLUSTERFIT, original={"kind": kind})
    reference = copy.deepcopy(method)
    seen = _recording(monkeypatch)
    x, y = batch()
    method.step(x, _labels(y), make_generator(6))
    views = reference.make_views(x, make_generator(6))
    assert len(seen) == 2  # contrastive adversary, then pseudo-label adversary
    assert torch.equal(seen[0], views["original"]) and torch.equal(seen[1], views["original"])
    if kind == "identity":
        assert torch.equal(seen[0], x)
    for strong in ("aug1", "aug2"):
        assert float((seen[0] - views[strong]).abs().amax()) > 0.5


def test_eq6_views_perturb_the_augmented_images(monkeypatch) -> None:
    method = _advcl(view_set=["adv_aug1", "aug2"])
    reference = copy.deepcopy(method)
    seen = _recording(monkeypatch)
    x, y = batch()
    method.step(x, y, make_generator(6))
    assert torch.equal(seen[0], reference.make_views(x, make_generator(6))["aug1"])


@pytest.mark.parametrize("views", TABLE_4, ids=lambda v: "+".join(v))
def test_table_4_view_sets_train(views: list[str], monkeypatch) -> None:
    counted: list[int] = []
    real = advcl.multiview_ntxent_loss

    def count(z, t):  # type: ignore[no-untyped-def]
        counted.append(len(z))
        return real(z, t)

    monkeypatch.setattr(advcl, "multiview_ntxent_loss", count)
    method = _advcl(view_set=views, adversary={"eps": 0.1, "steps": 1})
    x, y = batch()
    out = method.step(x, y, make_generator(0))
    out.loss.backward()
    assert counted == [len(views)] and torch.isfinite(out.loss)
    assert out.features.shape == (16, method.feature_dim) and torch.equal(out.labels, y)


def test_three_bn_sets_one_head_per_k_and_pgd_export() -> None:
    method = _advcl(clusterfit=CLUSTERFIT)
    multi = method.encoder.get_submodule(BN)
    assert isinstance(multi, MultiBatchNorm)
    assert multi.branches == ("normal", "pgd", "pgd_ce")
    assert [head.fc.out_features for head in method.heads] == [2, 5]
    assert not any(isinstance(m, MultiBatchNorm) for m in method.projector.modules())
    x, y = batch()
    method.step(x, _labels(y), make_generator(0)).loss.backward()
    stats = {b: multi.branch(b).running_mean for b in multi.branches}
    assert not torch.allclose(stats["normal"], stats["pgd"], atol=1e-4)
    assert not torch.equal(stats["pgd"], stats["pgd_ce"])  # both from x, different δ
    exported = method.export_encoder()
    assert isinstance(exported, Encoder)
    fresh = build_encoder("small_cnn", 1, [0.3], [0.3], width=8)
    load_state_strict(fresh, exported.state_dict(), "exported")
    method.eval()
    fresh.eval()
    with torch.no_grad(), bn_branch(method.encoder, "pgd"):
        assert torch.allclose(fresh(x), method.encoder(x), atol=1e-6)
    with pytest.raises(ValueError, match="label columns"):
        method.step(x, y, make_generator(0))  # no pseudo-labels in the batch
    plain = _advcl()
    assert multi.branches != plain.encoder.get_submodule(BN).branches == ("normal", "pgd")


def test_pseudo_label_loss_weighted_by_lambda() -> None:
    method = _advcl(clusterfit={**CLUSTERFIT, "weight": 0.7})
    x, y = batch()
    out = method.step(x, _labels(y), make_generator(0))
    total = out.logs["loss_contrastive"] + 0.7 * out.logs["loss_pseudo"]
    assert float(out.loss.detach()) == pytest.approx(float(total), rel=1e-6)


def test_pretrain_with_clusterfit_from_a_simclr_run(tiny_fmnist: Path, tmp_path: Path) -> None:
    simclr = pretrain(run_config(tiny_fmnist, tmp_path, {"name": "simclr"}, run_name="simclr"))
    method = {
        "name": "advcl",
        "radius": 7,
        "adversary": {"eps": 0.1, "steps": 2, "bn_mode": "train"},
        "clusterfit": {"encoder": str(simclr.run_dir), "ks": [2, 5]},
    }
    result = pretrain(run_config(tiny_fmnist, tmp_path, method, run_name="advcl"))
    labels = load_weights(result.run_dir / "pseudo_labels.safetensors")["labels"]
    assert labels.shape == (120, 2)
    assert [int(labels[:, i].max()) + 1 for i in range(2)] == [2, 5]
    weights = load_weights(result.run_dir / "encoder.safetensors")
    full = load_weights(result.run_dir / "method.safetensors")
    key = f"{BN}.running_var"
    assert torch.equal(weights[key], full[f"method.encoder.{BN}.bns.pgd.running_var"])
    assert result.metrics["epochs"] == 1


def test_missing_clusterfit_run_fails_before_the_run_dir_is_made(
    tiny_fmnist: Path, tmp_path: Path
) -> None:
    method = {"name": "advcl", "clusterfit": {"encoder": str(tmp_path / "nope"), "ks": [2]}}
    cfg = run_config(tiny_fmnist, tmp_path, method, run_name="advcl")
    with pytest.raises(FileNotFoundError, match="not a finished pretraining run"):
        pretrain(cfg)
    assert not (Path(cfg.output_dir) / "advcl").exists()
