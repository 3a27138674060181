"""Read a PEtab v1 problem into a `Problem`, validating every table (the v2 reader,
`jakinfer.io.petab_v2`, builds on this one's validation).

Every error names the file, the row (the line number in the file, header = 1)
and the column. Formulas are parsed with PEtab's own math grammar
(`petab.v1.math.sympify_petab`, an ANTLR parser; nothing is `eval`-ed).
Unsupported parts of PEtab v1 (several problems per YAML, mapping tables,
extensions, timepoint-specific overrides of model parameters, …) raise
`UnsupportedFeatureError` naming where they occur.

Size: one reader: the validation of the four PEtab tables, each error naming file, row and
column, and the builder that turns them into a `Problem`.
"""

from __future__ import annotations

import math
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import sympy as sp
import yaml

from jakinfer.errors import InputError, UnsupportedFeatureError
from jakinfer.io.petab_math import sympify_formula
from jakinfer.io.sbml import read_sbml
from jakinfer.io.tables import concat_tables, read_tsv
from jakinfer.likelihood import DISTRIBUTIONS, TRANSFORMATIONS
from jakinfer.model.symbolic import TIME, SymbolicModel, rename_to_plain_symbols
from jakinfer.parameters import PRIOR_TYPES, SCALES, ParameterSpace, Prior, to_scale
from jakinfer.problem import Experiments, Measurements, Observable, Problem, ValueMap


class NominalValueWarning(UserWarning):
    """An estimated parameter's nominalValue is undefined on its scale (e.g. 0 on log10): PEtab
    allows it, the peers load it; only the nominal point itself is unusable (it becomes NaN)."""


_PLACEHOLDER = re.compile(r"^(observable|noise)Parameter(\d+)_(.+)$")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_PETAB_TIME = "time"


def read_petab_v1(yaml_path: Path, content: dict, text: str) -> Problem:
    """Read a PEtab v1 problem given its YAML path, parsed mapping and text
    (`jakinfer.io.petab.read_petab` picks this reader by `format_version`).

    Raises:
        InputError: a missing file, a malformed table, an unknown id, a bad value.
        UnsupportedFeatureError: a PEtab or SBML feature jakinfer does not support.
    """
    files = _read_yaml(yaml_path, content, text)
    model = read_sbml(files.sbml)
    parameter_table = concat_tables([read_tsv(p, required=("parameterId", "parameterScale", "lowerBound",
                                                     "upperBound", "nominalValue", "estimate"))
                               for p in files.parameters])
    observable_table = concat_tables([read_tsv(p, required=("observableId", "observableFormula", "noiseFormula"))
                                for p in files.observables])
    condition_table = concat_tables([read_tsv(p, required=("conditionId",)) for p in files.conditions])
    measurement_table = concat_tables([read_tsv(p, required=("observableId", "simulationConditionId",
                                                       "measurement", "time"))
                                 for p in files.measurements])
    return _Builder(model, parameter_table, observable_table, condition_table,
                    measurement_table, name=yaml_path.stem, source=str(yaml_path)).build()


def problem_files_v1(yaml_path: Path, content: dict, text: str) -> list[Path]:
    """The files a PEtab v1 YAML mapping lists (SBML model, parameter, observable,
    condition and measurement tables), each checked to exist."""
    files = _read_yaml(yaml_path, content, text)
    return [files.sbml, *files.parameters, *files.observables, *files.conditions, *files.measurements]


@dataclass(frozen=True)
class _ProblemFiles:
    sbml: Path
    parameters: list[Path]
    observables: list[Path]
    conditions: list[Path]
    measurements: list[Path]


def load_yaml(path: Path) -> tuple[dict, str]:
    """The parsed YAML mapping of a PEtab problem file and its text."""
    try:
        text = path.read_text(encoding="utf-8")
        content = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        raise InputError(f"not a valid YAML file: {error}", file=str(path),
                         row=mark.line + 1 if mark is not None else None) from None
    except UnicodeDecodeError as error:
        raise InputError(f"not UTF-8 text: {error}", file=str(path)) from None
    if not isinstance(content, dict):
        raise InputError("expected a YAML mapping", file=str(path))
    return content, text


def _read_yaml(path: Path, content: dict, text: str) -> _ProblemFiles:
    version = str(content.get("format_version", ""))
    if not (version == "1" or version.startswith("1.")):
        raise UnsupportedFeatureError(
            f"PEtab format_version {version!r}; PEtab v1 (1.x) and v2 (2.x) are read",
            file=str(path), column="format_version",
        )
    if content.get("extensions"):
        raise UnsupportedFeatureError("PEtab extensions", file=str(path), column="extensions")
    problems = content.get("problems")
    if not isinstance(problems, list) or not problems:
        raise InputError("no 'problems' entry", file=str(path), column="problems")
    if len(problems) > 1:
        raise UnsupportedFeatureError("more than one problem in one YAML file", file=str(path),
                                      column="problems")
    entry = problems[0]
    if entry.get("mapping_files"):
        raise UnsupportedFeatureError("mapping tables", file=str(path), column="mapping_files")
    base = path.parent

    def listed(key: str, container: dict, exactly_one: bool = False) -> list[Path]:
        value = container.get(key)
        if value is None or value == []:
            raise InputError(f"missing {key!r}", file=str(path), column=key)
        values = value if isinstance(value, list) else [value]
        if exactly_one and len(values) != 1:
            raise UnsupportedFeatureError(f"{key} must name exactly one file", file=str(path), column=key)
        paths = []
        for item in values:
            file = base / str(item)
            if not file.is_file():
                raise InputError(f"file listed under {key!r} not found: {file}", file=str(path),
                                 row=_line_of(text, str(item)), column=key)
            paths.append(file)
        return paths

    return _ProblemFiles(
        sbml=listed("sbml_files", entry, exactly_one=True)[0],
        parameters=listed("parameter_file", content),
        observables=listed("observable_files", entry),
        conditions=listed("condition_files", entry),
        measurements=listed("measurement_files", entry),
    )


def _line_of(text: str, item: str) -> int | None:
    """The first line (1-based) of `text` that mentions `item`."""
    for number, line in enumerate(text.splitlines(), start=1):
        if item in line:
            return number
    return None


def _is_empty(value: str) -> bool:
    return value.strip() == "" or value.strip().lower() == "nan"


def _float(value: str, table: pd.DataFrame, index: int, column: str, *, allow_inf: bool = False) -> float:
    text = value.strip()
    try:
        number = float(text)
    except ValueError:
        raise InputError(f"{text!r} is not a number", **_where(table, index, column)) from None
    if math.isnan(number) or (math.isinf(number) and not allow_inf):
        raise InputError(f"{text!r} is not a finite number", **_where(table, index, column))
    return number


def _where(table: pd.DataFrame, index: int, column: str | None = None) -> dict:
    return {"file": table.attrs["files"][index], "row": table.attrs["lines"][index], "column": column}


def _parse_formula(text: str, table: pd.DataFrame, index: int, column: str, *,
                   known: set[str] = frozenset()) -> sp.Expr:
    """Parse a PEtab formula; `time` is the time symbol unless `known` has an id `time`."""
    try:
        expression = sympify_formula(text)
    except Exception as error:  # the ANTLR parser raises several types
        raise InputError(f"cannot parse formula {text!r}: {error}", **_where(table, index, column)) from None
    if not isinstance(expression, sp.Basic):
        expression = sp.sympify(expression)
    expression = rename_to_plain_symbols(expression)
    if _PETAB_TIME in known:
        return expression
    # PEtab's time symbol is `time`; jakinfer's is `TIME` (`t`).
    return expression.xreplace({sp.Symbol(_PETAB_TIME, real=True): TIME})


class _Builder:
    def __init__(self, model: SymbolicModel, parameter_table, observable_table, condition_table,
                 measurement_table, *, name: str, source: str) -> None:
        self.model = model
        self.parameter_table = parameter_table
        self.observable_table = observable_table
        self.condition_table = condition_table
        self.measurement_table = measurement_table
        self.name = name
        self.source = source

    def build(self) -> Problem:
        self._read_parameters()
        self._read_observables()
        self._read_conditions()
        experiments, measurements = self._read_measurements()
        return Problem(
            name=self.name,
            model=self.model,
            parameters=self.parameter_space,
            table_ids=self.table_ids,
            table_values=self.table_values,
            estimated_index=self.estimated_index,
            experiments=experiments,
            measurements=measurements,
            observables=self.observables,
            source=self.source,
        )

    # -- parameter table ---------------------------------------------------------
    def _read_parameters(self) -> None:
        table = self.parameter_table
        ids, values, estimated = [], [], []
        scales, lower, upper, nominal, priors, names = [], [], [], [], [], []
        seen: dict[str, int] = {}
        model_states = set(self.model.state_ids)
        condition_columns = self._condition_target_ids()
        for index, row in enumerate(table.to_dict("records")):  # plain dicts: no per-row Series
            parameter_id = row["parameterId"].strip()
            if not _IDENTIFIER.match(parameter_id):
                raise InputError(f"invalid parameterId {parameter_id!r}", **_where(table, index, "parameterId"))
            if parameter_id in seen:
                raise InputError(f"duplicate parameterId {parameter_id!r}", **_where(table, index, "parameterId"))
            if parameter_id in model_states:
                raise InputError(f"parameterId {parameter_id!r} is a model state, not a parameter",
                                 **_where(table, index, "parameterId"))
            if parameter_id in self.model.expressions:
                raise InputError(f"parameterId {parameter_id!r} is set by an assignment rule or initial "
                                 "assignment of the model; its table value would be ignored",
                                 **_where(table, index, "parameterId"))
            if parameter_id in condition_columns:
                raise InputError(f"parameterId {parameter_id!r} is also a target of the condition table "
                                 f"({self.condition_table.attrs['file']}); a quantity is set by one of "
                                 "the two tables, not both", **_where(table, index, "parameterId"))
            seen[parameter_id] = index
            scale = self._scale(row, index)
            is_estimated = self._is_estimated(row, index)
            nominal_text = row["nominalValue"]
            if _is_empty(nominal_text):
                if not is_estimated:
                    raise InputError("a fixed parameter needs a nominalValue",
                                     **_where(table, index, "nominalValue"))
                nominal_value = math.nan
            else:
                nominal_value = _float(nominal_text, table, index, "nominalValue")
            ids.append(parameter_id)
            values.append(math.nan if is_estimated else nominal_value)
            if not is_estimated:
                continue
            low = _float(row["lowerBound"], table, index, "lowerBound", allow_inf=True)
            high = _float(row["upperBound"], table, index, "upperBound", allow_inf=True)
            if low > high:
                raise InputError(f"lowerBound {low} > upperBound {high}", **_where(table, index, "lowerBound"))
            if scale != "lin" and low <= 0:
                raise InputError(f"lowerBound must be > 0 on {scale} scale, got {low}",
                                 **_where(table, index, "lowerBound"))
            if scale != "lin" and not math.isnan(nominal_value) and nominal_value <= 0:
                where = _where(table, index, "nominalValue")
                warnings.warn(NominalValueWarning(
                    f"file {where['file']}, row {where['row']}, column 'nominalValue': {nominal_value} is not "
                    f"defined on {scale} scale for the estimated parameter {parameter_id!r}; the problem has no "
                    "nominal point for it (`evaluate` needs one; optimize and sample start from their own "
                    "points)"), stacklevel=2)
                nominal_value = math.nan
            estimated.append(len(ids) - 1)
            scales.append(scale)
            lower.append(float(to_scale(low, scale)))
            upper.append(float(to_scale(high, scale)))
            nominal.append(float(to_scale(nominal_value, scale)))
            priors.append(self._prior(row, index, low, high))
            name_text = row.get("parameterName", "")
            names.append(parameter_id if _is_empty(name_text or "") else name_text.strip())
        if not estimated:
            raise InputError("no parameter has estimate = 1", file=table.attrs["file"], column="estimate")
        self.table_ids = tuple(ids)
        self.table_index = {parameter_id: i for i, parameter_id in enumerate(ids)}
        self.table_values = np.array(values, dtype=float)
        self.estimated_index = np.array(estimated, dtype=np.int32)
        self.parameter_space = ParameterSpace(
            ids=tuple(ids[i] for i in estimated), scales=tuple(scales), lower=np.array(lower),
            upper=np.array(upper), nominal=np.array(nominal), priors=tuple(priors), names=tuple(names),
        )
        unbounded = [i for i in range(len(lower)) if not (np.isfinite(lower[i]) and np.isfinite(upper[i]))]
        for i in unbounded:
            if priors[i] is None:
                index = seen[self.parameter_space.ids[i]]
                raise InputError("an estimated parameter without a prior needs finite bounds",
                                 **_where(table, index, "lowerBound"))

    def _condition_target_ids(self) -> set[str]:
        """The ids the condition table sets (its columns, in PEtab v1)."""
        return set(self.condition_table.columns) - {"conditionId", "conditionName"}

    def _scale(self, row, index: int) -> str:
        scale = row["parameterScale"].strip()
        if scale not in SCALES:
            raise InputError(f"parameterScale {scale!r} is not one of {SCALES}",
                             **_where(self.parameter_table, index, "parameterScale"))
        return scale

    def _is_estimated(self, row, index: int) -> bool:
        estimate_text = row["estimate"].strip()
        if estimate_text not in ("0", "1"):
            raise InputError(f"estimate must be 0 or 1, got {estimate_text!r}",
                             **_where(self.parameter_table, index, "estimate"))
        return estimate_text == "1"

    def _prior(self, row, index: int, low: float, high: float) -> Prior | None:
        """The objective prior of one estimated parameter (`None`: uniform on the
        estimation scale within the bounds). `parameterScaleUniform` without
        parameters is uniform within the bounds, as in libpetab."""
        table = self.parameter_table
        kind = (row.get("objectivePriorType") or "").strip()
        if _is_empty(kind):
            return None
        if kind not in PRIOR_TYPES:
            raise InputError(f"objectivePriorType {kind!r} is not one of {PRIOR_TYPES}",
                             **_where(table, index, "objectivePriorType"))
        text = (row.get("objectivePriorParameters") or "").strip()
        if _is_empty(text) and kind == "parameterScaleUniform":
            return None
        if kind in ("logNormal", "logLaplace") and low < 0:
            raise InputError(f"a {kind} prior is a density of positive values, but lowerBound is {low}",
                             **_where(table, index, "lowerBound"))
        parts = [p for p in text.split(";")] if text else []
        if len(parts) != 2:
            raise InputError(f"objectivePriorParameters must be two numbers 'a;b', got {text!r}",
                             **_where(table, index, "objectivePriorParameters"))
        a = _float(parts[0], table, index, "objectivePriorParameters")
        b = _float(parts[1], table, index, "objectivePriorParameters")
        if kind.endswith("niform") and not a < b:
            raise InputError(f"uniform prior needs a < b, got {a};{b}",
                             **_where(table, index, "objectivePriorParameters"))
        if not kind.endswith("niform") and b <= 0:
            raise InputError(f"prior scale must be > 0, got {b}",
                             **_where(table, index, "objectivePriorParameters"))
        return Prior(kind=kind, a=a, b=b)

    def _formula(self, text: str, table, index: int, column: str, known: set[str]) -> sp.Expr:
        """A formula of a table cell (see `_parse_formula`)."""
        return _parse_formula(text, table, index, column, known=known)

    # -- observable table -------------------------------------------------------
    def _read_observables(self) -> None:
        table = self.observable_table
        model = self.model
        known = {TIME.name, *model.state_ids, *model.parameter_ids, *model.expressions, *self.table_ids}
        observables: list[Observable] = []
        index_of: dict[str, int] = {}
        for index, row in enumerate(table.to_dict("records")):  # plain dicts: no per-row Series
            observable_id = row["observableId"].strip()
            if not _IDENTIFIER.match(observable_id):
                raise InputError(f"invalid observableId {observable_id!r}", **_where(table, index, "observableId"))
            if observable_id in index_of:
                raise InputError(f"duplicate observableId {observable_id!r}", **_where(table, index, "observableId"))
            transformation, distribution = self._noise_model(row, index)
            formula_text = row["observableFormula"]
            noise_text = row["noiseFormula"]
            if _is_empty(formula_text):
                raise InputError("empty observableFormula", **_where(table, index, "observableFormula"))
            if _is_empty(noise_text):
                raise InputError("empty noiseFormula", **_where(table, index, "noiseFormula"))
            formula = model.substitute_expressions(
                self._formula(formula_text, table, index, "observableFormula", known))
            noise_formula = model.substitute_expressions(
                self._formula(noise_text, table, index, "noiseFormula", known))
            observable_placeholders, noise_placeholders = self._placeholders(
                row, index, observable_id, formula, noise_formula, known)
            index_of[observable_id] = len(observables)
            observables.append(Observable(
                id=observable_id, formula=formula, noise_formula=noise_formula,
                transformation=transformation, distribution=distribution,
                observable_placeholders=observable_placeholders, noise_placeholders=noise_placeholders,
                name=(row.get("observableName") or "").strip() or observable_id,
            ))
        self.observables = tuple(observables)
        self.observable_index = index_of

    def _noise_model(self, row, index: int) -> tuple[str, str]:
        """`(observableTransformation, noiseDistribution)` of one observable row."""
        table = self.observable_table
        transformation = (row.get("observableTransformation") or "").strip() or "lin"
        if transformation not in TRANSFORMATIONS:
            raise InputError(f"observableTransformation {transformation!r} is not one of {TRANSFORMATIONS}",
                             **_where(table, index, "observableTransformation"))
        distribution = (row.get("noiseDistribution") or "").strip() or "normal"
        if distribution not in DISTRIBUTIONS:
            raise InputError(f"noiseDistribution {distribution!r} is not one of {DISTRIBUTIONS}",
                             **_where(table, index, "noiseDistribution"))
        return transformation, distribution

    def _placeholders(self, row, index: int, observable_id: str, formula, noise_formula,
                      known: set[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """The observable and noise placeholder names of one observable, in override order
        (PEtab v1: `observableParameter{i}_{id}` / `noiseParameter{i}_{id}` found in the
        formulas); every other symbol must be known."""
        table = self.observable_table
        placeholders = {}
        for column, expression, allowed in (
            ("observableFormula", formula, {"observable"}),
            ("noiseFormula", noise_formula, {"noise", "observable"}),
        ):
            for symbol in expression.free_symbols:
                match = _PLACEHOLDER.match(symbol.name)
                if match and match.group(3) == observable_id:
                    if match.group(1) not in allowed:
                        raise InputError(f"{symbol.name} cannot be used in the {column}",
                                         **_where(table, index, column))
                    placeholders[symbol.name] = (match.group(1), int(match.group(2)))
                    continue
                if symbol.name in known or (column == "noiseFormula" and symbol.name == observable_id):
                    continue
                raise InputError(
                    f"unknown symbol {symbol.name!r}: not a model state, model parameter, "
                    "parameter-table id or placeholder of this observable",
                    **_where(table, index, column),
                )
        return (_placeholder_names("observable", observable_id, placeholders),
                _placeholder_names("noise", observable_id, placeholders))

    # -- condition table --------------------------------------------------------
    def _read_conditions(self) -> None:
        table = self.condition_table
        model = self.model
        parameter_position = {p: i for i, p in enumerate(model.parameter_ids)}
        state_position = {s: i for i, s in enumerate(model.state_ids)}
        targets = [c for c in table.columns if c not in ("conditionId", "conditionName")]
        for column in targets:
            if column in model.expressions:
                raise UnsupportedFeatureError(
                    f"condition column {column!r} targets a quantity set by an assignment rule or "
                    "initial assignment", file=table.attrs["file"], row=1, column=column,
                )
            if column not in parameter_position and column not in state_position:
                raise InputError(f"condition column {column!r} is neither a model parameter, "
                                 "compartment nor species of the model", file=table.attrs["file"],
                                 row=1, column=column)
        self.conditions: dict[str, tuple[dict, dict]] = {}
        for index, row in enumerate(table.to_dict("records")):  # plain dicts: no per-row Series
            condition_id = row["conditionId"].strip()
            if not _IDENTIFIER.match(condition_id):
                raise InputError(f"invalid conditionId {condition_id!r}", **_where(table, index, "conditionId"))
            if condition_id in self.conditions:
                raise InputError(f"duplicate conditionId {condition_id!r}", **_where(table, index, "conditionId"))
            parameter_values: dict[int, tuple[int, float]] = {}
            state_values: dict[int, tuple[int, float]] = {}
            for column in targets:
                text = row[column]
                if _is_empty(text):
                    continue
                value = self._value_reference(text, table, index, column)
                if column in parameter_position:
                    parameter_values[parameter_position[column]] = value
                else:
                    state_values[state_position[column]] = value
            self.conditions[condition_id] = (parameter_values, state_values)

    def _value_reference(self, text: str, table, index: int, column: str) -> tuple[int, float]:
        """A number or a parameter-table id -> (table index or -1, constant)."""
        text = text.strip()
        if text in self.table_index:
            return self.table_index[text], 0.0
        try:
            number = float(text)
        except ValueError:
            raise InputError(f"{text!r} is neither a number nor a parameterId of the parameter table",
                             **_where(table, index, column)) from None
        if not math.isfinite(number):
            raise InputError(f"{text!r} is not a finite number", **_where(table, index, column))
        return -1, number

    def _model_parameter_map(self, condition_id: str | None) -> tuple[np.ndarray, np.ndarray]:
        """Model parameters `(n_p,)` of a condition (None: of no condition) as (table index, constant)."""
        model = self.model
        index = np.full(len(model.parameter_ids), -1, dtype=np.int32)
        constant = np.array(model.parameter_defaults, dtype=float)
        for position, parameter_id in enumerate(model.parameter_ids):
            if parameter_id in self.table_index:
                index[position] = self.table_index[parameter_id]
        if condition_id is not None:
            for position, (reference, value) in self.conditions[condition_id][0].items():
                index[position], constant[position] = reference, value
        return index, constant

    def _state_override_map(self, condition_id: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        n_x = len(self.model.state_ids)
        index = np.full(n_x, -1, dtype=np.int32)
        constant = np.zeros(n_x)
        mask = np.zeros(n_x, dtype=bool)
        for position, (reference, value) in self.conditions[condition_id][1].items():
            index[position], constant[position], mask[position] = reference, value, True
        return index, constant, mask

    # -- measurement table ------------------------------------------------------
    def _read_measurements(self) -> tuple[Experiments, Measurements]:
        table = self.measurement_table
        n = len(table)
        if n == 0:
            raise InputError("the measurement table has no rows", file=table.attrs["file"])
        values = np.empty(n)
        times = np.empty(n)
        observable_index = np.empty(n, dtype=np.int32)
        experiment_number: dict[tuple[str, str], int] = {}  # (preequilibration, simulation) -> experiment
        experiment_of_row = np.empty(n, dtype=np.int32)
        width_observable = max([len(o.observable_placeholders) for o in self.observables] + [0])
        width_noise = max([len(o.noise_placeholders) for o in self.observables] + [0])
        observable_parameters = (np.full((n, width_observable), -1, dtype=np.int32), np.zeros((n, width_observable)))
        noise_parameters = (np.full((n, width_noise), -1, dtype=np.int32), np.zeros((n, width_noise)))
        has_preequilibration = "preequilibrationConditionId" in table.columns
        for index, row in enumerate(table.to_dict("records")):  # plain dicts: no per-row Series
            observable_id = row["observableId"].strip()
            if observable_id not in self.observable_index:
                raise InputError(f"observableId {observable_id!r} is not in the observable table",
                                 **_where(table, index, "observableId"))
            observable = self.observables[self.observable_index[observable_id]]
            simulation_id = row["simulationConditionId"].strip()
            if simulation_id not in self.conditions:
                raise InputError(f"simulationConditionId {simulation_id!r} is not in the condition table",
                                 **_where(table, index, "simulationConditionId"))
            preequilibration_id = row["preequilibrationConditionId"].strip() if has_preequilibration else ""
            if preequilibration_id.lower() == "nan":
                preequilibration_id = ""
            if preequilibration_id and preequilibration_id not in self.conditions:
                raise InputError(
                    f"preequilibrationConditionId {preequilibration_id!r} is not in the condition table",
                    **_where(table, index, "preequilibrationConditionId"))
            time_text = row["time"].strip()
            if time_text.lower() in ("inf", "+inf"):
                time = math.inf
            else:
                time = _float(time_text, table, index, "time")
                if time < 0:
                    raise InputError(f"negative time {time}", **_where(table, index, "time"))
            value = _float(row["measurement"], table, index, "measurement")
            if observable.transformation != "lin" and value <= 0:
                raise InputError(
                    f"measurement {value} must be > 0 for the {observable.transformation}-transformed "
                    f"observable {observable_id!r}", **_where(table, index, "measurement"))
            key = (preequilibration_id, simulation_id)
            experiment_of_row[index] = experiment_number.setdefault(key, len(experiment_number))
            values[index] = value
            times[index] = time
            observable_index[index] = self.observable_index[observable_id]
            self._overrides(row, index, "observableParameters", observable.observable_placeholders,
                            observable_parameters)
            self._overrides(row, index, "noiseParameters", observable.noise_placeholders, noise_parameters)
        experiments, time_index = self._experiments(list(experiment_number), experiment_of_row, times)
        measurements = Measurements(
            table=table, values=values, times=times, experiment_index=experiment_of_row,
            time_index=time_index, observable_index=observable_index,
            observable_parameters=ValueMap(*observable_parameters),
            noise_parameters=ValueMap(*noise_parameters),
        )
        return experiments, measurements

    def _overrides(self, row, index: int, column: str, placeholders: tuple[str, ...], target) -> None:
        table = self.measurement_table
        text = (row.get(column) or "").strip() if column in table.columns else ""
        entries = [] if _is_empty(text) else [e.strip() for e in text.split(";")]
        if len(entries) != len(placeholders):
            raise InputError(
                f"{len(entries)} value(s) given but observable {row['observableId'].strip()!r} has "
                f"{len(placeholders)} {column[:-1]}(s) {list(placeholders)}", **_where(table, index, column))
        for slot, entry in enumerate(entries):
            target[0][index, slot], target[1][index, slot] = self._value_reference(entry, table, index, column)

    def _experiments(self, keys, experiment_of_row, times) -> tuple[Experiments, np.ndarray]:
        n_e = len(keys)
        finite_times = [np.unique(times[(experiment_of_row == e) & np.isfinite(times)]) for e in range(n_e)]
        n_t = max(max(len(t) for t in finite_times), 1)
        save_times = np.zeros((n_e, n_t))
        for e, t in enumerate(finite_times):
            if len(t):
                save_times[e, : len(t)] = t
                save_times[e, len(t):] = t[-1]
        end_times = np.maximum(save_times[:, -1], 1e-9)
        time_index = np.empty(len(times), dtype=np.int32)
        for row, (e, time) in enumerate(zip(experiment_of_row, times, strict=True)):
            time_index[row] = n_t if math.isinf(time) else int(np.searchsorted(finite_times[e], time))
        steady_state = np.array([np.any(np.isinf(times[experiment_of_row == e])) for e in range(n_e)])

        preequilibration_ids = sorted({pre for pre, _ in keys if pre})
        pre_position = {pre: i for i, pre in enumerate(preequilibration_ids)}
        n_p, n_x = len(self.model.parameter_ids), len(self.model.state_ids)
        pre_parameter_index = np.full((len(preequilibration_ids), n_p), -1, dtype=np.int32)
        pre_parameter_constant = np.zeros((len(preequilibration_ids), n_p))
        pre_override_index = np.full((len(preequilibration_ids), n_x), -1, dtype=np.int32)
        pre_override_constant = np.zeros((len(preequilibration_ids), n_x))
        pre_override_mask = np.zeros((len(preequilibration_ids), n_x), dtype=bool)
        for pre, i in pre_position.items():
            pre_parameter_index[i], pre_parameter_constant[i] = self._model_parameter_map(pre)
            pre_override_index[i], pre_override_constant[i], pre_override_mask[i] = self._state_override_map(pre)

        parameter_index = np.empty((n_e, n_p), dtype=np.int32)
        parameter_constant = np.empty((n_e, n_p))
        override_index = np.empty((n_e, n_x), dtype=np.int32)
        override_constant = np.empty((n_e, n_x))
        override_mask = np.empty((n_e, n_x), dtype=bool)
        for e, (_, sim) in enumerate(keys):
            parameter_index[e], parameter_constant[e] = self._model_parameter_map(sim)
            override_index[e], override_constant[e], override_mask[e] = self._state_override_map(sim)
        experiments = Experiments(
            ids=tuple(f"{pre}->{sim}" if pre else sim for pre, sim in keys),
            simulation_condition_ids=tuple(sim for _, sim in keys),
            preequilibration_condition_ids=tuple(pre for pre, _ in keys),
            model_parameters=ValueMap(parameter_index, parameter_constant),
            initial_overrides=ValueMap(override_index, override_constant),
            override_mask=override_mask,
            preequilibration_index=np.array([pre_position[pre] if pre else -1 for pre, _ in keys], dtype=np.int32),
            preequilibration_parameters=ValueMap(pre_parameter_index, pre_parameter_constant),
            preequilibration_overrides=ValueMap(pre_override_index, pre_override_constant),
            preequilibration_override_mask=pre_override_mask,
            save_times=save_times, end_times=end_times, steady_state=steady_state,
        )
        return experiments, time_index


def _placeholder_names(kind: str, observable_id: str, found: dict[str, tuple[str, int]]) -> tuple[str, ...]:
    numbers = sorted(number for k, number in found.values() if k == kind)
    count = numbers[-1] if numbers else 0
    return tuple(f"{kind}Parameter{i}_{observable_id}" for i in range(1, count + 1))


def build_problem(model: SymbolicModel, parameter_table: pd.DataFrame, observable_table: pd.DataFrame,
                  condition_table: pd.DataFrame, measurement_table: pd.DataFrame, *, name: str,
                  source: str) -> Problem:
    """A `Problem` from a model and the four PEtab v1 tables as string DataFrames.

    The entry point for sources other than PEtab files (the model DSL, tidy
    CSV): the same validation and the same `Problem` as `read_petab`. Each
    table carries `attrs["file"]`, `attrs["files"]` (per row) and
    `attrs["lines"]` (per row) for error messages, as `read_tsv` sets them.

    Raises:
        InputError, UnsupportedFeatureError: as `read_petab`.
    """
    return _Builder(model, parameter_table, observable_table, condition_table, measurement_table,
                    name=name, source=source).build()
