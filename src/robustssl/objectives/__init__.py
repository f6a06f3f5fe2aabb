"""Losses and regularisers as small pure functions (layer 3: imports data/models at most)."""

from robustssl.objectives.barlow_twins import barlow_twins_loss
from robustssl.objectives.classification import cross_entropy_loss
from robustssl.objectives.contrastive import (
    grouped_contrastive_loss,
    multiview_ntxent_loss,
    ntxent_loss,
    supcon_loss,
)
from robustssl.objectives.deacl import DEACL_WEIGHT, deacl_attack_loss, deacl_loss
from robustssl.objectives.diversity import gradient_logdet
from robustssl.objectives.dynacl import DYNACL_SWAP, dynacl_adv_weight, dynacl_loss
from robustssl.objectives.simsiam import negative_cosine, simsiam_loss
from robustssl.objectives.tikhonov import (
    TikhonovTerms,
    contrastive_penalty,
    contrastive_tikhonov,
    supervised_tikhonov,
)
from robustssl.objectives.trades import trades_kl, trades_loss

__all__ = [
    "DEACL_WEIGHT",
    "DYNACL_SWAP",
    "TikhonovTerms",
    "barlow_twins_loss",
    "contrastive_penalty",
    "contrastive_tikhonov",
    "cross_entropy_loss",
    "deacl_attack_loss",
    "deacl_loss",
    "dynacl_adv_weight",
    "dynacl_loss",
    "gradient_logdet",
    "grouped_contrastive_loss",
    "multiview_ntxent_loss",
    "negative_cosine",
    "ntxent_loss",
    "simsiam_loss",
    "supcon_loss",
    "supervised_tikhonov",
    "trades_kl",
    "trades_loss",
]
