"""Inference algorithms over a `Problem`: NUTS with numpyro (`nuts`); MAP multistart in `optimize`
(optimisers: `fisher_trust_region` on the Fisher information of `fisher`, `projected_bfgs`)."""

from jakinfer.infer.nuts import (
    CHAIN_METHODS,
    INIT_STRATEGIES,
    ChainMethod,
    FailureMonitor,
    InitStrategy,
    NutsConfig,
    NutsSampler,
    NutsSamples,
    checkpoint_draws,
    posterior_model,
    sample_posterior,
)

__all__ = [
    "CHAIN_METHODS",
    "INIT_STRATEGIES",
    "ChainMethod",
    "FailureMonitor",
    "InitStrategy",
    "NutsConfig",
    "NutsSampler",
    "NutsSamples",
    "checkpoint_draws",
    "posterior_model",
    "sample_posterior",
]
