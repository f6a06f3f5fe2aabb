"""Finetuning data: label fractions, cross-dataset resizing and channel conversion, augmentation."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from robustssl.data import load_dataset
from robustssl.data.channels import ChannelAdapter, convert_channels
from robustssl.data.views import rgb_to_grayscale
from robustssl.data.views.translate import random_translate_flip
from robustssl.finetune import CLASSIFIER_FILE, FinetuneDataConfig, finetune
from robustssl.finetune.augment import augment_batch
from robustssl.finetune.config import AugmentationConfig
from robustssl.finetune.data import load_finetune_data
from robustssl.models import load_classifier
from robustssl.utils import make_generator

CPU = torch.device("cpu")


@pytest.mark.parametrize(("fraction", "per_class"), [(0.25, 3), (0.5, 6), (0.01, 1)])
def test_label_fraction_is_stratified_on_the_train_split(
    fmnist_root: Path, fraction: float, per_class: int
) -> None:
    cfg = FinetuneDataConfig(root=str(fmnist_root), label_fraction=fraction)
    data = load_finetune_data(cfg, None, 1, seed=0, device=CPU)
    assert torch.bincount(data.train.targets, minlength=10).tolist() == [per_class] * 10
    assert len(data.test) == 40  # the evaluation split is untouched
    other = load_finetune_data(cfg, None, 1, seed=1, device=CPU)
    if fraction < 1 and per_class < 12:
        assert not torch.equal(
            data.train.get_batch(range(10))[0], other.train.get_batch(range(10))[0]
        )


def test_validation_split_comes_before_the_label_fraction(fmnist_root: Path) -> None:
    cfg = FinetuneDataConfig(root=str(fmnist_root), val_fraction=0.25, label_fraction=0.5)
    data = load_finetune_data(cfg, None, 1, seed=0, device=CPU)
    assert data.val is not None and len(data.val) == 30  # 3 of each class's 12
    assert torch.bincount(data.train.targets).tolist() == [5] * 10  # half of the other 9, rounded
    assert not set(data.train.targets.tolist()) - set(range(10))


def test_label_fraction_reaches_the_run(make_run, make_config) -> None:
    result = finetune(make_config(make_run(), data={"label_fraction": 0.25}))
    assert result.metrics["train_samples"] == 30 and result.metrics["test_samples"] == 40


def test_gray_to_rgb_and_back() -> None:
    gen = make_generator(0)
    gray = torch.rand(4, 1, 5, 6, generator=gen)
    rgb = convert_channels(gray, 3)
    assert rgb.shape == (4, 3, 5, 6) and all(torch.equal(rgb[:, i], gray[:, 0]) for i in range(3))
    assert torch.allclose(convert_channels(rgb, 1), gray, atol=1e-6)  # luma weights sum to 1
    colour = torch.rand(4, 3, 5, 6, generator=gen)
    expected = 0.299 * colour[:, :1] + 0.587 * colour[:, 1:2] + 0.114 * colour[:, 2:]
    torch.testing.assert_close(convert_channels(colour, 1), expected)
    with pytest.raises(ValueError, match="only 1 ↔ 3"):
        convert_channels(torch.rand(1, 2, 3, 3), 3)


def test_channel_adapter_converts_batches_and_subsets(cifar_root: Path) -> None:
    base = load_dataset("cifar10", root=cifar_root)
    gray = ChannelAdapter(base, 1)
    assert gray.image_shape == (1, 32, 32) and len(gray) == 100
    x, y = gray.get_batch([3, 7])
    x0, y0 = base.get_batch([3, 7])
    torch.testing.assert_close(x, rgb_to_grayscale(x0))
    assert torch.equal(y, y0)
    sub = gray.subset([7])
    assert isinstance(sub, ChannelAdapter) and torch.equal(sub.get_batch([0])[0], x[1:])
    raw = gray.read_uint8(torch.tensor([3]))
    assert raw.dtype == torch.uint8 and (raw.float() / 255 - x[:1]).abs().max() <= 0.5 / 255


def test_rgb_encoder_on_gray_data_resizes_and_converts(make_run, make_config) -> None:
    """C10 → Fashion-MNIST: 28×28 gray images become 32×32 RGB; the head gets the new classes;
    the encoder keeps CIFAR's normalisation."""
    run = make_run(dataset="cifar10")
    result = finetune(make_config(run, "sff"))
    model, spec, meta = load_classifier(result.run_dir / CLASSIFIER_FILE)
    assert meta["input_shape"] == [3, 32, 32] and meta["finetune"]["data"]["image_size"] == 32
    assert spec.in_channels == 3 and spec.num_classes == 10
    assert spec.mean == pytest.approx([0.4914, 0.4822, 0.4465], abs=1e-3)
    assert meta["pretrained"]["dataset"] == "cifar10"
    assert model(torch.rand(2, 3, 32, 32)).shape == (2, 10)


def test_gray_encoder_on_rgb_data(make_run, make_config, cifar_root: Path) -> None:
    """Fashion-MNIST → C10: 32×32 RGB images become 28×28 luma images."""
    cfg = make_config(make_run(), data={"dataset": "cifar10", "root": str(cifar_root)})
    data = load_finetune_data(cfg.data, (28, 28), 1, seed=0, device=CPU)
    assert data.image_shape == (1, 28, 28) and data.source_shape == (3, 28, 28)
    x, _ = data.test.get_batch([0])
    rgb = load_dataset("cifar10", "test", root=cifar_root, image_size=28).get_batch([0])[0]
    torch.testing.assert_close(x, rgb_to_grayscale(rgb))
    result = finetune(cfg)
    assert load_classifier(result.run_dir / CLASSIFIER_FILE)[2]["input_shape"] == [1, 28, 28]


def test_explicit_channels_must_match_a_pretrained_encoder(
    tmp_path: Path, make_run, make_config
) -> None:
    with pytest.raises(ValueError, match=r"data.channels=3.*takes 1-channel"):
        finetune(make_config(make_run(), data={"channels": 3}))
    assert not (tmp_path / "runs").exists()


def test_images_too_small_for_the_encoder_fail_before_training(
    tmp_path: Path, make_run, make_config
) -> None:
    with pytest.raises(ValueError, match=r"do not fit the encoder.*data\.image_size"):
        finetune(make_config(make_run(), data={"image_size": 2}))
    assert not (tmp_path / "runs").exists()


def test_random_init_uses_the_target_dataset(make_config) -> None:
    cfg = make_config(None, "sff", model={"backbone": "small_cnn", "backbone_kwargs": {"width": 4}})
    _, spec, meta = load_classifier(finetune(cfg).run_dir / CLASSIFIER_FILE)
    assert spec.mean == pytest.approx([0.2860], abs=1e-3) and meta["pretrained"]["run_dir"] is None


def test_crop_flip_is_a_padded_translation_and_flip() -> None:
    gen = make_generator(3)
    x = torch.rand(6, 3, 8, 9, generator=gen)
    identity = random_translate_flip(x, padding=0, hflip_p=0.0, generator=gen)
    torch.testing.assert_close(identity, x, atol=1e-5, rtol=0)
    flipped = random_translate_flip(x, padding=0, hflip_p=1.0, generator=gen)
    torch.testing.assert_close(flipped, x.flip(-1), atol=1e-5, rtol=0)
    out = random_translate_flip(x, padding=2, hflip_p=0.0, generator=make_generator(4))
    draw = make_generator(4)
    top, left = (torch.randint(0, 5, (6,), generator=draw) for _ in range(2))
    padded = F.pad(x, (2, 2, 2, 2))
    for i in range(6):
        window = padded[i, :, top[i] : top[i] + 8, left[i] : left[i] + 9]
        torch.testing.assert_close(out[i], window, atol=1e-5, rtol=0)


def test_augmentation_is_seeded_per_step() -> None:
    cfg = AugmentationConfig(name="crop_flip")
    x = torch.rand(4, 1, 10, 10, generator=make_generator(0))
    a = augment_batch(x, cfg, seed=1, epoch=0, step=0)
    assert torch.equal(a, augment_batch(x, cfg, seed=1, epoch=0, step=0))
    assert not torch.equal(a, augment_batch(x, cfg, seed=1, epoch=0, step=1))
    assert augment_batch(x, AugmentationConfig(), 1, 0, 0) is x
    assert a.min() >= 0 and a.max() <= 1


def test_augmented_run_trains(make_run, make_config) -> None:
    result = finetune(make_config(make_run(), "sff", augmentation={"name": "crop_flip"}))
    assert 0 <= result.metrics["clean_accuracy"] <= 1 and result.metrics["train_loss"] > 0
