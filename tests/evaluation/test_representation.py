"""Feature-difference norms, layer features, t-SNE and the local Lipschitz estimate."""

from __future__ import annotations

import importlib.util
from itertools import pairwise

import numpy as np
import pytest
import torch
from evalfix import eval_data, linear_encoder_model, trained_model

from robustssl.evaluation import representation as rep
from robustssl.evaluation.records import RecordContext
from robustssl.evaluation.representation import (
    feature_difference,
    layer_features,
    lipschitz_records,
    local_lipschitz,
    representation_records,
    summarize,
    tsne,
)
from robustssl.evaluation.robustness import AttackRunner
from robustssl.models import FeatureExtractor
from robustssl.utils import make_generator

LAYER = "encoder.backbone.block2"


def test_feature_difference_zero_at_eps_zero_and_grows() -> None:
    x, y = eval_data(32)
    model = trained_model()
    runner = AttackRunner(model, x, y, batch_size=16, progress=False)
    assert torch.equal(feature_difference(model, x, x), torch.zeros(len(x)))
    means = []
    for eps in (0.0, 0.01, 0.03, 0.1):
        records = representation_records(runner, RecordContext("m"), "Linf", eps, "fgsm")
        stats = {r.metric: r.value for r in records}
        means.append(stats["feature_diff_mean"])
        assert stats["feature_diff_max"] >= stats["feature_diff_median"] >= 0
    assert means[0] == 0.0
    assert all(a < b for a, b in pairwise(means)), means


def test_feature_difference_matches_encoder_and_named_layer() -> None:
    x, _ = eval_data(20)
    model = trained_model()
    x_adv = (x + 0.05 * torch.rand(x.shape, generator=make_generator(0))).clamp(0, 1)
    with torch.no_grad():
        direct = (model.encoder(x_adv) - model.encoder(x)).norm(dim=1)
        with FeatureExtractor(model, [LAYER]) as fx:
            layer_direct = (fx(x_adv)[LAYER] - fx(x)[LAYER]).flatten(1).norm(dim=1)
    assert torch.allclose(feature_difference(model, x, x_adv, batch_size=7), direct, atol=1e-5)
    got = feature_difference(model, x, x_adv, layer=LAYER, batch_size=7)
    assert torch.allclose(got, layer_direct, atol=1e-5)
    with pytest.raises(ValueError, match="differ in shape"):
        feature_difference(model, x, x_adv[:3])


def test_layer_features_shapes_and_mode() -> None:
    x, _ = eval_data(10)
    model = trained_model()
    model.train()
    try:
        feats = layer_features(model, x, [LAYER, "encoder"], batch_size=4)
    finally:
        model.eval()
    assert feats[LAYER].shape == (10, 16 * 7 * 7) and feats["encoder"].shape == (10, 32)
    with torch.no_grad():
        assert torch.allclose(feats["encoder"], model.encoder(x), atol=1e-5)  # eval-mode BN


def test_summarize() -> None:
    stats = summarize(torch.tensor([1.0, 2.0, 3.0, 10.0]))
    assert stats["mean"] == 4.0 and stats["median"] == 2.0 and stats["max"] == 10.0
    assert stats["std"] == pytest.approx(torch.tensor([1.0, 2.0, 3.0, 10.0]).std().item())
    assert summarize(torch.tensor([5.0]))["std"] == 0.0
    with pytest.raises(ValueError, match="empty"):
        summarize(torch.tensor([]))


def test_lipschitz_of_linear_model_is_spectral_norm() -> None:
    gen = make_generator(0)
    u, _ = torch.linalg.qr(torch.randn(6, 6, generator=gen))
    v, _ = torch.linalg.qr(torch.randn(40, 40, generator=gen))
    singular = torch.tensor([3.0, 1.5, 1.0, 0.5, 0.2, 0.1])
    weight = u @ torch.diag(singular) @ v[:6]
    model = linear_encoder_model(weight)
    x = 0.5 + 0.1 * (torch.rand(8, 40, generator=gen) - 0.5)  # the ball stays inside [0,1]
    est = local_lipschitz(model, x, radius=0.05, steps=30, seed=1)
    assert torch.all(est <= 3.0 * (1 + 1e-5))  # a lower bound of ‖W‖₂
    assert torch.allclose(est, torch.full_like(est, 3.0), rtol=1e-3), est


def test_lipschitz_beats_random_perturbations() -> None:
    x, _ = eval_data(8)
    model = trained_model()
    radius = 0.1
    est = local_lipschitz(model, x, radius, steps=10, seed=0, batch_size=4)
    gen = make_generator(123)
    with torch.no_grad():
        fx = model.encoder(x)
        for _ in range(20):
            d = torch.randn(x.shape, generator=gen)
            d = (
                d
                / d.flatten(1).norm(dim=1).view(-1, 1, 1, 1)
                * radius
                * torch.rand(1, generator=gen)
            )
            x_p = (x + d).clamp(0, 1)
            ratio = (model.encoder(x_p) - fx).norm(dim=1) / (x_p - x).flatten(1).norm(dim=1)
            assert torch.all(est >= ratio)
    assert model.training is False


def test_lipschitz_records_and_errors() -> None:
    x, _ = eval_data(6)
    recs = lipschitz_records(trained_model(), x, RecordContext("m"), 0.1, steps=3)
    stats = {r.metric: r for r in recs}
    assert stats["lipschitz_max"].value >= stats["lipschitz_mean"].value > 0
    assert stats["lipschitz_max"].eps == 0.1 and stats["lipschitz_max"].norm == "L2"
    with pytest.raises(ValueError, match="radius > 0"):
        local_lipschitz(trained_model(), x, radius=0.0)


def test_tsne_perplexity_checked_and_embeds() -> None:
    feats = torch.randn(30, 8, generator=make_generator(0))
    with pytest.raises(ValueError, match="perplexity must be in"):
        tsne(feats, perplexity=40)
    pytest.importorskip("sklearn")
    emb = tsne(feats, perplexity=5, seed=0, max_iter=250)
    assert emb.shape == (30, 2)
    assert (tsne(feats, perplexity=5, seed=0, max_iter=250) == emb).all()  # seeded


def test_tsne_embeddings_arrays(monkeypatch: pytest.MonkeyPatch) -> None:
    """The clean and attacked features of the first n points go through one t-SNE call."""
    seen = {}

    def fake_tsne(features, perplexity=40.0, seed=0, max_iter=1000):
        seen.update(shape=tuple(features.shape), perplexity=perplexity, seed=seed)
        return features[:, :2].numpy()

    monkeypatch.setattr(rep, "tsne", fake_tsne)
    x, y = eval_data(12)
    runner = AttackRunner(trained_model(), x, y, seed=4, batch_size=8, progress=False)
    out = rep.tsne_embeddings(runner, [LAYER], "Linf", 0.02, "pgd", n=10, perplexity=3.0)
    arrays = out[LAYER]
    assert seen == {"shape": (20, 16 * 7 * 7), "perplexity": 3.0, "seed": 4}
    assert arrays["embedding"].shape == (20, 2)
    assert (arrays["labels"] == np.concatenate([y[:10].numpy()] * 2)).all()
    assert arrays["adversarial"].tolist() == [False] * 10 + [True] * 10
    clean = layer_features(trained_model(), x[:10], [LAYER])[LAYER][:, :2].numpy()
    assert np.allclose(arrays["embedding"][:10], clean, atol=1e-6)


def test_tsne_layers_need_sklearn_before_compute() -> None:
    if importlib.util.find_spec("sklearn") is not None:
        pytest.skip("scikit-learn is installed")
    from evalfix import raising_model

    from robustssl.evaluation.suite import evaluate

    x, y = eval_data(4)
    cfg = {"metrics": ["representation"], "representation": {"tsne_layers": [LAYER]}}
    with pytest.raises(ValueError, match="pip install scikit-learn"):
        evaluate(raising_model(), x, y, cfg)
