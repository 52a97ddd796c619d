"""A GGUF header reader: the metadata key/values, without loading tensors.

Format (https://github.com/ggml-org/ggml/blob/master/docs/gguf.md): magic
``GGUF``, uint32 version, uint64 tensor count, uint64 metadata count, then the
key/value pairs (little-endian). Large arrays (the tokenizer vocabulary) are
skipped and reported by length only, so reading a header costs milliseconds.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import IO, Any

_SCALARS: dict[int, str] = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}
_STRING = 8
_ARRAY = 9
# Arrays longer than this are summarised as {"array_length": n} (tokenizer tables).
_MAX_ARRAY = 64

# llama.cpp's enum llama_ftype (general.file_type) -> the quantization name people use.
FILE_TYPES: dict[int, str] = {
    0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 7: "Q8_0", 8: "Q5_0", 9: "Q5_1", 10: "Q2_K", 11: "Q3_K_S",
    12: "Q3_K_M", 13: "Q3_K_L", 14: "Q4_K_S", 15: "Q4_K_M", 16: "Q5_K_S", 17: "Q5_K_M", 18: "Q6_K",
    19: "IQ2_XXS", 20: "IQ2_XS", 21: "Q2_K_S", 22: "IQ3_XS", 23: "IQ3_XXS", 24: "IQ1_S", 25: "IQ4_NL",
    26: "IQ3_S", 27: "IQ3_M", 28: "IQ2_S", 29: "IQ2_M", 30: "IQ4_XS", 31: "IQ1_M", 32: "BF16",
    36: "TQ1_0", 37: "TQ2_0", 38: "MXFP4",
}


class GGUFError(ValueError):
    pass


def _read(fh: IO[bytes], n: int) -> bytes:
    data = fh.read(n)
    if len(data) != n:
        raise GGUFError("unexpected end of file in GGUF header")
    return data


def _string(fh: IO[bytes]) -> str:
    (length,) = struct.unpack("<Q", _read(fh, 8))
    if length > 1 << 24:
        raise GGUFError("implausible string length in GGUF header")
    return _read(fh, length).decode("utf-8", errors="replace")


def _value(fh: IO[bytes], vtype: int) -> Any:
    fmt = _SCALARS.get(vtype)
    if fmt is not None:
        return struct.unpack(fmt, _read(fh, struct.calcsize(fmt)))[0]
    if vtype == _STRING:
        return _string(fh)
    if vtype == _ARRAY:
        (etype,) = struct.unpack("<I", _read(fh, 4))
        (count,) = struct.unpack("<Q", _read(fh, 8))
        if count > _MAX_ARRAY:
            efmt = _SCALARS.get(etype)
            if efmt is not None:
                fh.seek(struct.calcsize(efmt) * count, 1)
            else:
                for _ in range(count):
                    _value(fh, etype)
            return {"array_length": count}
        return [_value(fh, etype) for _ in range(count)]
    raise GGUFError(f"unknown GGUF value type {vtype}")


def read_metadata(path: str | Path) -> dict[str, Any]:
    """The metadata key/values of a GGUF file, plus ``gguf.version`` and ``gguf.tensor_count``."""
    with open(path, "rb") as fh:
        if _read(fh, 4) != b"GGUF":
            raise GGUFError(f"{path} is not a GGUF file (bad magic)")
        (version,) = struct.unpack("<I", _read(fh, 4))
        if version < 2:
            raise GGUFError(f"GGUF version {version} is not supported")
        tensors, kv_count = struct.unpack("<QQ", _read(fh, 16))
        meta: dict[str, Any] = {"gguf.version": version, "gguf.tensor_count": tensors}
        for _ in range(kv_count):
            key = _string(fh)
            (vtype,) = struct.unpack("<I", _read(fh, 4))
            meta[key] = _value(fh, vtype)
    return meta
