"""Classifier save/load round trip and strict loading errors."""

from __future__ import annotations

import pytest
import torch

from robustssl.models import ClassifierSpec, build_classifier, load_classifier, save_classifier
from robustssl.utils.checkpoint import save_weights

SPEC = ClassifierSpec(
    "small_cnn", 1, [0.5], [0.25], 10, {"width": 8}, head="mlp", head_hidden_dim=32
)


def test_round_trip_gives_identical_logits(tmp_path):
    torch.manual_seed(0)
    model = build_classifier(SPEC).eval()
    save_classifier(model, SPEC, tmp_path / "c.safetensors", {"protocol": "slf"})
    loaded, spec, meta = load_classifier(tmp_path / "c.safetensors")
    x = torch.rand(4, 1, 28, 28)
    assert spec == SPEC and meta["protocol"] == "slf"
    assert torch.equal(model(x), loaded(x))
    assert not loaded.training


def test_class_count_mismatch_names_the_keys(tmp_path):
    model = build_classifier(SPEC)
    other = ClassifierSpec(**{**SPEC.to_json(), "num_classes": 5})
    save_classifier(model, other, tmp_path / "c.safetensors")  # spec lies about the head
    with pytest.raises(ValueError, match=r"head\.fc2\.weight.*number of classes"):
        load_classifier(tmp_path / "c.safetensors")


def test_file_without_spec_is_refused(tmp_path):
    save_weights(build_classifier(SPEC).encoder, tmp_path / "encoder.safetensors", {"x": 1})
    with pytest.raises(ValueError, match="robustssl finetune"):
        load_classifier(tmp_path / "encoder.safetensors")
