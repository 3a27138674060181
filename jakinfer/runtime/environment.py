"""The software and machine a run was made with, for the records of run directories."""

from __future__ import annotations

import importlib.metadata
import os
import platform

import jax

VERSIONED_PACKAGES: tuple[str, ...] = ("jakinfer", "jax", "jaxlib", "diffrax", "equinox", "numpyro", "arviz",
                                       "numpy", "xarray")
"""The packages whose versions `environment_record` lists."""


def package_version(package: str) -> str:
    """The installed version of `package`, or `"unknown"`."""
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def environment_record() -> dict:
    """Package versions and platform, for `run.json`."""
    versions = {package: package_version(package) for package in VERSIONED_PACKAGES}
    versions["python"] = platform.python_version()
    return {
        "versions": versions,
        "platform": {
            "system": platform.platform(),
            "machine": platform.machine(),
            "jax_backend": jax.default_backend(),
            "jax_devices": [str(device) for device in jax.devices()],
            "cpu_count": os.cpu_count(),
        },
    }
