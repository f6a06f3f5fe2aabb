"""Single-step adversaries (FGSM-RS, N-FGSM) in the adversary slot: chosen by
``adversary.attack``, they raise each method's training loss and stay in their ball ∩ [0,1];
every robust method's step goes through them; ALF/AFF's attack is built from the same config;
configs without the new keys keep their earlier shape (stage ids)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

import robustssl.methods.single_step_adversary as slot
from adversarial_ssl import attack_gain, batch, make_method
from robustssl.attacks import FGSMRS, NFGSM
from robustssl.attacks.adversary import AdversaryConfig, PretrainAdversaryConfig
from robustssl.attacks.threat import flat_norms
from robustssl.finetune.adversary import training_attack
from robustssl.methods import PretrainConfig
from robustssl.methods.base import PretrainMethod
from robustssl.methods.registry import METHODS, build_method
from robustssl.models import build_encoder
from robustssl.runs.compare import earlier_shape
from robustssl.utils import make_generator

KINDS = ["fgsm_rs", "n_fgsm"]


def _inside(x_adv: torch.Tensor, x: torch.Tensor, cfg: PretrainAdversaryConfig) -> bool:
    radius = cfg.single_step().radius
    inside = float(flat_norms(x_adv - x, cfg.norm).max()) <= radius + 1e-5
    return inside and float(x_adv.min()) >= 0 and float(x_adv.max()) <= 1


@pytest.mark.parametrize("kind", KINDS)
def test_config_defaults_and_knobs(kind: str) -> None:
    cfg = PretrainAdversaryConfig(attack=kind, eps=0.1)
    adversary = cfg.single_step()
    assert cfg.steps == 1
    if kind == "fgsm_rs":  # Wong et al.: noise ε, α = 1.25ε, projection onto the ε-ball
        assert (adversary.noise, adversary.step, adversary.clip) == (1.0, 1.25, 1.0)
        assert cfg.alpha == pytest.approx(0.125) and adversary.radius == pytest.approx(0.1)
    else:  # de Jorge et al.: noise 2ε, α = ε, no projection
        assert (adversary.noise, adversary.step, adversary.clip) == (2.0, 1.0, None)
        assert adversary.radius == pytest.approx(0.3)
    tuned = PretrainAdversaryConfig(attack=kind, eps=0.1, noise=3, step_size=0.05, clip=None)
    t = tuned.single_step()
    assert (t.noise, t.step, t.clip) == (3.0, pytest.approx(0.5), None)


@pytest.mark.parametrize(
    "raw,message",
    [
        ({"attack": "fgsm"}, "'fgsm_rs' or 'n_fgsm'"),
        ({"attack": "fgsm_rs", "steps": 5}, "takes one step"),
        ({"attack": "n_fgsm", "norm": "L1"}, "not L1"),
        ({"attack": "fgsm_rs", "use_best": True}, "one iterate"),
        ({"attack": "fgsm_rs", "random_start": False}, "noise=0"),
        ({"attack": "pgd", "noise": 2}, "knobs of the single-step attacks"),
        ({"attack": "apgd"}, "finetuning (ALF / AFF) only"),
    ],
)
def test_bad_single_step_configs_name_the_fix(raw: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        PretrainAdversaryConfig.model_validate(raw)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", ["acl", "rocl"])
def test_raises_a_contrastive_loss_inside_its_ball(name: str, kind: str) -> None:
    adversary = {"attack": kind, "eps": 0.1, "bn_mode": "eval"}
    method = make_method(name=name, adversary=adversary)
    x, _ = batch()
    v1, v2 = method.views.views(x, 2, make_generator(0))
    if name == "acl":
        objective, attacked = method.pair_objective(2, "adv"), torch.cat([v1, v2])
    else:
        objective, attacked = method.objective(v2), v1
    cfg = method.cfg.adversary
    x_adv, before, after = attack_gain(method, objective, attacked, cfg)
    assert _inside(x_adv, attacked, cfg)
    assert float(after.mean()) > float(before.mean())


@pytest.mark.parametrize("kind", KINDS)
def test_raises_the_supervised_loss_inside_its_ball(kind: str) -> None:
    method = build(name="supervised", adversary={"attack": kind, "eps": 0.1})
    x, y = batch()
    cfg = method.cfg.adversary
    x_adv, before, after = attack_gain(method, lambda xa: method.forward_losses(xa, y)[0], x, cfg)
    assert _inside(x_adv, x, cfg)
    assert float(after.mean()) > float(before.mean()) + 0.01


ROBUST = [
    {"name": "adv_simclr"},
    {"name": "acl", "mode": "a2s"},
    {"name": "rocl"},
    {"name": "advcl"},
    {"name": "ss_at"},
    {"name": "ap_dpe"},
    {"name": "supervised"},
    {"name": "rotation"},
    {"name": "dynacl"},
]


@pytest.mark.parametrize("method", ROBUST, ids=lambda m: m["name"])
def test_every_robust_method_trains_through_the_single_step_slot(
    method: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[float] = []
    original = slot.perturb_single_step

    def spy(loss, x, adversary, model, generator, bn_mode="eval"):  # type: ignore[no-untyped-def]
        calls.append(adversary.radius)
        return original(loss, x, adversary, model, generator, bn_mode)

    monkeypatch.setattr(slot, "perturb_single_step", spy)
    built = build(**method, adversary={"attack": "n_fgsm", "eps": 0.1})
    x, y = batch()
    out = built.step(x, y, make_generator(0))
    assert calls and all(r == pytest.approx(0.3) for r in calls)
    assert torch.isfinite(out.loss)
    out.loss.backward()


def build(**raw: object) -> PretrainMethod:
    """A tiny method; the small projector when the method has one."""
    if "projection" in METHODS[str(raw["name"])].config_class.model_fields:
        return make_method(**raw)
    cfg = PretrainConfig.model_validate({"method": raw}).method
    torch.manual_seed(0)
    return build_method(cfg, build_encoder("small_cnn", 1, [0.3], [0.3], width=8), 10)


@pytest.mark.parametrize("kind,cls", [("fgsm_rs", FGSMRS), ("n_fgsm", NFGSM)])
def test_finetuning_builds_the_single_step_attack(kind: str, cls: type) -> None:
    cfg = AdversaryConfig(attack=kind, eps=0.1, bn_mode="train", noise=1.5)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(28 * 28, 10))
    attack = training_attack(model, cfg)
    assert isinstance(attack, cls) and attack.model_mode == "train"
    assert attack.adversary == cfg.single_step()
    x, y = batch()
    x_adv = attack(x, y)
    assert float(flat_norms(x_adv - x, "Linf").max()) <= cfg.single_step().radius + 1e-6
    with torch.no_grad():
        assert float(F.cross_entropy(model(x_adv), y)) > float(F.cross_entropy(model(x), y))


def test_configs_without_the_new_keys_keep_their_earlier_shape() -> None:
    dump = PretrainConfig.model_validate({"method": {"name": "acl"}}).model_dump(mode="json")
    assert dump["method"]["adversary"]["noise"] is None
    assert "noise" not in earlier_shape("pretrain", dump)["method"]["adversary"]
    assert "clip" not in earlier_shape("pretrain", dump)["method"]["adversary"]
    single = PretrainConfig.model_validate(
        {"method": {"name": "acl", "adversary": {"attack": "n_fgsm", "clip": 1.0}}}
    ).model_dump(mode="json")
    assert earlier_shape("pretrain", single)["method"]["adversary"]["clip"] == 1.0
