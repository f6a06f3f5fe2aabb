"""AutoAttack (Croce & Hein 2020; seed 000 §2.1, seed 001 §5): the official ensembles, each attack
run only on the points still robust after the ones before it, resumable from a state file.

Versions as in the official code (REFERENCE_FACTS.md): "standard" = APGD-CE → APGD-T (9 targets) →
FAB-T (9 targets) → Square (5000 queries), 100 iterations each; "plus" = APGD-CE and APGD-DLR (5
restarts), FAB (5 restarts), Square, APGD-T, FAB-T; "rand" = APGD-CE and APGD-DLR with EOT over 20
draws. A point counts as broken only when its x_adv is misclassified by a fresh forward pass and
lies in the threat model.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypedDict

import torch
from torch import Tensor, nn

from robustssl.attacks.apgd import APGD
from robustssl.attacks.base import Attack
from robustssl.attacks.checks import check_batch, check_eps
from robustssl.attacks.fab import FAB
from robustssl.attacks.mode import ModelMode, attack_mode
from robustssl.attacks.square import Square
from robustssl.attacks.threat import ThreatModel, canonical_norm
from robustssl.attacks.twin import inference_twin
from robustssl.utils import make_generator
from robustssl.utils.checkpoint import load_weights, load_weights_metadata, save_weights
from robustssl.utils.progress import tqdm

VERSIONS: dict[str, tuple[str, ...]] = {
    "standard": ("apgd-ce", "apgd-t", "fab-t", "square"),
    "plus": ("apgd-ce", "apgd-dlr", "fab", "square", "apgd-t", "fab-t"),
    "rand": ("apgd-ce", "apgd-dlr"),
}
ATTACKS = ("apgd-ce", "apgd-dlr", "apgd-t", "fab", "fab-t", "square")


class _CommonArgs(TypedDict):
    """The keyword arguments every attack of the ensemble gets from :meth:`AutoAttack.build`."""

    norm: str
    eps: float
    seed: int
    model_mode: ModelMode
    allow_large_eps: bool


@dataclass
class AutoAttackResult:
    """x_adv (B, ...), the final robust mask (B,) and robust accuracy after each attack (in run
    order, starting with "clean"), plus seconds per attack."""

    x_adv: Tensor
    robust: Tensor
    accuracy: dict[str, float] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def clean_accuracy(self) -> float:
        return self.accuracy["clean"]

    @property
    def robust_accuracy(self) -> float:
        return float(self.robust.float().mean()) if len(self.robust) else 0.0


class AutoAttack:
    """``AutoAttack(model, norm, eps, version, seed)``; ``attack(x, y) -> x_adv``;
    ``attack.run(x, y, state_path=...) -> AutoAttackResult``.

    ``attacks`` with ``version="custom"`` runs any sequence of :data:`ATTACKS`. ``batch_size``
    bounds memory; ``state_path`` (a .safetensors file) is written after every attack and, when it
    exists, the run resumes after the attacks it records. ``fast_model`` runs the attacks on the
    model's :func:`~robustssl.attacks.twin.inference_twin` (BN folded, channels-last: the same
    function, 1.5–2× faster on CPU) when the model is attacked in eval mode. Inputs are checked as
    for every attack (:mod:`robustssl.attacks.checks`); an L∞ ``eps`` ≥ 1 needs
    ``allow_large_eps=True``.
    """

    def __init__(
        self,
        model: nn.Module,
        norm: str = "Linf",
        eps: float = 8 / 255,
        version: str = "standard",
        seed: int = 0,
        attacks: tuple[str, ...] | list[str] | None = None,
        batch_size: int = 1000,
        progress: bool = True,
        model_mode: ModelMode = "eval",
        fast_model: bool = True,
        allow_large_eps: bool = False,
    ) -> None:
        self.model, self.threat = model, ThreatModel(canonical_norm(norm), eps)
        check_eps(self.threat.norm, self.threat.eps, allow_large_eps=allow_large_eps)
        self.allow_large_eps = allow_large_eps
        self.version, self.seed = version, seed
        self.attacks = _attack_names(version, attacks)
        if self.threat.norm == "L1" and {"apgd-ce", "apgd-t", "apgd-dlr", "square"} & set(
            self.attacks
        ):
            raise ValueError(
                "AutoAttack with L1 needs APGD-L1, which robustssl does not have; use norm Linf or "
                "L2, or version='custom' with attacks=['fab', 'fab-t']"
            )
        if batch_size < 1:
            raise ValueError(f"batch_size must be ≥ 1, got {batch_size}")
        self.batch_size, self.progress, self.model_mode = batch_size, progress, model_mode
        self.fast_model = fast_model

    def __call__(self, x: Tensor, y: Tensor) -> Tensor:
        return self.run(x, y).x_adv

    def settings(self) -> dict[str, object]:
        """Every setting besides (norm, ε, seed) that changes the result: the version and its
        attack list (each with the official settings :meth:`build` gives it), the batch size
        (each chunk draws from the seed anew), the model mode and the inference twin."""
        return {
            "attack": "AutoAttack",
            "version": self.version,
            "attacks": list(self.attacks),
            "batch_size": self.batch_size,
            "model_mode": self.model_mode,
            "fast_model": self.fast_model,
        }

    def build(self, name: str, num_classes: int, model: nn.Module | None = None) -> Attack:
        """The configured attack ``name`` (official settings for this version) on ``model``
        (default: the attacked model)."""
        model = self.model if model is None else model
        common = _CommonArgs(
            norm=self.threat.norm,
            eps=self.threat.eps,
            seed=self.seed,
            model_mode=self.model_mode,
            allow_large_eps=self.allow_large_eps,
        )
        restarts = 5 if self.version == "plus" and name in ("apgd-ce", "apgd-dlr", "fab") else 1
        eot = 20 if self.version == "rand" else 1
        targets = min(9, num_classes - 1)
        if name in ("apgd-ce", "apgd-dlr"):
            return APGD(model, n_restarts=restarts, loss=name[5:], eot_iter=eot, **common)
        if name == "apgd-t":
            return APGD(model, loss="dlr", targeted=True, n_target_classes=targets, **common)
        if name in ("fab", "fab-t"):
            return FAB(
                model,
                n_restarts=restarts,
                targeted=name == "fab-t",
                n_target_classes=targets,
                **common,
            )
        return Square(model, n_queries=5000, p_init=0.8, **common)

    def run(self, x: Tensor, y: Tensor, state_path: str | Path | None = None) -> AutoAttackResult:
        num_classes = check_batch(self.model, x, y)
        _check_classes(self.attacks, num_classes)
        x, state = x.detach(), Path(state_path) if state_path is not None else None
        meta = self._meta(x, y)
        with attack_mode(self.model, self.model_mode):
            result = self._restore(state, meta, x) if state and state.exists() else None
            if result is None:
                result = AutoAttackResult(x.clone(), self._correct(x, y))
                result.accuracy["clean"] = _mean(result.robust)
                self._save(state, meta, result)
            todo = [a for a in self.attacks if a not in result.accuracy]
            twin = self._twin(x) if todo else self.model
            bar = tqdm(todo, desc="AutoAttack", disable=not self.progress, leave=False)
            for name in bar:
                bar.set_postfix(attack=name, robust=f"{result.robust_accuracy:.2%}")
                start = time.perf_counter()
                self._attack(self.build(name, num_classes, twin), x, y, result)
                result.seconds[name] = time.perf_counter() - start
                result.accuracy[name] = _mean(result.robust)
                self._save(state, meta, result)
        return result

    def _attack(self, attack: Attack, x: Tensor, y: Tensor, result: AutoAttackResult) -> None:
        """Run ``attack`` on the still-robust points, batch by batch; keep verified breaks."""
        idx = result.robust.nonzero()[:, 0]
        for chunk in idx.split(self.batch_size):
            out = attack.perturb(x[chunk], y[chunk], make_generator(attack.seed), None)
            x_adv = out.x_adv.detach()
            broken = self._misclassified(x_adv, y[chunk]) & self._inside(x_adv, x[chunk])
            result.x_adv[chunk[broken]] = x_adv[broken]
            result.robust[chunk[broken]] = False

    def _twin(self, x: Tensor) -> nn.Module:
        """The model the attacks run on: its :func:`inference_twin` when ``fast_model`` (breaks
        are still verified on the model itself)."""
        if not self.fast_model or self.model_mode != "eval":
            return self.model
        return inference_twin(self.model, x[: min(len(x), 64)])

    def _predict(self, x: Tensor) -> Tensor:
        with torch.no_grad():
            return torch.cat([self.model(c) for c in x.split(self.batch_size)])

    def _correct(self, x: Tensor, y: Tensor) -> Tensor:
        return self._predict(x).argmax(1) == y

    def _misclassified(self, x_adv: Tensor, y: Tensor) -> Tensor:
        return ~self._correct(x_adv, y)

    def _inside(self, x_adv: Tensor, x: Tensor) -> Tensor:
        norms = self.threat.norms(x_adv - x)
        in_box = (x_adv >= 0).flatten(1).all(1) & (x_adv <= 1).flatten(1).all(1)
        return (norms <= self.threat.eps * (1 + 1e-5) + 1e-7) & in_box

    def _meta(self, x: Tensor, y: Tensor) -> dict[str, object]:
        digest = hashlib.sha256(x.detach().cpu().float().numpy().tobytes())
        digest.update(y.detach().cpu().numpy().tobytes())
        return {
            "version": self.version,
            "attacks": list(self.attacks),
            "norm": self.threat.norm,
            "eps": self.threat.eps,
            "seed": self.seed,
            "data_sha256": digest.hexdigest(),
        }

    def _save(self, path: Path | None, meta: dict[str, object], result: AutoAttackResult) -> None:
        if path is None:
            return
        tensors = {"x_adv": result.x_adv, "robust": result.robust.to(torch.uint8)}
        save_weights(
            tensors, path, {**meta, "accuracy": result.accuracy, "seconds": result.seconds}
        )

    def _restore(self, path: Path, meta: dict[str, object], x: Tensor) -> AutoAttackResult:
        try:
            saved = load_weights_metadata(path) or {}
            tensors = load_weights(path, x.device)
        except ValueError as err:
            raise ValueError(
                f"the AutoAttack state file {path} is damaged ({err}); delete it to run the "
                "attacks from the start, or pass another state_path (the file was left as is)"
            ) from None
        diff = [k for k, v in meta.items() if saved.get(k) != v]
        if diff:
            raise ValueError(
                f"the AutoAttack state file {path} was written for another run (differs in: "
                f"{', '.join(diff)}); pass a new state_path or delete that file"
            )
        x_adv, robust = tensors.get("x_adv"), tensors.get("robust")
        accuracy = saved.get("accuracy")
        if (
            x_adv is None
            or robust is None
            or not isinstance(accuracy, dict)
            or x_adv.shape != x.shape
            or robust.shape != x.shape[:1]
        ):
            raise ValueError(
                f"the AutoAttack state file {path} is incomplete or damaged (needs x_adv of "
                f"shape {tuple(x.shape)}, robust and accuracy); delete it to run the attacks "
                "from the start"
            )
        result = AutoAttackResult(x_adv.to(x.dtype), robust.bool())
        result.accuracy = dict(accuracy)
        result.seconds = dict(saved.get("seconds", {}))
        return result


def _attack_names(version: str, attacks: tuple[str, ...] | list[str] | None) -> tuple[str, ...]:
    if version == "custom":
        if not attacks:
            raise ValueError(f"version='custom' needs attacks=[...] from {', '.join(ATTACKS)}")
        unknown = [a for a in attacks if a not in ATTACKS]
        if unknown:
            raise ValueError(f"unknown attacks {unknown}; choose from {', '.join(ATTACKS)}")
        return tuple(attacks)
    if version not in VERSIONS:
        raise ValueError(
            f"version must be one of {', '.join(VERSIONS)} or 'custom', got {version!r}"
        )
    if attacks is not None:
        raise ValueError(f"attacks=... is only used with version='custom' (version is {version!r})")
    return VERSIONS[version]


def _check_classes(attacks: tuple[str, ...], num_classes: int) -> None:
    needs = {"apgd-t": 4, "apgd-dlr": 3, "fab-t": 3}
    short = [a for a in attacks if num_classes < needs.get(a, 2)]
    if short:
        raise ValueError(
            f"{', '.join(short)} need more classes than the model's {num_classes} (DLR losses use "
            "the 3rd/4th largest logit); use version='custom' with attacks=['apgd-ce', 'square']"
        )


def _mean(mask: Tensor) -> float:
    return float(mask.float().mean()) if len(mask) else 0.0
