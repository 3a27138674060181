"""Every name `jakinfer` re-exports resolves to the object of the module it names."""

import importlib

import pytest

import jakinfer


@pytest.mark.parametrize("name", jakinfer.__all__)
def test_public_name_resolves(name):
    module = importlib.import_module(jakinfer._EXPORTS[name])
    assert getattr(jakinfer, name) is getattr(module, name)


def test_unknown_name_raises_attribute_error():
    with pytest.raises(AttributeError, match="no_such_thing"):
        jakinfer.no_such_thing  # noqa: B018


def test_float64_is_on():
    import jax.numpy as jnp

    assert jnp.asarray(1.0).dtype == jnp.float64
