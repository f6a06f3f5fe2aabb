"""Suite-wide rules: tests never download and never run the machine's apt-get or sudo; tests
marked ``cuda`` skip without a CUDA device; ``--cpu-times FILE`` reports CPU seconds per test.

Tiers (markers in pyproject.toml): ``pytest`` runs the fast tier (≤ 5 min on 2 cores);
``pytest -m slow`` the slow tier (trained-model fixtures, real-data strength checks, long runs);
CI runs both. A test that needs more than a few CPU seconds belongs in the slow tier unless its
data or model can shrink without losing what it checks.
"""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path

import pytest

from robustssl.data import download as download_module
from robustssl.data import fetch as fetch_module
from robustssl.data import load as load_module

# The slow tier, besides tests marked @pytest.mark.slow in their files: every test using one of
# these session fixtures (training them costs more than the fast tier can spend) and these tests
# (node-id prefixes; measured with --cpu-times, see the module docstring).
SLOW_FIXTURES = frozenset({"robust_fmnist"})  # tests/attacks/conftest.py: PGD-trained CNN
SLOW_TESTS: tuple[str, ...] = (
    # CPU seconds single-threaded in brackets (--cpu-times, 2026-12-05); the fast tier keeps one
    # case of each check
    "tests/experiments/test_runner.py::test_submitit_local_executor",  # [28.6] submitit jobs
    "tests/finetune/test_finetune_ordering.py::test_robust_accuracy_slf_below_alf_below_aff[1]",
    "tests/finetune/test_finetune_ordering.py::test_robust_accuracy_slf_below_alf_below_aff[2]",
    # ^ [9 each] seed 0 stays fast
    "tests/methods/test_distributed.py::test_two_ranks_match_one_process[barlow_twins]",  # [12.2]
    "tests/toy/test_toy_cli.py::test_triangle_square_reports_table_4",  # [9.5] the toy study
)


@pytest.hookimpl(tryfirst=True)  # before -m selects by marker
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    import torch

    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if fixtures & SLOW_FIXTURES or item.nodeid.startswith(SLOW_TESTS or ("\0",)):
            item.add_marker(pytest.mark.slow)
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device (scripts/gpu-check.sh runs these on one)")
    for item in items:
        if "cuda" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _no_real_downloads_or_apt(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A test that reaches torchvision's downloader or a program outside its tmp dirs (the real
    apt-get) fails at once; tests pass fakes (``download=``, fake programs on PATH)."""

    def no_download(name: str, root: Path, split: str) -> None:
        pytest.fail(f"a test tried to download {name}/{split} into {root}; pass a fake downloader")

    monkeypatch.setattr(download_module, "torchvision_download", no_download)
    monkeypatch.setattr(load_module, "torchvision_download", no_download)
    base = tmp_path_factory.getbasetemp().resolve()
    real_run = fetch_module._run

    def fake_programs_only(cmd: list[str], log: fetch_module.Log) -> tuple[bool, str]:
        if not Path(cmd[0]).resolve().is_relative_to(base):
            pytest.fail(f"a test tried to run the machine's {cmd[0]}: {' '.join(cmd)}")
        return real_run(cmd, log)

    monkeypatch.setattr(fetch_module, "_run", fake_programs_only)


# --- tiering: per-test CPU seconds (--cpu-times FILE) -------------------------------------------
# Wall-clock durations mean little on a machine shared with other jobs; CPU seconds (this process
# plus the subprocesses it waited for) do not depend on the load. Run single-threaded
# (OMP_NUM_THREADS=1) to compare with the fast tier's budget on 2 cores.


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--cpu-times",
        metavar="FILE",
        default=None,
        help="write each test's CPU seconds (setup + call + teardown, incl. waited-for "
        "subprocesses) as JSON lines to FILE, slowest first",
    )


def _cpu_seconds() -> float:
    import resource

    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


_CPU: dict[str, float] = {}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(
    item: pytest.Item, nextitem: pytest.Item | None
) -> Generator[None, None, None]:
    start = _cpu_seconds()
    yield
    _CPU[item.nodeid] = _cpu_seconds() - start
    path = item.config.getoption("--cpu-times")
    if path:  # one line per finished test, so a long run can be read while it goes
        with open(f"{path}.partial", "a") as out:
            out.write(f"{_CPU[item.nodeid]:.2f} {item.nodeid}\n")


def pytest_sessionfinish(session: pytest.Session) -> None:
    path = session.config.getoption("--cpu-times")
    if path and _CPU:
        import json

        rows = sorted(_CPU.items(), key=lambda kv: -kv[1])
        Path(path).write_text(
            "".join(json.dumps({"test": t, "cpu_s": round(s, 2)}) + "\n" for t, s in rows)
        )
