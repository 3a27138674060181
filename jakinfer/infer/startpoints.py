"""Start points for multistart optimisation: space-filling designs in the bounds.

Starts are drawn on the *estimation scale* (e.g. uniformly in log10 for log10
parameters) inside `[lower, upper]`, from a seeded quasi-Monte Carlo design of
`scipy.stats.qmc`, so the same seed always gives the same starts.
"""

from __future__ import annotations

import abc
import math
from dataclasses import dataclass

import numpy as np
from scipy.stats import qmc

from jakinfer.errors import InputError


class StartSampler(abc.ABC):
    """A design of `n` points in the unit cube `[0, 1)^d`."""

    @abc.abstractmethod
    def unit_points(self, n: int, dimension: int, seed: int) -> np.ndarray:
        """`(n, dimension)` points in `[0, 1)^dimension`."""


@dataclass(frozen=True)
class LatinHypercube(StartSampler):
    """Latin hypercube: each parameter's range cut into `n` strata, one point per stratum.

    Attributes:
        optimization: scipy's `LatinHypercube(optimization=...)` (`None`,
            `"random-cd"` or `"lloyd"`), improving the space filling.
    """

    optimization: str | None = None

    def unit_points(self, n: int, dimension: int, seed: int) -> np.ndarray:
        engine = qmc.LatinHypercube(d=dimension, optimization=self.optimization, rng=np.random.default_rng(seed))
        return engine.random(n)


@dataclass(frozen=True)
class Sobol(StartSampler):
    """Scrambled Sobol' sequence (the first `n` points of `2^ceil(log2 n)`)."""

    def unit_points(self, n: int, dimension: int, seed: int) -> np.ndarray:
        engine = qmc.Sobol(d=dimension, scramble=True, rng=np.random.default_rng(seed))
        return engine.random_base2(max(0, math.ceil(math.log2(max(n, 1)))))[:n]


@dataclass(frozen=True)
class UniformRandom(StartSampler):
    """Independent uniform draws (for comparison with the designs above)."""

    def unit_points(self, n: int, dimension: int, seed: int) -> np.ndarray:
        return np.random.default_rng(seed).random((n, dimension))


def sample_starts(
    lower: np.ndarray,
    upper: np.ndarray,
    n: int,
    *,
    seed: int,
    sampler: StartSampler | None = None,
    ids: tuple[str, ...] | None = None,
) -> np.ndarray:
    """`n` start points in the box `[lower, upper]` (estimation scale).

    Args:
        lower, upper: `(d,)` finite bounds on the estimation scale.
        n: number of starts.
        seed: seed of the design.
        sampler: the design; default `LatinHypercube()`.
        ids: parameter ids, for the error message.

    Returns:
        `(n, d)` starts, `lower + u * (upper - lower)` for design points `u`.

    Raises:
        InputError: a bound is infinite (pass finite start bounds instead).
    """
    lower = np.asarray(lower, dtype=float)
    upper = np.asarray(upper, dtype=float)
    infinite = ~(np.isfinite(lower) & np.isfinite(upper))
    if np.any(infinite):
        names = [ids[i] if ids else str(i) for i in np.flatnonzero(infinite)]
        raise InputError(f"start points need finite bounds; infinite for {names}")
    if n < 1:
        raise InputError(f"the number of starts must be >= 1, got {n}")
    sampler = LatinHypercube() if sampler is None else sampler
    unit = sampler.unit_points(n, lower.size, seed)
    return lower + unit * (upper - lower)
