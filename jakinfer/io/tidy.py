"""Tidy CSV data: one measurement per row, one condition per row.

Measurement file (comma-separated, header row; column order free):

    ==============  ========  ===================================================
    column          required  meaning
    ==============  ========  ===================================================
    ``observable``  yes       observable id of the model
    ``time``        yes       time of the measurement (model time unit), >= 0
    ``value``       yes       measured value (finite)
    ``condition``   no        condition id (an identifier); without the column
                              every row belongs to one condition, ``default``
    ``sigma``       no        noise standard deviation (> 0) of the row; empty =
                              not given (the observable's noise formula applies)
    ``replicate``   no        replicate label (kept as PEtab ``replicateId``)
    ==============  ========  ===================================================

Conditions file (optional): a ``condition`` column and one column per model
quantity a condition sets — a parameter (e.g. a dose), a compartment volume or a
species' initial value — with numbers; an empty cell keeps the model default.
Every condition of the measurement file must have a row there.

Any other column is an error unless named in `ignore_columns`. Errors name the
file, the line (header = 1) and the column.

`jakinfer.io.network.write_petab_from_tidy` writes the same data with a `ReactionNetwork` as a PEtab
v1 problem (SBML model, four TSV tables and the YAML file).
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from jakinfer.errors import InputError
from jakinfer.io.tables import read_table

if TYPE_CHECKING:
    from jakinfer.model.dsl import ReactionNetwork

MEASUREMENT_COLUMNS = ("condition", "observable", "time", "value", "sigma", "replicate")
REQUIRED_COLUMNS = ("observable", "time", "value")
DEFAULT_CONDITION = "default"
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class TidyData:
    """Validated tidy data.

    Attributes:
        measurements: one row per measurement with columns `condition` (str),
            `observable` (str), `time` (float), `value` (float), `sigma` (float,
            NaN where not given), `replicate` (str, "" where none).
        conditions: column `condition` (str) and one float column per target
            (NaN = model default); may have no rows.
        file: where the measurements came from (for messages).
        lines: the file line (header = 1) of each measurement row.
        conditions_file: where the conditions came from ("" for none).
        condition_lines: the file line of each condition row.
    """

    measurements: pd.DataFrame
    conditions: pd.DataFrame
    file: str
    lines: tuple[int, ...]
    conditions_file: str = ""
    condition_lines: tuple[int, ...] = ()

    @property
    def observable_ids(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self.measurements["observable"]))

    @property
    def condition_ids(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self.measurements["condition"]))

    def where(self, row: int, column: str | None = None) -> dict:
        """`file`, `row` (file line) and `column` of measurement row `row`, for `InputError`."""
        return {"file": self.file, "row": self.lines[row], "column": column}

    def without_sigma(self, observable_ids: str | Collection[str]) -> TidyData:
        """The same data with the `sigma` of these observables' rows removed
        (their noise is then the model's noise formula)."""
        ids = {observable_ids} if isinstance(observable_ids, str) else set(observable_ids)
        unknown = ids - set(self.observable_ids)
        if unknown:
            raise InputError(f"no measurements of observables {sorted(unknown)}", file=self.file)
        measurements = self.measurements.copy()
        measurements.loc[measurements["observable"].isin(ids), "sigma"] = np.nan
        return replace(self, measurements=measurements)

    def check(self, *, observables: Collection[str], targets: Collection[str]) -> None:
        """Check ids against a model.

        Raises:
            InputError: an observable id not in `observables` (naming the
                line), a conditions column not in `targets` (naming the column).
        """
        known = set(observables)
        for row, observable_id in enumerate(self.measurements["observable"]):
            if observable_id not in known:
                raise InputError(f"unknown observable {observable_id!r}; the model has {sorted(known)}",
                                 **self.where(row, "observable"))
        allowed = set(targets)
        for column in self.conditions.columns:
            if column != "condition" and column not in allowed:
                raise InputError(f"column {column!r} is not a parameter, compartment or species of the model",
                                 file=self.conditions_file, row=1, column=column)


def read_tidy(measurements: str | Path, conditions: str | Path | None = None, *,
              network: ReactionNetwork | None = None, ignore_columns: Sequence[str] = ()) -> TidyData:
    """Read a tidy measurement CSV (and optionally a conditions CSV).

    Args:
        measurements: the measurement file (format in the module docstring).
        conditions: the conditions file, or None when no condition sets anything.
        network: if given, observable ids and condition columns are checked
            against it here (else when the problem is built).
        ignore_columns: extra columns of either file to skip.

    Raises:
        InputError: naming the file, line and column of the first problem.
    """
    table = read_table(measurements, delimiter=",", required=REQUIRED_COLUMNS)
    condition_table = None
    if conditions is not None:
        condition_table = read_table(conditions, delimiter=",", required=("condition",))
    data = tidy_from_tables(table, condition_table, ignore_columns=ignore_columns)
    if network is not None:
        data.check(observables=network.observable_ids, targets=network.condition_targets())
    return data


def tidy_from_frames(measurements: pd.DataFrame, conditions: pd.DataFrame | None = None, *,
                     source: str = "<DataFrame>", ignore_columns: Sequence[str] = ()) -> TidyData:
    """Validate in-memory tables in the tidy format (any cell types); the row
    `i` is reported as line `i + 2`, as if read from a file named `source`."""
    def as_strings(frame: pd.DataFrame, name: str) -> pd.DataFrame:
        table = frame.astype(object).where(frame.notna(), "").map(_cell_text)
        table.columns = [str(c) for c in frame.columns]
        table.attrs["file"] = name
        table.attrs["lines"] = list(range(2, len(frame) + 2))
        table.attrs["files"] = [name] * len(frame)
        return table

    for column in REQUIRED_COLUMNS:
        if column not in measurements.columns:
            raise InputError(f"missing required column(s) [{column!r}]", file=source, row=1, column=column)
    condition_table = None
    if conditions is not None:
        if "condition" not in conditions.columns:
            raise InputError("missing required column(s) ['condition']", file=f"{source} (conditions)", row=1,
                             column="condition")
        condition_table = as_strings(conditions, f"{source} (conditions)")
    return tidy_from_tables(as_strings(measurements, source), condition_table, ignore_columns=ignore_columns)


def tidy_from_tables(table: pd.DataFrame, condition_table: pd.DataFrame | None = None, *,
                     ignore_columns: Sequence[str] = ()) -> TidyData:
    """Validate string tables as read by `jakinfer.io.tables.read_table`."""
    file = table.attrs["file"]
    lines = table.attrs["lines"]
    unknown = [c for c in table.columns if c not in MEASUREMENT_COLUMNS and c not in ignore_columns]
    if unknown:
        raise InputError(f"unknown column {unknown[0]!r}; the columns are {list(MEASUREMENT_COLUMNS)} "
                         "(or name it in ignore_columns)", file=file, row=1, column=unknown[0])
    if len(table) == 0:
        raise InputError("no measurements", file=file)
    n = len(table)
    conditions_col = np.empty(n, dtype=object)
    observables = np.empty(n, dtype=object)
    times = np.empty(n)
    values = np.empty(n)
    sigmas = np.full(n, np.nan)
    replicates = np.empty(n, dtype=object)
    for i, (_, row) in enumerate(table.iterrows()):
        where = {"file": file, "row": lines[i]}
        condition_id = row["condition"] if "condition" in table.columns else DEFAULT_CONDITION
        conditions_col[i] = _identifier(condition_id, "condition", where)
        observables[i] = _identifier(row["observable"], "observable", where)
        times[i] = _number(row["time"], "time", where)
        if times[i] < 0:
            raise InputError(f"negative time {times[i]}", **where, column="time")
        values[i] = _number(row["value"], "value", where)
        if "sigma" in table.columns and row["sigma"] != "":
            sigmas[i] = _number(row["sigma"], "sigma", where)
            if sigmas[i] <= 0:
                raise InputError(f"sigma must be > 0, got {sigmas[i]}", **where, column="sigma")
        replicates[i] = row["replicate"] if "replicate" in table.columns else ""
    measurements = pd.DataFrame({"condition": conditions_col, "observable": observables, "time": times,
                                 "value": values, "sigma": sigmas, "replicate": replicates})
    if condition_table is None:
        conditions = pd.DataFrame({"condition": pd.Series([], dtype=object)})
        return TidyData(measurements, conditions, file, tuple(lines))

    conditions, condition_lines = _read_conditions(condition_table, ignore_columns)
    listed = set(conditions["condition"])
    for i, condition_id in enumerate(measurements["condition"]):
        if condition_id not in listed:
            raise InputError(f"condition {condition_id!r} is not in the conditions file "
                             f"{condition_table.attrs['file']}", file=file, row=lines[i], column="condition")
    return TidyData(measurements, conditions, file, tuple(lines), condition_table.attrs["file"],
                    tuple(condition_lines))


def _read_conditions(table: pd.DataFrame, ignore_columns: Sequence[str]) -> tuple[pd.DataFrame, list[int]]:
    file = table.attrs["file"]
    lines = table.attrs["lines"]
    targets = [c for c in table.columns if c != "condition" and c not in ignore_columns]
    for column in targets:
        if not _IDENTIFIER.match(column):
            raise InputError(f"column {column!r} is not an identifier", file=file, row=1, column=column)
    ids: list[str] = []
    columns: dict[str, list[float]] = {column: [] for column in targets}
    for i, (_, row) in enumerate(table.iterrows()):
        where = {"file": file, "row": lines[i]}
        condition_id = _identifier(row["condition"], "condition", where)
        if condition_id in ids:
            raise InputError(f"duplicate condition {condition_id!r}", **where, column="condition")
        ids.append(condition_id)
        for column in targets:
            text = row[column]
            columns[column].append(np.nan if text == "" else _number(text, column, where))
    frame = pd.DataFrame({"condition": pd.Series(ids, dtype=object), **{c: np.array(v, dtype=float)
                                                                           for c, v in columns.items()}})
    return frame, list(lines)


def _identifier(text: str, column: str, where: dict) -> str:
    if text == "":
        raise InputError(f"empty {column}", **where, column=column)
    if not _IDENTIFIER.match(text):
        raise InputError(f"{text!r} is not a valid {column} id ([A-Za-z_][A-Za-z0-9_]*)", **where, column=column)
    return text


def _number(text: str, column: str, where: dict) -> float:
    if text == "":
        raise InputError(f"empty {column}", **where, column=column)
    try:
        number = float(text)
    except ValueError:
        raise InputError(f"{text!r} is not a number", **where, column=column) from None
    if not math.isfinite(number):
        raise InputError(f"{text!r} is not a finite number", **where, column=column)
    return number


def _cell_text(value) -> str:
    if isinstance(value, float | np.floating):
        return repr(float(value))
    return str(value).strip()
