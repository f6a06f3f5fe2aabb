"""What produced a number: an attack's full settings and the short tag shown next to it.

Every record of an attacked metric carries ``attack_config``: the suite's attack name plus every
setting that changes the number (``Attack.settings()``: steps, step size or its rule, restarts,
loss, AutoAttack's version and attack list, model mode, the batch size that seeds the per-batch
draws, …). It is part of the record's identity, so two evaluations that differ only in attack
settings are two records, never one silently replacing the other (issue 14).

:func:`attack_tag` turns a config into the short label tables print next to each number:
``PGD-20 α=ε/4``, ``APGD-CE-100``, ``AA-standard``, ``FGSM``, ``clean``. Records read from an
older records file, whose settings were never written down, say so: ``PGD (settings unknown)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from robustssl.attacks.step_size import step_rule_text

UNKNOWN = "unknown"  # attack_config key of records migrated from records format 1
CLEAN = "clean"
DISPLAY = {
    "fgsm": "FGSM",
    "pgd": "PGD",
    "apgd-ce": "APGD-CE",
    "apgd-dlr": "APGD-DLR",
    "apgd-t": "APGD-T",
    "fab": "FAB",
    "fab-t": "FAB-T",
    "square": "Square",
    "aa": "AA",
    "worst_case": "worst case",
}


def unknown_config(attack: str | None) -> dict[str, Any]:
    """The config of a record whose attack settings were not recorded (records format 1)."""
    return {} if attack is None else {"name": attack, UNKNOWN: True}


def _steps_suffix(cfg: Mapping[str, Any], key: str = "steps") -> str:
    restarts = cfg.get("restarts", 1)
    return f"-{cfg[key]}" + (f"×{restarts}" if isinstance(restarts, int) and restarts > 1 else "")


def _fraction_of_eps(value: float, norm: str | None) -> str:
    if norm == "Linf" and value > 0 and abs(value * 255 - round(value * 255)) < 1e-6:
        return f"{round(value * 255)}/255"
    return f"{value:.4g}"


def step_text(cfg: Mapping[str, Any], norm: str | None) -> str:
    """PGD's α as the rule gives it in units of ε (the rule of robustssl.attacks.step_size), or a
    fixed α."""
    if cfg.get("step_size") is not None:
        return f"α={_fraction_of_eps(float(cfg['step_size']), norm)}"
    return step_rule_text(norm, cfg.get("steps"), cfg.get("step_size_rule", "auto"))


def _base_tag(cfg: Mapping[str, Any], norm: str | None) -> str:
    name = str(cfg.get("name", ""))
    shown = DISPLAY.get(name, name)
    if cfg.get(UNKNOWN):
        return f"{shown} (settings unknown)"
    if name == "pgd":
        loss = "" if cfg.get("loss", "ce") == "ce" else f" {str(cfg['loss']).upper()}"
        return f"PGD{_steps_suffix(cfg)} {step_text(cfg, norm)}{loss}"
    if name.startswith("apgd-") or name in ("fab", "fab-t"):
        return f"{shown}{_steps_suffix(cfg)}"
    if name == "square":
        return f"Square{_steps_suffix(cfg, 'queries')}"
    if name == "aa":
        version = cfg.get("version", "?")
        if version == "custom":
            return f"AA-custom({'+'.join(cfg.get('attacks', []))})"
        return f"AA-{version}"
    return shown


def attack_tag(config: Mapping[str, Any] | None, norm: str | None, eps: float | None) -> str:
    """The short label of a record's attack: ``clean`` without an attack (or at ε = 0, where no
    attack runs), else e.g. ``PGD-20 α=ε/4``, with ``train-mode`` when BatchNorm was attacked in
    training mode."""
    if not config or (eps is not None and eps == 0 and config.get("name") in DISPLAY):
        return CLEAN
    tag = _base_tag(config, norm)
    return f"{tag} train-mode" if config.get("model_mode") == "train" else tag


def describe_config(config: Mapping[str, Any]) -> str:
    """Every setting of a config as ``key=value`` text (for captions and notes; the suite name
    and the implementing class are left out)."""
    parts = []
    for key, value in config.items():
        if key in ("name", "attack"):
            continue
        if isinstance(value, Mapping):
            value = "{" + describe_config(value) + "}"
        elif isinstance(value, list):
            value = ",".join(
                v.get("name", "?") if isinstance(v, Mapping) else str(v) for v in value
            )
        parts.append(f"{key}={value}")
    return ", ".join(parts)
