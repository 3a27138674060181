"""A reaction network with data, as PEtab tables and as a `Problem`.

`petab_tables(network, data)` writes the PEtab v1 tables (strings) of a
`jakinfer.model.dsl.ReactionNetwork` with its measurements (`TidyData`);
`network_problem(network, data)` builds the `Problem` from them with the PEtab
builder, so a DSL model and a PEtab problem read from files go through the same
validation and end in the same `Problem`. (`jakinfer.io.export.write_petab`
writes the tables and the SBML model to files.)
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from jakinfer.errors import InputError
from jakinfer.io.export import PetabTables, petab_formula, write_petab
from jakinfer.io.petab import build_problem
from jakinfer.io.tidy import TidyData
from jakinfer.model.dsl import ReactionNetwork
from jakinfer.problem import Problem
from jakinfer.simulate import SolverConfig


def petab_tables(network: ReactionNetwork, data: TidyData) -> PetabTables:
    """The PEtab v1 tables (strings) of `network` with `data`.

    Raises:
        InputError: naming the data file, line and column, for an unknown
            observable, a condition column that is not a model quantity or
            sets an estimated parameter, a `sigma` given for an observable
            with a noise formula, or missing for one without.
    """
    model = network.to_symbolic()
    data.check(observables=network.observable_ids, targets=network.condition_targets())
    condition_columns = [c for c in data.conditions.columns if c != "condition"]
    by_id = {p.id: p for p in network.parameters}
    for column in condition_columns:
        if column in by_id and by_id[column].estimate:
            raise InputError(f"parameter {column!r} is estimated, so a condition cannot set it",
                             file=data.conditions_file, row=1, column=column)
        if column in by_id and column not in model.parameter_ids:
            raise InputError(f"parameter {column!r} is not used by the model equations, so a condition "
                             "cannot set it", file=data.conditions_file, row=1, column=column)
    network.check_observables(model)
    network.check_parameters_used(model)
    sigma_given = data.measurements["sigma"].notna().to_numpy()
    for row, (observable_id, given) in enumerate(zip(data.measurements["observable"], sigma_given,
                                                     strict=True)):
        spec = network.observables[network.observable_ids.index(observable_id)]
        if spec.noise is not None and given:
            raise InputError(f"observable {observable_id!r} has the noise formula {spec.noise}; drop the "
                             "sigma of its rows (TidyData.without_sigma) or define it with noise=None",
                             **data.where(row, "sigma"))
        if spec.noise is None and not given:
            raise InputError(f"observable {observable_id!r} has no noise formula, so every measurement "
                             "of it needs a sigma", **data.where(row, "sigma"))

    parameter_rows = []
    for p in network.parameters:
        if p.id in condition_columns:
            continue
        parameter_rows.append({
            "parameterId": p.id,
            "parameterName": p.name or p.id,
            "parameterScale": p.scale,
            "lowerBound": _number(p.lower) if p.estimate else "",
            "upperBound": _number(p.upper) if p.estimate else "",
            "nominalValue": _number(p.value),
            "estimate": "1" if p.estimate else "0",
            "objectivePriorType": p.prior.kind if p.prior is not None and p.estimate else "",
            "objectivePriorParameters": (f"{_number(p.prior.a)};{_number(p.prior.b)}"
                                         if p.prior is not None and p.estimate else ""),
        })
    observable_rows = []
    for spec in network.observables:
        noise = f"noiseParameter1_{spec.id}" if spec.noise is None else petab_formula(spec.noise)
        observable_rows.append({
            "observableId": spec.id,
            "observableName": spec.name,
            "observableFormula": petab_formula(spec.formula),
            "noiseFormula": noise,
            "observableTransformation": spec.transformation,
            "noiseDistribution": spec.distribution,
        })
    condition_rows = []
    listed = list(data.conditions["condition"])
    for condition_id in dict.fromkeys([*listed, *data.measurements["condition"]]):
        row = {"conditionId": condition_id}
        if condition_id in listed:
            values = data.conditions.iloc[listed.index(condition_id)]
            for column in condition_columns:
                value = values[column]
                row[column] = "" if pd.isna(value) else _number(value)
        else:
            row.update({column: "" for column in condition_columns})
        condition_rows.append(row)
    m = data.measurements
    measurement_rows = [{
        "observableId": observable_id,
        "simulationConditionId": condition_id,
        "measurement": _number(value),
        "time": _number(time),
        "noiseParameters": "" if np.isnan(sigma) else _number(sigma),
        "replicateId": replicate,
    } for observable_id, condition_id, value, time, sigma, replicate in zip(
        m["observable"], m["condition"], m["value"], m["time"], m["sigma"], m["replicate"], strict=True)]

    source = data.file
    return PetabTables(
        parameters=_table(parameter_rows, f"{network.name} parameter table (generated)",
                          ["parameterId", "parameterName", "parameterScale", "lowerBound", "upperBound",
                           "nominalValue", "estimate", "objectivePriorType", "objectivePriorParameters"]),
        observables=_table(observable_rows, f"{network.name} observable table (generated)",
                           ["observableId", "observableName", "observableFormula", "noiseFormula",
                            "observableTransformation", "noiseDistribution"]),
        conditions=_table(condition_rows, f"{network.name} condition table (generated from "
                                          f"{data.conditions_file or source})",
                          ["conditionId", *condition_columns]),
        measurements=_table(measurement_rows, source,
                            ["observableId", "simulationConditionId", "measurement", "time",
                             "noiseParameters", "replicateId"], lines=data.lines),
    )


def network_problem(network: ReactionNetwork, data: TidyData, *, name: str | None = None,
                    solver: SolverConfig | None = None) -> Problem:
    """The `Problem` of `network` with `data`, built by the PEtab builder (`petab_tables`)."""
    tables = petab_tables(network, data)
    problem = build_problem(network.to_symbolic(), tables.parameters, tables.observables, tables.conditions,
                            tables.measurements, name=name or network.name,
                            source=f"network {network.name} with data {data.file}")
    return problem if solver is None else problem.with_solver(solver)


def write_petab_from_tidy(network: ReactionNetwork, data: TidyData, directory: str | Path, *,
                          name: str | None = None) -> Path:
    """Write `network` with `data` as a PEtab v1 problem into `directory`.

    Returns:
        the path of the YAML file (read it back with `jakinfer.read_petab`).
    """
    return write_petab(directory, network, petab_tables(network, data), name=name or network.name)


def _number(value) -> str:
    """Shortest text that reads back as the same float."""
    value = float(value)
    if value == int(value) and abs(value) < 1e16:
        return str(int(value)) if value != 0 or np.copysign(1, value) > 0 else "0"
    return repr(value)


def _table(rows: list[dict], file: str, columns: list[str], lines: Iterable[int] | None = None) -> pd.DataFrame:
    table = pd.DataFrame(rows, columns=columns, dtype=object).fillna("")
    table.attrs["file"] = file
    table.attrs["lines"] = list(lines) if lines is not None else list(range(2, len(rows) + 2))
    table.attrs["files"] = [file] * len(rows)
    return table
