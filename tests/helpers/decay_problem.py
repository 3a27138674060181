"""A one-state decay problem `dx/dt = -k x`, `x(0) = x0`, written as PEtab files.

Small enough for NUTS in seconds, and its posterior has an independent reference:
the analytic solution `x(t) = x0 exp(-k t)` on a grid (`reference_log_posterior`).

Estimated: `k` (log10 scale, uniform prior on [-2, 1]) and `x0` (linear scale,
`parameterScaleNormal(1.3, 0.15)` prior truncated to [0.1, 5]). Noise: normal, sigma 0.1.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from jakinfer.infer.nuts import NutsConfig, NutsSamples

TIMES = np.array([0.5, 1.0, 2.0, 3.0, 4.0])
# x0 exp(-k t) at k = 0.5, x0 = 1, plus fixed N(0, 0.1) noise.
VALUES = np.exp(-0.5 * TIMES) + np.array([0.052, -0.113, 0.071, 0.018, -0.046])
SIGMA = 0.1
K_BOUNDS_LOG10 = (-2.0, 1.0)
X0_BOUNDS = (0.1, 5.0)
X0_PRIOR = (1.3, 0.15)

_SBML = """<?xml version="1.0" encoding="UTF-8"?>
<sbml xmlns="http://www.sbml.org/sbml/level3/version1/core" level="3" version="1">
  <model id="decay">
    <listOfCompartments>
      <compartment id="cell" spatialDimensions="3" size="1" constant="true"/>
    </listOfCompartments>
    <listOfSpecies>
      <species id="x" compartment="cell" initialConcentration="1" hasOnlySubstanceUnits="false"
               boundaryCondition="false" constant="false"/>
    </listOfSpecies>
    <listOfParameters>
      <parameter id="k" value="0.5" constant="true"/>
    </listOfParameters>
    <listOfReactions>
      <reaction id="decay" reversible="false" fast="false">
        <listOfReactants>
          <speciesReference species="x" stoichiometry="1" constant="true"/>
        </listOfReactants>
        <kineticLaw>
          <math xmlns="http://www.w3.org/1998/Math/MathML">
            <apply><times/><ci>cell</ci><ci>k</ci><ci>x</ci></apply>
          </math>
        </kineticLaw>
      </reaction>
    </listOfReactions>
  </model>
</sbml>
"""


def write_decay_problem(directory: Path) -> Path:
    """Write the PEtab files into `directory`; return the YAML path."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "model.xml").write_text(_SBML)
    (directory / "conditions.tsv").write_text("conditionId\tx\nc0\tx0\n")
    (directory / "observables.tsv").write_text(
        "observableId\tobservableName\tobservableFormula\tnoiseFormula\n"
        "x_obs\tx observed\tx\tnoiseParameter1_x_obs\n"
    )
    rows = "".join(f"x_obs\tc0\t{float(v)!r}\t{float(t)!r}\t{SIGMA}\n" for t, v in zip(TIMES, VALUES, strict=True))
    (directory / "measurements.tsv").write_text(
        "observableId\tsimulationConditionId\tmeasurement\ttime\tnoiseParameters\n" + rows
    )
    (directory / "parameters.tsv").write_text(
        "parameterId\tparameterScale\tlowerBound\tupperBound\tnominalValue\testimate\t"
        "objectivePriorType\tobjectivePriorParameters\n"
        f"k\tlog10\t{10**K_BOUNDS_LOG10[0]}\t{10**K_BOUNDS_LOG10[1]}\t0.5\t1\t\t\n"
        f"x0\tlin\t{X0_BOUNDS[0]}\t{X0_BOUNDS[1]}\t1.0\t1\tparameterScaleNormal\t"
        f"{X0_PRIOR[0]};{X0_PRIOR[1]}\n"
    )
    yaml_path = directory / "decay.yaml"
    yaml_path.write_text(
        "format_version: 1\n"
        "parameter_file: parameters.tsv\n"
        "problems:\n"
        "- sbml_files: [model.xml]\n"
        "  condition_files: [conditions.tsv]\n"
        "  observable_files: [observables.tsv]\n"
        "  measurement_files: [measurements.tsv]\n"
    )
    return yaml_path


def reference_log_posterior(log10_k: np.ndarray, x0: np.ndarray) -> np.ndarray:
    """Unnormalised log posterior on the estimation scale from the analytic solution.

    Args:
        log10_k, x0: broadcastable arrays inside the bounds.
    """
    k = 10.0 ** np.asarray(log10_k)[..., None]
    simulated = np.asarray(x0)[..., None] * np.exp(-k * TIMES)
    log_likelihood = np.sum(
        -0.5 * math.log(2 * math.pi) - math.log(SIGMA) - 0.5 * ((VALUES - simulated) / SIGMA) ** 2, axis=-1
    )
    mean, sd = X0_PRIOR
    log_prior = -0.5 * ((np.asarray(x0) - mean) / sd) ** 2
    return log_likelihood + log_prior


def reference_moments(n: int = 801) -> dict[str, tuple[float, float]]:
    """Posterior mean and standard deviation of `k` (log10) and `x0` by grid quadrature."""
    log10_k = np.linspace(*K_BOUNDS_LOG10, n)
    x0 = np.linspace(*X0_BOUNDS, n)
    grid_k, grid_x0 = np.meshgrid(log10_k, x0, indexing="ij")
    log_density = reference_log_posterior(grid_k, grid_x0)
    weights = np.exp(log_density - log_density.max())
    weights /= weights.sum()
    moments = {}
    for name, values in (("k", grid_k), ("x0", grid_x0)):
        mean = float(np.sum(weights * values))
        moments[name] = (mean, float(np.sqrt(np.sum(weights * (values - mean) ** 2))))
    return moments


def fake_samples(chains: int = 2, draws: int = 40, seed: int = 0) -> NutsSamples:
    """Draws near the decay posterior with made-up sampler statistics (no sampling)."""
    rng = np.random.default_rng(seed)
    theta = np.stack([
        rng.normal(-0.2, 0.08, size=(chains, draws)),
        rng.normal(1.15, 0.1, size=(chains, draws)),
    ], axis=-1)
    stats = {
        "diverging": np.zeros((chains, draws), dtype=bool),
        "n_steps": rng.choice([1, 3, 7, 15, 1023], size=(chains, draws)),
        "acceptance_rate": rng.uniform(0.6, 1.0, size=(chains, draws)),
        "energy": rng.normal(size=(chains, draws)),
        "potential_energy": rng.normal(size=(chains, draws)),
        "step_size": np.full((chains, draws), 0.3),
    }
    return NutsSamples(theta=theta, stats=stats, config=NutsConfig(chains=chains, draws=draws, seed=seed))
