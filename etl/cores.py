"""Work on every core: shapely's predicates release the GIL, so threads run them in parallel."""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np

CORES = os.cpu_count() or 1
SMALLEST_SLICE = 10_000  # below this, handing work to threads costs more than it saves
POOL = ThreadPoolExecutor(CORES, thread_name_prefix="etl-cores")


def across_cores(function: Callable[[np.ndarray], np.ndarray], values: np.ndarray) -> np.ndarray:
    """``function(values)``, computed a slice per core.

    Only for functions that release the GIL (``shapely.is_valid`` does, ``shapely.from_wkb``
    does not: it makes Python objects).
    """
    slices = min(CORES, len(values) // SMALLEST_SLICE)
    if slices < 2:
        return function(values)
    return np.concatenate(list(POOL.map(function, np.array_split(values, slices))))
