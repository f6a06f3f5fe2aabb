"""Where the quickstart study's experiment file is (``configs/quickstart.yaml``)."""

from __future__ import annotations

from pathlib import Path

QUICKSTART = Path("configs") / "quickstart.yaml"


def quickstart_file() -> Path:
    """``configs/quickstart.yaml`` of the source tree robustssl runs from, else of the working
    directory (a clone); a clear error when neither has it."""
    package = Path(__file__).resolve()
    candidates = [package.parents[3] / QUICKSTART, Path.cwd() / QUICKSTART]
    for path in candidates:
        if path.is_file():
            return path
    looked = ", ".join(str(p) for p in candidates)
    raise FileNotFoundError(
        f"no {QUICKSTART} (looked at {looked}); run from a clone of robustssl or pass "
        "--config PATH/quickstart.yaml"
    )
