"""The core (attacks + evaluation) works with torch, numpy, scipy, pydantic, pyyaml and
safetensors only; everything else is an extra, imported where used, whose absence is an error
naming the extra. Each check runs in a fresh interpreter where the extras' packages are made
unimportable by a ``sys.meta_path`` blocker (as if not installed)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

BLOCKER = """
import importlib.abc, sys
BLOCKED = {blocked!r}
class Blocker(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None
sys.meta_path.insert(0, Blocker())
"""
EXTRAS = (
    "lightning",
    "pytorch_lightning",
    "lightning_fabric",
    "tensorboard",
    "tensorboardX",
    "matplotlib",
    "sklearn",
    "submitit",
    "torchvision",
    "PIL",
    "tqdm",
    "rich",
)


def run_without(code: str, blocked: tuple[str, ...] = EXTRAS) -> dict:
    """Run ``code`` (which prints one JSON line last) with ``blocked`` unimportable."""
    script = BLOCKER.format(blocked=set(blocked)) + textwrap.dedent(code)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_attacks_and_evaluation_run_on_the_core_alone() -> None:
    res = run_without(
        """
        import json, sys, torch
        from robustssl.attacks import PGD
        from robustssl.evaluation import evaluate
        torch.manual_seed(0)
        model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 4))
        x = torch.rand(64, 1, 4, 4)
        y = model(x).argmax(1)
        x_adv = PGD(model, norm="Linf", eps=0.05, steps=10, seed=0)(x, y)
        cfg = {"metrics": ["sa", "ra", "aa", "curve", "classification"],
               "threats": {"Linf": {"eps": 0.05}},
               "attacks": {"pgd": {"steps": 10}, "apgd": {"steps": 10}},
               "diagnostics": {"enabled": True, "n_points": 16}}
        recs = evaluate(model, x, y, cfg).records
        value = {r.metric: r.value for r in recs if r.metric in ("sa", "ra", "aa")}
        print(json.dumps({
            "linf": float((x_adv - x).abs().max()),
            "pgd_acc": float((model(x_adv).argmax(1) == y).float().mean()),
            **value,
            "loaded": sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED),
        }))
        """
    )
    assert res["loaded"] == []
    assert res["linf"] <= 0.05 + 1e-6
    assert res["sa"] == 1.0  # labels are the model's own predictions
    assert 0.0 < res["ra"] < 1.0 and res["aa"] <= res["ra"]
    assert res["pgd_acc"] < 1.0


def test_missing_extras_are_named() -> None:
    res = run_without(
        """
        import importlib, json
        from robustssl.utils.optional import MissingExtraError
        out = {}
        for module in ("robustssl.methods", "robustssl.experiments.figures",
                       "robustssl.experiments.progress"):
            try:
                importlib.import_module(module)
                out[module] = "imported"
            except MissingExtraError as err:
                out[module] = str(err)
        import numpy as np
        from robustssl.evaluation.representation import tsne
        try:
            tsne(np.random.default_rng(0).normal(size=(20, 3)), perplexity=5)
        except MissingExtraError as err:
            out["tsne"] = str(err)
        from robustssl.data.download import torchvision_download
        try:
            torchvision_download("mnist", __import__("pathlib").Path("/nonexistent"), "train")
        except MissingExtraError as err:
            out["download"] = str(err)
        print(json.dumps(out))
        """
    )
    assert "pip install 'robustssl[train]'" in res["robustssl.methods"]
    assert "lightning" in res["robustssl.methods"]
    assert "pip install 'robustssl[report]'" in res["robustssl.experiments.figures"]
    assert "matplotlib" in res["robustssl.experiments.figures"]
    assert "robustssl[train]" in res["robustssl.experiments.progress"]
    assert "scikit-learn" in res["tsne"] and "robustssl[report]" in res["tsne"]
    assert "torchvision" in res["download"] and "robustssl[train]" in res["download"]


def test_cli_reports_a_missing_extra_without_traceback() -> None:
    res = run_without(
        """
        import contextlib, io, json
        from robustssl.cli import main
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            code = main(["pretrain", "--config", "fashion_mnist/simclr", "trainer.max_epochs=1"])
        print(json.dumps({"code": code, "err": err.getvalue()}))
        """
    )
    assert res["code"] == 2
    assert "pip install 'robustssl[train]'" in res["err"] and "Traceback" not in res["err"]


def test_help_does_not_import_torch() -> None:
    """``robustssl --help`` stays quick (< 1.5 s, benchmarks/cli_startup.py) by importing no
    torch: sub-commands import what they need when they run."""
    res = run_without(
        """
        import contextlib, io, json, sys
        from robustssl.cli import main
        for argv in (["--help"], ["pretrain", "--help"], ["quickstart", "--help"]):
            with contextlib.redirect_stdout(io.StringIO()):
                try:
                    main(argv)
                except SystemExit:
                    pass
        print(json.dumps(sorted({m.split(".")[0] for m in sys.modules} & {"torch", "numpy"})))
        """,
        blocked=(),
    )
    assert res == []
