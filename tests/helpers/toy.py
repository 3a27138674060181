"""Small PEtab problems with known answers, written to a temporary folder.

Each builder writes an SBML model (species with rate rules, global parameters,
through `jakinfer.io.export.rate_rule_sbml`) and the four PEtab tables, and
returns the YAML path. Kept in the test tree on purpose: the tests of
`jakinfer.infer` must not depend on other test helpers.
"""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from jakinfer.io.export import PetabTables, rate_rule_sbml, write_petab_folder
from jakinfer.io.petab import read_petab
from jakinfer.problem import Problem

NOISE_SIGMA = 0.5
"""Known noise standard deviation of the linear-Gaussian toy."""


def write_petab(folder: Path, *, sbml: tuple[dict, dict, dict], parameters: pd.DataFrame,
                observables: pd.DataFrame, measurements: pd.DataFrame) -> Path:
    """Write a one-condition PEtab v1 problem into `folder`; returns the YAML path.

    `sbml` is `(species, rate_rules, parameters)` for `rate_rule_sbml`: species id ->
    initial amount, species id -> infix rate formula, parameter id -> default.
    """
    tables = PetabTables(parameters=parameters, observables=observables,
                         conditions=pd.DataFrame({"conditionId": ["c0"]}), measurements=measurements)
    return write_petab_folder(folder, rate_rule_sbml("toy", *sbml), tables)


def _measurements(observable_id: str, times: np.ndarray, values: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({
        "observableId": observable_id,
        "simulationConditionId": "c0",
        "time": [repr(float(t)) for t in times],
        "measurement": [repr(float(v)) for v in values],
    })


# -- linear-Gaussian: y = a + b t + N(0, sigma^2) ---------------------------------------


@dataclass(frozen=True)
class LinearGaussian:
    """The linear-Gaussian toy and its analytic posterior / ML estimate.

    `y_i = a + b t_i + e_i`, `e_i ~ N(0, NOISE_SIGMA^2)`; `theta = (a, b)` on
    linear scale. With `prior_sd` set, independent normal priors
    `N(prior_mean_j, prior_sd_j^2)`; else flat (uniform in wide bounds).
    """

    yaml_path: Path
    times: np.ndarray
    values: np.ndarray
    prior_mean: np.ndarray | None
    prior_sd: np.ndarray | None

    @property
    def design(self) -> np.ndarray:
        """`(n_m, 2)` design matrix `[1, t]`."""
        return np.column_stack([np.ones_like(self.times), self.times])

    def posterior_precision(self) -> np.ndarray:
        x = self.design
        precision = x.T @ x / NOISE_SIGMA**2
        if self.prior_sd is not None:
            precision = precision + np.diag(1.0 / self.prior_sd**2)
        return precision

    def posterior_covariance(self) -> np.ndarray:
        """Exact Gaussian posterior covariance (flat prior: the ML estimator's covariance)."""
        return np.linalg.inv(self.posterior_precision())

    def posterior_mean(self) -> np.ndarray:
        """Exact posterior mean = MAP (flat prior: the least-squares estimate)."""
        rhs = self.design.T @ self.values / NOISE_SIGMA**2
        if self.prior_sd is not None:
            rhs = rhs + self.prior_mean / self.prior_sd**2
        return np.linalg.solve(self.posterior_precision(), rhs)

    def min_negative_log_likelihood(self) -> float:
        """`-log L` at the least-squares estimate (normalisation included)."""
        x = self.design
        beta = np.linalg.lstsq(x, self.values, rcond=None)[0]
        residual = self.values - x @ beta
        n = len(self.values)
        return float(0.5 * n * np.log(2 * np.pi * NOISE_SIGMA**2) + 0.5 * residual @ residual / NOISE_SIGMA**2)


def linear_gaussian(folder: Path, *, priors: bool, seed: int = 0) -> LinearGaussian:
    """Write the linear-Gaussian toy (12 measurements on t in [0, 5])."""
    rng = np.random.default_rng(seed)
    times = np.linspace(0.0, 5.0, 12)
    values = 1.5 + 0.8 * times + NOISE_SIGMA * rng.standard_normal(times.size)
    prior_mean = np.array([1.0, 0.5]) if priors else None
    prior_sd = np.array([2.0, 1.0]) if priors else None
    rows = {
        "parameterId": ["a", "b"],
        "parameterScale": ["lin", "lin"],
        "lowerBound": [-50, -50],
        "upperBound": [50, 50],
        "nominalValue": [1.0, 1.0],
        "estimate": [1, 1],
    }
    if priors:
        rows["objectivePriorType"] = ["normal", "normal"]
        rows["objectivePriorParameters"] = [f"{m};{s}" for m, s in zip(prior_mean, prior_sd, strict=True)]
    path = write_petab(
        folder,
        sbml=({"x": 1.0}, {"x": "0"}, {}),
        parameters=pd.DataFrame(rows),
        observables=pd.DataFrame({
            "observableId": ["y"], "observableFormula": ["a + b * t"],
            "noiseFormula": [str(NOISE_SIGMA)], "observableTransformation": ["lin"],
            "noiseDistribution": ["normal"],
        }),
        measurements=_measurements("y", times, values),
    )
    return LinearGaussian(path, times, values, prior_mean, prior_sd)


# -- exponential decay: y = s exp(-k t), log10 parameters --------------------------------

DECAY_TRUE = {"k": 0.4, "s": 3.0}
DECAY_SIGMA = 0.05


@dataclass(frozen=True)
class Decay:
    yaml_path: Path
    times: np.ndarray
    values: np.ndarray


def decay(folder: Path, seed: int = 1) -> Decay:
    """`x' = -k x`, `x(0) = 1`, observable `s * x`; `k`, `s` on log10 in [-3, 2]."""
    rng = np.random.default_rng(seed)
    times = np.linspace(0.25, 8.0, 10)
    values = DECAY_TRUE["s"] * np.exp(-DECAY_TRUE["k"] * times) + DECAY_SIGMA * rng.standard_normal(times.size)
    path = write_petab(
        folder,
        sbml=({"x": 1.0}, {"x": "-k * x"}, {"k": 1.0}),
        parameters=pd.DataFrame({
            "parameterId": ["k", "s"], "parameterScale": ["log10", "log10"],
            "lowerBound": [1e-3, 1e-3], "upperBound": [100, 100], "nominalValue": [1.0, 1.0],
            "estimate": [1, 1],
        }),
        observables=pd.DataFrame({
            "observableId": ["y"], "observableFormula": ["s * x"], "noiseFormula": [str(DECAY_SIGMA)],
            "observableTransformation": ["lin"], "noiseDistribution": ["normal"],
        }),
        measurements=_measurements("y", times, values),
    )
    return Decay(path, times, values)


# -- identifiability: y = s k x + z, x' = -d x, z' = r (1 - z) -----------------------------

IDENTIFIABILITY_TRUE = {"d": 0.3, "s": 1.0, "k": 2.0, "r": 10**1.5}
IDENTIFIABILITY_SIGMA = 0.05


def identifiability(folder: Path) -> Path:
    """A problem with one identifiable (`d`), one practically non-identifiable
    (`r`: fast saturation, every measurement after it, so any larger `r` fits as
    well) and two structurally non-identifiable parameters (`s`, `k`: only the
    product enters). Noise-free data; all four on log10 scale. The bounds of `s`
    ([-2, 2]) keep the compensating `k = 2 / s` inside its bounds ([-3, 3]), so
    the profile of `s` is flat over its whole range."""
    p = IDENTIFIABILITY_TRUE
    times = np.linspace(0.5, 10.0, 12)
    values = p["s"] * p["k"] * np.exp(-p["d"] * times) + 1.0 - np.exp(-p["r"] * times)
    return write_petab(
        folder,
        sbml=({"x": 1.0, "z": 0.0}, {"x": "-d * x", "z": "r * (1 - z)"}, {"d": 1.0, "r": 1.0}),
        parameters=pd.DataFrame({
            "parameterId": ["d", "s", "k", "r"],
            "parameterScale": ["log10"] * 4,
            "lowerBound": [1e-3, 1e-2, 1e-3, 1e-2],
            "upperBound": [1e2, 1e2, 1e3, 1e3],
            "nominalValue": [p["d"], p["s"], p["k"], p["r"]],
            "estimate": [1, 1, 1, 1],
        }),
        observables=pd.DataFrame({
            "observableId": ["y"], "observableFormula": ["s * k * x + z"],
            "noiseFormula": [str(IDENTIFIABILITY_SIGMA)], "observableTransformation": ["lin"],
            "noiseDistribution": ["normal"],
        }),
        measurements=_measurements("y", times, values),
    )


# -- shared instances (one compile per problem and objective across test modules) ----------


@functools.lru_cache(maxsize=1)
def _scratch() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="jakinfer-infer-toys-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


@functools.cache
def shared_linear_gaussian(priors: bool) -> tuple[LinearGaussian, Problem]:
    """The linear-Gaussian toy and its `Problem`, built once per test session."""
    toy = linear_gaussian(_scratch() / f"linear_gaussian_{'prior' if priors else 'flat'}", priors=priors)
    return toy, read_petab(toy.yaml_path)
