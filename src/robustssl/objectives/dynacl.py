"""DynACL's dynamic loss weighting (Luo, Wang & Wang, ICLR 2023): as the views weaken
(:mod:`robustssl.data.views.schedule`), the adversarial NT-Xent term gains weight over the clean
one,

    L = ((2 − w)·ℓ(clean) + w·ℓ(adversarial)) / 2,
    w = min(1 + ⌊e/K⌋·(K/E)·λ, 2),

with e the reference's 1-indexed epoch, K = 50 the rebuild period of the views, E = 1000 epochs and
λ = ``--swap_param`` 2/3: w rises step-wise from 1 (epochs 1–49) to 1 + λ = 5/3 at the last epoch
(the cap 2 binds only for λ > 1). Reference code
PKU-ML/DYNACL ``train_DynACL.py`` L288–291 (defaults L31, L47–48, L57). w is computed from the
epoch, not from the views' strength μ: it steps up one epoch before μ steps down (at e = 50, 100, …
while the views are rebuilt at e = 51, 101, …); we keep that.

The rest of the reference's pretraining, for the method that composes these pieces: ACL's dual
BN (``normal`` for clean, ``pgd`` for adversarial inputs); NT-Xent at τ = 0.5 (``utils.py``
L292–306) over pairs of views; PGD-5 (``--pgd_iter 5``, L52) at ε = 8/255, α = 2/255 from a
uniform start not clamped into the image box, on the NT-Xent of the adversarial pairs, model in
eval mode (L431–450); LARS lr 5.0, weight decay 1e-6, batch 512, cosine schedule with 10 warm-up
epochs stepped per epoch (L30, L41–45, L160, L171–179). The two views of a pair go through
different encoders (``swap=True``, ``models/resnet_multi_bn.py`` L516–526): the first through the
trained encoder, the second through a momentum copy (m = 0.99, no gradient, updated after every
step, L487–514), and the momentum encoder is the one evaluated and saved
(``model_encoder_k.pt``, L235–238).

DynACL++ (``LPAFT.py``, ``assign_label.py``) is finetuning, not pretraining: k-means (10 clusters,
Euclidean) on the clean-route features of the training set gives pseudo-labels; a linear head is
trained on them for 10 epochs (SGD lr 0.01, momentum 0.9, weight decay 1e-4, encoder frozen, eval
mode), then the whole adversarial route is finetuned with TRADES (β = 6, 10 steps of 2/255 at
8/255) on the pseudo-labels for 25 epochs (SGD lr 0.1, ÷10 at 10 and 20), before the usual
SLF/ALF/AFF evaluation with the true labels.
"""

from __future__ import annotations

import math

from torch import Tensor

from robustssl.data.views.schedule import DYNACL_RELOAD_EVERY, check_epoch

DYNACL_SWAP = 2 / 3  # λ, ``--swap_param`` (module docstring)


def dynacl_adv_weight(
    epoch: int,
    epochs: int,
    reload_every: int = DYNACL_RELOAD_EVERY,
    swap: float = DYNACL_SWAP,
) -> float:
    """w at 0-indexed ``epoch`` (the reference's e = epoch + 1): min(1 + ⌊e/K⌋·(K/E)·λ, 2)."""
    check_epoch(epoch, epochs, reload_every)
    if not math.isfinite(swap) or swap < 0:
        raise ValueError(f"swap (λ) must be a finite number ≥ 0, got {swap}")
    return min(1.0 + ((epoch + 1) // reload_every) * (reload_every / epochs) * swap, 2.0)


def dynacl_loss(clean: Tensor, adversarial: Tensor, weight: float) -> Tensor:
    """((2 − w)·clean + w·adversarial) / 2 for the two contrastive losses and w ∈ [0, 2]."""
    if not 0.0 <= weight <= 2.0:
        raise ValueError(f"weight must be in [0, 2], got {weight}")
    return ((2.0 - weight) * clean + weight * adversarial) / 2.0
