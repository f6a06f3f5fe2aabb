"""DeACL (stage 2): the student loss the method trains on, the frozen teacher, the student's
start, bad configs (exit 2 with a clear message) and one tiny epoch through ``pretrain``."""

from __future__ import annotations

import copy
import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from adversarial_ssl import batch, run_config
from fakedata import write_fake_fashion_mnist
from robustssl.cli.main import main
from robustssl.methods import PretrainConfig, pretrain
from robustssl.methods.adversary import perturb
from robustssl.methods.deacl import DeACL
from robustssl.methods.registry import build_method
from robustssl.models import build_encoder, load_encoder
from robustssl.objectives.deacl import deacl_attack_loss
from robustssl.utils import make_generator
from robustssl.utils.optim import OptimConfig, build_optimizer


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_fake_fashion_mnist(tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="module")
def teacher(root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished 1-epoch SimCLR run (stage 1)."""
    out = tmp_path_factory.mktemp("runs")
    return pretrain(run_config(root, out, {"name": "simclr"}, "teacher")).run_dir


def deacl(teacher: Path, **method: object) -> DeACL:
    raw = {"name": "deacl", "teacher": str(teacher), "adversary": {"eps": 0.1}, **method}
    cfg = PretrainConfig.model_validate({"method": raw}).method
    torch.manual_seed(0)
    encoder = build_encoder("small_cnn", 1, [0.2860], [0.3530], width=8)
    built = build_method(cfg, encoder, 10)
    assert isinstance(built, DeACL)
    return built


def test_the_step_trains_on_the_student_loss(teacher: Path) -> None:
    """Replaying the step's draws: L = −mean cos(s(x), t(x)) − γ·mean cos(s(x′), s(x)) with x′
    the attack on the student, γ = 3 here; the logs hold the two cosines."""
    method = deacl(teacher, weight=3.0).train()
    x, y = batch()
    state = copy.deepcopy(method.state_dict())
    out = method.step(x, y, make_generator(5))
    method.load_state_dict(state)  # the BN running statistics the attack saw (eval mode)
    g = make_generator(5)
    view = method.weak_view(x, g)
    with torch.no_grad():
        target = method.teacher(view)
    x_adv = perturb(
        lambda xa: deacl_attack_loss(method.encoder(xa), target),
        view,
        method.cfg.adversary,
        method,
        g,
    )
    with torch.no_grad():
        clean, adv = method.encoder(torch.cat([view, x_adv])).chunk(2)
        cos_t = F.cosine_similarity(clean, target).mean()
        cos_a = F.cosine_similarity(adv, clean).mean()
    assert float(out.logs["cos_teacher"]) == pytest.approx(float(cos_t), abs=1e-5)
    assert float(out.logs["cos_adv"]) == pytest.approx(float(cos_a), abs=1e-5)
    assert float(out.loss.detach()) == pytest.approx(float(-cos_t - 3.0 * cos_a), abs=1e-5)
    # the attack pushed the student away from the teacher: its term is below the clean one
    with torch.no_grad():
        assert float(deacl_attack_loss(method.encoder(x_adv), target).mean()) > float(
            deacl_attack_loss(method.encoder(view), target).mean()
        )


def test_the_student_starts_as_the_teacher_and_the_teacher_is_frozen(teacher: Path) -> None:
    method = deacl(teacher)
    stage1 = load_encoder(teacher)
    start = {k: v.clone() for k, v in method.encoder.state_dict().items()}
    assert all(torch.equal(v, start[k]) for k, v in stage1.state_dict().items())
    before = {k: v.clone() for k, v in method.teacher.state_dict().items()}
    assert not any(p.requires_grad for p in method.teacher.parameters())
    optimizer = build_optimizer(method, OptimConfig(name="sgd", lr=0.5))
    in_optimizer = {id(p) for group in optimizer.param_groups for p in group["params"]}
    assert not in_optimizer & {id(p) for p in method.teacher.parameters()}
    assert in_optimizer >= {id(p) for p in method.encoder.parameters()}
    method.train()
    assert method.encoder.training and not method.teacher.training
    x, y = batch()
    out = method.step(x, y, make_generator(0))
    optimizer.zero_grad()
    out.loss.backward()
    optimizer.step()
    assert all(p.grad is None for p in method.teacher.parameters())
    after = method.teacher.state_dict()
    assert all(torch.equal(v, after[k]) for k, v in before.items())  # BN statistics too
    moved = [k for k, v in method.encoder.state_dict().items() if not torch.equal(v, start[k])]
    assert any(k.endswith("weight") for k in moved)  # the student trained


def test_random_student_init(teacher: Path) -> None:
    method = deacl(teacher, student_init="random")
    stage1 = load_encoder(teacher).state_dict()
    own = method.encoder.state_dict()
    assert not torch.equal(own["backbone.block1.0.weight"], stage1["backbone.block1.0.weight"])


def test_missing_teacher_and_bad_adversary_exit_2(tmp_path: Path, capsys) -> None:
    out = f"output_dir={tmp_path}"
    assert main(["pretrain", "method.name=deacl", out]) == 2
    err = capsys.readouterr().err
    assert "deacl needs a teacher" in err and "method.teacher" in err
    assert main(["pretrain", "method.name=deacl", "method.teacher='@pretrain:simclr'", out]) == 2
    assert "only inside a study file" in capsys.readouterr().err
    missing = tmp_path / "nowhere"
    assert main(["pretrain", "method.name=deacl", f"method.teacher={missing}", out]) == 2
    assert "no encoder.safetensors there" in capsys.readouterr().err
    bad = ["method.name=acl", "method.adversary.attack=fgsm", out]
    assert main(["pretrain", *bad]) == 2
    err = capsys.readouterr().err
    assert "fgsm_rs" in err and "n_fgsm" in err
    assert not any(tmp_path.iterdir())  # nothing written


def test_pretrains_one_tiny_epoch(root: Path, teacher: Path, tmp_path: Path) -> None:
    method = {"name": "deacl", "teacher": str(teacher), "adversary": {"eps": 0.1, "steps": 2}}
    result = pretrain(run_config(root, tmp_path, method, "deacl", projection=False))
    student = load_encoder(result.run_dir).state_dict()
    stage1 = load_encoder(teacher).state_dict()
    assert student.keys() == stage1.keys()
    assert not torch.equal(student["backbone.block1.0.weight"], stage1["backbone.block1.0.weight"])
    header = (result.run_dir / "metrics.csv").read_text().splitlines()[0]
    assert "train/cos_teacher_epoch" in header and "train/cos_adv_epoch" in header
    assert math.isfinite(result.seconds)
