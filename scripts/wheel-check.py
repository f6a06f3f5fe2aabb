#!/usr/bin/env python3
"""Build the wheel and check it as a user without the repository would have it (CI runs this).

    .venv/bin/python scripts/wheel-check.py [--keep DIR]

Two fresh venvs get the wheel plus exactly the distributions its metadata asks for — the core
requirements, then those of ``[all]`` — resolved from the dev venv's metadata and linked in
(symlinks, so no torch is copied or downloaded); ``pip check`` confirms every declared version
range holds. Then, in an empty working directory:

- core: ``robustssl.attacks`` and ``robustssl.evaluation`` attack and evaluate a model while no
  extra's package is importable; ``robustssl --help`` and ``robustssl configs list`` work;
  ``robustssl pretrain`` stops naming the ``[train]`` extra;
- all: ``robustssl quickstart --dry-run`` plans the study from the shipped configs and writes
  nothing; ``--config fashion_mnist/simclr`` resolves from the package.

Exits non-zero on the first failed check.
"""

from __future__ import annotations

import argparse
import importlib.metadata as md
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[1]
EXTRA_PACKAGES = (
    "lightning",
    "tensorboard",
    "matplotlib",
    "sklearn",
    "submitit",
    "torchvision",
    "PIL",
    "tqdm",
)

CORE_PROBE = """
import importlib.util, json, torch
from robustssl.attacks import PGD
from robustssl.evaluation import evaluate
torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 4))
x = torch.rand(64, 1, 4, 4)
y = model(x).argmax(1)
x_adv = PGD(model, norm="Linf", eps=0.05, steps=10, seed=0)(x, y)
cfg = {"metrics": ["sa", "ra", "aa"], "threats": {"Linf": {"eps": 0.05}},
       "attacks": {"pgd": {"steps": 10}, "apgd": {"steps": 10}}, "diagnostics": {"enabled": False}}
values = {r.metric: r.value for r in evaluate(model, x, y, cfg).records}
present = [m for m in %r if importlib.util.find_spec(m) is not None]
print(json.dumps({"linf": float((x_adv - x).abs().max()), **values, "extras_present": present}))
"""


class CheckFailed(Exception):
    pass


def step(name: str) -> None:
    print(f"--- {name}", flush=True)


def run(cmd: list[str], *, cwd: Path, env: dict[str, str], expect: int = 0) -> str:
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    shown = " ".join(Path(c).name if i == 0 else c for i, c in enumerate(cmd))
    print(f"    $ {shown[:110]}  ({seconds:.1f} s, exit {done.returncode})", flush=True)
    if done.returncode != expect:
        raise CheckFailed(
            f"{shown}: exit {done.returncode}, expected {expect}\n{done.stdout[-2000:]}"
            f"\n{done.stderr[-3000:]}"
        )
    return done.stdout + done.stderr


def build_wheel(out: Path) -> Path:
    step("build the wheel")
    env = dict(os.environ)
    run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(out),
            str(REPO),
        ],
        cwd=REPO,
        env=env,
    )
    (wheel,) = out.glob("robustssl-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {
        f"robustssl/configs/{p.relative_to(REPO / 'configs').as_posix()}"
        for p in (REPO / "configs").rglob("*.yaml")
    }
    missing = sorted(shipped - names)
    if missing or "robustssl/py.typed" not in names:
        raise CheckFailed(f"the wheel lacks {missing[:5] or ['robustssl/py.typed']}")
    print(f"    {wheel.name}: {len(shipped)} configs and py.typed inside")
    return wheel


def requirements(wheel: Path, extras: set[str]) -> list[Requirement]:
    """The wheel's Requires-Dist that apply with ``extras`` (``[all]`` pulls in the others)."""
    meta = next(n for n in zipfile.ZipFile(wheel).namelist() if n.endswith(".dist-info/METADATA"))
    text = zipfile.ZipFile(wheel).read(meta).decode()
    reqs = [
        Requirement(line.split(":", 1)[1].strip())
        for line in text.splitlines()
        if line.startswith("Requires-Dist:")
    ]
    wanted = set(extras)
    changed = True
    while changed:  # self-references: robustssl[train,report,cluster] inside [all]
        changed = False
        for r in reqs:
            if r.name == "robustssl" and _applies(r, wanted) and not r.extras <= wanted:
                wanted |= r.extras
                changed = True
    return [r for r in reqs if r.name != "robustssl" and _applies(r, wanted)]


def _applies(req: Requirement, extras: set[str]) -> bool:
    return req.marker is None or any(req.marker.evaluate({"extra": e}) for e in {"", *extras})


def closure(reqs: list[Requirement]) -> dict[str, md.Distribution]:
    """Every installed distribution ``reqs`` need, transitively (from the dev venv)."""
    found: dict[str, md.Distribution] = {}
    todo = [(r.name, set(r.extras)) for r in reqs]
    seen: set[tuple[str, frozenset[str]]] = set()
    while todo:
        name, extras = todo.pop()
        key = (canonicalize_name(name), frozenset(extras))
        if key in seen:
            continue
        seen.add(key)
        try:
            dist = md.distribution(name)
        except md.PackageNotFoundError as err:
            raise CheckFailed(f"{name} is required but not installed in {sys.prefix}") from err
        found[canonicalize_name(name)] = dist
        for line in dist.requires or []:
            r = Requirement(line)
            if _applies(r, extras):
                todo.append((r.name, set(r.extras)))
    return found


def make_venv(where: Path, dists: dict[str, md.Distribution], wheel: Path) -> Path:
    """A venv holding ``dists`` (linked from the dev venv) and the wheel (installed)."""
    subprocess.run([sys.executable, "-m", "venv", str(where)], check=True)
    python = where / "bin" / "python"
    site = Path(
        subprocess.run(
            [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    for dist in dists.values():
        base = Path(str(dist.locate_file("")))
        tops = {f.parts[0] for f in dist.files or [] if f.parts and f.parts[0] != ".."}
        for top in tops:
            target = site / top
            if not target.exists() and not target.is_symlink() and (base / top).exists():
                target.symlink_to(base / top)
    env = clean_env(where)
    run(
        [str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)],
        cwd=where,
        env=env,
    )
    run([str(python), "-m", "pip", "check"], cwd=where, env=env)
    return where / "bin"


def clean_env(venv: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{venv / 'bin'}:{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(venv)
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def check_core(bin_dir: Path, work: Path) -> None:
    step("core install: attacks + evaluation without any extra")
    env = clean_env(bin_dir.parent)
    out = run([str(bin_dir / "python"), "-c", CORE_PROBE % (EXTRA_PACKAGES,)], cwd=work, env=env)
    # the probe's one JSON line; progress lines (stderr, plain when not a terminal) may follow it
    res = json.loads(next(ln for ln in reversed(out.splitlines()) if ln.startswith("{")))
    if res["extras_present"] or res["linf"] > 0.05 + 1e-6 or not 0 < res["ra"] < res["sa"]:
        raise CheckFailed(f"core probe: {res}")
    print(f"    SA {res['sa']:.2f}, RA {res['ra']:.2f}, AA {res['aa']:.2f}; no extra importable")
    robustssl = str(bin_dir / "robustssl")
    start = time.perf_counter()
    run([robustssl, "--help"], cwd=work, env=env)
    print(
        json.dumps(
            {
                "name": "robustssl --help (core wheel)",
                "seconds": round(time.perf_counter() - start, 3),
                "target": 1.5,
            }
        )
    )
    listed = run([robustssl, "configs", "list"], cwd=work, env=env).splitlines()
    if "quickstart.yaml" not in listed or "fashion_mnist/simclr.yaml" not in listed:
        raise CheckFailed("robustssl configs list lacks the shipped configs")
    err = run(
        [robustssl, "pretrain", "--config", "fashion_mnist/simclr"], cwd=work, env=env, expect=2
    )
    if "robustssl[train]" not in err or "Traceback" in err:
        raise CheckFailed(f"pretrain without [train] should name the extra:\n{err}")
    print("    pretrain without [train]: exit 2 naming robustssl[train]")


def check_all(bin_dir: Path, work: Path) -> None:
    step("[all] install: the quickstart plans from the shipped configs in an empty directory")
    env = clean_env(bin_dir.parent)
    robustssl = str(bin_dir / "robustssl")
    out = run([robustssl, "quickstart", "--dry-run"], cwd=work, env=env)
    if "stages" not in out or "pretrain simclr" not in out:
        raise CheckFailed(f"quickstart --dry-run did not plan the study:\n{out[-2000:]}")
    if any(work.iterdir()):
        raise CheckFailed(f"--dry-run wrote into the working directory: {list(work.iterdir())}")
    print("    " + next(line for line in out.splitlines() if "stages" in line).strip()[:100])
    cfg = run(
        [robustssl, "pretrain", "--config", "fashion_mnist/simclr", "--print-config"],
        cwd=work,
        env=env,
    )
    if '"simclr_fashion_mnist"' not in cfg:
        raise CheckFailed("--config fashion_mnist/simclr did not resolve from the package")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, default=None, help="build here and keep it")
    args = parser.parse_args()
    top = args.keep or Path(tempfile.mkdtemp(prefix="robustssl-wheel-"))
    start = time.perf_counter()
    try:
        wheel = build_wheel(top / "dist")
        for profile, extras, check in (("core", set(), check_core), ("all", {"all"}, check_all)):
            reqs = requirements(wheel, extras)
            dists = closure(reqs)
            step(
                f"venv '{profile}': the wheel + {len(dists)} distributions "
                f"({', '.join(sorted({str(r.name) for r in reqs}))} and what they need)"
            )
            bin_dir = make_venv(top / f"venv-{profile}", dists, wheel)
            work = top / f"empty-{profile}"
            work.mkdir()
            check(bin_dir, work)
    except CheckFailed as err:
        print(f"FAILED: {err}", file=sys.stderr)
        return 1
    finally:
        if args.keep is None:
            shutil.rmtree(top, ignore_errors=True)
    print(f"wheel check passed in {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
