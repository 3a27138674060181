"""A short NUTS run on the real Boehm 2014 data completes (the issue's acceptance check).

Kept short for CI (one chain, 15 + 15 iterations, tree depth <= 4, started at the
published optimum); the longer two-chain run is `test_nuts.py`'s slow test and
`experiments/boehm_nuts.py`.
"""

from __future__ import annotations

import numpy as np

from jakinfer.analysis.posterior import to_inference_data
from jakinfer.infer.nuts import NutsConfig, sample_posterior
from jakinfer.io.bundled import resolve_problem_path
from jakinfer.io.petab import read_petab


def test_short_boehm_nuts_run_completes_near_the_published_optimum():
    boehm = read_petab(resolve_problem_path("boehm2014"))
    config = NutsConfig(chains=1, warmup=15, draws=15, seed=3, max_tree_depth=4, progress_bar=False)
    idata = to_inference_data(boehm, sample_posterior(boehm, config))

    assert idata.posterior["theta"].shape == (1, 15, 9)
    assert list(idata.posterior["parameter"].values) == list(boehm.parameters.ids)
    theta = idata.posterior["theta"].values.reshape(-1, 9)
    assert np.all(theta >= boehm.parameters.lower) and np.all(theta <= boehm.parameters.upper)
    assert np.isfinite(idata.sample_stats["lp"].values).all()
    # every draw is an honest evaluation of the real likelihood: near the optimum (138.22),
    # never better than it by more than the solver tolerance, never a failed solve
    nllh = -idata.log_likelihood["y"].values.sum(-1)
    assert np.all(nllh > 138.2219969 - 1e-3) and np.all(nllh < 200.0)
    assert idata.posterior_predictive["y"].shape == (1, 15, 48)
