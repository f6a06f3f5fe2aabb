"""AP-DPE (Chen et al. CVPR 2020; Adv-SS-Pretraining's ensemble_pretrain.py): the gradient-diversity
term against hand values, the method's penalty against an independent computation, its sign
switch, the joint attack raising the ensemble objective, and a pretraining run."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from adversarial_ssl import attack_gain, batch
from robustssl.attacks.adversary import PretrainAdversaryConfig
from robustssl.methods import PretrainConfig, pretrain
from robustssl.methods.ap_dpe import APDPE
from robustssl.methods.registry import build_method
from robustssl.models import build_encoder
from robustssl.objectives import gradient_logdet
from robustssl.utils import make_generator
from robustssl.utils.checkpoint import load_weights

ADV = {"eps": 0.1, "steps": 3, "bn_mode": "train"}


def _method(seed: int = 0, **method) -> APDPE:  # type: ignore[no-untyped-def]
    torch.manual_seed(seed)
    encoder = build_encoder("small_cnn", 1, [0.3], [0.3], width=8)
    cfg = PretrainConfig.model_validate({"method": {"name": "ap_dpe", "adversary": ADV, **method}})
    model = build_method(cfg.method, encoder, 10)
    assert isinstance(model, APDPE)
    return model


def test_gradient_logdet_hand_values() -> None:
    """G̃ columns (0.6, 0.8), (1, 0): Gram [[1, 0.6], [0.6, 1]] + 10⁻⁵I, det = 1.00001² − 0.36."""
    g1, g2 = torch.tensor([[3.0, 4.0]]), torch.tensor([[1.0, 0.0]])
    assert float(gradient_logdet([g1, g2])) == pytest.approx(math.log(1.00001**2 - 0.36), abs=1e-6)
    assert float(gradient_logdet([g1, g2])) == pytest.approx(-0.446256, abs=1e-6)
    e = torch.eye(3)[:, None, :].expand(3, 2, 3)  # three orthogonal gradients, two samples
    assert gradient_logdet(list(e)).tolist() == pytest.approx([3 * math.log(1.00001)] * 2, abs=1e-7)
    same = gradient_logdet([g1, 5 * g1])  # aligned: det = 1.00001² − 1 = 2.00001e-5
    assert float(same) == pytest.approx(math.log(2.00001e-5), abs=1e-3)
    images = torch.randn(4, 1, 5, 5, generator=make_generator(0)), torch.randn(4, 1, 5, 5)
    assert torch.allclose(gradient_logdet(images), gradient_logdet([7 * images[0], images[1]]))
    with pytest.raises(ValueError, match="at least 2 tasks"):
        gradient_logdet([g1])


def test_method_penalty_equals_an_independent_computation() -> None:
    method = _method().eval()
    x, _ = batch()
    gen = make_generator(2)
    pairs = [method.transform(t, x, gen) for t in method.cfg.tasks]
    inputs = torch.cat([p[0] for p in pairs]).requires_grad_(True)
    labels = [p[1] for p in pairs]
    losses, _ = method.task_losses(list(inputs.chunk(2)), labels)
    d = method.diversity(losses, inputs, create_graph=False)
    grads = []  # each task on its own: ∇ of its summed CE w.r.t. its own input
    for task, (xt, yt) in zip(method.cfg.tasks, pairs, strict=True):
        leaf = xt.clone().requires_grad_(True)
        ce = torch.nn.functional.cross_entropy(method.heads[task](method.encoder(leaf)), yt)
        grads.append(torch.autograd.grad(ce, leaf)[0])
    g = [gr.flatten(1) / gr.flatten(1).norm(dim=1, keepdim=True) for gr in grads]
    cos = (g[0] * g[1]).sum(1)
    expected = torch.log((1 + 1e-5) ** 2 - cos**2)  # 2×2 Gram determinant by hand
    assert torch.allclose(d, expected, atol=1e-4)


def test_penalty_sign_and_weight_enter_the_loss() -> None:
    """With the attack blind to the penalty, both signs see the same x_adv, so their losses
    differ by exactly 2·λ·d."""
    x, y = batch()
    outs = {}
    for penalty in ("diversity", "reference_code"):
        method = _method(penalty=penalty, attack_penalty=False)
        outs[penalty] = method.step(x, y, make_generator(0))
    d = outs["diversity"].logs["diversity_logdet"]
    assert torch.equal(d, outs["reference_code"].logs["diversity_logdet"]) and float(d) < 0
    gap = outs["diversity"].loss - outs["reference_code"].loss
    assert float(gap) == pytest.approx(-2 * 0.1 * float(d), rel=1e-4)


def test_penalty_is_trained_through() -> None:
    x, y = batch()
    grads = []
    for weight in (0.0, 1.0):
        method = _method(penalty_weight=weight, attack_penalty=False)
        method.step(x, y, make_generator(0)).loss.backward()
        grads.append(method.encoder.backbone.block1[0].weight.grad.clone())
    assert not torch.allclose(grads[0], grads[1])


@pytest.mark.parametrize("attack_penalty", [True, False])
def test_joint_attack_raises_the_ensemble_objective(attack_penalty: bool) -> None:
    method = _method(attack_penalty=attack_penalty)
    x, _ = batch()
    gen = make_generator(1)
    pairs = [method.transform(t, x, gen) for t in method.cfg.tasks]
    objective = method.objective([p[1] for p in pairs])
    cfg = PretrainAdversaryConfig(**ADV)
    inputs = torch.cat([p[0] for p in pairs])
    x_adv, before, after = attack_gain(method, objective, inputs, cfg)
    assert x_adv.shape == inputs.shape and float((x_adv - inputs).abs().max()) <= 0.1 + 1e-6
    assert float(after.sum()) > float(before.sum())


def test_config_rules() -> None:
    cfg = PretrainConfig.model_validate({"method": {"name": "ap_dpe"}}).method
    a = cfg.adversary
    assert (a.eps, a.steps, a.alpha, a.bn_mode) == (8 / 255, 10, 2 / 255, "train")
    assert (cfg.penalty_weight, cfg.penalty_sign, cfg.tasks) == (0.1, -1.0, ["rotation", "jigsaw"])
    for tasks in (["rotation"], ["rotation", "rotation"]):
        with pytest.raises(ValueError, match="at least 2 distinct"):
            PretrainConfig.model_validate({"method": {"name": "ap_dpe", "tasks": tasks}})


def test_pretrain_runs_and_exports_the_encoder(tiny_fmnist: Path, tmp_path: Path) -> None:
    raw = {
        "name": "ap_dpe",
        "output_dir": str(tmp_path),
        "data": {"dataset": "fashion_mnist", "root": str(tiny_fmnist), "batch_size": 40},
        "model": {"backbone": "small_cnn", "backbone_kwargs": {"width": 8}},
        "method": {"name": "ap_dpe", "adversary": {**ADV, "steps": 2}},
        "optim": {"name": "sgd", "lr": 0.01},
        "trainer": {"max_epochs": 1, "progress_bar": False, "accelerator": "cpu"},
        "monitor": {"knn": False},
    }
    result = pretrain(PretrainConfig.model_validate(raw))
    weights = load_weights(result.run_dir / "encoder.safetensors")
    assert "backbone.block1.0.weight" in weights and result.metrics["epochs"] == 1
