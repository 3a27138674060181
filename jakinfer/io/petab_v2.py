"""Read a PEtab v2 problem into the same `Problem` as PEtab v1.

PEtab v2 (`format_version: 2.0.0`) describes what is simulated by an
*experiment table*: each experiment is a sequence of periods, each starting at a
time point (`-inf`: pre-equilibration to steady state) where the conditions
listed for it are applied. A *condition table* in long format (`conditionId`,
`targetId`, `targetValue`) sets model parameters, species and compartments to
math expressions, evaluated on the values just before the change. Parameters are
estimated on linear scale, priors (`priorDistribution`, `priorParameters`) are
truncated to the bounds, noise models are named by `noiseDistribution`
(`normal`, `log-normal`, `laplace`, `log-laplace`) and observable placeholders
are declared (`observablePlaceholders`, `noisePlaceholders`). A mapping table
may name model entities by other ids in the PEtab tables (`petabEntityId` ->
`modelEntityId`).

Validation and error messages are those of the v1 reader (`jakinfer.io.petab`):
every error names the file, the row and the column. Refused with
`UnsupportedFeatureError`: several models, model languages other than SBML, a
parameter set from a state, SBML events (see `jakinfer.io.sbml`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import sympy as sp

from jakinfer.errors import InputError, UnsupportedFeatureError
from jakinfer.io.petab_v1 import _IDENTIFIER, _Builder, _float, _is_empty, _line_of, _parse_formula, _where
from jakinfer.io.sbml import read_sbml
from jakinfer.io.tables import concat_tables, read_tsv
from jakinfer.model.symbolic import TIME, SymbolicModel
from jakinfer.parameters import Prior
from jakinfer.problem import Experiments, Measurements, Periods, Problem, ValueMap

PRIOR_DISTRIBUTIONS: dict[str, tuple[str, int]] = {
    "uniform": ("uniform", 2),
    "normal": ("normal", 2),
    "laplace": ("laplace", 2),
    "log-normal": ("logNormal", 2),
    "log-laplace": ("logLaplace", 2),
    "log-uniform": ("logUniform", 2),
    "cauchy": ("cauchy", 2),
    "gamma": ("gamma", 2),
    "chisquare": ("chisquare", 1),
    "exponential": ("exponential", 1),
    "rayleigh": ("rayleigh", 1),
}
"""PEtab v2 `priorDistribution` -> (`Prior.kind`, number of `priorParameters`)."""

NOISE_DISTRIBUTIONS: dict[str, tuple[str, str]] = {
    "normal": ("lin", "normal"),
    "laplace": ("lin", "laplace"),
    "log-normal": ("log", "normal"),
    "log-laplace": ("log", "laplace"),
}
"""PEtab v2 `noiseDistribution` -> (observable transformation, distribution)."""

_TRUE = ("true", "1")
_FALSE = ("false", "0")


@dataclass(frozen=True)
class _ProblemFiles:
    sbml: Path
    parameters: list[Path]
    observables: list[Path]
    conditions: list[Path]
    experiments: list[Path]
    measurements: list[Path]
    mappings: list[Path]

    def all(self) -> list[Path]:
        return [self.sbml, *self.parameters, *self.observables, *self.conditions, *self.experiments,
                *self.measurements, *self.mappings]


def problem_files_v2(path: Path, content: dict, text: str) -> _ProblemFiles:
    """The files a PEtab v2 YAML mapping lists, each checked to exist.

    Raises:
        InputError: a missing key or file.
        UnsupportedFeatureError: several models, a model language other than SBML, extensions.
    """
    if content.get("extensions"):
        raise UnsupportedFeatureError("PEtab extensions", file=str(path), column="extensions")
    base = path.parent

    def listed(key: str, required: bool) -> list[Path]:
        value = content.get(key)
        if value is None or value == []:
            if required:
                raise InputError(f"missing {key!r}", file=str(path), column=key)
            return []
        values = value if isinstance(value, list) else [value]
        files = []
        for item in values:
            file = base / str(item)
            if not file.is_file():
                raise InputError(f"file listed under {key!r} not found: {file}", file=str(path),
                                 row=_line_of(text, str(item)), column=key)
            files.append(file)
        return files

    models = content.get("model_files")
    if not isinstance(models, dict) or not models:
        raise InputError("missing 'model_files' (a mapping of model id to language and location)",
                         file=str(path), column="model_files")
    if len(models) > 1:
        raise UnsupportedFeatureError("more than one model in one problem", file=str(path), column="model_files")
    (model_id, entry), = models.items()
    if not isinstance(entry, dict) or "location" not in entry:
        raise InputError(f"model {model_id!r} has no 'location'", file=str(path), column="model_files")
    language = str(entry.get("language", "sbml")).lower()
    if language != "sbml":
        raise UnsupportedFeatureError(f"model language {language!r} (only SBML is read)", file=str(path),
                                      row=_line_of(text, "language"), column="model_files")
    sbml = base / str(entry["location"])
    if not sbml.is_file():
        raise InputError(f"model file not found: {sbml}", file=str(path), row=_line_of(text, str(entry["location"])),
                         column="model_files")
    return _ProblemFiles(
        sbml=sbml,
        parameters=listed("parameter_files", True),
        observables=listed("observable_files", True),
        conditions=listed("condition_files", False),
        experiments=listed("experiment_files", False),
        measurements=listed("measurement_files", True),
        mappings=listed("mapping_files", False),
    )


def read_petab_v2(path: Path, content: dict, text: str) -> Problem:
    """Read a PEtab v2 problem given its YAML path, parsed mapping and text.

    Raises:
        InputError, UnsupportedFeatureError: as `jakinfer.io.petab.read_petab`.
    """
    files = problem_files_v2(path, content, text)
    model = read_sbml(files.sbml)
    optional = ("lowerBound", "upperBound", "nominalValue")
    parameter_table = concat_tables([_with_columns(read_tsv(p, required=("parameterId", "estimate")), optional)
                                     for p in files.parameters])
    observable_table = concat_tables([read_tsv(p, required=("observableId", "observableFormula", "noiseFormula"))
                                      for p in files.observables])
    condition_table = (concat_tables([read_tsv(p, required=("conditionId", "targetId", "targetValue"))
                                      for p in files.conditions]) if files.conditions else None)
    experiment_table = (concat_tables([read_tsv(p, required=("experimentId", "time", "conditionId"))
                                       for p in files.experiments]) if files.experiments else None)
    measurement_table = concat_tables([read_tsv(p, required=("observableId", "time", "measurement"))
                                       for p in files.measurements])
    aliases: dict[str, str] = {}
    for mapping in files.mappings:
        aliases.update(_aliases(read_tsv(mapping, required=("petabEntityId", "modelEntityId")), model))
    return _V2Builder(model, parameter_table, observable_table, condition_table, experiment_table,
                      measurement_table, name=path.stem, source=str(path), aliases=aliases).build()


def _aliases(table: pd.DataFrame, model: SymbolicModel) -> dict[str, str]:
    """PEtab id -> model entity id from a mapping table. Rows with an empty or identical
    `modelEntityId` only annotate (name) a PEtab id."""
    entities = {*model.state_ids, *model.parameter_ids, *model.expressions}
    aliases = {}
    for index, row in enumerate(table.to_dict("records")):
        petab_id, model_id = row["petabEntityId"].strip(), row["modelEntityId"].strip()
        if not _IDENTIFIER.match(petab_id):
            raise InputError(f"invalid petabEntityId {petab_id!r}", **_where(table, index, "petabEntityId"))
        if petab_id in aliases:
            raise InputError(f"duplicate petabEntityId {petab_id!r}", **_where(table, index, "petabEntityId"))
        if not model_id or model_id == petab_id:
            continue
        if model_id not in entities:
            raise InputError(f"modelEntityId {model_id!r} is not an entity of the model",
                             **_where(table, index, "modelEntityId"))
        if petab_id in entities:
            raise InputError(f"petabEntityId {petab_id!r} is already an entity of the model",
                             **_where(table, index, "petabEntityId"))
        aliases[petab_id] = model_id
    return aliases


def _with_columns(table: pd.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
    """`table` with the optional `columns` it lacks added as empty cells."""
    for column in columns:
        if column not in table.columns:
            table[column] = ""
    return table


def _empty_table(columns: tuple[str, ...], file: str) -> pd.DataFrame:
    table = pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    table.attrs.update(file=file, lines=[], files=[])
    return table


class _V2Builder(_Builder):
    def __init__(self, model: SymbolicModel, parameter_table, observable_table, condition_table,
                 experiment_table, measurement_table, *, name: str, source: str,
                 aliases: dict[str, str] | None = None) -> None:
        conditions = (condition_table if condition_table is not None
                      else _empty_table(("conditionId", "targetId", "targetValue"), "<no condition table>"))
        super().__init__(model, parameter_table, observable_table, conditions, measurement_table,
                         name=name, source=source)
        self.aliases = dict(aliases or {})
        self.experiment_table = (experiment_table if experiment_table is not None
                                 else _empty_table(("experimentId", "time", "conditionId"), "<no experiment table>"))

    def _formula(self, text: str, table, index: int, column: str, known: set[str]) -> sp.Expr:
        """A formula of a table cell, PEtab ids of the mapping table replaced by model ids."""
        expression = _parse_formula(text, table, index, column, known=known | set(self.aliases))
        replacements = {s: sp.Symbol(self.aliases[s.name], real=True)
                        for s in expression.free_symbols if s.name in self.aliases}
        return expression.xreplace(replacements) if replacements else expression

    # -- parameter table: linear scale, true/false, truncated priors ------------------
    def _condition_target_ids(self) -> set[str]:
        return {self.aliases.get(t.strip(), t.strip()) for t in self.condition_table["targetId"]}

    def _scale(self, row, index: int) -> str:
        return "lin"

    def _is_estimated(self, row, index: int) -> bool:
        text = row["estimate"].strip().lower()
        if text not in _TRUE + _FALSE:
            raise InputError(f"estimate must be true or false, got {row['estimate'].strip()!r}",
                             **_where(self.parameter_table, index, "estimate"))
        return text in _TRUE

    def _prior(self, row, index: int, low: float, high: float) -> Prior | None:
        table = self.parameter_table
        name = (row.get("priorDistribution") or "").strip()
        if _is_empty(name):
            return None
        if name not in PRIOR_DISTRIBUTIONS:
            raise InputError(f"priorDistribution {name!r} is not one of {tuple(PRIOR_DISTRIBUTIONS)}",
                             **_where(table, index, "priorDistribution"))
        kind, count = PRIOR_DISTRIBUTIONS[name]
        text = (row.get("priorParameters") or "").strip()
        parts = [] if _is_empty(text) else text.split(";")
        if len(parts) != count:
            raise InputError(f"a {name} prior takes {count} priorParameters separated by ';', got {text!r}",
                             **_where(table, index, "priorParameters"))
        values = [_float(part, table, index, "priorParameters") for part in parts]
        a, b = values[0], (values[1] if count == 2 else math.nan)
        if kind in ("uniform", "logUniform") and not a < b:
            raise InputError(f"a {name} prior needs lower < upper, got {text!r}",
                             **_where(table, index, "priorParameters"))
        if kind == "logUniform" and a <= 0:
            raise InputError(f"a log-uniform prior needs a lower bound > 0, got {a}",
                             **_where(table, index, "priorParameters"))
        scale = b if count == 2 and kind not in ("uniform", "logUniform") else a
        if kind not in ("uniform", "logUniform") and scale <= 0:
            raise InputError(f"the {name} prior's {'scale' if count == 2 else 'parameter'} must be > 0, "
                             f"got {scale}", **_where(table, index, "priorParameters"))
        prior = Prior(kind=kind, a=a, b=b)
        distribution = prior.linear_distribution()
        mass = float(distribution.cdf(high) - distribution.cdf(low))
        if not mass > 0:
            raise InputError(f"the {name} prior has no probability inside the bounds [{low}, {high}]",
                             **_where(table, index, "priorDistribution"))
        return Prior(kind=kind, a=a, b=b, log_mass=math.log(mass) if mass < 1 else 0.0)

    # -- observable table: noiseDistribution, declared placeholders --------------------
    def _noise_model(self, row, index: int) -> tuple[str, str]:
        name = (row.get("noiseDistribution") or "").strip() or "normal"
        if name not in NOISE_DISTRIBUTIONS:
            raise InputError(f"noiseDistribution {name!r} is not one of {tuple(NOISE_DISTRIBUTIONS)}",
                             **_where(self.observable_table, index, "noiseDistribution"))
        return NOISE_DISTRIBUTIONS[name]

    def _placeholders(self, row, index: int, observable_id: str, formula, noise_formula,
                      known: set[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
        table = self.observable_table
        declared = {}
        for column in ("observablePlaceholders", "noisePlaceholders"):
            text = (row.get(column) or "").strip()
            names = () if _is_empty(text) else tuple(name.strip() for name in text.split(";"))
            for name in names:
                if not _IDENTIFIER.match(name):
                    raise InputError(f"invalid placeholder id {name!r}", **_where(table, index, column))
                if name in known:
                    raise InputError(f"placeholder {name!r} is already an id of the model or parameter table",
                                     **_where(table, index, column))
            if len(set(names)) != len(names):
                raise InputError(f"duplicate placeholder in {text!r}", **_where(table, index, column))
            declared[column] = names
        observable_names, noise_names = declared["observablePlaceholders"], declared["noisePlaceholders"]
        for column, expression, allowed in (
            ("observableFormula", formula, set(observable_names)),
            ("noiseFormula", noise_formula, set(observable_names) | set(noise_names)),
        ):
            for symbol in expression.free_symbols:
                if symbol.name in allowed or symbol.name in known or (
                        column == "noiseFormula" and symbol.name == observable_id):
                    continue
                raise InputError(
                    f"unknown symbol {symbol.name!r}: not a model state, model parameter, "
                    "parameter-table id or declared placeholder of this observable",
                    **_where(table, index, column))
        return observable_names, noise_names

    # -- condition table: long format, expressions ---------------------------------------
    def _read_conditions(self) -> None:
        table = self.condition_table
        model = self.model
        parameter_position = {p: i for i, p in enumerate(model.parameter_ids)}
        state_position = {s: i for i, s in enumerate(model.state_ids)}
        known = {TIME.name, *model.state_ids, *model.parameter_ids, *self.table_ids}
        # condition id -> {("parameter" | "state", position): (expression, row index)}
        self.conditions: dict[str, dict[tuple[str, int], tuple[sp.Expr, int]]] = {}
        for index, row in enumerate(table.to_dict("records")):
            condition_id = row["conditionId"].strip()
            if not _IDENTIFIER.match(condition_id):
                raise InputError(f"invalid conditionId {condition_id!r}", **_where(table, index, "conditionId"))
            target = row["targetId"].strip()
            target = self.aliases.get(target, target)
            if target in model.expressions:
                raise UnsupportedFeatureError(
                    f"targetId {target!r} is set by an assignment rule or initial assignment of the model",
                    **_where(table, index, "targetId"))
            if target in parameter_position:
                key = ("parameter", parameter_position[target])
            elif target in state_position:
                key = ("state", state_position[target])
            else:
                raise InputError(f"targetId {target!r} is neither a model parameter, compartment nor species "
                                 "of the model", **_where(table, index, "targetId"))
            text = row["targetValue"]
            if _is_empty(text):
                raise InputError("empty targetValue", **_where(table, index, "targetValue"))
            expression = self._formula(text, table, index, "targetValue", known)
            unknown = sorted(s.name for s in expression.free_symbols if s.name not in known)
            if unknown:
                raise InputError(f"unknown symbol(s) {unknown} in targetValue: not a model state, model "
                                 "parameter or parameter-table id", **_where(table, index, "targetValue"))
            expression = model.substitute_expressions(expression)
            if key[0] == "parameter" and any(s.name in state_position for s in expression.free_symbols):
                raise UnsupportedFeatureError(
                    f"targetValue of the parameter {target!r} depends on a model state; set a state from "
                    "parameters instead", **_where(table, index, "targetValue"))
            changes = self.conditions.setdefault(condition_id, {})
            if key in changes:
                raise InputError(f"condition {condition_id!r} sets {target!r} twice",
                                 **_where(table, index, "targetId"))
            changes[key] = (expression, index)

    # -- experiment and measurement tables -------------------------------------------
    def _read_experiments(self) -> dict[str, list[tuple[float, list[str]]]]:
        """experiment id -> its periods `[(start time, condition ids)]`, sorted by time."""
        table = self.experiment_table
        periods: dict[str, dict[float, list[str]]] = {}
        for index, row in enumerate(table.to_dict("records")):
            experiment_id = row["experimentId"].strip()
            if not _IDENTIFIER.match(experiment_id):
                raise InputError(f"invalid experimentId {experiment_id!r}", **_where(table, index, "experimentId"))
            time_text = row["time"].strip().lower()
            time = -math.inf if time_text in ("-inf", "-infinity") else _float(row["time"], table, index, "time")
            condition_id = row["conditionId"].strip()
            if condition_id and condition_id not in self.conditions:
                raise InputError(f"conditionId {condition_id!r} is not in the condition table",
                                 **_where(table, index, "conditionId"))
            listed = periods.setdefault(experiment_id, {}).setdefault(time, [])
            if condition_id:
                for key in self.conditions[condition_id]:
                    if any(key in self.conditions[other] for other in listed):
                        raise InputError(f"two conditions of experiment {experiment_id!r} at time {time} set the "
                                         "same target", **_where(table, index, "conditionId"))
                listed.append(condition_id)
        return {e: sorted(by_time.items()) for e, by_time in periods.items()}

    def _read_measurements(self) -> tuple[Experiments, Measurements]:
        table = self.measurement_table
        n = len(table)
        if n == 0:
            raise InputError("the measurement table has no rows", file=table.attrs["file"])
        experiment_periods = self._read_experiments()
        has_experiment_column = "experimentId" in table.columns
        values, times = np.empty(n), np.empty(n)
        observable_index = np.empty(n, dtype=np.int32)
        experiment_number: dict[str, int] = {}
        experiment_of_row = np.empty(n, dtype=np.int32)
        width_observable = max([len(o.observable_placeholders) for o in self.observables] + [0])
        width_noise = max([len(o.noise_placeholders) for o in self.observables] + [0])
        observable_parameters = (np.full((n, width_observable), -1, dtype=np.int32), np.zeros((n, width_observable)))
        noise_parameters = (np.full((n, width_noise), -1, dtype=np.int32), np.zeros((n, width_noise)))
        for index, row in enumerate(table.to_dict("records")):
            observable_id = row["observableId"].strip()
            if observable_id not in self.observable_index:
                raise InputError(f"observableId {observable_id!r} is not in the observable table",
                                 **_where(table, index, "observableId"))
            observable = self.observables[self.observable_index[observable_id]]
            experiment_id = row["experimentId"].strip() if has_experiment_column else ""
            if experiment_id.lower() == "nan":
                experiment_id = ""
            if experiment_id and experiment_id not in experiment_periods:
                raise InputError(f"experimentId {experiment_id!r} is not in the experiment table",
                                 **_where(table, index, "experimentId"))
            start = _first_finite_start(experiment_periods.get(experiment_id, []))
            time_text = row["time"].strip().lower()
            time = math.inf if time_text in ("inf", "+inf") else _float(row["time"], table, index, "time")
            if time < start:
                raise InputError(f"time {time} is before the start {start} of experiment {experiment_id!r}",
                                 **_where(table, index, "time"))
            value = _float(row["measurement"], table, index, "measurement")
            if observable.transformation != "lin" and value <= 0:
                raise InputError(f"measurement {value} must be > 0 for the log-distributed observable "
                                 f"{observable_id!r}", **_where(table, index, "measurement"))
            experiment_of_row[index] = experiment_number.setdefault(experiment_id, len(experiment_number))
            values[index], times[index] = value, time
            observable_index[index] = self.observable_index[observable_id]
            self._overrides(row, index, "observableParameters", observable.observable_placeholders,
                            observable_parameters)
            self._overrides(row, index, "noiseParameters", observable.noise_placeholders, noise_parameters)
        keys = list(experiment_number)
        experiments, time_index = self._experiments_with_periods(
            keys, [experiment_periods.get(k, []) for k in keys], experiment_of_row, times)
        measurements = Measurements(
            table=table, values=values, times=times, experiment_index=experiment_of_row,
            time_index=time_index, observable_index=observable_index,
            observable_parameters=ValueMap(*observable_parameters), noise_parameters=ValueMap(*noise_parameters),
        )
        return experiments, measurements

    def _experiments_with_periods(self, keys, periods_of, experiment_of_row, times) -> tuple[Experiments, np.ndarray]:
        n_e = len(keys)
        # periods are sorted by time: a pre-equilibration period (-inf) is always the first
        finite_periods = [[(t, c) for t, c in periods if math.isfinite(t)] or [(0.0, [])] for periods in periods_of]
        starts = [p[0][0] for p in finite_periods]
        finite_times = [np.unique(times[(experiment_of_row == e) & np.isfinite(times)]) for e in range(n_e)]
        n_t = max(max(len(t) for t in finite_times), 1)
        save_times = np.zeros((n_e, n_t))
        for e, t in enumerate(finite_times):
            padded = t if len(t) else np.array([starts[e]])
            save_times[e, : len(padded)] = padded
            save_times[e, len(padded):] = padded[-1]
        last_change = np.array([p[-1][0] for p in finite_periods])
        end_times = np.maximum(np.maximum(save_times[:, -1], last_change), np.array(starts) + 1e-9)
        time_index = np.empty(len(times), dtype=np.int32)
        for row, (e, time) in enumerate(zip(experiment_of_row, times, strict=True)):
            time_index[row] = n_t if math.isinf(time) else int(np.searchsorted(finite_times[e], time))
        steady_state = np.array([np.any(np.isinf(times[experiment_of_row == e])) for e in range(n_e)])

        n_k = max(len(p) for p in finite_periods)
        n_p, n_x = len(self.model.parameter_ids), len(self.model.state_ids)
        start_times = np.empty((n_e, n_k))
        parameter_targets = np.full((n_e, 1 + n_k, n_p), -1, dtype=np.int32)
        state_targets = np.full((n_e, 1 + n_k, n_x), -1, dtype=np.int32)
        parameter_rows: dict[sp.Expr, int] = {}
        state_rows: dict[sp.Expr, int] = {}

        def apply(e: int, slot: int, condition_ids: list[str]) -> None:
            for condition_id in condition_ids:
                for (kind, position), (expression, _) in self.conditions[condition_id].items():
                    rows, targets = (parameter_rows, parameter_targets) if kind == "parameter" else (state_rows,
                                                                                                   state_targets)
                    targets[e, slot, position] = rows.setdefault(expression, len(rows))

        for e, (periods, finite) in enumerate(zip(periods_of, finite_periods, strict=True)):
            if periods and math.isinf(periods[0][0]):
                apply(e, 0, periods[0][1])
            for k, (start, condition_ids) in enumerate(finite):
                start_times[e, k] = start
                apply(e, 1 + k, condition_ids)
            start_times[e, len(finite):] = end_times[e]
        index, constant = self._model_parameter_map(None)
        periods = Periods(
            start_times=start_times,
            preequilibration=np.array([bool(p) and math.isinf(p[0][0]) for p in periods_of]),
            parameter_targets=parameter_targets, state_targets=state_targets,
            parameter_assignments=tuple(parameter_rows), state_assignments=tuple(state_rows),
        )
        experiments = Experiments(
            ids=tuple(k or "(no experiment)" for k in keys),
            simulation_condition_ids=tuple("+".join(c for _, cs in f for c in cs) for f in finite_periods),
            preequilibration_condition_ids=tuple(
                "+".join(p[0][1]) if p and math.isinf(p[0][0]) else "" for p in periods_of),
            model_parameters=ValueMap(np.tile(index, (n_e, 1)), np.tile(constant, (n_e, 1))),
            initial_overrides=ValueMap(np.full((n_e, n_x), -1, dtype=np.int32), np.zeros((n_e, n_x))),
            override_mask=np.zeros((n_e, n_x), dtype=bool),
            preequilibration_index=np.full(n_e, -1, dtype=np.int32),
            preequilibration_parameters=ValueMap(np.zeros((0, n_p), dtype=np.int32), np.zeros((0, n_p))),
            preequilibration_overrides=ValueMap(np.zeros((0, n_x), dtype=np.int32), np.zeros((0, n_x))),
            preequilibration_override_mask=np.zeros((0, n_x), dtype=bool),
            save_times=save_times, end_times=end_times, steady_state=steady_state, periods=periods,
        )
        return experiments, time_index


def _first_finite_start(periods: list[tuple[float, list[str]]]) -> float:
    finite = [t for t, _ in periods if math.isfinite(t)]
    return finite[0] if finite else 0.0
