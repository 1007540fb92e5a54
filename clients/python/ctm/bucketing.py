"""Bucketing for ctm rollouts, "murmur3_x86_32/v1", in pure Python.

This is a port of packages/core/src/bucketing.ts and must agree with it bit for bit; the
known-answer vectors in test/vectors/bucketing.json pin both (see
clients/python/tests/test_bucketing_vectors.py). The rule:

    bytes(salt, unit)  = UTF-8 of salt + "\\0" + unit (a lone surrogate encodes as U+FFFD,
                         as JavaScript's TextEncoder does)
    bucket(salt, unit) = murmur3_x86_32(bytes, seed 0) * 100000 >> 32, in [0, 100000)
    threshold(p)       = round_half_up(p * 1000) clamped to [0, 100000]; p <= 0 or NaN -> 0,
                         p >= 100 -> 100000
    in(unit, p)        = bucket(salt, unit) < threshold(p)
    variant_bucket     = bucket(salt + "\\0variant", unit)
    pick_variant       = first variant whose boundary
                         round_half_up(cum_i / total * 100000) is > variant_bucket

Rounding: Python's round() rounds ties to even (round(0.5) == 0, round(2.5) == 2), while
the rule rounds ties up, as JavaScript's Math.round does for the non-negative values used
here. A floating-point floor(x + 0.5) is not a faithful substitute either: for
x = 0.49999999999999994, x + 0.5 rounds to 1.0. round_half_up below compares the exact
fractional part x - floor(x) with 0.5 instead.
"""

from __future__ import annotations

import math
from typing import Optional, Sequence, Tuple, Union

BUCKETING_ALGORITHM = "murmur3_x86_32/v1"
BUCKETS = 100_000

_MASK = 0xFFFFFFFF
_C1 = 0xCC9E2D51
_C2 = 0x1B873593


def murmur3(data: bytes, seed: int = 0) -> int:
    """MurmurHash3 x86_32 of data as an unsigned 32-bit int (seed 0 unless given)."""
    length = len(data)
    h1 = seed & _MASK
    nblocks = length // 4
    for i in range(0, nblocks * 4, 4):
        k1 = data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24)
        k1 = (k1 * _C1) & _MASK
        k1 = ((k1 << 15) | (k1 >> 17)) & _MASK
        k1 = (k1 * _C2) & _MASK
        h1 ^= k1
        h1 = ((h1 << 13) | (h1 >> 19)) & _MASK
        h1 = (h1 * 5 + 0xE6546B64) & _MASK

    tail = nblocks * 4
    rem = length & 3
    k1 = 0
    if rem == 3:
        k1 ^= data[tail + 2] << 16
    if rem >= 2:
        k1 ^= data[tail + 1] << 8
    if rem >= 1:
        k1 ^= data[tail]
        k1 = (k1 * _C1) & _MASK
        k1 = ((k1 << 15) | (k1 >> 17)) & _MASK
        k1 = (k1 * _C2) & _MASK
        h1 ^= k1

    h1 ^= length
    h1 ^= h1 >> 16
    h1 = (h1 * 0x85EBCA6B) & _MASK
    h1 ^= h1 >> 13
    h1 = (h1 * 0xC2B2AE35) & _MASK
    h1 ^= h1 >> 16
    return h1


def _utf8(s: str) -> bytes:
    """UTF-8 of s; lone surrogates become U+FFFD and surrogate pairs combine, as in JS."""
    try:
        return s.encode("utf-8")
    except UnicodeEncodeError:
        # Round-trip through UTF-16: a pair of surrogate code points becomes the character
        # it encodes, and each unpaired one becomes U+FFFD, exactly like TextEncoder.
        fixed = s.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
        return fixed.encode("utf-8")


def _bucket_of(s: str) -> int:
    return (murmur3(_utf8(s)) * BUCKETS) >> 32


def bucket(salt: str, unit_id: str) -> int:
    """The unit's bucket under salt, an int in [0, 100000)."""
    return _bucket_of(salt + "\0" + unit_id)


def variant_bucket(salt: str, unit_id: str) -> int:
    """The bucket used for variant assignment: bucket(salt + "\\0variant", unit_id)."""
    return _bucket_of(salt + "\0variant\0" + unit_id)


def round_half_up(x: float) -> int:
    """The int nearest to x, ties up, for finite x >= 0 (JavaScript's Math.round)."""
    f = math.floor(x)
    return f + 1 if x - f >= 0.5 else f


def threshold_for(percent: float) -> int:
    """Buckets covered by percent: round_half_up(percent * 1000) clamped to [0, 100000]."""
    percent = float(percent)
    if not percent > 0:  # also NaN
        return 0
    if percent >= 100:
        return BUCKETS
    return min(BUCKETS, round_half_up(percent * 1000))


def in_percentage(b: int, percent: float) -> bool:
    """Whether a unit with bucket b is inside a rollout at percent."""
    return b < threshold_for(percent)


def _effective_weight(w: Union[int, float]) -> float:
    w = float(w)
    return w if math.isfinite(w) and w > 0 else 0.0


def pick_variant(
    salt: str, unit_id: str, variants: Sequence[Tuple[str, Union[int, float]]]
) -> Optional[str]:
    """The name of the variant the unit gets, or None (no variants, or total weight 0).

    variants is a sequence of (name, weight). Weights that are negative, NaN or infinite
    count as 0. total and the running sums cum_i are plain left-to-right float additions
    (not sum(), which is compensated from Python 3.12 on, nor math.fsum); boundary_i =
    round_half_up(cum_i / total * 100000); the first variant with boundary_i > vb wins.
    """
    total = 0.0
    for _, w in variants:
        total += _effective_weight(w)
    if not (total > 0) or not math.isfinite(total):
        return None
    vb = variant_bucket(salt, unit_id)
    cum = 0.0
    for name, w in variants:
        cum += _effective_weight(w)
        if round_half_up(cum / total * BUCKETS) > vb:
            return name
    return None  # unreachable: the last boundary is 100000
