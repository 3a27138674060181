"""The package's one place for JAX configuration: float64 everywhere."""

import jax

jax.config.update("jax_enable_x64", True)
