"""Self-supervision inside adversarial training (seed 003 §3, Algorithm 1; ARCHITECTURE.md table
row "SS-in-AT"): a two-head network F_θ (classifier) / F_θ^SS (rotation or jigsaw head) on one
encoder, trained on the batch X and its transformed copy (X_SS, y_SS) = T(X) (eq. 1).

Algorithm 1 perturbs X and, optionally, X_SS *jointly* from a uniform random start (line 4) by
ascending L = L_sup(F_θ(X^k), y) (line 6) [+ λ₂·L_SS(F_θ^SS(X_SS^k), y_SS) (line 8)], with L_SS
averaged over X_SS (eq. 10). Read literally (as implemented here):

- T0 (baseline AT, Madry): attack X on L_sup; train L_sup(F(X^adv), y).
- T1 (eq. 8/11): attack X on L_sup; train L_sup(F(X^adv), y) + λ₁·L_SS(F^SS(X_SS), y_SS) on the
  clean X_SS.
- T2 (eq. 9): attack X and X_SS with line 6 only; train L_sup(F(X^adv), y) + λ₁·L_SS(F^SS(X_SS^adv),
  y_SS). Line 6 does not depend on X_SS, so X_SS^adv is X_SS plus the random start of line 4.
- T3 (eq. 9/12): attack X and X_SS with lines 6 + 8 (weight λ₂); train as T2.
- ``eq7`` (the variant seed 003 §3.2 discards): only X_SS is made and attacked, on
  L_sup(F(X_SS^k), y) + λ₂·L_SS(F^SS(X_SS^k), y_SS) (Algorithm 1's loss with X_SS in place of X;
  seed 003 does not state this attack loss); train L_sup(F(X_SS^adv), y) + λ₁·L_SS(F^SS(X_SS^adv),
  y_SS).

F_θ(X) and F_θ^SS(X_SS) are separate forwards (separate batch statistics), as Algorithm 1 writes
them. The attack runs with the model in ``adversary.bn_mode`` (eval in seed 003's robustness
library, whose AttackerModel puts the model in eval mode for the attack).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import torch
from pydantic import Field, model_validator
from torch import Tensor, nn

from robustssl.attacks.adversary import PretrainAdversaryConfig
from robustssl.data.views import (
    JigsawPuzzle,
    ViewConfig,
    all_rotations,
    build_views,
    random_rotation,
)
from robustssl.data.views.rotation import NUM_ROTATIONS
from robustssl.methods.adversary import perturb
from robustssl.methods.base import ClassifierMethod, MethodStep
from robustssl.methods.common import MethodConfigBase, supervised_views
from robustssl.models import PretextHead
from robustssl.objectives import cross_entropy_loss


def _ss_at_adversary() -> PretrainAdversaryConfig:
    """Seed 003 §4.2: L∞ ε = 8/255, step 2/255, 10 steps; the robustness library it extends
    attacks with the model in eval mode."""
    return PretrainAdversaryConfig(
        norm="Linf", eps=8 / 255, steps=10, step_size=2 / 255, bn_mode="eval"
    )


class SSATConfig(MethodConfigBase):
    """Self-supervision inside adversarial training (seed 003 §3, Algorithm 1): a classifier
    head and a rotation / jigsaw head; ``scheme`` T0 (AT), T1 (eq. 8/11), T2 (eq. 9, attack on
    the supervised loss), T3 (eq. 9/12, attack on sup + λ₂·SS) or the discarded eq. 7."""

    name: Literal["ss_at"] = "ss_at"
    scheme: Literal["T0", "T1", "T2", "T3", "eq7"] = "T3"
    task: Literal["rotation", "jigsaw"] = "rotation"
    rotation_mode: Literal["random", "all"] = "random"  # seed 003 §4.2: one random rotation
    jigsaw_grid: int = Field(2, ge=2)
    jigsaw_permutations: int = Field(24, ge=2)
    jigsaw_seed: int = 0
    lambda1: float = Field(0.5, ge=0)  # weight of the SS loss in training (eq. 7–9)
    lambda2: float = Field(0.5, ge=0)  # weight of the SS loss in the attack (Alg. 1 line 8)
    head: Literal["linear", "mlp"] = "linear"
    head_hidden_dim: int = Field(512, gt=0)
    ss_head_hidden_dim: int | None = None
    adversary: PretrainAdversaryConfig = Field(default_factory=_ss_at_adversary)
    views: ViewConfig | None = Field(default_factory=supervised_views)

    @model_validator(mode="after")
    def _t3_needs_lambda2(self) -> SSATConfig:
        if self.scheme == "T3" and self.lambda2 == 0:
            raise ValueError("scheme T3 with lambda2=0 is scheme T2; set lambda2 > 0 or use T2")
        return self


class SSAT(ClassifierMethod):
    """Adversarial training with a self-supervised auxiliary head (seed 003 Algorithm 1)."""

    config_class = SSATConfig

    def __init__(self, encoder: nn.Module, cfg: SSATConfig, num_classes: int) -> None:
        super().__init__(encoder)
        self.cfg = cfg
        self.views = build_views(cfg.views) if cfg.views is not None else None
        self.head = self.classifier_head(num_classes, cfg.head, cfg.head_hidden_dim)
        self.puzzle = (
            JigsawPuzzle(cfg.jigsaw_grid, cfg.jigsaw_permutations, cfg.jigsaw_seed)
            if cfg.task == "jigsaw"
            else None
        )
        num_ss = self.puzzle.num_classes if self.puzzle is not None else NUM_ROTATIONS
        self.ss_head = PretextHead(self.feature_dim, num_ss, cfg.ss_head_hidden_dim)

    def transform(self, x: Tensor, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        """(X_SS, y_SS) = T(X) (seed 003 eq. 1; §4.2: one random rotation per image)."""
        if self.puzzle is not None:
            return self.puzzle(x, generator=generator)
        if self.cfg.rotation_mode == "all":
            return all_rotations(x)
        return random_rotation(x, generator=generator)

    def sup_losses(self, x: Tensor, y: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """(per-sample L_sup, features, logits) of the classifier F_θ at x."""
        features = self.encoder(x)
        logits = self.head(features)
        return cross_entropy_loss(logits, y, reduction="none"), features, logits

    def ss_losses(self, x_ss: Tensor, y_ss: Tensor) -> tuple[Tensor, Tensor]:
        """(per-sample L_SS, logits) of the pretext head F_θ^SS at x_ss."""
        logits = self.ss_head(self.encoder(x_ss))
        return cross_entropy_loss(logits, y_ss, reduction="none"), logits

    def attack_loss(self, y: Tensor, y_ss: Tensor | None, n_x: int) -> Callable[[Tensor], Tensor]:
        """Algorithm 1's L on [X; X_SS] (rows ``:n_x`` are X) as per-sample terms summing to
        L_sup + w·L_SS (means, eq. 10), w = λ₂ for T3 and 0 for T2 (line 8 off); T0/T1 pass X
        only (``y_ss`` None)."""
        w = self.cfg.lambda2 if self.cfg.scheme == "T3" else 0.0

        def loss(inputs: Tensor) -> Tensor:
            x, x_ss = inputs[:n_x], inputs[n_x:]
            terms = [self.sup_losses(x, y)[0] / n_x]
            if y_ss is not None and w > 0:  # line 8
                terms.append(self.ss_losses(x_ss, y_ss)[0] * (w / len(x_ss)))
            elif y_ss is not None:  # line 8 off (T2): no gradient reaches X_SS
                terms.append(x_ss.new_zeros(len(x_ss)))
            return torch.cat(terms)

        return loss

    def eq7_attack_loss(self, y_rep: Tensor, y_ss: Tensor) -> Callable[[Tensor], Tensor]:
        """L_sup(F(X_SS^k), y) + λ₂·L_SS(F^SS(X_SS^k), y_SS) per sample (means over X_SS)."""

        def loss(x_ss: Tensor) -> Tensor:
            sup = self.sup_losses(x_ss, y_rep)[0]
            if self.cfg.lambda2 == 0:
                return sup / len(x_ss)
            return (sup + self.cfg.lambda2 * self.ss_losses(x_ss, y_ss)[0]) / len(x_ss)

        return loss

    def step(self, x: Tensor, y: Tensor, generator: torch.Generator) -> MethodStep:
        if bool((y < 0).any()):
            raise ValueError("ss_at needs labels for every sample; use a labelled split")
        if self.views is not None:
            x = self.views(x, generator=generator)
        if self.cfg.scheme == "eq7":
            return self._step_eq7(x, y, generator)
        adv = self.cfg.adversary
        if self.cfg.scheme == "T0":
            x_adv = perturb(self.attack_loss(y, None, len(x)), x, adv, self, generator)
            return self._sup_step(x_adv, y)
        x_ss, y_ss = self.transform(x, generator)
        if self.cfg.scheme == "T1":
            x_adv = perturb(self.attack_loss(y, None, len(x)), x, adv, self, generator)
        else:  # T2, T3: X and X_SS perturbed jointly (Algorithm 1 lines 3–11)
            joint = perturb(
                self.attack_loss(y, y_ss, len(x)), torch.cat([x, x_ss]), adv, self, generator
            )
            x_adv, x_ss = joint[: len(x)], joint[len(x) :]
        out = self._sup_step(x_adv, y)
        ss, ss_logits = self.ss_losses(x_ss, y_ss)
        out.loss = out.loss + self.cfg.lambda1 * ss.mean()
        out.logs.update(ss_loss=ss.mean().detach(), ss_acc=_accuracy(ss_logits, y_ss))
        return out

    def _sup_step(self, x_adv: Tensor, y: Tensor) -> MethodStep:
        sup, features, logits = self.sup_losses(x_adv, y)
        logs = {"sup_loss": sup.mean().detach(), "train_acc": _accuracy(logits, y)}
        return MethodStep(sup.mean(), features, y, logs)

    def _step_eq7(self, x: Tensor, y: Tensor, generator: torch.Generator) -> MethodStep:
        x_ss, y_ss = self.transform(x, generator)
        y_rep = y.repeat(len(x_ss) // len(x))
        x_ss = perturb(self.eq7_attack_loss(y_rep, y_ss), x_ss, self.cfg.adversary, self, generator)
        features = self.encoder(x_ss)  # one forward feeds both heads: they see the same batch
        sup_logits, ss_logits = self.head(features), self.ss_head(features)
        sup = cross_entropy_loss(sup_logits, y_rep)
        ss = cross_entropy_loss(ss_logits, y_ss)
        logs = {
            "sup_loss": sup.detach(),
            "ss_loss": ss.detach(),
            "train_acc": _accuracy(sup_logits, y_rep),
            "ss_acc": _accuracy(ss_logits, y_ss),
        }
        keep = y_ss == 0  # the probe sees untransformed images only
        return MethodStep(sup + self.cfg.lambda1 * ss, features[keep], y_rep[keep], logs)


def _accuracy(logits: Tensor, labels: Tensor) -> Tensor:
    return (logits.argmax(1) == labels).float().mean().detach()
