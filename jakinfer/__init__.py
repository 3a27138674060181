"""jakinfer: Bayesian parameter inference for JAK-STAT signalling models."""

from jakinfer import _jax_config  # noqa: F401  (float64 before any JAX array exists)
