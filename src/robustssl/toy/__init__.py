"""The toy robustness study of seed 000 §6: training, evaluation and the seed's reference numbers.

Sits at the experiments layer (uses data, models, attacks and evaluation.certify). See docs/toy.md.
"""

from robustssl.toy.evaluate import (
    FIG26_PGD,
    TABLE4_PGD,
    PGDSetting,
    accuracy,
    assumption1_failures,
    certified_accuracy,
    mean_std,
    pgd_accuracy,
)
from robustssl.toy.study import (
    Row,
    ToyStudyConfig,
    TrainSpec,
    format_rows,
    lt_study,
    triangle_square_study,
)
from robustssl.toy.train import TrainLog, extended_accuracy, train_extended, train_full_batch

__all__ = [
    "FIG26_PGD",
    "TABLE4_PGD",
    "PGDSetting",
    "Row",
    "ToyStudyConfig",
    "TrainLog",
    "TrainSpec",
    "accuracy",
    "assumption1_failures",
    "certified_accuracy",
    "extended_accuracy",
    "format_rows",
    "lt_study",
    "mean_std",
    "pgd_accuracy",
    "train_extended",
    "train_full_batch",
    "triangle_square_study",
]
