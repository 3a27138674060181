"""MCMC convergence diagnostics and a plain-language verdict.

`compute_diagnostics` reads an `InferenceData` (posterior `theta` and the NUTS
`sample_stats`) and returns the numbers; `judge` compares them with
`Thresholds` and returns a `Verdict`. The default thresholds follow Vehtari,
Gelman, Simpson, Carpenter & Bürkner (2021), "Rank-normalization, folding, and
localization: an improved R-hat", Bayesian Analysis 16(2), and the Stan
defaults:

    * rank-normalised split R-hat < 1.01 for every parameter;
    * bulk and tail ESS >= 100 per chain (400 for the usual 4 chains); the
      requirement scales with the number of chains, not with the number of
      draws, so a short run has to earn its ESS;
    * no divergent transitions;
    * fewer than 1% of the draws at the maximum tree depth;
    * E-BFMI > 0.3 in every chain;
    * no solver failures at the posterior draws, nor in the trajectories of the
      sampling phase (NUTS rejects a proposal whose solve failed, so the draws
      alone never show it; the posterior is then cut off where the solver fails,
      which is right for a real blow-up and wrong for a too-small step budget).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

import arviz as az
import numpy as np

from jakinfer.simulate import SolveStatus


@dataclass(frozen=True)
class Thresholds:
    """Pass/fail limits of the checks (see the module docstring).

    Attributes:
        rhat: R-hat must be below this.
        ess_per_chain: bulk and tail ESS must reach this times the number of chains.
        divergences: at most this many divergent transitions.
        tree_depth_saturation: the fraction of draws at the maximum tree depth must be below this.
        ebfmi: E-BFMI of every chain must exceed this.
        solver_failures: at most this many draws with a failed ODE solve.
        sampler_failures: at most this many log-density evaluations with a failed
            ODE solve during sampling (after warmup).
    """

    rhat: float = 1.01
    ess_per_chain: float = 100.0
    divergences: int = 0
    tree_depth_saturation: float = 0.01
    ebfmi: float = 0.3
    solver_failures: int = 0
    sampler_failures: int = 0


@dataclass(frozen=True)
class Diagnostics:
    """Convergence numbers of one posterior variable (`theta`) and of the sampler.

    Attributes:
        parameters: `n` labels (parameter ids).
        rhat, ess_bulk, ess_tail: `(n,)` per parameter (NaN where arviz cannot compute them).
        chains, draws: posterior shape.
        divergences: number of divergent transitions (None without `diverging`).
        max_tree_depth: the sampler's limit (None when unknown).
        saturated: draws with `tree_depth >= max_tree_depth` (None when unknown).
        ebfmi: `(chains,)` energy Bayesian fraction of missing information (None without `energy`).
        solver_failures: draws whose ODE solve failed (None without `solver_status`).
        failure_reasons: reason -> number of draws.
        sampler_failures: failed solves met by the sampler per phase (`init`,
            `warmup`, `sampling`): `{"evaluations": n, <reason>: n}` (None when
            not recorded; see `jakinfer.infer.nuts.NutsSamples.failures`).
    """

    parameters: tuple[str, ...]
    rhat: np.ndarray
    ess_bulk: np.ndarray
    ess_tail: np.ndarray
    chains: int
    draws: int
    divergences: int | None = None
    max_tree_depth: int | None = None
    saturated: int | None = None
    ebfmi: np.ndarray | None = None
    solver_failures: int | None = None
    failure_reasons: dict[str, int] = field(default_factory=dict)
    sampler_failures: dict[str, dict[str, int]] | None = None

    @property
    def saturation_fraction(self) -> float | None:
        """Fraction of draws at the maximum tree depth."""
        return None if self.saturated is None else self.saturated / (self.chains * self.draws)

    def to_dict(self) -> dict:
        """JSON-compatible dictionary (NaN becomes None)."""

        def numbers(values) -> list[float | None] | None:
            if values is None:
                return None
            return [float(v) if math.isfinite(v) else None for v in np.asarray(values, dtype=float)]

        return {
            "parameters": list(self.parameters),
            "rhat": numbers(self.rhat),
            "ess_bulk": numbers(self.ess_bulk),
            "ess_tail": numbers(self.ess_tail),
            "chains": self.chains,
            "draws": self.draws,
            "divergences": self.divergences,
            "max_tree_depth": self.max_tree_depth,
            "saturated": self.saturated,
            "saturation_fraction": self.saturation_fraction,
            "ebfmi": numbers(self.ebfmi),
            "solver_failures": self.solver_failures,
            "failure_reasons": dict(self.failure_reasons),
            "sampler_failures": None if self.sampler_failures is None else {
                phase: dict(counts) for phase, counts in self.sampler_failures.items()},
        }


def compute_diagnostics(
    idata: az.InferenceData, var_name: str = "theta", max_tree_depth: int | None = None
) -> Diagnostics:
    """Diagnostics of `idata.posterior[var_name]` and `idata.sample_stats`.

    Args:
        var_name: a posterior variable with dims `(chain, draw)` or `(chain, draw, k)`.
        max_tree_depth: the sampler's limit; default `sample_stats.attrs["max_tree_depth"]`.
    """
    variable = idata.posterior[var_name]
    extra = [d for d in variable.dims if d not in ("chain", "draw")]
    if len(extra) > 1:
        raise ValueError(f"{var_name} has dims {variable.dims}; expected at most one besides chain, draw")
    labels = (tuple(str(v) for v in variable[extra[0]].values) if extra else (var_name,))
    dataset = idata.posterior[[var_name]]
    rhat = np.atleast_1d(az.rhat(dataset, method="rank")[var_name].values)
    ess_bulk = np.atleast_1d(az.ess(dataset, method="bulk")[var_name].values)
    ess_tail = np.atleast_1d(az.ess(dataset, method="tail")[var_name].values)
    chains, draws = variable.sizes["chain"], variable.sizes["draw"]

    stats = idata.sample_stats if "sample_stats" in idata.groups() else None
    divergences = saturated = solver_failures = None
    ebfmi = None
    reasons: dict[str, int] = {}
    sampler_failures = None
    if stats is not None:
        if "sampler_failures" in stats.attrs:
            sampler_failures = json.loads(str(stats.attrs["sampler_failures"]))
        if "diverging" in stats:
            divergences = int(stats["diverging"].values.sum())
        if max_tree_depth is None and "max_tree_depth" in stats.attrs:
            max_tree_depth = int(stats.attrs["max_tree_depth"])
        if max_tree_depth is not None and "tree_depth" in stats:
            saturated = int(np.sum(stats["tree_depth"].values >= max_tree_depth))
        if "energy" in stats and draws > 1:
            ebfmi = np.asarray(az.bfmi(idata), dtype=float)
        if "solver_status" in stats:
            status = stats["solver_status"].values
            solver_failures = int(np.sum(status != SolveStatus.OK))
            codes, counts = np.unique(status[status != SolveStatus.OK], return_counts=True)
            reasons = {SolveStatus(int(c)).reason: int(n) for c, n in zip(codes, counts, strict=True)}
    return Diagnostics(
        parameters=labels, rhat=rhat, ess_bulk=ess_bulk, ess_tail=ess_tail, chains=chains, draws=draws,
        divergences=divergences, max_tree_depth=max_tree_depth, saturated=saturated, ebfmi=ebfmi,
        solver_failures=solver_failures, failure_reasons=reasons, sampler_failures=sampler_failures,
    )


@dataclass(frozen=True)
class Check:
    """One diagnostic check: `passed` is None when it could not be made."""

    name: str
    passed: bool | None
    message: str


@dataclass(frozen=True)
class Verdict:
    """The outcome of all checks; `ok` when none failed (unchecked ones do not fail)."""

    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        return all(check.passed is not False for check in self.checks)

    @property
    def failed(self) -> tuple[Check, ...]:
        return tuple(check for check in self.checks if check.passed is False)

    @property
    def text(self) -> str:
        """Plain-language verdict: `OK: ...` or `WARNING: ...`, one line per check."""
        if self.ok:
            head = f"OK: all {sum(c.passed is True for c in self.checks)} convergence checks passed."
        else:
            head = (f"WARNING: {len(self.failed)} of {len(self.checks)} convergence checks failed; "
                    "do not trust these posterior draws yet.")
        marks = {True: "ok  ", False: "FAIL", None: "n/a "}
        lines = [f"  [{marks[c.passed]}] {c.name}: {c.message}" for c in self.checks]
        return "\n".join([head, *lines])

    def to_dict(self) -> dict:
        return {
            "ok": self.ok,
            "text": self.text,
            "checks": [{"name": c.name, "passed": c.passed, "message": c.message} for c in self.checks],
        }


def _worst(labels: tuple[str, ...], values: np.ndarray, bad: np.ndarray, largest: bool, fmt: str) -> str:
    order = np.argsort(-values if largest else values)
    shown = [f"{labels[i]} {values[i]:{fmt}}" for i in order if bad[i]][:5]
    more = int(bad.sum()) - len(shown)
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")


def judge(diagnostics: Diagnostics, thresholds: Thresholds | None = None) -> Verdict:
    """Compare `diagnostics` with `thresholds` (default `Thresholds()`)."""
    t = thresholds or Thresholds()
    d = diagnostics
    labels = d.parameters
    checks = []

    rhat = np.where(np.isfinite(d.rhat), d.rhat, np.inf)
    bad = ~(rhat < t.rhat)
    if bad.any():
        checks.append(Check("R-hat", False, f"{int(bad.sum())} of {len(labels)} parameters have R-hat >= {t.rhat} "
                                            f"or undefined: {_worst(labels, rhat, bad, True, '.3f')}"))
    else:
        checks.append(Check("R-hat", True, f"max {rhat.max():.4f} < {t.rhat}"))

    required = t.ess_per_chain * d.chains
    for name, ess in (("bulk ESS", d.ess_bulk), ("tail ESS", d.ess_tail)):
        values = np.where(np.isfinite(ess), ess, 0.0)
        bad = ~(values >= required)
        rule = f"{required:g} ({t.ess_per_chain:g} per chain x {d.chains} chains)"
        if bad.any():
            checks.append(Check(name, False, f"{int(bad.sum())} of {len(labels)} parameters below {rule}: "
                                             f"{_worst(labels, values, bad, False, '.0f')}"))
        else:
            checks.append(Check(name, True, f"min {values.min():.0f} >= {rule}"))

    if d.divergences is None:
        checks.append(Check("divergences", None, "not recorded"))
    else:
        checks.append(Check("divergences", d.divergences <= t.divergences,
                            f"{d.divergences} divergent transitions (allowed: {t.divergences})"))

    fraction = d.saturation_fraction
    if fraction is None:
        checks.append(Check("tree depth", None, "tree depth or its maximum not recorded"))
    else:
        checks.append(Check("tree depth", fraction < t.tree_depth_saturation,
                            f"{100 * fraction:.1f}% of draws at the maximum tree depth {d.max_tree_depth} "
                            f"(allowed: < {100 * t.tree_depth_saturation:g}%)"))

    if d.ebfmi is None:
        checks.append(Check("E-BFMI", None, "energy not recorded"))
    else:
        low = [f"chain {i} {v:.2f}" for i, v in enumerate(d.ebfmi) if not v > t.ebfmi]
        message = (f"min {np.min(d.ebfmi):.2f} > {t.ebfmi}" if not low
                   else f"E-BFMI <= {t.ebfmi} in {', '.join(low)}")
        checks.append(Check("E-BFMI", not low, message))

    if d.solver_failures is None and d.sampler_failures is None:
        checks.append(Check("solver failures", None, "solver status not recorded"))
    else:
        passed, parts = True, []
        if d.solver_failures is not None:
            reasons = "; ".join(f"{reason}: {n}" for reason, n in d.failure_reasons.items())
            passed = d.solver_failures <= t.solver_failures
            parts.append(f"{d.solver_failures} draws with a failed ODE solve" + (f" ({reasons})" if reasons else ""))
        if d.sampler_failures is not None:
            sampling = d.sampler_failures.get("sampling", {})
            failed = int(sampling.get("evaluations", 0))
            passed = passed and failed <= t.sampler_failures
            for phase in ("sampling", "warmup", "init"):
                counts = d.sampler_failures.get(phase, {})
                if phase == "sampling" or counts:
                    parts.append(_sampler_failure_text(phase, counts))
            if failed > t.sampler_failures:
                parts.append("the posterior is cut off where the solver fails: check the model there, "
                             "or raise max_steps / lower dtmin if the failures are numerical")
        checks.append(Check("solver failures", passed, "; ".join(parts)))
    return Verdict(tuple(checks))


def _sampler_failure_text(phase: str, counts: dict[str, int]) -> str:
    failed = int(counts.get("evaluations", 0))
    reasons = "; ".join(f"{reason}: {n}" for reason, n in counts.items() if reason != "evaluations")
    where = {"sampling": "during sampling", "warmup": "during warmup", "init": "at the start"}[phase]
    return f"{failed} log-density evaluations with a failed solve {where}" + (f" ({reasons})" if reasons else "")
