"""Noise parameters profiled out in closed form (hierarchical optimisation).

Many PEtab problems estimate one noise parameter per observable: every
measurement of a group has `sigma_i = s`, where `s` is an estimated parameter
that enters nothing else (Boehm 2014: `sd_pSTAT5A_rel`, `sd_pSTAT5B_rel`,
`sd_rSTAT5A_rel`). For fixed dynamic parameters the optimal `s` is known in
closed form from the residuals `r_i = t(y_i) - t(h_i)` on the transformation
scale of the group's `n_g` measurements:

    normal:  -log L = n_g log s + sum r_i^2 / (2 s^2) + const  ->  s^2 = sum r_i^2 / n_g
    laplace: -log L = n_g log s + sum |r_i| / s + const        ->  s   = sum |r_i| / n_g

Both objectives are convex in `log s`, so clipping the optimum into the
parameter's bounds gives the constrained optimum. Optimising the remaining
(dynamic) parameters with the noise parameters at their optimum minimises the
same function as the full problem (the profile over the noise parameters has
the same minima), in fewer dimensions and without the strong coupling between
a noise level and the fit it rewards: the hierarchical optimisation of Loos,
Krause & Hasenauer 2018 (Bioinformatics 34:4266) and Schmiester et al. 2020
(Bioinformatics 36:594), who report more starts converging to the optimum.

A noise parameter qualifies only if it is estimated, has no prior (uniform on
its estimation scale; the prior would otherwise move the optimum), and enters
the problem only as the *whole* noise formula of its measurements (directly or
through a `noiseParameter` placeholder), and all its measurements share one
distribution. Anything else stays an ordinary optimisation variable.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
import sympy as sp

from jakinfer.infer.fisher import (
    NoiseTerms,
    psd_negative_hessian,
    scale_weights,
    transform_by_code,
    transformation_codes,
)
from jakinfer.parameters import to_linear
from jakinfer.problem import Problem


@dataclass(frozen=True, eq=False)
class NoiseScaleGroup:
    """One estimated noise parameter and the measurements whose sigma it is.

    Attributes:
        parameter: position of the noise parameter in `theta`.
        rows: `(n_g,)` measurement rows (measurement-table order) with `sigma_i = s`.
        distribution: `normal` or `laplace`, shared by the rows.
    """

    parameter: int
    rows: np.ndarray
    distribution: str


def _referenced_table_indices(problem: Problem) -> set[int]:
    """Table-parameter positions used anywhere but as a noise parameter value."""
    experiments = problem.experiments
    maps = (experiments.model_parameters, experiments.initial_overrides, experiments.preequilibration_parameters,
            experiments.preequilibration_overrides, problem.measurements.observable_parameters)
    used: set[int] = set()
    for value_map in maps:
        used.update(int(i) for i in np.ravel(value_map.index) if i >= 0)
    return used


def noise_scale_groups(problem: Problem) -> tuple[NoiseScaleGroup, ...]:
    """The estimated parameters of `problem` that are pure noise scales (see the module docstring).

    Returns:
        one `NoiseScaleGroup` per qualifying parameter, in `theta` order (empty
        when none qualifies).
    """
    measurements = problem.measurements
    observables = problem.observables
    table_position = {int(t): j for j, t in enumerate(problem.estimated_index)}
    elsewhere = _referenced_table_indices(problem)
    table_ids = problem.table_ids
    # where each table parameter appears as the whole sigma of a measurement, and where it appears otherwise
    whole: dict[int, list[int]] = {}
    disqualified: set[int] = set(elsewhere)
    noise_index = np.asarray(measurements.noise_parameters.index).reshape(measurements.size, -1)
    for row, k in enumerate(measurements.observable_index):
        observable = observables[k]
        formula = observable.noise_formula
        symbols = {s.name for s in formula.free_symbols}
        for symbol in {s.name for s in observable.formula.free_symbols}:
            if symbol in table_ids:
                disqualified.add(table_ids.index(symbol))
        sigma_is_symbol = isinstance(formula, sp.Symbol)
        for slot, name in enumerate(observable.noise_placeholders):
            t = int(noise_index[row, slot]) if slot < noise_index.shape[1] else -1
            if t < 0:
                continue
            if sigma_is_symbol and formula.name == name:
                whole.setdefault(t, []).append(row)
            elif name in symbols:
                disqualified.add(t)
        for symbol in symbols & set(table_ids):
            t = table_ids.index(symbol)
            if sigma_is_symbol and formula.name == symbol:
                whole.setdefault(t, []).append(row)
            else:
                disqualified.add(t)
    groups = []
    for t, rows in sorted(whole.items(), key=lambda item: table_position.get(item[0], -1)):
        j = table_position.get(t)
        if j is None or t in disqualified or problem.parameters.priors[j] is not None:
            continue
        rows = np.unique(np.asarray(rows, dtype=int))
        distributions = {observables[measurements.observable_index[r]].distribution for r in rows}
        if len(distributions) != 1:
            continue
        groups.append(NoiseScaleGroup(parameter=j, rows=rows, distribution=distributions.pop()))
    return tuple(groups)


@dataclass(frozen=True, eq=False)
class ProfiledNoise:
    """A problem's objective with its pure noise parameters at their closed-form optimum.

    Attributes:
        problem: the problem.
        groups: the profiled noise parameters (`noise_scale_groups`).
        reduced_index: `(n_r,)` positions in `theta` of the parameters still optimised.
    """

    problem: Problem
    groups: tuple[NoiseScaleGroup, ...]
    reduced_index: np.ndarray

    @classmethod
    def of(cls, problem: Problem) -> ProfiledNoise:
        """The profiled form of `problem` (cached per problem)."""
        return _profiled(problem)

    @property
    def profiled_ids(self) -> tuple[str, ...]:
        return tuple(self.problem.parameters.ids[g.parameter] for g in self.groups)

    def embed(self, reduced):
        """`(n_r,)` reduced parameters -> `(n,)` full `theta` with the noise
        coordinates at their lower bound (placeholders; traceable)."""
        full = jnp.asarray(self.problem.parameters.lower, dtype=float)
        full = jnp.where(jnp.isfinite(full), full, 0.0)
        return full.at[self.reduced_index].set(reduced)

    def evaluate(self, reduced):
        """Traceable `reduced (n_r,) -> (theta (n,), evaluation)`: one simulation,
        the noise parameters set to their optimum, and the problem evaluated there
        (`Problem.evaluation_from`)."""
        problem = self.problem
        space = problem.parameters
        theta = self.embed(reduced)
        simulated, sigmas, status = problem._observables_and_sigmas(theta)
        measured = jnp.asarray(problem.measurements.values, dtype=float)
        residual = transform_by_code(measured, self._codes) - transform_by_code(simulated, self._codes)
        codes = space.scale_codes
        for group in self.groups:
            r = residual[group.rows]
            scale = (jnp.sqrt(jnp.mean(jnp.square(r))) if group.distribution == "normal"
                     else jnp.mean(jnp.abs(r)))
            j = group.parameter
            low, high = (to_linear(jnp.asarray(bound, dtype=float), codes[j])
                         for bound in (space.lower[j], space.upper[j]))
            scale = jnp.clip(scale, jnp.maximum(low, jnp.finfo(float).tiny), high)
            value = {"lin": lambda v: v, "log": jnp.log, "log10": jnp.log10}[space.scales[j]](scale)
            value = jnp.clip(value, space.lower[j], space.upper[j])  # rounding of log10(10**bound)
            theta = theta.at[j].set(value)
            sigmas = sigmas.at[group.rows].set(scale)
        return theta, problem.evaluation_from(simulated, sigmas, status)

    def full_theta(self, reduced) -> np.ndarray:
        """`(..., n_r) -> (..., n)` full `theta` with the optimal noise parameters (NumPy)."""
        reduced = np.asarray(reduced, dtype=float)
        flat = reduced.reshape(-1, reduced.shape[-1])
        full = np.asarray(self._jit_full_theta(jnp.asarray(flat)))
        return full.reshape(*reduced.shape[:-1], self.problem.parameters.size)

    @functools.cached_property
    def _jit_full_theta(self) -> Callable:
        return jax.jit(jax.vmap(lambda reduced: self.evaluate(reduced)[0]))

    @functools.cached_property
    def _codes(self) -> np.ndarray:
        return transformation_codes(self.problem)

    @functools.cached_property
    def _profiled_rows(self) -> np.ndarray:
        """`(n_m,)` bool: measurements whose sigma is a profiled noise parameter."""
        rows = np.zeros(self.problem.measurements.size, dtype=bool)
        for group in self.groups:
            rows[group.rows] = True
        return rows

    def noise_terms(self, include_prior: bool) -> NoiseTerms:
        """`NoiseTerms` over the reduced parameters (for `FisherTrustRegion`).

        The profiled noise scales are returned without their derivative: at the
        optimal scales the expected cross-curvature between the locations and
        those scales is zero, so their part of the Fisher information of the
        profiled objective is the location part `J_m' diag(1 / s^2) J_m` (the
        Schur complement of the full Fisher information, whose location-scale
        block vanishes). Scales that are not profiled keep their derivative.
        """
        problem = self.problem
        scale_weight = scale_weights(problem)
        function = self.objective_function(include_prior, with_noise=True)
        log_prior = problem.parameters.log_prior
        flat = all(problem.parameters.priors[j] is None for j in self.reduced_index)
        curvature = None
        if include_prior and not flat:
            curvature = psd_negative_hessian(lambda reduced: log_prior(self.embed(reduced)))
        return NoiseTerms(function=function, scale_weight=scale_weight, prior_curvature=curvature)

    def objective_function(self, include_prior: bool, with_noise: bool = False) -> Callable:
        """Traceable `reduced (n_r,) -> f` (negative log likelihood, or posterior
        with `include_prior`), or `-> (f, location (n_m,), scale (n_m,))` with `with_noise`."""
        problem = self.problem

        def function(reduced):
            theta, evaluation = self.evaluate(reduced)
            f = -jnp.sum(evaluation.log_likelihood)
            if include_prior:
                f = f - problem.parameters.log_prior(theta)
            if not with_noise:
                return f
            location = transform_by_code(evaluation.simulated, self._codes)
            scale = jnp.where(self._profiled_rows, jax.lax.stop_gradient(evaluation.sigma), evaluation.sigma)
            return f, location, scale

        return function


@functools.lru_cache(maxsize=16)
def _profiled(problem: Problem) -> ProfiledNoise:
    groups = noise_scale_groups(problem)
    profiled = {g.parameter for g in groups}
    reduced = np.array([j for j in range(problem.parameters.size) if j not in profiled], dtype=int)
    return ProfiledNoise(problem=problem, groups=groups, reduced_index=reduced)
