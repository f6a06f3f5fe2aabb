"""Where config files come from: a local file first, else the configs shipped with the package.

The repository's ``configs/`` is package data: ``robustssl/configs`` in the source tree is a
symlink to it, followed when the wheel is built. So ``--config fashion_mnist/simclr`` (with or
without ``.yaml``, with or without a leading ``configs/``) and the quickstart and reproduce
experiment files work from a wheel in any directory, while a clone keeps editing ``configs/``.
``robustssl configs list`` shows them, ``robustssl configs copy DIR`` copies them to edit.

A config file may include shared parts (the idea of solo-learn's / Hydra's ``defaults:`` list):

    defaults: [fashion_mnist/_base/contrastive]   # .yaml may be left out
    name: acl_fashion_mnist
    method: {name: acl}

The included files are merged in order, each later one over the earlier ones, and the file's own
keys over all of them (mappings merge key by key; a list or a value replaces). Includes may
include; a cycle or a missing file is an error naming the files. The merged mapping is then
validated as strictly as any config (an unknown key anywhere is still an error). An entry is a
path relative to the including file's folder or the nearest folder above it that has it, else a
shipped config: so the shipped files' includes work in a clone, from the wheel, in a copy made
by ``robustssl configs copy`` (which then uses its own copies) and in a single copied file.
Files under a ``_base`` folder are such parts, not configs to run.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import Any

from robustssl.utils.config import ConfigError, check_config_file, read_yaml

SUFFIXES = (".yaml", ".yml")
INCLUDE_KEY = "defaults"


def configs_dir() -> Path:
    """The shipped configs: ``robustssl/configs`` (a wheel, or the symlink of a clone), else the
    source tree's ``configs/`` (a clone whose symlink became a plain file, e.g. on Windows)."""
    package = Path(__file__).resolve().parents[1]
    candidates = (package / "configs", package.parents[1] / "configs")
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    looked = ", ".join(str(c) for c in candidates)
    raise FileNotFoundError(
        f"robustssl's shipped configs are missing (looked at {looked}); reinstall robustssl"
    )


def _with_suffixes(path: Path) -> list[Path]:
    """``path`` itself, then ``path.yaml`` when it has no YAML suffix."""
    if path.suffix in SUFFIXES:
        return [path]
    return [path, path.with_name(path.name + ".yaml")]


def _shipped_name(ref: str) -> PurePosixPath | None:
    """``ref`` as a path inside the shipped configs (``configs/`` prefix dropped), or None when it
    cannot be one (absolute, or climbing out with ``..``)."""
    parts = PurePosixPath(ref.replace("\\", "/")).parts
    if parts[:1] == ("configs",):
        parts = parts[1:]
    if not parts or parts[0] == "/" or ".." in parts:
        return None
    return PurePosixPath(*parts)


def find_config(
    ref: str | Path, *, base_dirs: Sequence[Path] = (), what: str = "config file"
) -> Path:
    """The file ``ref`` names: as given (absolute, else relative to each of ``base_dirs`` and
    then the working directory), then in the shipped configs; ``.yaml`` may be left out.
    Raises :class:`ConfigError` listing every place looked at and the fix."""
    text = str(ref)
    path = Path(text).expanduser()
    roots = [Path()] if path.is_absolute() else [*base_dirs, Path.cwd()]
    local = [c for root in dict.fromkeys(roots) for c in _with_suffixes(root / path)]
    shipped_name = _shipped_name(text) if not path.is_absolute() else None
    shipped: list[Path] = []
    if shipped_name is not None:
        try:
            shipped = _with_suffixes(configs_dir() / shipped_name)
        except FileNotFoundError:
            shipped = []
    for candidate in [*local, *shipped]:
        if candidate.is_file():
            return candidate
    for candidate in local:
        if candidate.is_dir():
            check_config_file(candidate, what)  # raises: "... is a directory; pass a YAML file"
    looked = ", ".join(str(c) for c in dict.fromkeys([*local, *shipped]))
    raise ConfigError(
        f"{what} {text!r} not found (looked at {looked}); fix the path, or see "
        "`robustssl configs list` for the configs shipped with robustssl"
    )


def list_configs() -> list[str]:
    """The shipped config files, relative to :func:`configs_dir` (POSIX paths, sorted)."""
    root = configs_dir()
    files = (p for p in root.rglob("*") if p.is_file() and p.suffix in SUFFIXES)
    return sorted(p.relative_to(root).as_posix() for p in files)


def copy_configs(dest: Path, *, overwrite: bool = False) -> list[Path]:
    """Copy every shipped config into ``dest`` (same layout) to edit; returns the new files.

    Refuses, before copying anything, when a file would be replaced and ``overwrite`` is False,
    so nothing already there is lost.
    """
    dest = Path(dest).expanduser()
    if dest.exists() and not dest.is_dir():
        raise ConfigError(f"{dest} exists and is not a directory; pick another destination")
    names = list_configs()
    clashes = [n for n in names if (dest / n).exists()]
    if clashes and not overwrite:
        more = f" and {len(clashes) - 5} more" if len(clashes) > 5 else ""
        shown = ", ".join(clashes[:5]) + more
        raise ConfigError(
            f"{dest} already holds {len(clashes)} of the configs ({shown}); pick an empty "
            "directory, or pass --force to overwrite them"
        )
    root = configs_dir()
    written = []
    for name in names:
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(root / name, target)
        written.append(target)
    return written


def merge_configs(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """``over`` on top of ``base``: mappings merge key by key, anything else replaces."""
    out = dict(base)
    for key, value in over.items():
        below = out.get(key)
        if isinstance(below, Mapping) and isinstance(value, Mapping):
            out[key] = merge_configs(below, value)
        else:
            out[key] = value
    return out


def _include_path(entry: object, including: Path) -> Path:
    """The file a ``defaults`` entry names (``.yaml`` optional): relative to the including file's
    folder or the nearest folder above it that has it, else a config shipped with robustssl."""
    if not isinstance(entry, str) or not entry.strip():
        raise ConfigError(
            f"{including}: each {INCLUDE_KEY} entry must be a file path, got {entry!r} "
            f"(e.g. {INCLUDE_KEY}: [fashion_mnist/_base/pretrain])"
        )
    ref = Path(entry).expanduser()
    folders = [including.parent] if ref.is_absolute() else list(including.resolve().parents)
    candidates = [c for folder in folders for c in _with_suffixes(folder / ref)]
    shipped = _shipped_name(entry) if not ref.is_absolute() else None
    if shipped is not None:
        with contextlib.suppress(FileNotFoundError):  # no shipped configs: the local ones only
            candidates += _with_suffixes(configs_dir() / shipped)
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise ConfigError(
        f"{including}: included file {entry!r} not found next to it, in a folder above it or "
        f"among the shipped configs (e.g. {_with_suffixes(including.parent / ref)[-1]}); fix the "
        f"path (relative to {including.parent} or a folder above it), or copy the included file "
        "too (`robustssl configs copy DIR` copies every config with its _base folder)"
    )


def read_config_file(path: Path, where: str = "", _chain: tuple[Path, ...] = ()) -> dict[str, Any]:
    """The YAML mapping in ``path`` with its ``defaults`` includes merged in (module doc)."""
    here = Path(path).resolve()
    if here in _chain:
        cycle = " → ".join(str(p) for p in (*_chain[_chain.index(here) :], here))
        raise ConfigError(f"include cycle: {cycle}; remove one of these {INCLUDE_KEY} entries")
    raw = read_yaml(Path(path), where)
    includes = raw.pop(INCLUDE_KEY, [])
    if isinstance(includes, str):
        includes = [includes]
    if not isinstance(includes, list):
        raise ConfigError(
            f"{path}: {INCLUDE_KEY} must be a list of files to include, e.g. "
            f"{INCLUDE_KEY}: [_base/pretrain], got {includes!r}"
        )
    merged: dict[str, Any] = {}
    for entry in includes:
        part = read_config_file(_include_path(entry, Path(path)), where, (*_chain, here))
        merged = merge_configs(merged, part)
    return merge_configs(merged, raw)
