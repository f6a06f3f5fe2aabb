"""The suite's metrics, one file each, and the classification scores they use.

Each file registers one :class:`~robustssl.evaluation.metrics.registry.Metric` (config key,
checks, compute, records, how its records are shown); importing this package registers the
built-in ones. An evaluation runs the selected entries' hooks in registration order: the clean
ones (sa, classification), then per threat model (ra, aa, curve, breakdown, classification on PGD
data, representation, diagnostics), then the once-only ones (lipschitz, corruption) — the order
its records come out in. A new metric is one new file that calls :func:`register_metric`
(imported below for a built-in one; see docs/evaluation.md, "Adding a metric").
"""

# isort: off
# registration order = record order (see the docstring); keep it when adding a built-in
from robustssl.evaluation.metrics import sa, ra, aa, curve, breakdown, classification
from robustssl.evaluation.metrics import representation, lipschitz, corruption, diagnostics

# isort: on
from robustssl.evaluation.metrics.classification import (
    ClassificationMetrics,
    accuracy,
    as_predictions,
    classification_records,
    confusion_matrix,
    matthews_corrcoef,
    mcc_from_confusion,
    per_class_accuracy,
    top_k_accuracy,
)
from robustssl.evaluation.metrics.registry import (
    Metric,
    MetricRun,
    accuracy_metrics,
    get_metric,
    is_accuracy,
    metric_names,
    record_metrics,
    register_metric,
    registered_metrics,
    unregister_metric,
)

__all__ = [
    "ClassificationMetrics",
    "Metric",
    "MetricRun",
    "aa",
    "accuracy",
    "accuracy_metrics",
    "as_predictions",
    "breakdown",
    "classification",
    "classification_records",
    "confusion_matrix",
    "corruption",
    "curve",
    "diagnostics",
    "get_metric",
    "is_accuracy",
    "lipschitz",
    "matthews_corrcoef",
    "mcc_from_confusion",
    "metric_names",
    "per_class_accuracy",
    "ra",
    "record_metrics",
    "register_metric",
    "registered_metrics",
    "representation",
    "sa",
    "top_k_accuracy",
    "unregister_metric",
]
