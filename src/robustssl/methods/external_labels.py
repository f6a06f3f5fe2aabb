"""ClusterFit pseudo-labels made elsewhere (``clusterfit.labels``), e.g. AdvCL's published ones
(LijieFan/AdvCL ``data/imagenet_clPretrain_pseudo_labels.pkl``, k-means on the features of an
ImageNet SimCLR: seed 001 Table 5's best row; REFERENCE_FACTS.md).

Accepted files, one column per K of ``clusterfit.ks`` (in that order), one row per training
sample in dataset order:

- ``.npy``: an integer array (N, n_K) (or (N,) with one K), read with ``allow_pickle=False``;
- ``.safetensors``: the tensor ``labels`` (or the file's only tensor), as written by
  :func:`convert_reference_pickle`, whose header's ``ks`` must match;
- ``.json``: a list of N rows of n_K integers, or a mapping ``{"<K>": [N integers], ...}``.

Every column must hold integers in [0, K); the row count must equal the training set's size.
The reference's pickle is converted once (``robustssl pseudo-labels convert``) through the
project's restricted unpickler (:mod:`robustssl.data.safe_pickle`: numpy array reconstruction
only, nothing else is imported or called); the loaded object must be a dict whose
``pseudo_train_<K>`` entries are lists of integers or 1-D integer arrays.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from robustssl.data.labels import labels_outside
from robustssl.data.safe_pickle import load_numpy_pickle
from robustssl.utils.checkpoint import load_weights, load_weights_metadata, save_weights

SUFFIXES = (".npy", ".safetensors", ".json")
REFERENCE_KEY = "pseudo_train_{}"


def load_external_labels(path: str | Path, ks: Sequence[int], samples: int | None = None) -> Tensor:
    """(N, len(ks)) int64 pseudo-labels from ``path``, checked against ``ks`` and, when given, the
    number of training ``samples``."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"clusterfit.labels={str(path)!r} does not exist; give a .npy / .safetensors / .json "
            "file of pseudo-labels, or convert AdvCL's pickle with `robustssl pseudo-labels "
            "convert`"
        )
    suffix = path.suffix.lower()
    if suffix == ".npy":
        array = _read_npy(path)
    elif suffix == ".safetensors":
        array = _read_safetensors(path, ks)
    elif suffix == ".json":
        array = _read_json(path, ks)
    else:
        raise ValueError(
            f"clusterfit.labels={str(path)!r}: unsupported file type {suffix or '(none)'}; use "
            f"one of {', '.join(SUFFIXES)}"
        )
    return check_pseudo_labels(array, ks, samples, str(path))


def check_pseudo_labels(array: Any, ks: Sequence[int], samples: int | None, where: str) -> Tensor:
    """``array`` as (N, len(ks)) int64 after the shape, type and range checks."""
    array = np.asarray(array)
    if array.ndim == 1 and len(ks) == 1:
        array = array[:, None]
    if array.ndim != 2 or array.shape[1] != len(ks):
        raise ValueError(
            f"{where} holds pseudo-labels of shape {array.shape}; expected (N, {len(ks)}): one "
            f"column per K in clusterfit.ks={list(ks)}"
        )
    if not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"{where}: pseudo-labels must be integers, got dtype {array.dtype}")
    if samples is not None and array.shape[0] != samples:
        raise ValueError(
            f"{where} has {array.shape[0]} rows of pseudo-labels but the training set has "
            f"{samples} samples; give one row per training sample in dataset order (check "
            "data.label_fraction / data.val_fraction, which shrink the training set)"
        )
    for column, k in enumerate(ks):
        outside = labels_outside(array[:, column], k)
        if outside is not None:
            raise ValueError(
                f"{where}: column {column} (K = {k}) holds labels in "
                f"[{outside[0]}, {outside[1]}], outside [0, {k - 1}]; check the "
                "column order against clusterfit.ks"
            )
    return torch.from_numpy(array.astype(np.int64))


def _read_npy(path: Path) -> np.ndarray:
    try:
        return np.load(path, allow_pickle=False)
    except ValueError as err:
        raise ValueError(f"{path} is not a plain numpy array file ({err})") from None


def _read_safetensors(path: Path, ks: Sequence[int]) -> np.ndarray:
    tensors = load_weights(path)
    if "labels" in tensors:
        labels = tensors["labels"]
    elif len(tensors) == 1:
        (labels,) = tensors.values()
    else:
        raise ValueError(f"{path} holds tensors {sorted(tensors)}; name the pseudo-labels 'labels'")
    saved_ks = (load_weights_metadata(path) or {}).get("ks")
    if saved_ks is not None and list(saved_ks) != list(ks):
        raise ValueError(
            f"{path} was written for ks={saved_ks}, but clusterfit.ks={list(ks)}; set "
            f"clusterfit.ks={saved_ks}"
        )
    return labels.numpy()


def _read_json(path: Path, ks: Sequence[int]) -> Any:
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"{path} is not valid JSON ({err})") from None
    if isinstance(data, dict):
        missing = [k for k in ks if str(k) not in data]
        if missing:
            raise ValueError(
                f"{path} has columns {sorted(data)}, missing K = {missing} of clusterfit.ks"
            )
        columns = [data[str(k)] for k in ks]
        if len({len(c) if isinstance(c, list) else -1 for c in columns}) != 1:
            raise ValueError(f"{path}: the columns of {list(ks)} must be lists of one length")
        return _int_array(list(zip(*columns, strict=True)), path)
    if isinstance(data, list):
        return _int_array(data, path)
    raise ValueError(f"{path} must hold a list of rows or a mapping K → column")


def _int_array(rows: Any, path: Path) -> np.ndarray:
    array = np.asarray(rows, dtype=object)
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in array.reshape(-1)):
        raise ValueError(f"{path}: every pseudo-label must be an integer")
    return array.astype(np.int64)


def read_reference_pickle(path: str | Path, ks: Sequence[int]) -> np.ndarray:
    """(N, len(ks)) int64 from AdvCL's pseudo-label pickle (``pseudo_train_<K>`` entries),
    unpickled with the restricted unpickler and accepted only as lists / integer arrays."""
    path = Path(path)
    data = load_numpy_pickle(path)
    if not isinstance(data, dict):
        raise ValueError(f"{path} holds a {type(data).__name__}, not the reference's dict")
    columns = []
    for k in ks:
        key = REFERENCE_KEY.format(k)
        if key not in data:
            found = sorted(str(name) for name in data)
            raise ValueError(f"{path} has no {key!r} (it holds {found}); choose --ks from those")
        columns.append(_reference_column(data[key], f"{path}[{key!r}]"))
    if len({len(c) for c in columns}) != 1:
        raise ValueError(f"{path}: the pseudo_train_<K> entries differ in length")
    return np.stack(columns, axis=1)


def _reference_column(value: Any, where: str) -> np.ndarray:
    if isinstance(value, np.ndarray):
        if value.ndim != 1 or not np.issubdtype(value.dtype, np.integer):
            raise ValueError(
                f"{where} is a {value.dtype} array of shape {value.shape}, not 1-D integers"
            )
        return value.astype(np.int64)
    if isinstance(value, list):
        ok = all(
            (isinstance(v, int) and not isinstance(v, bool)) or isinstance(v, np.integer)
            for v in value
        )
        if ok:
            return np.asarray([int(v) for v in value], dtype=np.int64)
    raise ValueError(f"{where} is a {type(value).__name__}; only lists of ints and arrays are read")


def convert_reference_pickle(
    src: str | Path, dst: str | Path, ks: Sequence[int] = (2, 10, 50, 100, 500)
) -> Tensor:
    """AdvCL's pickle → ``dst`` (.safetensors: ``labels`` (N, len(ks)), header ``ks``)."""
    dst = Path(dst)
    if dst.suffix != ".safetensors":
        raise ValueError(f"write the converted labels to a .safetensors file, not {dst.name}")
    labels = check_pseudo_labels(read_reference_pickle(src, ks), ks, None, str(src))
    save_weights({"labels": labels}, dst, {"ks": list(ks), "source": Path(src).name})
    return labels
