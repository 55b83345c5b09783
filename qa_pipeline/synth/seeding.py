"""Deterministic random streams keyed by names, so one call's randomness never depends on
how many other calls were generated before it."""

from __future__ import annotations

import hashlib

import numpy as np


def rng_for(*keys: object) -> np.random.Generator:
    """A generator seeded from ``keys`` (e.g. the scenario seed, a call id and a purpose).

    The seed is a hash of the keys' text, stable across processes and Python versions, unlike
    the built-in ``hash``.
    """
    digest = hashlib.sha256("\x1f".join(str(k) for k in keys).encode("utf-8")).digest()
    return np.random.default_rng(int.from_bytes(digest[:16], "little"))
