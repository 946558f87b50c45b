"""Embedding vectors: a deterministic unit vector per (model, text), already formatted as JSON.

Formatting floats is what makes large embedding answers slow, so vectors are assembled from
pre-formatted random blocks chosen by a hash of the text: 10,000 x 1024 stays well under a second.
The same text always gets the same vector, and different texts get different ones.
"""

from __future__ import annotations

import functools
import hashlib
import math
import random

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


def embedding_json(model: str, dims: int, text: str) -> str:
    """A deterministic unit vector for (model, text), as a JSON array; 6 decimals per component."""
    full, rest = divmod(dims, _BLOCK)
    choices = hashlib.shake_256(f"{model}\0{text}".encode()).digest(full + (1 if rest else 0))
    parts: list[str] = []
    if full:
        pool = _block_pool(dims, _BLOCK)
        parts = [pool[c] for c in choices[:full]]
    if rest:
        parts.append(_block_pool(dims, rest)[choices[-1]])
    return "[" + ",".join(parts) + "]"
