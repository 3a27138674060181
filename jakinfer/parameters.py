"""Estimated parameters: scales, bounds, nominal values and priors.

Three scales exist for a parameter value `p > 0` (PEtab's `parameterScale`):
`lin` (p), `log` (ln p) and `log10` (log10 p). Inference works on the
*estimation scale*: the vector `theta` holds each estimated parameter on its own
scale, in the order of `ParameterSpace.ids`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import jax.numpy as jnp
import numpy as np

Scale = Literal["lin", "log", "log10"]
SCALES: tuple[Scale, ...] = ("lin", "log", "log10")

PriorType = Literal[
    "uniform",
    "normal",
    "laplace",
    "logNormal",
    "logLaplace",
    "parameterScaleUniform",
    "parameterScaleNormal",
    "parameterScaleLaplace",
    "cauchy",
    "chisquare",
    "exponential",
    "gamma",
    "logUniform",
    "rayleigh",
]
PRIOR_TYPES: tuple[str, ...] = PriorType.__args__[:8]  # type: ignore[attr-defined]
"""The PEtab v1 `objectivePriorType`s."""

_SCALE_CODE = {"lin": 0, "log": 1, "log10": 2}
_LN10 = math.log(10.0)


def to_linear(values, scale_codes):
    """Map values on the estimation scale to linear scale (elementwise).

    Args:
        values: array `(..., n)` on the estimation scale.
        scale_codes: int array `(n,)`: 0 lin, 1 log, 2 log10.
    """
    return jnp.where(
        scale_codes == 0, values, jnp.where(scale_codes == 1, jnp.exp(values), jnp.power(10.0, values))
    )


def to_scale(values, scale: Scale) -> np.ndarray:
    """Map linear values (NumPy, not traced) to `scale`."""
    values = np.asarray(values, dtype=float)
    if scale == "lin":
        return values
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(values) if scale == "log" else np.log10(values)


@dataclass(frozen=True)
class Prior:
    """A prior of one parameter, PEtab v1 `objectivePriorType` semantics, and the
    PEtab v2 `priorDistribution`s.

    `uniform`/`normal`/`laplace`/`logNormal`/`logLaplace` and the v2 kinds are
    densities of the linear-scale value; the `parameterScale*` types are densities
    of the value on the estimation scale. `ParameterSpace.log_prior` returns the
    density of the value on the estimation scale (the Jacobian of the scale change
    included), so that the posterior over `theta` is the correct transformed density.

    Parameters `(a, b)`: uniform and logUniform: bounds; normal, laplace, cauchy:
    location, scale; logNormal, logLaplace: location and scale of `ln x`; gamma:
    shape, scale; one-parameter kinds (`b` unused, NaN): chisquare: degrees of
    freedom; exponential: scale; rayleigh: scale.

    Attributes:
        log_mass: log of the prior's probability inside the parameter's bounds,
            subtracted from its log density (PEtab v2 truncates every prior to the
            bounds); 0 for no truncation (PEtab v1).
    """

    kind: str
    a: float
    b: float = math.nan
    log_mass: float = 0.0

    def linear_distribution(self):
        """The frozen `scipy.stats` distribution of the value the prior is a density
        of (linear value; the estimation-scale value for `parameterScale*` kinds)."""
        from scipy import stats

        a, b = self.a, self.b
        kind = self.kind.removeprefix("parameterScale")
        kind = kind[0].lower() + kind[1:]
        factories = {
            "uniform": lambda: stats.uniform(a, b - a),
            "normal": lambda: stats.norm(a, b),
            "laplace": lambda: stats.laplace(a, b),
            "logNormal": lambda: stats.lognorm(s=b, scale=math.exp(a)),
            "logLaplace": lambda: stats.loglaplace(c=1.0 / b, scale=math.exp(a)),
            "cauchy": lambda: stats.cauchy(a, b),
            "chisquare": lambda: stats.chi2(a),
            "exponential": lambda: stats.expon(scale=a),
            "gamma": lambda: stats.gamma(a, scale=b),
            "logUniform": lambda: stats.loguniform(a, b),
            "rayleigh": lambda: stats.rayleigh(scale=a),
        }
        if kind not in factories:
            raise ValueError(f"unknown prior type {self.kind!r}")
        return factories[kind]()

    def log_density_linear(self, x):
        """Log density of the *linear* value `x` (or estimation-scale value for
        `parameterScale*` priors), without the Jacobian."""
        a, b = self.a, self.b
        kind = self.kind.removeprefix("parameterScale")
        kind = kind[0].lower() + kind[1:]
        if kind == "uniform":
            inside = (x >= a) & (x <= b)
            return jnp.where(inside, -math.log(b - a), -jnp.inf)
        if kind == "normal":
            return -0.5 * math.log(2 * math.pi) - math.log(b) - 0.5 * ((x - a) / b) ** 2
        if kind == "laplace":
            return -math.log(2 * b) - jnp.abs(x - a) / b
        if kind in ("logNormal", "logLaplace"):
            # zero density at x <= 0; the log of a safe value keeps gradients finite
            positive = x > 0
            logx = jnp.log(jnp.where(positive, x, 1.0))
            if kind == "logNormal":
                density = -0.5 * math.log(2 * math.pi) - math.log(b) - logx - 0.5 * ((logx - a) / b) ** 2
            else:
                density = -math.log(2 * b) - logx - jnp.abs(logx - a) / b
            return jnp.where(positive, density, -jnp.inf)
        if kind == "cauchy":
            return -math.log(math.pi * b) - jnp.log1p(((x - a) / b) ** 2)
        if kind == "exponential":
            return jnp.where(x >= 0, -math.log(a) - x / a, -jnp.inf)
        if kind in ("chisquare", "gamma", "logUniform", "rayleigh"):
            positive = x > 0
            safe = jnp.where(positive, x, 1.0)
            logx = jnp.log(safe)
            if kind == "chisquare":
                density = (a / 2 - 1) * logx - safe / 2 - (a / 2) * math.log(2.0) - math.lgamma(a / 2)
            elif kind == "gamma":
                density = (a - 1) * logx - safe / b - math.lgamma(a) - a * math.log(b)
            elif kind == "rayleigh":
                density = logx - 2 * math.log(a) - safe**2 / (2 * a**2)
            else:
                inside = (x >= a) & (x <= b)
                density = jnp.where(inside, -logx - math.log(math.log(b) - math.log(a)), -jnp.inf)
            return jnp.where(positive, density, -jnp.inf)
        raise ValueError(f"unknown prior type {self.kind!r}")


@dataclass(frozen=True)
class ParameterSpace:
    """The estimated parameters of a problem.

    Attributes:
        ids: `n` parameter ids, the order of `theta`.
        scales: `n` scales (`lin`, `log`, `log10`).
        lower, upper: `(n,)` bounds on the estimation scale.
        nominal: `(n,)` nominal values on the estimation scale (NaN where none).
        priors: `n` priors, `None` meaning uniform on the estimation scale within
            the bounds.
        names: `n` display names (PEtab `parameterName`, else the id).
    """

    ids: tuple[str, ...]
    scales: tuple[Scale, ...]
    lower: np.ndarray
    upper: np.ndarray
    nominal: np.ndarray
    priors: tuple[Prior | None, ...]
    names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        n = len(self.ids)
        for name in ("lower", "upper", "nominal"):
            if np.shape(getattr(self, name)) != (n,):
                raise ValueError(f"{name} must have shape ({n},)")
        if not self.names:
            object.__setattr__(self, "names", self.ids)

    @property
    def size(self) -> int:
        return len(self.ids)

    @property
    def scale_codes(self) -> np.ndarray:
        return np.array([_SCALE_CODE[s] for s in self.scales], dtype=np.int32)

    def to_linear(self, theta):
        """`theta` `(..., n)` on the estimation scale -> linear values."""
        return to_linear(theta, self.scale_codes)

    def log_prior(self, theta):
        """Log prior density of `theta` `(n,)` on the estimation scale.

        `-inf` outside the bounds. Parameters without a prior get the uniform
        density `1 / (upper - lower)` on the estimation scale.
        """
        theta = jnp.asarray(theta)
        inside = jnp.all((theta >= self.lower) & (theta <= self.upper))
        total = 0.0
        for i, prior in enumerate(self.priors):
            value = theta[i]
            if prior is None:
                total = total - math.log(self.upper[i] - self.lower[i])
                continue
            if prior.kind.startswith("parameterScale"):
                total = total + prior.log_density_linear(value) - prior.log_mass
                continue
            scale = self.scales[i]
            linear = value if scale == "lin" else (jnp.exp(value) if scale == "log" else 10.0**value)
            # d linear / d theta: 1, linear, linear * ln 10
            log_jacobian = 0.0 if scale == "lin" else (value if scale == "log" else value * _LN10 + math.log(_LN10))
            total = total + prior.log_density_linear(linear) + log_jacobian - prior.log_mass
        return jnp.where(inside, total, -jnp.inf)
