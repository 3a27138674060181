"""Posterior draws as arviz `InferenceData`, with predictions and pointwise log-likelihood.

`to_inference_data` turns NUTS draws into labelled arrays (groups `posterior`,
`sample_stats`, `log_likelihood`, `posterior_predictive`, `observed_data`,
`constant_data`); `evaluate_draws` evaluates the problem at every draw in
compiled, fixed-size chunks; `posterior_predictive` draws noisy replicates.

Dimensions and coordinates:
    * `parameter`: the estimated parameter ids (non-index coordinates
      `parameter_name`, `scale`).
    * `measurement`: the row of the measurement table, `0 .. n_m - 1`
      (non-index coordinates `observable`, `experiment`, `time`).
"""

from __future__ import annotations

import datetime as _datetime
import functools
import json
from dataclasses import dataclass
from pathlib import Path

import arviz as az
import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import xarray as xr

from jakinfer import likelihood as noise
from jakinfer.errors import InputError
from jakinfer.infer.nuts import NutsSamples
from jakinfer.problem import Problem
from jakinfer.runtime.checkpoint import write_with_atomic
from jakinfer.runtime.environment import package_version
from jakinfer.simulate import SolveStatus


# -- evaluating draws ------------------------------------------------------------
@dataclass(frozen=True)
class DrawEvaluation:
    """The problem evaluated at a batch of parameter vectors (NumPy arrays).

    Attributes:
        h: `(n_draws, n_m)` simulated observable per measurement (noiseless).
        sigma: `(n_draws, n_m)` noise parameter per measurement.
        status: `(n_draws, n_m)` int `SolveStatus` of the measurement's experiment.
        log_likelihood: `(n_draws, n_m)` pointwise log-likelihood (`-inf` where a solve failed).
        log_prior: `(n_draws,)` log prior density on the estimation scale.
    """

    h: np.ndarray
    sigma: np.ndarray
    status: np.ndarray
    log_likelihood: np.ndarray
    log_prior: np.ndarray


@functools.lru_cache(maxsize=4)
def _batched_evaluator(problem: Problem):
    def evaluate(theta):
        evaluation = problem.evaluate_measurements(theta)
        return (evaluation.simulated, evaluation.sigma, evaluation.status, evaluation.log_likelihood,
                problem.log_prior(theta))

    return jax.jit(jax.vmap(evaluate))


def evaluate_draws(problem: Problem, thetas: np.ndarray, chunk_size: int = 64) -> DrawEvaluation:
    """Evaluate predictions, pointwise log-likelihood and log prior at each draw.

    The draws are processed in chunks of `chunk_size` (the last one padded), so the
    vmapped evaluation compiles once per problem whatever the number of draws.

    Args:
        thetas: `(n_draws, n_theta)` on the estimation scale.
    """
    thetas = np.asarray(thetas, dtype=float)
    n_draws = thetas.shape[0]
    evaluator = _batched_evaluator(problem)
    chunks = []
    for start in range(0, n_draws, chunk_size):
        chunk = thetas[start : start + chunk_size]
        padded = np.concatenate([chunk, np.repeat(chunk[-1:], chunk_size - chunk.shape[0], axis=0)])
        outputs = evaluator(jnp.asarray(padded))
        chunks.append([np.asarray(out)[: chunk.shape[0]] for out in outputs])
    h, sigma, status, pointwise, log_prior = (np.concatenate(parts) for parts in zip(*chunks, strict=True))
    return DrawEvaluation(h=h, sigma=sigma, status=status, log_likelihood=pointwise, log_prior=log_prior)


def posterior_predictive(problem: Problem, evaluation: DrawEvaluation, key: jax.Array) -> np.ndarray:
    """Noisy replicate measurements `(n_draws, n_m)`, one per draw.

    Each measurement is drawn from its observable's noise model (normal or
    Laplace, on the observable's lin/log/log10 scale) around the simulated value
    `h` with the draw's `sigma`; NaN where the draw's solve failed.
    """
    m = problem.measurements
    replicate = np.full(evaluation.h.shape, np.nan)
    keys = jax.random.split(key, len(problem.observables))
    for index, observable in enumerate(problem.observables):
        rows = np.flatnonzero(m.observable_index == index)
        if rows.size == 0:
            continue
        shape = (evaluation.h.shape[0], rows.size)
        standard = (
            jax.random.normal(keys[index], shape)
            if observable.distribution == "normal"
            else jax.random.laplace(keys[index], shape)
        )
        replicate[:, rows] = np.asarray(noise.sample_measurement(
            standard, evaluation.h[:, rows], evaluation.sigma[:, rows],
            observable.transformation, observable.distribution,
        ))
    return np.where(evaluation.status == SolveStatus.OK, replicate, np.nan)


# -- InferenceData -----------------------------------------------------------------
def _parameter_coords(problem: Problem) -> dict:
    space = problem.parameters
    return {
        "parameter": list(space.ids),
        "parameter_name": ("parameter", list(space.names)),
        "scale": ("parameter", list(space.scales)),
    }


def _measurement_coords(problem: Problem) -> dict:
    m = problem.measurements
    return {
        "measurement": np.arange(m.size),
        "observable": ("measurement", [problem.observables[k].id for k in m.observable_index]),
        "experiment": ("measurement", [problem.experiments.ids[e] for e in m.experiment_index]),
        "time": ("measurement", np.asarray(m.times, dtype=float)),
    }


def _draw_coords(chains: int, draws: int) -> dict:
    return {"chain": np.arange(chains), "draw": np.arange(draws)}



def to_inference_data(problem: Problem, samples: NutsSamples, *, chunk_size: int = 64) -> az.InferenceData:
    """Build the `InferenceData` of a NUTS run.

    Groups:
        posterior: `theta` (estimation scale) and `theta_linear`, dims
            `(chain, draw, parameter)`.
        sample_stats: `lp` (log prior + log-likelihood on the estimation scale,
            unnormalised), `diverging`, `tree_depth`, `n_steps`, `acceptance_rate`,
            `energy`, `step_size`, `solver_status` (worst `SolveStatus` code of the
            draw's solves, 0 = ok); attrs `max_tree_depth`, `target_accept`, ...,
            `sampler_failures` (JSON: the failed solves met inside trajectories,
            `NutsSamples.failures`).
        log_likelihood: `y` `(chain, draw, measurement)`, pointwise.
        posterior_predictive: `y` (noisy replicates, seeded by `fold_in(key(seed), 1)`),
            `h` (noiseless simulated observable), `sigma` (noise parameter).
        observed_data: `y` `(measurement,)`.
        constant_data: `lower`, `upper`, `nominal` `(parameter,)`, estimation scale.
    """
    chains, draws, n_theta = samples.theta.shape
    flat = samples.theta.reshape(chains * draws, n_theta)
    evaluation = evaluate_draws(problem, flat, chunk_size=chunk_size)
    key = jax.random.fold_in(jax.random.key(samples.config.seed), 1)
    replicate = posterior_predictive(problem, evaluation, key)

    def per_draw(values: np.ndarray) -> np.ndarray:
        return values.reshape(chains, draws, *values.shape[1:])

    draw_coords = _draw_coords(chains, draws)
    parameter_coords = _parameter_coords(problem)
    measurement_coords = _measurement_coords(problem)
    attrs = {
        "created_at": _datetime.datetime.now(_datetime.UTC).isoformat(),
        "inference_library": "numpyro",
        "inference_library_version": package_version("numpyro"),
        "arviz_version": package_version("arviz"),
        "jakinfer_version": package_version("jakinfer"),
        "problem": problem.name,
        "problem_source": str(problem.source),
    }
    theta = per_draw(flat)
    posterior = xr.Dataset(
        {
            "theta": (("chain", "draw", "parameter"), theta),
            "theta_linear": (("chain", "draw", "parameter"),
                             np.asarray(problem.parameters.to_linear(jnp.asarray(theta)))),
        },
        coords={**draw_coords, **parameter_coords},
        attrs={**attrs, "theta_scale": "estimation scale (lin, log or log10 per parameter)"},
    )
    stats = samples.stats
    worst_status = per_draw(np.max(evaluation.status, axis=1).astype(np.int32))
    sample_stats = xr.Dataset(
        {
            "lp": (("chain", "draw"), per_draw(evaluation.log_prior + evaluation.log_likelihood.sum(axis=1))),
            "diverging": (("chain", "draw"), stats["diverging"].astype(bool)),
            "tree_depth": (("chain", "draw"), samples.tree_depth),
            "n_steps": (("chain", "draw"), stats["n_steps"].astype(np.int64)),
            "acceptance_rate": (("chain", "draw"), stats["acceptance_rate"]),
            "energy": (("chain", "draw"), stats["energy"]),
            "step_size": (("chain", "draw"), stats["step_size"]),
            "solver_status": (("chain", "draw"), worst_status),
        },
        coords=draw_coords,
        attrs={
            **attrs,
            "max_tree_depth": int(samples.config.max_tree_depth),
            "target_accept": float(samples.config.target_accept),
            "num_warmup": int(samples.config.warmup),
            "dense_mass": int(samples.config.dense_mass),
            "chain_method": samples.config.chain_method,
            "seed": int(samples.config.seed),
            "sampler_failures": json.dumps(samples.failures, sort_keys=True),
        },
    )
    measurement_dims = ("chain", "draw", "measurement")
    log_likelihood = xr.Dataset(
        {"y": (measurement_dims, per_draw(evaluation.log_likelihood))},
        coords={**draw_coords, **measurement_coords}, attrs=attrs,
    )
    predictive = xr.Dataset(
        {
            "y": (measurement_dims, per_draw(replicate)),
            "h": (measurement_dims, per_draw(evaluation.h)),
            "sigma": (measurement_dims, per_draw(evaluation.sigma)),
        },
        coords={**draw_coords, **measurement_coords}, attrs=attrs,
    )
    observed = xr.Dataset(
        {"y": (("measurement",), np.asarray(problem.measurements.values, dtype=float))},
        coords=measurement_coords, attrs=attrs,
    )
    space = problem.parameters
    constant = xr.Dataset(
        {
            "lower": (("parameter",), np.asarray(space.lower, dtype=float)),
            "upper": (("parameter",), np.asarray(space.upper, dtype=float)),
            "nominal": (("parameter",), np.asarray(space.nominal, dtype=float)),
        },
        coords=parameter_coords, attrs=attrs,
    )
    return az.InferenceData(
        posterior=posterior, sample_stats=sample_stats, log_likelihood=log_likelihood,
        posterior_predictive=predictive, observed_data=observed, constant_data=constant,
    )


def save_inference_data(idata: az.InferenceData, path: str | Path) -> Path:
    """Write `idata` to netCDF atomically (a temporary file, then a rename onto `path`)."""
    return write_with_atomic(path, lambda temporary: idata.to_netcdf(str(temporary)))


def load_inference_data(path: str | Path) -> az.InferenceData:
    """Read an `InferenceData` netCDF file (fully into memory)."""
    path = Path(path)
    if not path.is_file():
        raise InputError("InferenceData file not found", file=str(path))
    return az.from_netcdf(str(path))


def summary_table(idata: az.InferenceData) -> pd.DataFrame:
    """arviz summary of `theta` and `theta_linear`, rows labelled `theta[<parameter id>]`,
    with a `name` column (display names)."""
    table = az.summary(idata, var_names=["theta", "theta_linear"])
    names = dict(zip(idata.posterior["parameter"].values.tolist(),
                     idata.posterior["parameter_name"].values.tolist(), strict=True))
    table.insert(0, "name", [names[label.split("[", 1)[1].rstrip("]")] for label in table.index])
    return table
