"""AutoAttack: the official ensembles on still-robust points, verified breaks, resumable state,
and strength against the official code on a PGD-trained model."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from robust_model import accuracy, small_classifier, synthetic_images, train_clean
from robustssl.attacks import ThreatModel
from robustssl.attacks.autoattack import VERSIONS, AutoAttack

EPS = 0.02


@pytest.fixture(scope="module")
def model() -> nn.Module:
    return train_clean(small_classifier(width=8), *synthetic_images(2000))


@pytest.fixture(scope="module")
def data() -> tuple[torch.Tensor, torch.Tensor]:
    return synthetic_images(32, seed=5)


@pytest.fixture(scope="module")
def standard(model, data):
    return AutoAttack(model, "Linf", EPS, seed=0, progress=False).run(*data)


def test_versions_match_the_official_ensembles():
    assert VERSIONS["standard"] == ("apgd-ce", "apgd-t", "fab-t", "square")
    assert VERSIONS["plus"] == ("apgd-ce", "apgd-dlr", "fab", "square", "apgd-t", "fab-t")
    assert VERSIONS["rand"] == ("apgd-ce", "apgd-dlr")
    aa = AutoAttack(nn.Linear(4, 10), version="plus")
    assert aa.build("apgd-ce", 10).n_restarts == 5 and aa.build("apgd-t", 10).n_restarts == 1
    assert aa.build("fab", 10).n_restarts == 5
    assert AutoAttack(nn.Linear(4, 10), version="rand").build("apgd-dlr", 10).eot_iter == 20
    assert AutoAttack(nn.Linear(4, 10)).build("square", 10).n_queries == 5000


def test_result_is_consistent(model, data, standard):
    x, y = data
    acc = list(standard.accuracy.values())
    assert list(standard.accuracy) == ["clean", *VERSIONS["standard"]]
    assert acc == sorted(acc, reverse=True)  # never rises along the ensemble
    assert standard.accuracy["clean"] == pytest.approx(accuracy(model, x, y))
    assert standard.robust_accuracy == pytest.approx(acc[-1])
    assert standard.robust_accuracy == pytest.approx(accuracy(model, standard.x_adv, y))
    assert 0.0 < standard.robust_accuracy < standard.clean_accuracy  # ε matters here
    delta = standard.x_adv - x
    assert bool((ThreatModel("Linf", EPS).norms(delta) <= EPS + 1e-6).all())
    assert torch.equal(standard.x_adv[standard.robust], x[standard.robust])


def test_call_returns_x_adv_and_is_seeded(model, data, standard):
    torch.testing.assert_close(
        AutoAttack(model, "Linf", EPS, progress=False)(*data), standard.x_adv
    )


def test_resumes_from_its_state_file(model, data, standard, tmp_path, monkeypatch):
    state = tmp_path / "aa.safetensors"
    aa = AutoAttack(model, "Linf", EPS, seed=0, progress=False)
    calls: list[str] = []
    original = AutoAttack._attack

    def interrupted(self, attack, x, y, result):
        calls.append(type(attack).__name__)
        if len(calls) == 3:
            raise KeyboardInterrupt
        original(self, attack, x, y, result)

    monkeypatch.setattr(AutoAttack, "_attack", interrupted)
    with pytest.raises(KeyboardInterrupt):
        aa.run(*data, state_path=state)
    monkeypatch.setattr(AutoAttack, "_attack", original)
    resumed = aa.run(*data, state_path=state)
    assert resumed.accuracy == pytest.approx(standard.accuracy)
    torch.testing.assert_close(resumed.x_adv, standard.x_adv)
    assert set(resumed.seconds) == set(VERSIONS["standard"])

    before = state.read_bytes()
    with pytest.raises(ValueError, match=r"written for another run.*eps"):
        AutoAttack(model, "Linf", 2 * EPS, progress=False).run(*data, state_path=state)
    assert state.read_bytes() == before


def test_bad_configurations_fail_before_compute():
    m = nn.Linear(4, 10)
    with pytest.raises(ValueError, match="version must be one of"):
        AutoAttack(m, version="fast")
    with pytest.raises(ValueError, match="unknown attacks"):
        AutoAttack(m, version="custom", attacks=["pgd"])
    with pytest.raises(ValueError, match="only used with version='custom'"):
        AutoAttack(m, attacks=["apgd-ce"])
    with pytest.raises(ValueError, match="APGD-L1"):
        AutoAttack(m, norm="L1")
    x, y = torch.rand(4, 4), torch.zeros(4, dtype=torch.long)
    with pytest.raises(ValueError, match="need more classes"):
        AutoAttack(nn.Linear(4, 3), progress=False).run(x, y)


@pytest.mark.realdata
@pytest.mark.slow
def test_standard_is_as_strong_as_the_official_autoattack(robust_fmnist):
    from pyautoattack import AutoAttack as Official

    model, x, y = robust_fmnist["model"], robust_fmnist["x"][:500], robust_fmnist["y"][:500]
    official = Official(model, norm="Linf", eps=0.1, version="standard", seed=0, device="cpu")
    official.verbose = False
    x_ref, _ = official.run_standard_evaluation(x, y, batch_size=500)  # (x_adv, y_adv)
    reference = accuracy(model, x_ref, y)
    ours = AutoAttack(model, "Linf", 0.1, seed=0, progress=False).run(x, y)
    print(
        f"AutoAttack standard robust accuracy: ours {ours.robust_accuracy:.4f}, "
        f"official {reference:.4f}"
    )
    assert ours.robust_accuracy <= reference + 0.005
