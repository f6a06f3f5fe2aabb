"""Evaluation (layer 7): robustness (SA/RA/AA, ε-curves, per-attack breakdowns), metrics,
corruptions, representation analysis and result records (docs/evaluation.md, docs/metrics.md)."""

from robustssl.evaluation.causal_readout import fit_linear_readout, linear_readout_r2, r2_score
from robustssl.evaluation.config import (
    ATTACK_NAMES,
    BREAKDOWN_ATTACKS,
    AttackParams,
    EvaluateConfig,
)
from robustssl.evaluation.corruption_eval import corrupted, corruption_records
from robustssl.evaluation.from_checkpoint import CheckpointEvaluation, evaluate_checkpoint
from robustssl.evaluation.inversion import Inversion, feature_inversion_map, invert_representation
from robustssl.evaluation.landscape import (
    Landscape,
    adversarial_landscape,
    adversarial_loss,
    filter_normalized_direction,
    loss_landscape,
)
from robustssl.evaluation.metrics import (
    ClassificationMetrics,
    Metric,
    MetricRun,
    accuracy,
    confusion_matrix,
    matthews_corrcoef,
    mcc_from_confusion,
    metric_names,
    per_class_accuracy,
    register_metric,
    top_k_accuracy,
)
from robustssl.evaluation.model_api import ModelEvaluation, evaluate_model
from robustssl.evaluation.records import (
    EvalRecord,
    RecordContext,
    code_version,
    merge_records,
    read_records,
    write_records,
)
from robustssl.evaluation.representation import (
    feature_difference,
    layer_features,
    local_lipschitz,
    summarize,
    tsne,
)
from robustssl.evaluation.robustness import (
    AttackRunner,
    attack_breakdown,
    pgd_step_size,
    robust_accuracy,
    standard_accuracy,
    suite_attack,
)
from robustssl.evaluation.suite import EvaluationResult, check_compatible, evaluate, format_summary

__all__ = [
    "ATTACK_NAMES",
    "BREAKDOWN_ATTACKS",
    "AttackParams",
    "AttackRunner",
    "CheckpointEvaluation",
    "ClassificationMetrics",
    "EvalRecord",
    "EvaluateConfig",
    "EvaluationResult",
    "Inversion",
    "Landscape",
    "Metric",
    "MetricRun",
    "ModelEvaluation",
    "RecordContext",
    "accuracy",
    "adversarial_landscape",
    "adversarial_loss",
    "attack_breakdown",
    "check_compatible",
    "code_version",
    "confusion_matrix",
    "corrupted",
    "corruption_records",
    "evaluate",
    "evaluate_checkpoint",
    "evaluate_model",
    "feature_difference",
    "feature_inversion_map",
    "filter_normalized_direction",
    "fit_linear_readout",
    "format_summary",
    "invert_representation",
    "layer_features",
    "linear_readout_r2",
    "local_lipschitz",
    "loss_landscape",
    "matthews_corrcoef",
    "mcc_from_confusion",
    "merge_records",
    "metric_names",
    "per_class_accuracy",
    "pgd_step_size",
    "r2_score",
    "read_records",
    "register_metric",
    "robust_accuracy",
    "standard_accuracy",
    "suite_attack",
    "summarize",
    "top_k_accuracy",
    "tsne",
    "write_records",
]
