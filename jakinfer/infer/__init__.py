"""Inference algorithms over a `Problem`: NUTS with numpyro (`nuts`); MAP multistart in `optimize`."""

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
