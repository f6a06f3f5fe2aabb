"""IDX files (the MNIST / Fashion-MNIST format), gzip-compressed or raw.

Layout: magic ``0x00 0x00 <type> <ndim>``, then ``ndim`` big-endian uint32 dimensions, then the
data in row-major order, big-endian. Compression is detected from the gzip magic, not the name.
"""

from __future__ import annotations

import gzip
import math
import struct
import zlib
from pathlib import Path

import numpy as np

from robustssl.data.errors import CorruptDatasetError

IDX_DTYPES: dict[int, str] = {
    0x08: "u1",
    0x09: "i1",
    0x0B: ">i2",
    0x0C: ">i4",
    0x0D: ">f4",
    0x0E: ">f8",
}
_GZIP_MAGIC = b"\x1f\x8b"


def _read_bytes(path: Path) -> bytes:
    """The file's bytes, gunzipped when it starts with the gzip magic."""
    with open(path, "rb") as fh:
        raw = fh.read()
    if not raw.startswith(_GZIP_MAGIC):
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as exc:
        raise CorruptDatasetError(path, f"broken gzip stream ({exc})") from exc


def read_idx(path: str | Path) -> np.ndarray:
    """The array stored in an IDX file (native byte order; read-only for uint8)."""
    path = Path(path)
    raw = _read_bytes(path)
    if len(raw) < 4:
        raise CorruptDatasetError(path, f"only {len(raw)} bytes, too short for an IDX header")
    code, ndim = raw[2], raw[3]
    if raw[0] != 0 or raw[1] != 0 or code not in IDX_DTYPES or ndim == 0:
        magic = int.from_bytes(raw[:4], "big")
        raise CorruptDatasetError(
            path, f"bad IDX magic number 0x{magic:08x} (expected 0x0000 <type> <ndim>)"
        )
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise CorruptDatasetError(path, "truncated IDX header")
    dims = struct.unpack(f">{ndim}I", raw[4:header])
    dtype = np.dtype(IDX_DTYPES[code])
    need = math.prod(dims) * dtype.itemsize
    have = len(raw) - header
    if have != need:
        what = "truncated" if have < need else "has trailing bytes"
        raise CorruptDatasetError(
            path, f"{what}: header says shape {dims} ({need} data bytes) but {have} are present"
        )
    array = np.frombuffer(raw, dtype=dtype, count=math.prod(dims), offset=header)
    return array.reshape(dims).astype(dtype.newbyteorder("="), copy=False)
