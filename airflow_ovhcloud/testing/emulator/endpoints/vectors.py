"""Embedding vectors: a deterministic unit vector per (model, text), already formatted as JSON.

Formatting floats is what makes large embedding answers slow, so vectors are assembled from
pre-formatted random blocks chosen by a hash of the text: 10,000 x 1024 stays well under a second.
The same text always gets the same vector, and different texts get different ones. The base64
form (``encoding_format="base64"``, as OpenAI sends it) packs the same values as little-endian float32.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import math
import random
import struct

_BLOCK = 64
_BLOCK_VARIANTS = 256


@functools.lru_cache(maxsize=64)
def _block_pool(dims: int, size: int) -> tuple[str, ...]:
    """Pre-formatted random blocks whose squared norms add up to 1 over a whole vector."""
    rng = random.Random(f"ovhcloud-emulator:{dims}:{size}")
    scale = math.sqrt(size / dims)
    pool = []
    for _ in range(_BLOCK_VARIANTS):
        values = [rng.gauss(0.0, 1.0) for _ in range(size)]
        factor = scale / math.sqrt(math.fsum(v * v for v in values))
        pool.append(",".join(f"{v * factor:.6f}" for v in values))
    return tuple(pool)


@functools.lru_cache(maxsize=64)
def _packed_pool(dims: int, size: int) -> tuple[bytes, ...]:
    """The blocks of :func:`_block_pool` as little-endian float32 bytes (the same values)."""
    return tuple(struct.pack(f"<{size}f", *map(float, block.split(","))) for block in _block_pool(dims, size))


def _choices(model: str, dims: int, text: str) -> tuple[int, int, bytes]:
    full, rest = divmod(dims, _BLOCK)
    return full, rest, hashlib.shake_256(f"{model}\0{text}".encode()).digest(full + (1 if rest else 0))


def embedding_json(model: str, dims: int, text: str) -> str:
    """A deterministic unit vector for (model, text), as a JSON array; 6 decimals per component."""
    full, rest, choices = _choices(model, dims, text)
    parts: list[str] = []
    if full:
        pool = _block_pool(dims, _BLOCK)
        parts = [pool[c] for c in choices[:full]]
    if rest:
        parts.append(_block_pool(dims, rest)[choices[-1]])
    return "[" + ",".join(parts) + "]"


def embedding_base64(model: str, dims: int, text: str) -> str:
    """The vector of :func:`embedding_json` as base64 of little-endian float32s (OpenAI's base64 form)."""
    full, rest, choices = _choices(model, dims, text)
    parts: list[bytes] = []
    if full:
        pool = _packed_pool(dims, _BLOCK)
        parts = [pool[c] for c in choices[:full]]
    if rest:
        parts.append(_packed_pool(dims, rest)[choices[-1]])
    return base64.b64encode(b"".join(parts)).decode("ascii")
