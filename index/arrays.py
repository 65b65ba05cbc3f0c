"""Arrays a build writes and every serving process maps: uncompressed .npz files read as memory maps.

An uncompressed .npz is a zip of plain .npy files, so each member's bytes sit in the file as they sit in memory.
`map_npz` maps them read-only instead of copying them: the pages live in the page cache, shared by every process
on the machine serving the same build, and a process's own memory no longer grows with the library (builds never
change a file in place, so a mapping stays valid). A compressed member (scipy's `save_npz` default) can't be
mapped and is read into memory as `np.load` would.

`spans` is the gather that per-row layouts need (BM25's columns, a sentence's term pairs): the positions of
several [start, end) ranges, concatenated, without a Python loop.
"""

from __future__ import annotations

import struct
import zipfile
from pathlib import Path
from typing import BinaryIO

import numpy as np

_LOCAL_HEADER = struct.Struct("<4s2B4HL2L2H")  # a zip member's local file header (30 bytes)
_HEADER_READERS = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}


def save_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """`arrays` as an uncompressed .npz at `path` (so `map_npz` can map them); no pickles."""
    with path.open("wb") as fh:
        np.savez(fh, **arrays)  # type: ignore[arg-type]  # numpy's stub wants the keywords spelled out


def map_npz(path: Path) -> dict[str, np.ndarray]:
    """Every array of the .npz at `path`, memory-mapped read-only where stored uncompressed, else read."""
    out: dict[str, np.ndarray] = {}
    with zipfile.ZipFile(path) as archive, path.open("rb") as fh:
        for info in archive.infolist():
            name = info.filename.removesuffix(".npy")
            mapped = _mapped(path, fh, info) if info.compress_type == zipfile.ZIP_STORED else None
            if mapped is None:
                with archive.open(info) as member:
                    mapped = np.lib.format.read_array(member, allow_pickle=False)
            out[name] = mapped
    return out


def _mapped(path: Path, fh: BinaryIO, info: zipfile.ZipInfo) -> np.ndarray | None:
    """The member `info` mapped from `path`, or None when it can't be (encrypted, an unknown .npy header, object
    arrays)."""
    if info.flag_bits & 0x1:
        return None
    fh.seek(info.header_offset)
    header = _LOCAL_HEADER.unpack(fh.read(_LOCAL_HEADER.size))
    if header[0] != b"PK\x03\x04":
        raise ValueError(f"{path.name}: member {info.filename} has no local zip header")
    name_length, extra_length = header[-2], header[-1]
    fh.seek(info.header_offset + _LOCAL_HEADER.size + name_length + extra_length)
    read_header = _HEADER_READERS.get(np.lib.format.read_magic(fh))
    if read_header is None:
        return None
    shape, fortran, dtype = read_header(fh)
    if dtype.hasobject:
        return None
    if int(np.prod(shape)) == 0:
        return np.zeros(shape, dtype=dtype)
    return np.memmap(path, dtype=dtype, mode="r", offset=fh.tell(), shape=shape, order="F" if fortran else "C")


def of_dtype(array: np.ndarray, dtype: type) -> np.ndarray:
    """`array` itself (mapped stays mapped) when it has `dtype`, else a converted copy."""
    return array if array.dtype == dtype else array.astype(dtype)


def spans(starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """The positions start, start+1, ..., end-1 of each [start, end) range, concatenated, in order (int64)."""
    starts, ends = np.asarray(starts, dtype=np.int64), np.asarray(ends, dtype=np.int64)
    lengths = ends - starts
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    first = lengths.cumsum() - lengths  # where each range begins in the output
    return (starts - first).repeat(lengths) + np.arange(total, dtype=np.int64)


def sorted_unique(values: np.ndarray) -> np.ndarray:
    """`np.unique(values)` of a 1-D array: its distinct values, ascending. Without np.unique, whose first call
    imports numpy.ma (about 20 ms of an `ask` process's start-up)."""
    ordered = np.sort(values)
    if len(ordered) < 2:
        return ordered
    keep = np.empty(len(ordered), dtype=bool)
    keep[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
    return ordered[keep]
