"""Datasets: registry, readers for the standard formats, in-memory and streaming access, splits.

See docs/data.md. Readers are our own (torchvision only downloads); pickles are read with an
allowlist unpickler; Fashion-MNIST is also read in place from Debian's dataset-fashion-mnist.
"""

from robustssl.data.cifar_c import CIFAR_C_NAMES, CifarCFormatError, load_cifar_c
from robustssl.data.corruptions import CORRUPTIONS, corrupt, corruption_names
from robustssl.data.dataset import ImageDataset, TensorImageDataset
from robustssl.data.errors import (
    CorruptDatasetError,
    DatasetError,
    DatasetLayoutError,
    DatasetNotFoundError,
    InvalidSplitError,
    MixedImageSizesError,
    UnknownDatasetError,
    UnsafePickleError,
)
from robustssl.data.idx import read_idx
from robustssl.data.load import default_data_root, find_local, load_dataset
from robustssl.data.loader import BatchLoader
from robustssl.data.registry import DATASETS, DatasetInfo, dataset_names, get_info
from robustssl.data.resize import resize_uint8
from robustssl.data.splits import stratified_fraction_indices, train_val_split_indices
from robustssl.data.streaming import StreamingImageDataset

__all__ = [
    "CIFAR_C_NAMES",
    "CORRUPTIONS",
    "DATASETS",
    "BatchLoader",
    "CifarCFormatError",
    "CorruptDatasetError",
    "DatasetError",
    "DatasetInfo",
    "DatasetLayoutError",
    "DatasetNotFoundError",
    "ImageDataset",
    "InvalidSplitError",
    "MixedImageSizesError",
    "StreamingImageDataset",
    "TensorImageDataset",
    "UnknownDatasetError",
    "UnsafePickleError",
    "corrupt",
    "corruption_names",
    "dataset_names",
    "default_data_root",
    "find_local",
    "get_info",
    "load_cifar_c",
    "load_dataset",
    "read_idx",
    "resize_uint8",
    "stratified_fraction_indices",
    "train_val_split_indices",
]
