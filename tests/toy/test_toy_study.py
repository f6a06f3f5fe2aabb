"""Training and the study pipeline of seed 000 §6 on small budgets."""

from __future__ import annotations

import pytest
import torch
from pydantic import ValidationError

from robustssl.data.extended import extended_dataset
from robustssl.data.toy import patterns, toy_tensors
from robustssl.evaluation.certify.conv_maxpool import certify
from robustssl.models.toy import PatternMatcher, hand_made_model
from robustssl.toy import (
    ToyStudyConfig,
    TrainSpec,
    extended_accuracy,
    format_rows,
    lt_study,
    train_extended,
    train_full_batch,
)
from robustssl.toy.evaluate import mean_std, pgd_accuracy


def test_full_batch_training_fits_the_toy_data_reproducibly():
    x, y = toy_tensors("lt")
    a, b = PatternMatcher(2, 3, seed=0), PatternMatcher(2, 3, seed=0)
    log = train_full_batch(a, x, y, epochs=20, lr=0.1)
    train_full_batch(b, x, y, epochs=20, lr=0.1)
    assert torch.equal(a.conv.weight, b.conv.weight)
    assert log.losses[-1] < 0.5 * log.losses[0] and log.samples == 160
    assert bool((a(x).argmax(1) == y).all())
    fgsm = PatternMatcher(2, 3, seed=0)
    train_full_batch(fgsm, x, y, epochs=20, lr=0.1, fgsm_eps=0.1)
    assert not torch.equal(fgsm.conv.weight, a.conv.weight)
    with pytest.raises(ValueError, match="epochs=0 must be an int ≥ 1"):
        train_full_batch(a, x, y, epochs=0)
    with pytest.raises(ValueError, match=r"fgsm_eps=1\.5"):
        train_full_batch(a, x, y, fgsm_eps=1.5)


def test_the_seeds_wrong_assumption_3_and_4_model_fits_but_is_not_robust():
    """Seed 000 §6.2.2: in-boundary, pattern-pixel-only extension, Adam lr 0.1, 200 epochs →
    100 % on the extended data, loss 0.0078, yet 37 % robust (5 of 8 wrong). Seed 0 here gives
    the same three numbers (the robust accuracy as the exact certified accuracy)."""
    data = extended_dataset("lt", 0.41, options="in_boundary", pixels="pattern")
    model = PatternMatcher(2, 3, seed=0)
    log = train_extended(model, data.loader(170, seed=0), epochs=200, lr=0.1)
    assert extended_accuracy(model, data) == (1.0, 0)
    assert log.losses[-1] == pytest.approx(0.0078, abs=5e-4)
    x, y = toy_tensors("lt")
    result = certify(model, x, y, 0.4)
    assert result.certified_accuracy == 3 / 8 and int(result.flipped.sum()) == 5
    assert pgd_accuracy(model, x, y, 0.4) >= 3 / 8  # an attack can only miss counter-examples


def test_extended_accuracy_counts_every_sample():
    hand = hand_made_model(patterns("lt"))  # robust for ε < 0.5 even outside [0, 1]
    for options in ("corners", "symmetric"):
        data = extended_dataset("lt", 0.41, options=options)  # type: ignore[arg-type]
        acc, wrong = extended_accuracy(hand, data, fraction=0.01)
        assert (acc, wrong) == (1.0, 0)
    data = extended_dataset("lt", 0.41, options="corners")
    flipped = hand_made_model(patterns("lt").flip(0))  # filters swapped: always wrong
    assert extended_accuracy(flipped, data) == (0.0, len(data))


def test_lt_study_rows_are_reproducible_and_carry_the_seeds_numbers():
    cfg = ToyStudyConfig(
        seeds=(0,),
        eps_list=(0.2, 0.4),
        extended=TrainSpec(epochs=1, lr=0.1),
        variant=TrainSpec(epochs=2, lr=0.1),
        fraction=2e-4,
        curve_eps=(0.4, 0.45),
    )
    rows = lt_study(cfg)
    again = lt_study(cfg)
    assert [r.to_dict() for r in rows] == [r.to_dict() for r in again]
    table = {(r.experiment, r.metric, r.eps): r for r in rows}
    assert table[("hand-made", "certified", 0.4)].values == [100.0]
    assert table[("hand-made", "counter-example", 0.51)].values == [100.0]
    assert table[("standard", "pgd", 0.4)].seed_value == "12 (20 and 200 epochs)"
    assert table[("extended", "extended-clean", None)].values[0] > 50
    names = {r.experiment for r in rows}
    assert names == {"hand-made", "standard", "extended", *VARIANT_NAMES}
    text = format_rows(rows, "title")
    assert "100 (ε < 0.5, as §6.1)" in text and "0 samples (n=1)" in text


VARIANT_NAMES = ("in_boundary+pattern", "symmetric+pattern", "corners+canvas")


def test_config_is_validated_before_any_work():
    with pytest.raises(ValidationError, match="dataset_eps"):
        ToyStudyConfig(dataset_eps=0.5)
    with pytest.raises(ValidationError, match="seeds"):
        ToyStudyConfig(seeds=())
    with pytest.raises(ValidationError, match="epochs"):
        TrainSpec(epochs=0)
    with pytest.raises(ValidationError, match="extra"):
        ToyStudyConfig(epochs=3)  # type: ignore[call-arg]
    assert mean_std([1.0, 3.0]) == (2.0, pytest.approx(2**0.5))
