"""Classification metrics: MCC vs sklearn and vs the correlation definition, confusion matrix,
top-k vs a brute-force rank count, per-class accuracy, the bundle's dict."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from robustssl.evaluation.metrics import (
    ClassificationMetrics,
    accuracy,
    confusion_matrix,
    matthews_corrcoef,
    mcc_from_confusion,
    per_class_accuracy,
    top_k_accuracy,
)


def gorodkin_reference(pred: np.ndarray, true: np.ndarray, k: int) -> float:
    """R_K as the Pearson correlation of the one-hot matrices X (pred) and Y (true), float64."""
    x, y = np.eye(k)[pred], np.eye(k)[true]
    xc, yc = x - x.mean(0), y - y.mean(0)
    cov_xy, cov_xx, cov_yy = (xc * yc).sum(), (xc * xc).sum(), (yc * yc).sum()
    return 0.0 if cov_xx == 0 or cov_yy == 0 else cov_xy / math.sqrt(cov_xx * cov_yy)


def brute_top_k(logits: np.ndarray, true: np.ndarray, k: int) -> float:
    """Rank of the target = logits above it + equal logits at lower class indices."""
    hits = 0
    for row, t in zip(logits, true, strict=True):
        rank = sum(1 for j, v in enumerate(row) if v > row[t] or (v == row[t] and j < t))
        hits += rank < k
    return hits / len(true)


def random_labels(n: int, k: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, k, (n,), generator=g), torch.randint(0, k, (n,), generator=g)


@pytest.mark.parametrize(("n", "k", "seed"), [(50, 2, 0), (300, 10, 1), (1000, 100, 2), (7, 5, 3)])
def test_mcc_matches_sklearn(n: int, k: int, seed: int) -> None:
    sklearn_metrics = pytest.importorskip("sklearn.metrics")
    pred, true = random_labels(n, k, seed)
    pred[: n // 2] = true[: n // 2]  # correlated, so the MCC is far from 0
    ours = matthews_corrcoef(pred, true, k)
    assert abs(ours - sklearn_metrics.matthews_corrcoef(true.numpy(), pred.numpy())) < 1e-9
    assert ours > 0.3


def test_mcc_matches_correlation_definition() -> None:
    for seed, (n, k) in enumerate([(40, 3), (500, 10), (2000, 100)]):
        pred, true = random_labels(n, k, seed)
        pred[::3] = true[::3]
        ref = gorodkin_reference(pred.numpy(), true.numpy(), k)
        assert abs(matthews_corrcoef(pred, true, k) - ref) < 1e-9


def test_mcc_degenerate_cases() -> None:
    true = torch.tensor([0, 1, 2, 2, 1, 0, 3])
    assert matthews_corrcoef(torch.full_like(true, 2), true, 4) == 0.0  # one predicted class
    assert matthews_corrcoef(true.clone(), true, 4) == pytest.approx(1.0, abs=1e-12)
    assert matthews_corrcoef(true, torch.zeros_like(true), 4) == 0.0  # one true class
    # binary perfect disagreement is −1 (the multiclass minimum is above −1 for K > 2)
    assert matthews_corrcoef(torch.tensor([1, 0, 1, 0]), torch.tensor([0, 1, 0, 1]), 2) == -1.0


def test_mcc_equals_eq_5_2_by_hand() -> None:
    cm = torch.tensor([[3, 1, 0], [0, 2, 2], [1, 0, 1]])
    c, s = 6.0, 10.0
    t, p = np.array([4.0, 4.0, 2.0]), np.array([4.0, 3.0, 3.0])
    expected = (c * s - t @ p) / math.sqrt(s * s - p @ p) / math.sqrt(s * s - t @ t)
    assert mcc_from_confusion(cm) == pytest.approx(expected, abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(
    pairs=st.lists(st.tuples(st.integers(0, 5), st.integers(0, 5)), min_size=1, max_size=60),
)
def test_mcc_properties(pairs: list[tuple[int, int]]) -> None:
    pred = torch.tensor([p for p, _ in pairs])
    true = torch.tensor([t for _, t in pairs])
    mcc = matthews_corrcoef(pred, true, 6)
    assert -1.0 - 1e-12 <= mcc <= 1.0 + 1e-12
    assert abs(mcc - gorodkin_reference(pred.numpy(), true.numpy(), 6)) < 1e-9
    # symmetric in (pred, true) and invariant under relabelling the classes
    assert abs(mcc - matthews_corrcoef(true, pred, 6)) < 1e-12
    perm = torch.tensor([3, 5, 0, 1, 4, 2])
    assert abs(mcc - matthews_corrcoef(perm[pred], perm[true], 6)) < 1e-9
    if bool((pred == true).all()) and len(set(true.tolist())) > 1:
        assert mcc == pytest.approx(1.0)


@settings(max_examples=40, deadline=None)
@given(
    pairs=st.lists(st.tuples(st.integers(0, 4), st.integers(0, 4)), min_size=1, max_size=40),
)
def test_confusion_matrix_counts(pairs: list[tuple[int, int]]) -> None:
    pred = torch.tensor([p for p, _ in pairs])
    true = torch.tensor([t for _, t in pairs])
    cm = confusion_matrix(pred, true, 5)
    expected = np.zeros((5, 5), dtype=np.int64)
    for p, t in pairs:
        expected[t, p] += 1
    assert cm.dtype == torch.int64
    np.testing.assert_array_equal(cm.numpy(), expected)
    assert accuracy(pred, true, 5) == pytest.approx(np.trace(expected) / len(pairs))


def test_confusion_matrix_matches_sklearn() -> None:
    sklearn_metrics = pytest.importorskip("sklearn.metrics")
    pred, true = random_labels(400, 7, 5)
    ref = sklearn_metrics.confusion_matrix(true.numpy(), pred.numpy(), labels=list(range(7)))
    np.testing.assert_array_equal(confusion_matrix(pred, true, 7).numpy(), ref)


def test_confusion_matrix_from_logits_rows_true_cols_predicted() -> None:
    logits = torch.tensor([[0.1, 2.0, 0.0], [3.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    true = torch.tensor([0, 0, 2])
    cm = confusion_matrix(logits, true, 3)
    assert cm.tolist() == [[1, 1, 0], [0, 0, 0], [0, 0, 1]]


@pytest.mark.parametrize("k", [1, 2, 5, 10])
def test_top_k_matches_brute_force(k: int) -> None:
    g = torch.Generator().manual_seed(k)
    logits = torch.randn(200, 10, generator=g)
    true = torch.randint(0, 10, (200,), generator=g)
    assert top_k_accuracy(logits, true, k) == pytest.approx(
        brute_top_k(logits.numpy(), true.numpy(), k), abs=1e-12
    )


def test_top_k_ties_break_towards_lower_index_like_argmax() -> None:
    g = torch.Generator().manual_seed(0)
    logits = torch.randint(0, 3, (300, 6), generator=g).float()  # many ties
    true = torch.randint(0, 6, (300,), generator=g)
    for k in (1, 2, 3):
        assert top_k_accuracy(logits, true, k) == pytest.approx(
            brute_top_k(logits.numpy(), true.numpy(), k), abs=1e-12
        )
    top1 = top_k_accuracy(logits, true, 1)
    assert top1 == pytest.approx((logits.argmax(1) == true).double().mean().item())
    assert top_k_accuracy(logits, true, 6) == 1.0


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 30), k=st.integers(2, 8))
def test_top_k_monotone_in_k(seed: int, n: int, k: int) -> None:
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(n, k, generator=g)
    true = torch.randint(0, k, (n,), generator=g)
    values = [top_k_accuracy(logits, true, j) for j in range(1, k + 1)]
    assert values == sorted(values)
    assert values[-1] == 1.0


def test_per_class_accuracy_nan_for_absent_class() -> None:
    cm = torch.tensor([[2, 2, 0], [0, 0, 0], [1, 0, 3]])
    acc = per_class_accuracy(cm)
    assert acc[0].item() == 0.5 and acc[2].item() == 0.75
    assert math.isnan(acc[1].item())


def test_classification_metrics_bundle() -> None:
    g = torch.Generator().manual_seed(3)
    logits = torch.randn(120, 10, generator=g)
    true = torch.randint(0, 9, (120,), generator=g)  # class 9 never occurs
    m = ClassificationMetrics.from_logits(logits, true, 10)
    assert m.n == 120 and m.num_classes == 10
    assert m.top1 == pytest.approx(top_k_accuracy(logits, true, 1))
    assert m.top5 == pytest.approx(top_k_accuracy(logits, true, 5))
    assert m.top1 <= m.top5
    assert m.mcc == pytest.approx(matthews_corrcoef(logits.argmax(1), true, 10), abs=1e-12)
    d = json.loads(json.dumps(m.to_dict()))  # strict JSON: no NaN
    assert d["per_class_accuracy"][9] is None
    assert sum(map(sum, d["confusion_matrix"])) == 120
    p = ClassificationMetrics.from_predictions(logits.argmax(1), true, 10)
    assert p.top5 is None and p.top1 == m.top1 and p.mcc == m.mcc


def test_bad_input_is_named() -> None:
    logits, true = torch.randn(4, 3), torch.tensor([0, 1, 2, 1])
    with pytest.raises(ValueError, match="num_classes=5"):
        ClassificationMetrics.from_logits(logits, true, 5)
    with pytest.raises(ValueError, match=r"targets must lie in 0\.\.2"):
        accuracy(logits, torch.tensor([0, 1, 3, -1]), 3)
    with pytest.raises(ValueError, match="4 predictions but 3 targets"):
        confusion_matrix(logits, true[:3], 3)
    with pytest.raises(ValueError, match=r"k=4 must be an int in 1..3"):
        top_k_accuracy(logits, true, 4)
    with pytest.raises(ValueError, match="no samples"):
        matthews_corrcoef(torch.zeros(0, dtype=torch.long), torch.zeros(0, dtype=torch.long), 3)
    with pytest.raises(ValueError, match="predictions must lie"):
        confusion_matrix(torch.tensor([0, 5]), torch.tensor([0, 1]), 3)
