"""Import an experiment or benchmark script (not a package module) by its path."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

EXPERIMENTS = Path(__file__).resolve().parents[2] / "experiments"


def load_script(relative_path: str) -> ModuleType:
    """The script `experiments/<relative_path>` as a module named after its file.

    The module is registered in `sys.modules` (unless one of that name is already
    there), since dataclasses defined in it look their module up there.
    """
    path = EXPERIMENTS / relative_path
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(path.stem, module)
    spec.loader.exec_module(module)
    return module
