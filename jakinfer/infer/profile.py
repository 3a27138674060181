"""Profile likelihoods: confidence intervals and identifiability of each parameter.

The profile of parameter `i` is `PL(v) = min_{theta: theta_i = v} f(theta)` for the
objective `f` (negative log-likelihood, or negative log posterior), traced from
the optimum in both directions: each point pins `theta_i` (its lower and upper
bound set to `v`) and re-optimises the other parameters from the previous
point's optimum (warm start). All walks (two per profiled parameter) take
their next point together, in one call of `minimise_batch`, so the compiled
optimiser of the multistart is reused.

The (1 - alpha) confidence interval is `{v: PL(v) - min f <= Delta}` with
`Delta = chi2.ppf(1 - alpha, 1) / 2` (1.92 for 95 %), its ends where the profile
crosses `min f + Delta` (interpolated linearly in `sqrt(PL - min f)`).
Classification:

* *identifiable*: the profile crosses the threshold on both sides;
* *practically non-identifiable*: it reaches a bound on at least one side
  without crossing;
* *structurally non-identifiable*: it is flat (`max PL - min f <= flat_tolerance`)
  from bound to bound (a flat profile whose compensating parameters hit their
  own bounds rises there, and is reported by the rules above);
* *inconclusive*: a side ended (point budget, failed solve) before crossing
  or reaching its bound.

Size: the profile walk, its adaptive step and the identifiability assessment share one result
type and are read together.
"""

from __future__ import annotations

import abc
import enum
import json
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import chi2

from jakinfer.errors import InputError
from jakinfer.infer.optimize import (
    Objective,
    ObjectiveKind,
    Optimizer,
    ProjectedBFGS,
    minimise_batch,
)
from jakinfer.problem import Problem


class Identifiability(enum.Enum):
    IDENTIFIABLE = "identifiable"
    PRACTICALLY_NON_IDENTIFIABLE = "practically_non_identifiable"
    STRUCTURALLY_NON_IDENTIFIABLE = "structurally_non_identifiable"
    INCONCLUSIVE = "inconclusive"


class WalkEnd(enum.Enum):
    """Why one side of a profile stopped."""

    THRESHOLD = "threshold"  # went beyond min f + overshoot * Delta
    BOUND = "bound"  # reached the parameter's bound
    MAX_POINTS = "max_points"  # point budget used up
    FAILED = "failed"  # the objective was not finite at the next point


# -- step-size rules -------------------------------------------------------------------


class StepRule(abc.ABC):
    """How far (estimation scale) the next profile point lies from the last."""

    initial: float

    @abc.abstractmethod
    def next(self, step: np.ndarray, change: np.ndarray, threshold: float) -> np.ndarray:
        """Next steps `(w,)` from the last steps and objective changes `(w,)`."""

    def retry(self, step: np.ndarray, change: np.ndarray, threshold: float) -> np.ndarray:
        """Shorter steps `(w,)` to try again from the last point where a step
        changed the objective too much, else NaN (the point is accepted)."""
        return np.full_like(np.asarray(step, dtype=float), np.nan)


@dataclass(frozen=True)
class FixedStep(StepRule):
    """A fixed grid: every step is `initial` long."""

    initial: float = 0.1

    def next(self, step, change, threshold):
        return np.full_like(np.asarray(step, dtype=float), self.initial)


@dataclass(frozen=True)
class AdaptiveStep(StepRule):
    """Steps that aim at an objective change of `target * Delta` per point.

    Near the optimum the profile is about quadratic, so the step is scaled by
    `sqrt(target * Delta / |change|)`, at most halved or doubled per point and
    kept within `[minimum, maximum]`. A step that raised the objective by more
    than `retry_above * Delta` is kept as a point, but the walk goes on from the
    point before with the step scaled by `sqrt(target * Delta / change)` (so the
    threshold crossing is bracketed by close points).
    """

    initial: float = 0.05
    minimum: float = 1e-3
    maximum: float = 0.5
    target: float = 0.15
    retry_above: float = 0.6

    def next(self, step, change, threshold):
        wanted = self.target * threshold
        ratio = wanted / np.maximum(np.abs(np.asarray(change, dtype=float)), 1e-12)
        factor = np.clip(np.sqrt(ratio), 0.5, 2.0)
        return np.clip(np.asarray(step, dtype=float) * factor, self.minimum, self.maximum)

    def retry(self, step, change, threshold):
        step = np.asarray(step, dtype=float)
        change = np.asarray(change, dtype=float)
        shorter = np.maximum(step * np.sqrt(self.target * threshold / np.maximum(change, 1e-300)), self.minimum)
        again = np.isfinite(change) & (change > self.retry_above * threshold) & (step > self.minimum)
        return np.where(again, shorter, np.nan)


@dataclass(frozen=True)
class ProfileConfig:
    """Settings of `profile`.

    Attributes:
        step: the step rule (`AdaptiveStep()` or `FixedStep(...)`).
        confidence: level of the intervals (chi²(1) threshold).
        overshoot: a side stops once `PL - min f > overshoot * Delta`.
        max_points: points per side.
        flat_tolerance: largest rise (objective units) of a flat profile.
        optimizer: the re-optimisation settings (shared with `multistart`: the
            same compiled program when both use `ProjectedBFGS`).
    """

    step: StepRule = field(default_factory=AdaptiveStep)
    confidence: float = 0.95
    overshoot: float = 1.2
    max_points: int = 40
    flat_tolerance: float = 1e-3
    optimizer: Optimizer = field(default_factory=ProjectedBFGS)

    @property
    def threshold(self) -> float:
        """`Delta = chi2.ppf(confidence, 1) / 2`."""
        return float(0.5 * chi2.ppf(self.confidence, df=1))


# -- results ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ParameterProfile:
    """The profile of one parameter, points sorted by value (the optimum included).

    Attributes:
        parameter_id: the profiled parameter; `index` its position in `theta`.
        values: `(m,)` pinned values (estimation scale), ascending.
        fval: `(m,)` re-optimised objective (`inf` where not finite).
        x: `(m, n)` re-optimised parameter vectors.
        status: `(m,)` `ExitStatus` codes of the re-optimisations.
        ci_lower, ci_upper: interval ends (estimation scale; NaN: not crossed).
        identifiability: the classification.
        lower_end, upper_end: why each side stopped.
    """

    parameter_id: str
    index: int
    values: np.ndarray
    fval: np.ndarray
    x: np.ndarray
    status: np.ndarray
    ci_lower: float
    ci_upper: float
    identifiability: Identifiability
    lower_end: WalkEnd
    upper_end: WalkEnd


@dataclass(frozen=True)
class ProfileResult:
    """Profiles of some parameters around one optimum.

    Attributes:
        parameter_ids: all `n` ids of `theta`.
        objective: what is profiled.
        optimum: `(n,)` the (re-polished) optimum; `optimum_fval` its objective.
        reference_fval: `min f` the thresholds refer to: the lower of the optimum
            and every profile point (lower than `optimum_fval` when the profile
            found a better optimum; see `improved_optimum`).
        threshold: `Delta`; `confidence` its level.
        profiles: one `ParameterProfile` per profiled parameter.
        metadata: JSON-serialisable run record.
    """

    parameter_ids: tuple[str, ...]
    objective: ObjectiveKind
    optimum: np.ndarray
    optimum_fval: float
    reference_fval: float
    threshold: float
    confidence: float
    profiles: tuple[ParameterProfile, ...]
    metadata: dict = field(default_factory=dict)

    @property
    def improved_optimum(self) -> bool:
        """Whether a profile point beat the optimum by more than 1e-6."""
        return self.reference_fval < self.optimum_fval - 1e-6

    def __getitem__(self, parameter_id: str) -> ParameterProfile:
        for p in self.profiles:
            if p.parameter_id == parameter_id:
                return p
        raise KeyError(parameter_id)

    def to_frame(self) -> pd.DataFrame:
        """Long table: `parameter`, `value`, `fval`, `delta` (= fval - reference),
        `status`, then `x.<id>` columns."""
        frames = []
        for p in self.profiles:
            frame = pd.DataFrame({"parameter": p.parameter_id, "value": p.values, "fval": p.fval,
                                  "delta": p.fval - self.reference_fval, "status": p.status})
            frames.append(pd.concat([frame, pd.DataFrame(p.x, columns=[f"x.{i}" for i in self.parameter_ids])],
                                    axis=1))
        return pd.concat(frames, ignore_index=True)

    def summary_frame(self) -> pd.DataFrame:
        """One row per profiled parameter: estimate, interval, classification, side ends."""
        return pd.DataFrame({
            "parameter": [p.parameter_id for p in self.profiles],
            "estimate": [float(self.optimum[p.index]) for p in self.profiles],
            "ci_lower": [p.ci_lower for p in self.profiles],
            "ci_upper": [p.ci_upper for p in self.profiles],
            "identifiability": [p.identifiability.value for p in self.profiles],
            "lower_end": [p.lower_end.value for p in self.profiles],
            "upper_end": [p.upper_end.value for p in self.profiles],
            "n_points": [p.values.size for p in self.profiles],
        })

    def save(self, folder: str | Path) -> Path:
        """Write `profiles.csv`, `profile_summary.csv` and `profiles.json` into `folder`."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.to_frame().to_csv(folder / "profiles.csv", index=False, float_format="%.17g", na_rep="nan")
        self.summary_frame().to_csv(folder / "profile_summary.csv", index=False, float_format="%.17g",
                                    na_rep="nan")
        record = {
            "parameter_ids": list(self.parameter_ids), "objective": self.objective.value,
            "optimum": [float(v) for v in self.optimum], "optimum_fval": self.optimum_fval,
            "reference_fval": self.reference_fval, "threshold": self.threshold,
            "confidence": self.confidence, "metadata": self.metadata,
        }
        (folder / "profiles.json").write_text(json.dumps(record, indent=2), encoding="utf-8")
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> ProfileResult:
        """Read what `save` wrote."""
        folder = Path(folder)
        for name in ("profiles.csv", "profile_summary.csv", "profiles.json"):
            if not (folder / name).is_file():
                raise InputError("profile result file not found", file=str(folder / name))
        record = json.loads((folder / "profiles.json").read_text(encoding="utf-8"))
        points = pd.read_csv(folder / "profiles.csv")
        summary = pd.read_csv(folder / "profile_summary.csv")
        ids = tuple(record["parameter_ids"])
        profiles = []
        for row in summary.itertuples(index=False):
            rows = points[points["parameter"] == row.parameter]
            profiles.append(ParameterProfile(
                parameter_id=row.parameter, index=ids.index(row.parameter),
                values=rows["value"].to_numpy(float), fval=rows["fval"].to_numpy(float),
                x=rows[[f"x.{i}" for i in ids]].to_numpy(float), status=rows["status"].to_numpy(int),
                ci_lower=float(row.ci_lower), ci_upper=float(row.ci_upper),
                identifiability=Identifiability(row.identifiability),
                lower_end=WalkEnd(row.lower_end), upper_end=WalkEnd(row.upper_end),
            ))
        return cls(
            parameter_ids=ids, objective=ObjectiveKind(record["objective"]),
            optimum=np.asarray(record["optimum"], dtype=float), optimum_fval=float(record["optimum_fval"]),
            reference_fval=float(record["reference_fval"]), threshold=float(record["threshold"]),
            confidence=float(record["confidence"]), profiles=tuple(profiles), metadata=record.get("metadata", {}),
        )


# -- analysis of a traced profile --------------------------------------------------------


def crossing(values: np.ndarray, delta: np.ndarray, threshold: float) -> float:
    """Where a one-sided profile first exceeds `threshold`.

    Interpolates `sqrt(delta)` linearly between the bracketing points (the
    signed root of the likelihood ratio is linear in the parameter for a
    quadratic profile, so the crossing of a Gaussian likelihood is exact on
    any grid).

    Args:
        values: `(m,)` parameter values walking away from the optimum (`values[0]`).
        delta: `(m,)` profile minus its minimum; a non-finite value (failed
            solve) is no evidence of a crossing and ends the search.
        threshold: `Delta`.

    Returns:
        the crossing value, or NaN if `delta` does not exceed `threshold` before
        its end or its first non-finite value.
    """
    stop = ~np.isfinite(delta) | (delta > threshold)
    if not np.any(stop[1:]):
        return float("nan")
    j = int(np.flatnonzero(stop[1:])[0]) + 1
    if not np.isfinite(delta[j]):
        return float("nan")
    root_low, root_high = np.sqrt(max(delta[j - 1], 0.0)), np.sqrt(max(delta[j], 0.0))
    weight = (np.sqrt(threshold) - root_low) / (root_high - root_low)
    return float(values[j - 1] + weight * (values[j] - values[j - 1]))


def classify(delta: np.ndarray, crossed: tuple[bool, bool], ends: tuple[WalkEnd, WalkEnd],
             flat_tolerance: float) -> Identifiability:
    """Classify one profile from its rise `delta` `(m,)`, whether each side
    (lower, upper) crossed the threshold and why each side ended."""
    finite = np.isfinite(delta)
    if all(e is WalkEnd.BOUND for e in ends) and np.all(finite) and np.max(delta) <= flat_tolerance:
        return Identifiability.STRUCTURALLY_NON_IDENTIFIABLE
    if all(crossed):
        return Identifiability.IDENTIFIABLE
    open_sides = [end for c, end in zip(crossed, ends, strict=True) if not c]
    if all(end is WalkEnd.BOUND for end in open_sides):
        return Identifiability.PRACTICALLY_NON_IDENTIFIABLE
    return Identifiability.INCONCLUSIVE


# -- tracing ---------------------------------------------------------------------------------


@dataclass
class _Walk:
    index: int
    direction: int
    x: np.ndarray
    f: float
    step: float
    end: WalkEnd | None = None
    points: list = field(default_factory=list)


def profile_objective(
    objective: Objective,
    optimum: np.ndarray,
    *,
    indices: list[int] | None = None,
    config: ProfileConfig | None = None,
) -> ProfileResult:
    """Trace profiles of `objective` from `optimum` (see `profile`).

    Args:
        objective: the function and its bounds.
        optimum: `(n,)` start (estimation scale); it is re-optimised first.
        indices: positions of the parameters to profile (default: all).
        config: the settings.
    """
    config = ProfileConfig() if config is None else config
    indices = list(range(objective.size)) if indices is None else [int(i) for i in indices]
    lower, upper = objective.lower, objective.upper
    threshold = config.threshold
    centre = minimise_batch(objective, np.asarray(optimum, dtype=float)[None, :], optimizer=config.optimizer)
    x_c, f_c = centre.x[0], float(centre.fval[0])
    if not np.isfinite(f_c):
        raise InputError(f"the objective is not finite at the optimum to profile ({centre.message[0]})")
    walks = [_Walk(i, d, x_c.copy(), f_c, config.step.initial) for i in indices for d in (-1, 1)]
    for _ in range(config.max_points):
        for walk in walks:
            bound = lower[walk.index] if walk.direction < 0 else upper[walk.index]
            if walk.end is None and walk.x[walk.index] == bound:
                walk.end = WalkEnd.BOUND
        active = [w for w in walks if w.end is None]
        if not active:
            break
        x0 = np.array([w.x for w in active])
        low = np.tile(lower, (len(active), 1))
        high = np.tile(upper, (len(active), 1))
        for row, walk in enumerate(active):
            value = np.clip(walk.x[walk.index] + walk.direction * walk.step, lower[walk.index], upper[walk.index])
            x0[row, walk.index] = low[row, walk.index] = high[row, walk.index] = value
        batch = minimise_batch(objective, x0, low, high, optimizer=config.optimizer)
        change = batch.fval - np.array([w.f for w in active])
        last = np.array([w.step for w in active])
        steps = config.step.next(last, change, threshold)
        retries = config.step.retry(last, change, threshold)
        for row, walk in enumerate(active):
            f = float(batch.fval[row])
            walk.points.append((x0[row, walk.index], f, batch.x[row], int(batch.status[row])))
            if not np.isfinite(f):
                walk.end = WalkEnd.FAILED
                continue
            if np.isfinite(retries[row]):
                walk.step = float(retries[row])
                continue
            walk.x, walk.f, walk.step = batch.x[row], f, float(steps[row])
            if f - f_c > config.overshoot * threshold:
                walk.end = WalkEnd.THRESHOLD
    for walk in walks:
        if walk.end is None:
            bound = lower[walk.index] if walk.direction < 0 else upper[walk.index]
            walk.end = WalkEnd.BOUND if walk.x[walk.index] == bound else WalkEnd.MAX_POINTS
    reference = min([f_c] + [p[1] for w in walks for p in w.points if np.isfinite(p[1])])
    profiles = tuple(
        _assemble(objective, i, x_c, f_c, walks[2 * k], walks[2 * k + 1], reference, threshold, config)
        for k, i in enumerate(indices)
    )
    optimizer = config.optimizer
    metadata = {
        "optimizer": {"type": type(optimizer).__name__, **asdict(optimizer)},
        "step": {"type": type(config.step).__name__, **asdict(config.step)},
        "overshoot": config.overshoot, "max_points": config.max_points, "flat_tolerance": config.flat_tolerance,
    }
    return ProfileResult(
        parameter_ids=objective.parameter_ids, objective=objective.kind, optimum=x_c, optimum_fval=f_c,
        reference_fval=float(reference), threshold=threshold, confidence=config.confidence,
        profiles=profiles, metadata=metadata,
    )


def _assemble(objective, index, x_c, f_c, left: _Walk, right: _Walk, reference, threshold,
              config: ProfileConfig) -> ParameterProfile:
    centre = (x_c[index], f_c, x_c, 0)
    left_points = sorted(left.points, key=lambda p: p[0])  # retried walks are not monotone
    right_points = sorted(right.points, key=lambda p: p[0])
    ordered = left_points + [centre] + right_points
    values = np.array([p[0] for p in ordered], dtype=float)
    fval = np.array([p[1] for p in ordered], dtype=float)
    ci_lower, ci_upper, identifiability = assess(values, fval, len(left.points), reference, threshold,
                                                 (left.end, right.end), config.flat_tolerance)
    return ParameterProfile(
        parameter_id=objective.parameter_ids[index], index=index, values=values, fval=fval,
        x=np.array([p[2] for p in ordered], dtype=float), status=np.array([p[3] for p in ordered], dtype=int),
        ci_lower=ci_lower, ci_upper=ci_upper, identifiability=identifiability,
        lower_end=left.end, upper_end=right.end,
    )


def assess(values: np.ndarray, fval: np.ndarray, n_lower: int, reference: float, threshold: float,
           ends: tuple[WalkEnd, WalkEnd], flat_tolerance: float) -> tuple[float, float, Identifiability]:
    """The interval and class of one profile against the reference value `reference`.

    Args:
        values, fval: `(m,)` profile points sorted by value; `values[n_lower]` is the
            optimum (the `n_lower` points before it are the lower walk).
        reference: `min f` the threshold refers to.
        threshold: `Delta` of the interval `{f - reference <= Delta}`.
        ends: why the lower and upper walks stopped.
        flat_tolerance: see `ProfileConfig`.

    Returns:
        `ci_lower`, `ci_upper` (estimation scale; NaN where not crossed) and the class.
    """
    delta = fval - reference
    k = n_lower
    ci_lower = crossing(values[k::-1], delta[k::-1], threshold)
    ci_upper = crossing(values[k:], delta[k:], threshold)
    crossed = (bool(np.isfinite(ci_lower)), bool(np.isfinite(ci_upper)))
    return ci_lower, ci_upper, classify(delta, crossed, ends, flat_tolerance)


def profile(
    problem: Problem,
    optimum: np.ndarray,
    *,
    objective: ObjectiveKind,
    parameters: list[str] | None = None,
    config: ProfileConfig | None = None,
) -> ProfileResult:
    """Profile likelihoods (or posteriors) of `problem`'s parameters from `optimum`.

    Args:
        problem: the estimation problem (bounds from its parameter table).
        optimum: `(n,)` optimum on the estimation scale, e.g.
            `MultistartResult.best_x`; it is re-optimised first.
        objective: `NEGATIVE_LOG_LIKELIHOOD` for profile likelihoods.
        parameters: ids to profile (default: all estimated parameters).
        config: step rule, threshold level, budgets, optimiser.

    Returns:
        the `ProfileResult` (intervals and classification per parameter).
    """
    target = Objective.from_problem(problem, objective)
    ids = target.parameter_ids
    if parameters is None:
        indices = list(range(len(ids)))
    else:
        unknown = [p for p in parameters if p not in ids]
        if unknown:
            raise InputError(f"unknown parameter id(s) {unknown}; estimated parameters are {list(ids)}")
        indices = [ids.index(p) for p in parameters]
    result = profile_objective(target, optimum, indices=indices, config=config)
    return replace(result, metadata={**result.metadata, "problem": problem.name})

