"""Errors that tell the user what is wrong with their input, and where."""

from __future__ import annotations


class JakinferError(Exception):
    """Base class of every error jakinfer raises on purpose."""


class InputError(JakinferError, ValueError):
    """Bad user input: a malformed table, an unknown id, a missing file.

    The message names the file, the row (1-based data row, header excluded; or the
    table's own id for the row) and the column or field, where they are known.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        row: int | str | None = None,
        column: str | None = None,
    ) -> None:
        self.file = file
        self.row = row
        self.column = column
        where = []
        if file is not None:
            where.append(f"file {file}")
        if row is not None:
            where.append(f"row {row}")
        if column is not None:
            where.append(f"column {column!r}")
        prefix = (", ".join(where) + ": ") if where else ""
        super().__init__(prefix + message)


class UnsupportedFeatureError(InputError):
    """The input uses a feature of SBML or PEtab that jakinfer does not support."""


class SimulationError(JakinferError, RuntimeError):
    """The ODE solver failed (max steps, non-finite states, step size collapse)."""
