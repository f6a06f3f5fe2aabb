"""Registry of known datasets: shapes, splits, class names and normalisation statistics.

The per-channel mean/std feed the model's Normalize layer (inputs stay in [0,1], see
docs/architecture.md); they are the widely used training-split values (Fashion-MNIST measured
on Debian's copy).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from robustssl.data.errors import InvalidSplitError, UnknownDatasetError

_CIFAR100_NAMES = """
    apple aquarium_fish baby bear beaver bed bee beetle bicycle bottle bowl boy bridge bus
    butterfly camel can castle caterpillar cattle chair chimpanzee clock cloud cockroach couch
    crab crocodile cup dinosaur dolphin elephant flatfish forest fox girl hamster house
    kangaroo keyboard lamp lawn_mower leopard lion lizard lobster man maple_tree motorcycle
    mountain mouse mushroom oak_tree orange orchid otter palm_tree pear pickup_truck pine_tree
    plain plate poppy porcupine possum rabbit raccoon ray road rocket rose sea seal shark shrew
    skunk skyscraper snail snake spider squirrel streetcar sunflower sweet_pepper table tank
    telephone television tiger tractor train trout tulip turtle wardrobe whale willow_tree wolf
    woman worm
"""
CIFAR100_CLASSES: tuple[str, ...] = tuple(_CIFAR100_NAMES.split())
DIGITS: tuple[str, ...] = tuple(str(d) for d in range(10))


@dataclass(frozen=True)
class DatasetInfo:
    """What is known about a dataset before reading any file.

    ``image_shape`` is (C, H, W), or None when it depends on the files (imagefolder);
    ``approx_bytes`` is the train split held as uint8; ``split_sizes`` pairs each split with its
    number of images (empty when unknown); ``class_names`` is None when read from the files.
    """

    name: str
    num_classes: int | None
    image_shape: tuple[int, int, int] | None
    splits: tuple[str, ...]
    description: str
    approx_bytes: int | None
    mean: tuple[float, ...]
    std: tuple[float, ...]
    debian_package: str | None = None
    class_names: tuple[str, ...] | None = None
    split_sizes: tuple[tuple[str, int], ...] = ()

    def num_samples(self, split: str) -> int | None:
        """Number of images in ``split`` when the registry knows it."""
        return dict(self.split_sizes).get(split)

    def check_split(self, split: str) -> str:
        """Return ``split`` if valid, else raise InvalidSplitError listing the valid ones."""
        if split not in self.splits:
            raise InvalidSplitError(self.name, split, self.splits)
        return split


def _info(
    name: str, shape: tuple[int, int, int] | None, sizes: dict[str, int], **kw: Any
) -> DatasetInfo:
    """Build an entry, deriving ``splits`` and ``approx_bytes`` from the split sizes."""
    n_train = sizes.get("train")
    approx = None
    if shape is not None and n_train is not None:
        approx = n_train * shape[0] * shape[1] * shape[2]
    return DatasetInfo(
        name=name,
        image_shape=shape,
        splits=kw.pop("splits", tuple(sizes)),
        approx_bytes=approx,
        split_sizes=tuple(sizes.items()),
        **kw,
    )


_CIFAR_SIZES = {"train": 50_000, "test": 10_000}
_MNIST_SIZES = {"train": 60_000, "test": 10_000}

DATASETS: dict[str, DatasetInfo] = {
    info.name: info
    for info in (
        _info(
            "cifar10",
            (3, 32, 32),
            _CIFAR_SIZES,
            num_classes=10,
            description="CIFAR-10: 32x32 colour images of 10 object classes",
            mean=(0.4914, 0.4822, 0.4465),
            std=(0.2470, 0.2435, 0.2616),
            class_names=(
                "airplane",
                "automobile",
                "bird",
                "cat",
                "deer",
                "dog",
                "frog",
                "horse",
                "ship",
                "truck",
            ),
        ),
        _info(
            "cifar100",
            (3, 32, 32),
            _CIFAR_SIZES,
            num_classes=100,
            description="CIFAR-100: 32x32 colour images of 100 fine classes",
            mean=(0.5071, 0.4865, 0.4409),
            std=(0.2673, 0.2564, 0.2762),
            class_names=CIFAR100_CLASSES,
        ),
        _info(
            "stl10",
            (3, 96, 96),
            {"train": 5_000, "test": 8_000, "unlabeled": 100_000},
            num_classes=10,
            description="STL-10: 96x96 colour images, 10 classes plus 100k unlabelled images",
            mean=(0.4467, 0.4398, 0.4066),
            std=(0.2603, 0.2566, 0.2713),
            class_names=(
                "airplane",
                "bird",
                "car",
                "cat",
                "deer",
                "dog",
                "horse",
                "monkey",
                "ship",
                "truck",
            ),
        ),
        _info(
            "svhn",
            (3, 32, 32),
            {"train": 73_257, "test": 26_032, "extra": 531_131},
            num_classes=10,
            description="SVHN: 32x32 house-number digits (cropped-digit format)",
            mean=(0.4377, 0.4438, 0.4728),
            std=(0.1980, 0.2010, 0.1970),
            class_names=DIGITS,
        ),
        _info(
            "mnist",
            (1, 28, 28),
            _MNIST_SIZES,
            num_classes=10,
            description="MNIST: 28x28 greyscale handwritten digits",
            mean=(0.1307,),
            std=(0.3081,),
            class_names=DIGITS,
        ),
        _info(
            "fashion_mnist",
            (1, 28, 28),
            _MNIST_SIZES,
            num_classes=10,
            description="Fashion-MNIST: 28x28 greyscale Zalando article images, 10 classes",
            mean=(0.2860,),
            std=(0.3530,),
            debian_package="dataset-fashion-mnist",
            class_names=(
                "T-shirt/top",
                "Trouser",
                "Pullover",
                "Dress",
                "Coat",
                "Sandal",
                "Shirt",
                "Sneaker",
                "Bag",
                "Ankle boot",
            ),
        ),
        _info(
            "imagefolder",
            None,
            {},
            num_classes=None,
            splits=("train", "val", "test"),
            description="any <root>/<split>/<class>/<image> tree (PNG, JPEG, ...), decoded as RGB",
            mean=(0.485, 0.456, 0.406),
            std=(0.229, 0.224, 0.225),
        ),
    )
}

_ALIASES = {
    "fashionmnist": "fashion_mnist",
    "cifar_10": "cifar10",
    "cifar_100": "cifar100",
    "stl_10": "stl10",
    "image_folder": "imagefolder",
}


def dataset_names() -> list[str]:
    """Names accepted by :func:`robustssl.data.load_dataset`, sorted."""
    return sorted(DATASETS)


def canonical_name(name: str) -> str:
    """Normalise case and '-' (``"Fashion-MNIST"`` → ``"fashion_mnist"``); unknown → error."""
    if not isinstance(name, str):
        raise TypeError(f"dataset name must be a str, got {type(name).__name__}")
    key = name.strip().lower().replace("-", "_")
    key = _ALIASES.get(key, key)
    if key not in DATASETS:
        raise UnknownDatasetError(name, DATASETS)
    return key


def get_info(name: str) -> DatasetInfo:
    """The registry entry of ``name`` (any accepted spelling)."""
    return DATASETS[canonical_name(name)]
