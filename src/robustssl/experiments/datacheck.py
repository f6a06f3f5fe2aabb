"""Before any compute: is every dataset the stages read there (or may it be downloaded)?

A study whose data is missing stops at once, naming the ways to get it (Debian's package where
there is one, ``data.download=true`` with a network, or a folder through ``data.root`` /
``$ROBUSTSSL_DATA``), instead of failing in its first stage after the others were planned.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from robustssl.data import find_local, get_info, load_dataset
from robustssl.data.errors import DatasetError
from robustssl.data.fetch import FetchError, fetch_dataset
from robustssl.data.load import default_data_root
from robustssl.experiments.plan import Plan


@dataclass(frozen=True)
class DataNeed:
    dataset: str
    root: str | None
    download: bool
    splits: tuple[str, ...]


class MissingDataError(DatasetError, FileNotFoundError):
    """A dataset of the study is not on this machine; the message lists the ways to get it."""

    def __str__(self) -> str:
        return str(self.args[0])


def data_needs(plan: Plan) -> list[DataNeed]:
    """The (dataset, root, download) triples the stages read, with their splits."""
    found: dict[tuple[str, str | None, bool], set[str]] = {}
    for stage in plan:
        data: dict[str, Any] = stage.config.get("data", {})
        if stage.kind == "evaluate":
            ft = plan.get(stage.deps[0]).config["data"]
            key = (data.get("dataset") or ft["dataset"], data.get("root") or ft.get("root"), False)
            splits = {data.get("split", "test")}
        else:
            key = (data["dataset"], data.get("root"), bool(data.get("download")))
            splits = {data.get("split", "train")}
            if not data.get("val_fraction"):
                splits.add(data.get("eval_split", "test"))
        found.setdefault(key, set()).update(splits)
    return [DataNeed(d, r, dl, tuple(sorted(s))) for (d, r, dl), s in found.items()]


def missing_message(need: DataNeed, fetched: bool = False) -> str:
    """What is missing and the ways to get it (``fetched``: robustssl's own fetch already
    failed, so it is not offered again)."""
    info = get_info(need.dataset)
    where = need.root or f"{default_data_root()} ($ROBUSTSSL_DATA or ./data)"
    ways = (
        []
        if fetched
        else [f"robustssl datasets fetch {need.dataset}   (Debian's package or a download)"]
    )
    if info.debian_package:
        ways.append(f"apt-get install -y {info.debian_package}   (Debian's copy, read in place)")
    ways.append(
        "rerun with data.download=true   (torchvision downloads it into the data root; needs a "
        "network)"
    )
    ways.append("or put the files under a folder and pass data.root=DIR (or set ROBUSTSSL_DATA)")
    lines = "\n".join(f"  {i}. {w}" for i, w in enumerate(ways, 1))
    return f"dataset {need.dataset!r} is not on this machine (looked in {where}). Get it:\n{lines}"


def ensure_data(plan: Plan) -> None:
    """Raise :class:`MissingDataError` for a missing dataset that may not be downloaded;
    download the others now (a failing download stops the study before its first stage)."""
    for need in data_needs(plan):
        if find_local(need.dataset, need.root) is not None:
            continue
        if not need.download:
            raise MissingDataError(missing_message(need))
        for split in need.splits:
            try:
                load_dataset(need.dataset, split, root=need.root, download=True)
            except DatasetError as err:
                raise MissingDataError(
                    f"{missing_message(need)}\n(download failed: {err})"
                ) from None


def fetch_missing(plan: Plan, log: Callable[[str], None] = print) -> None:
    """Get every dataset the stages read that is not here (``robustssl quickstart``): Debian's
    package or a download (:func:`robustssl.data.fetch.fetch_dataset`); when no way works,
    :class:`MissingDataError` with the ways left and what was tried, before any compute."""
    for need in data_needs(plan):
        if need.dataset == "imagefolder" or find_local(need.dataset, need.root) is not None:
            continue
        try:
            fetched = fetch_dataset(need.dataset, need.root, log=log)
        except FetchError as err:
            tried = "\n".join(f"  - {a}" for a in err.attempts)
            message = missing_message(need, fetched=True)
            raise MissingDataError(f"{message}\nTried:\n{tried}") from None
        log(f"{need.dataset}: ready in {fetched.location} ({fetched.how})")


def missing_data(plan: Plan) -> list[str]:
    """Messages for the datasets that are neither here nor downloadable (for ``--dry-run``)."""
    return [
        missing_message(need)
        for need in data_needs(plan)
        if not need.download and find_local(need.dataset, need.root) is None
    ]
