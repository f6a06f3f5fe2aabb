"""``representation``: ‖f(x_adv) − f(x)‖₂ statistics of the encoder and named layers (seed 000
Tables 2–3) at each threat model, and t-SNE arrays of ``representation.tsne_layers`` (seed 002
§5.4, returned in ``EvaluationResult.tsne``, not as records)."""

from __future__ import annotations

from robustssl.evaluation.metrics.registry import Metric, MetricRun, register_metric
from robustssl.evaluation.records import EvalRecord
from robustssl.evaluation.representation import (
    FEATURE_DIFF,
    FEATURE_DIFF_STATS,
    representation_records,
    tsne_embeddings,
)
from robustssl.models import available_layers

STATS = tuple(f"{FEATURE_DIFF}{s}" for s in FEATURE_DIFF_STATS)


def _check(run: MetricRun) -> None:
    rep = run.cfg.representation
    layers = [*rep.layers, *rep.tsne_layers]
    if layers:
        names = set(available_layers(run.model))
        unknown = [name for name in layers if name not in names]
        if unknown:
            raise ValueError(
                f"representation layers {unknown} are not submodules of the model; list the "
                "names with robustssl.models.available_layers(model)"
            )
    if rep.tsne_layers:
        try:
            import sklearn.manifold  # noqa: F401
        except ImportError:
            raise ValueError(
                "representation.tsne_layers needs scikit-learn: pip install "
                "'robustssl[report]', or set representation.tsne_layers=[]"
            ) from None


def _per_threat(run: MetricRun, norm: str, eps: float) -> list[EvalRecord]:
    rep = run.cfg.representation
    records = representation_records(run.runner, run.ctx, norm, eps, rep.attack, rep.layers)
    if rep.tsne_layers:
        arrays = tsne_embeddings(
            run.runner,
            rep.tsne_layers,
            norm,
            eps=eps,
            attack=rep.attack,
            n=rep.tsne_n,
            perplexity=rep.perplexity,
        )
        run.tsne.update({f"{layer}@{norm}": a for layer, a in arrays.items()})
    return records


REPRESENTATION = register_metric(
    Metric(key="representation", records=STATS, check=_check, per_threat=_per_threat)
)
