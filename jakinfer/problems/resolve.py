"""PROBLEM arguments of the command line: every way to name a problem, resolved to a `Problem`.

A PROBLEM is one of (`jakinfer models` lists the names):

* a bundled PEtab problem name (`boehm2014`);
* a built-in model name (`swameye2003`, `jakstat_core`; `jakinfer.problems.MODELS`), with its
  shipped data, or with the user's data (`data=`);
* `pathway:CYTOKINE[:KEY=VALUE,...]`, a JAK-STAT pathway built by `jakinfer.model.pathway.pathway`
  (e.g. `pathway:IL-6`, `pathway:IL-6:inhibitor=tofacitinib,feedback=none`); it ships no data, so
  `data=` is needed;
* a Python file (`model.py`) that defines `problem()` (returning a `Problem`) or `network()`
  (returning a `ReactionNetwork`; with `data=`, or with a `data()` returning `TidyData`);
* a PEtab YAML file.

`data` is a tidy measurement CSV (`jakinfer.io.tidy`) and `conditions` its optional conditions
CSV; they go with a model given as a network (built-in, pathway or Python file), never with a PEtab
problem (which brings its own measurement table).
"""

from __future__ import annotations

import runpy
from dataclasses import dataclass
from pathlib import Path

from jakinfer.errors import InputError
from jakinfer.io.bundled import BUNDLED_PETAB_PROBLEMS, resolve_problem_path
from jakinfer.io.network import network_problem
from jakinfer.io.petab import read_petab
from jakinfer.io.tidy import TidyData, read_tidy
from jakinfer.model.dsl import ReactionNetwork
from jakinfer.problem import Problem
from jakinfer.problems import MODELS

PATHWAY_PREFIX = "pathway:"

PATHWAY_OPTIONS: dict[str, str] = {
    "inhibitor": "an inhibitor of the catalogue (e.g. tofacitinib)",
    "feedback": "socs or none",
    "stat": "a STAT, or two joined by + (STAT1+STAT3)",
    "jaks": "the JAKs of the two receptor chains, joined by + (JAK1+JAK2)",
    "assay": "enzymatic or cellular (which inhibitor potencies)",
    "unknown_ic50": "error or uninhibited",
    "nuclear_observable": "true or false",
    "unphosphorylated_dimers": "true or false",
}
"""Options of a `pathway:` PROBLEM -> what they take (the arguments of `pathway()`)."""


@dataclass(frozen=True)
class ModelEntry:
    """One line of `jakinfer models`: a PROBLEM name and what it is."""

    name: str
    kind: str
    description: str


def model_entries() -> list[ModelEntry]:
    """Every named PROBLEM: bundled PEtab problems, built-in models, the pathway builder."""
    entries = [ModelEntry(name, "PEtab", f"bundled PEtab problem ({path.split('/')[-1]})")
               for name, path in sorted(BUNDLED_PETAB_PROBLEMS.items())]
    for name, module in sorted(MODELS.items()):
        title = (module.__doc__ or name).strip().splitlines()[0].rstrip(".")
        kind = "model" if name not in BUNDLED_PETAB_PROBLEMS else "model (with --data)"
        entries.append(ModelEntry(name, kind, title))
    from jakinfer.model.wiring import WIRING

    entries.append(ModelEntry(f"{PATHWAY_PREFIX}CYTOKINE[:KEY=VALUE,...]", "pathway (needs --data)",
                              f"JAK-STAT pathway of one of {', '.join(sorted(WIRING))}; keys: "
                              f"{', '.join(PATHWAY_OPTIONS)}"))
    entries.append(ModelEntry("receptor", "model (sbc only)", "receptor -> pSTAT calibration problem of "
                              "`jakinfer sbc`"))
    return entries


def load_problem(spec: str, *, data: str | Path | None = None, conditions: str | Path | None = None) -> Problem:
    """The `Problem` a PROBLEM argument names (see the module docstring).

    Raises:
        InputError: an unknown name, a file that is neither PEtab YAML nor Python, a pathway
            option that does not exist or a bad value, `data` with a PEtab problem, a model
            without data, or any error of the files read (naming file, row and column).
    """
    spec = str(spec)
    if conditions is not None and data is None:
        raise InputError("a conditions file goes with a measurement file (--data)", file=str(conditions))
    if spec.startswith(PATHWAY_PREFIX):
        return _with_data(_pathway_network(spec), None, data, conditions, spec)
    path = Path(spec)
    if path.suffix == ".py":
        return _python_problem(path, data, conditions)
    if spec in MODELS and (data is not None or spec not in BUNDLED_PETAB_PROBLEMS):
        module = MODELS[spec]
        return module.problem() if data is None else _with_data(module.network(), None, data, conditions, spec)
    if data is not None:
        raise InputError("a PEtab problem brings its own measurement table; --data goes with a built-in "
                         "model, a pathway:CYTOKINE or a Python file defining network()", file=str(data))
    if spec == "receptor":
        raise InputError("receptor is the calibration problem of `jakinfer sbc receptor` (it is written as "
                         "PEtab files into the SBC run directory); other commands take its PEtab YAML there")
    if spec in BUNDLED_PETAB_PROBLEMS or path.is_file():
        return read_petab(resolve_problem_path(spec))
    raise InputError(f"no such problem: not a file, nor a name of `jakinfer models` "
                     f"({', '.join(dict.fromkeys(e.name.split(':')[0] for e in model_entries()))})", file=spec)


def _with_data(network: ReactionNetwork, shipped: TidyData | None, data, conditions, spec: str) -> Problem:
    if data is None and shipped is None:
        raise InputError(f"{spec!r} ships no measurements; give them with --data MEASUREMENTS.csv "
                         "(tidy CSV: observable, time, value[, condition, sigma, replicate])")
    tidy = shipped if data is None else read_tidy(data, conditions, network=network)
    return network_problem(network, tidy)


def _pathway_network(spec: str) -> ReactionNetwork:
    from jakinfer.model.pathway import pathway

    cytokine, _, options_text = spec[len(PATHWAY_PREFIX):].partition(":")
    if not cytokine:
        raise InputError(f"{spec!r}: name a cytokine, e.g. pathway:IL-6")
    options: dict[str, object] = {}
    for item in filter(None, (part.strip() for part in options_text.split(","))):
        key, equals, value = item.partition("=")
        if not equals or key not in PATHWAY_OPTIONS:
            raise InputError(f"{spec!r}: unknown pathway option {item!r}; options: "
                             + "; ".join(f"{k}=<{v}>" for k, v in PATHWAY_OPTIONS.items()))
        options[key] = _option_value(spec, key, value.strip())
    return pathway(cytokine, **options)


def _option_value(spec: str, key: str, value: str) -> object:
    if key in ("nuclear_observable", "unphosphorylated_dimers"):
        if value.lower() not in ("true", "false"):
            raise InputError(f"{spec!r}: {key} must be true or false, got {value!r}")
        return value.lower() == "true"
    if key == "feedback":
        return None if value.lower() == "none" else value
    if key in ("stat", "jaks"):
        parts = tuple(part for part in value.split("+") if part)
        return parts[0] if key == "stat" and len(parts) == 1 else parts
    return value


def _python_problem(path: Path, data, conditions) -> Problem:
    if not path.is_file():
        raise InputError("Python model file not found", file=str(path))
    namespace = runpy.run_path(str(path), run_name=f"jakinfer_model_{path.stem}")
    if data is None and callable(namespace.get("problem")):
        problem = namespace["problem"]()
        if not isinstance(problem, Problem):
            raise InputError(f"problem() returned a {type(problem).__name__}, not a jakinfer Problem",
                             file=str(path))
        return problem
    if not callable(namespace.get("network")):
        raise InputError("a Python model file must define problem() (a Problem) or network() (a "
                         "ReactionNetwork, with --data or a data() returning TidyData)", file=str(path))
    network = namespace["network"]()
    if not isinstance(network, ReactionNetwork):
        raise InputError(f"network() returned a {type(network).__name__}, not a ReactionNetwork", file=str(path))
    shipped = namespace["data"]() if data is None and callable(namespace.get("data")) else None
    return _with_data(network, shipped, data, conditions, str(path))
