"""SA / RA / AA, ε-curves and the per-attack breakdown against direct computation."""

from __future__ import annotations

from itertools import pairwise

import pytest
import torch
from evalfix import eval_data, trained_model

from robustssl.attacks import FGSM, PGD, AutoAttack, robust_accuracy_curve
from robustssl.attacks.build import RulePGD
from robustssl.evaluation.config import AttackParams
from robustssl.evaluation.records import RecordContext
from robustssl.evaluation.robustness import (
    AttackRunner,
    attack_breakdown,
    batch_seed,
    pgd_step_size,
    robust_accuracy,
    robustness_records,
    standard_accuracy,
    suite_attack,
)

EPS = 0.02  # L∞: PGD-20 leaves about 40 % of the points robust


@pytest.fixture(scope="module")
def runner() -> AttackRunner:
    x, y = eval_data()
    return AttackRunner(trained_model(), x, y, seed=0, batch_size=64, progress=False)


def _direct(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, x_adv: torch.Tensor):
    with torch.no_grad():
        clean = model(x).argmax(1) == y
        return float((clean & (model(x_adv).argmax(1) == y)).double().mean())


def test_step_size_rules() -> None:
    assert pgd_step_size("Linf", 8 / 255, 20) == pytest.approx(2 / 255)  # seed 003 §4.2
    assert pgd_step_size("L2", 0.5, 20) == pytest.approx(2.5 * 0.5 / 20)  # auto: Madry for L2
    assert pgd_step_size("L2", 0.5, 20, "seed003") == pytest.approx(0.5**2 / 20)  # as written
    assert pgd_step_size("Linf", 0.1, 20, "madry") == pytest.approx(0.0125)
    with pytest.raises(ValueError, match="step-size rule"):
        pgd_step_size("Linf", 0.1, 20, "fast")
    attack = suite_attack("pgd", trained_model(), "Linf", 8 / 255, AttackParams())
    assert isinstance(attack, RulePGD) and attack.steps == 20
    assert attack.with_eps(4 / 255).step_size == pytest.approx(1 / 255)  # rescales in sweeps


def test_sa_equals_direct(runner: AttackRunner) -> None:
    x, y = eval_data()
    model = trained_model()
    with torch.no_grad():
        direct = float((model(x).argmax(1) == y).double().mean())
    assert runner.accuracy() == direct == standard_accuracy(model, x, y, batch_size=7)
    assert direct > 0.9


def test_ra_equals_pgd20_run_directly(runner: AttackRunner) -> None:
    x, y = eval_data()
    model = trained_model()
    x_adv = PGD(model, "Linf", EPS, steps=20, step_size=EPS / 4, seed=0)(x, y)
    direct = _direct(model, x, y, x_adv)
    assert runner.accuracy("pgd", "Linf", EPS) == direct
    assert 0.1 < direct < runner.accuracy()  # RA ≤ SA, and strictly here
    assert robust_accuracy(model, x, y, "Linf", EPS, batch_size=64) == direct


def test_ra_batched_equals_per_batch_attacks() -> None:
    x, y = eval_data()
    model = trained_model()
    adv = [
        PGD(
            model,
            "L2",
            0.5,
            steps=20,
            step_size=pgd_step_size("L2", 0.5, 20),
            seed=batch_seed(3, s),
        )(x[s : s + 20], y[s : s + 20])
        for s in range(0, len(x), 20)
    ]
    direct = _direct(model, x, y, torch.cat(adv))
    got = robust_accuracy(model, x, y, "L2", 0.5, seed=3, batch_size=20)
    assert got == direct and got <= standard_accuracy(model, x, y)


def test_fgsm_and_madry_rule() -> None:
    x, y = eval_data()
    model = trained_model()
    params = AttackParams(pgd={"step_size_rule": "madry", "steps": 5})
    madry = PGD(model, "Linf", EPS, steps=5, seed=0)(x, y)  # PGD's own default is 2.5ε/steps
    assert robust_accuracy(model, x, y, "Linf", EPS, params=params, batch_size=64) == _direct(
        model, x, y, madry
    )
    fgsm = _direct(model, x, y, FGSM(model, "Linf", EPS)(x, y))
    assert robust_accuracy(model, x, y, "Linf", EPS, attack="fgsm", batch_size=64) == fgsm


def test_aa_equals_autoattack_run() -> None:
    x, y = eval_data(16)  # APGD-CE leaves 2 points, APGD-T breaks them (fast: Square has none)
    model = trained_model()
    small = AttackRunner(model, x, y, seed=2, batch_size=64, progress=False)
    aa = small.accuracy("aa", "Linf", EPS)
    direct = AutoAttack(model, "Linf", EPS, seed=2, batch_size=64, progress=False).run(x, y)
    assert aa == pytest.approx(direct.robust_accuracy, abs=1e-6)
    assert torch.equal(small.x_adv("aa", "Linf", EPS), direct.x_adv)
    assert aa <= small.accuracy("pgd", "Linf", EPS) < small.accuracy()
    stages = small.aa_results[("Linf", EPS)].accuracy
    assert list(stages) == ["clean", "apgd-ce", "apgd-t", "fab-t", "square"]
    assert stages["apgd-ce"] > stages["square"] == aa


def test_curve_is_the_pruned_sweep_and_monotone(runner: AttackRunner) -> None:
    x, y = eval_data()
    model = trained_model()
    eps_list = [0.03, 0.0, 0.01, 0.02, 0.015]
    curve = runner.curve("pgd", "Linf", eps_list)
    attack = RulePGD(model, "Linf", 0.03, "seed003", steps=20, seed=0)
    reference = robust_accuracy_curve(model, x, y, attack, eps_list, progress=False)
    assert curve.eps == sorted(eps_list) == reference.eps
    assert curve.accuracy == reference.accuracy
    assert torch.equal(curve.robust, reference.robust)
    assert all(a >= b for a, b in pairwise(curve.accuracy))
    assert curve.accuracy[0] == runner.accuracy()  # ε = 0 is the clean accuracy
    assert curve.accuracy[0] > curve.accuracy[-1]
    # never above an independent run at the same ε
    assert curve.accuracy[curve.eps.index(EPS)] <= runner.accuracy("pgd", "Linf", EPS)


def test_curve_over_batches_is_monotone() -> None:
    x, y = eval_data()
    small = AttackRunner(trained_model(), x, y, seed=1, batch_size=16, progress=False)
    curve = small.curve("fgsm", "L2", [0.1, 0.3, 0.6, 1.0])
    assert curve.robust.shape == (4, len(y)) and curve.n == len(y)
    assert all(a >= b for a, b in pairwise(curve.accuracy))
    assert curve.accuracy[-1] < curve.accuracy[0]


def test_breakdown_ordering(runner: AttackRunner) -> None:
    # at 0.022 every component leaves some points and AA none (and no Square run: fast)
    accs = attack_breakdown(runner, "Linf", 0.022, ["fgsm", "pgd", "apgd-ce", "apgd-dlr", "aa"])
    assert min(accs["fgsm"], accs["pgd"], accs["apgd-ce"], accs["apgd-dlr"]) > 0
    components = {k: v for k, v in accs.items() if k not in ("clean", "aa", "worst_case")}
    assert accs["aa"] <= min(components.values())
    assert accs["worst_case"] <= min(v for k, v in accs.items() if k != "clean")
    assert accs["fgsm"] > accs["pgd"] >= accs["aa"]  # seed 000 Fig. 14: FGSM overestimates
    assert all(v <= accs["clean"] for v in accs.values())


def test_records_of_one_threat(runner: AttackRunner) -> None:
    ctx = RecordContext(model="m", dataset="synthetic", seed=0)
    metrics = ["ra", "curve", "breakdown"]
    recs = robustness_records(
        runner, ctx, "Linf", EPS, metrics, eps_list=[0, EPS], breakdown=["fgsm", "pgd"]
    )
    by = {(r.metric, r.attack, r.eps): r for r in recs}
    ra = by[("ra", "pgd", EPS)]
    assert ra.value == runner.accuracy("pgd", "Linf", EPS) and ra.n == len(runner.y)
    assert ra.info["step_size"] == pytest.approx(EPS / 4) and ra.info["steps"] == 20
    assert by[("accuracy", "pgd", 0.0)].value == runner.accuracy()
    assert by[("breakdown", "worst_case", EPS)].value <= by[("breakdown", "fgsm", EPS)].value
    assert {r.norm for r in recs} == {"Linf"}
    # every attacked record carries its attack's full settings and a tag (issue 14)
    assert ra.attack_tag == "PGD-20 α=ε/4" and ra.attack_config["step_size_rule"] == "auto"
    assert by[("breakdown", "fgsm", EPS)].attack_tag == "FGSM"
    worst = by[("breakdown", "worst_case", EPS)].attack_config
    assert [c["name"] for c in worst["of"]] == [
        r.attack for r in recs if r.metric == "breakdown" and r.attack != "worst_case"
    ]


def test_runner_rejects_bad_input() -> None:
    x, y = eval_data()
    with pytest.raises(ValueError, match="x is an empty batch"):
        AttackRunner(trained_model(), x[:0], y[:0])
    with pytest.raises(ValueError, match="unknown attack 'cw'"):
        suite_attack("cw", trained_model(), "Linf", 0.1, AttackParams())
