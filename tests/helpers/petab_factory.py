"""Write small PEtab v1 problems for tests: SBML built with libsbml, TSV tables.

Shared by the test modules (import it as `helpers.petab_factory`).

    model = SbmlModel().compartment("c", 1.0).species("x", "c", concentration=1.0)
    model.parameter("k", 0.5).reaction("decay", {"x": 1}, {}, "c * k * x")
    yaml_path = write_petab(tmp_path, model, parameters=[...], observables=[...],
                            conditions=[...], measurements=[...])

Tables are lists of row dicts (missing cells are written empty); a list of lists
writes one file per inner list. Every file is written into `directory`, whose
line numbers the tests then assert on: header = line 1, row `i` (0-based) =
line `i + 2`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import libsbml
import yaml

Table = Sequence[Mapping[str, object]]

PARAMETER_COLUMNS = ("parameterId", "parameterScale", "lowerBound", "upperBound", "nominalValue", "estimate")
OBSERVABLE_COLUMNS = ("observableId", "observableFormula", "noiseFormula")
MEASUREMENT_COLUMNS = ("observableId", "simulationConditionId", "measurement", "time")


class SbmlModel:
    """A minimal builder of SBML Level 3 Version 2 models (chainable methods)."""

    def __init__(self, model_id: str = "test_model") -> None:
        self.document = libsbml.SBMLDocument(3, 2)
        self.model = self.document.createModel()
        self.model.setId(model_id)

    @staticmethod
    def _math(formula: str) -> libsbml.ASTNode:
        node = libsbml.parseL3Formula(formula)
        if node is None:
            raise ValueError(f"libsbml cannot parse {formula!r}: {libsbml.getLastParseL3Error()}")
        return node

    @staticmethod
    def _check(code: int) -> None:
        if code != libsbml.LIBSBML_OPERATION_SUCCESS:
            raise RuntimeError(f"libsbml operation failed: {libsbml.OperationReturnValue_toString(code)}")

    def compartment(self, compartment_id: str, size: float, *, constant: bool = True) -> SbmlModel:
        c = self.model.createCompartment()
        self._check(c.setId(compartment_id))
        c.setSize(size)
        c.setConstant(constant)
        c.setSpatialDimensions(3)
        return self

    def species(self, species_id: str, compartment: str, *, concentration: float | None = None,
                amount: float | None = None, substance_units: bool = False, boundary: bool = False,
                constant: bool = False) -> SbmlModel:
        """`substance_units` is SBML's hasOnlySubstanceUnits."""
        s = self.model.createSpecies()
        self._check(s.setId(species_id))
        s.setCompartment(compartment)
        if concentration is not None:
            s.setInitialConcentration(concentration)
        if amount is not None:
            s.setInitialAmount(amount)
        s.setHasOnlySubstanceUnits(substance_units)
        s.setBoundaryCondition(boundary)
        s.setConstant(constant)
        return self

    def parameter(self, parameter_id: str, value: float | None = None, *, constant: bool = True) -> SbmlModel:
        p = self.model.createParameter()
        self._check(p.setId(parameter_id))
        if value is not None:
            p.setValue(value)
        p.setConstant(constant)
        return self

    def reaction(self, reaction_id: str, reactants: Mapping[str, float], products: Mapping[str, float],
                 formula: str, *, local_parameters: Mapping[str, float] | None = None) -> SbmlModel:
        r = self.model.createReaction()
        self._check(r.setId(reaction_id))
        r.setReversible(False)
        for species_id, stoichiometry in reactants.items():
            reference = r.createReactant()
            reference.setSpecies(species_id)
            reference.setStoichiometry(stoichiometry)
            reference.setConstant(True)
        for species_id, stoichiometry in products.items():
            reference = r.createProduct()
            reference.setSpecies(species_id)
            reference.setStoichiometry(stoichiometry)
            reference.setConstant(True)
        law = r.createKineticLaw()
        for local_id, value in (local_parameters or {}).items():
            local = law.createLocalParameter()
            local.setId(local_id)
            local.setValue(value)
        self._check(law.setMath(self._math(formula)))
        return self

    def assignment_rule(self, variable: str, formula: str) -> SbmlModel:
        rule = self.model.createAssignmentRule()
        rule.setVariable(variable)
        self._check(rule.setMath(self._math(formula)))
        return self

    def rate_rule(self, variable: str, formula: str) -> SbmlModel:
        rule = self.model.createRateRule()
        rule.setVariable(variable)
        self._check(rule.setMath(self._math(formula)))
        return self

    def algebraic_rule(self, formula: str) -> SbmlModel:
        rule = self.model.createAlgebraicRule()
        self._check(rule.setMath(self._math(formula)))
        return self

    def initial_assignment(self, symbol: str, formula: str) -> SbmlModel:
        assignment = self.model.createInitialAssignment()
        assignment.setSymbol(symbol)
        self._check(assignment.setMath(self._math(formula)))
        return self

    def function(self, function_id: str, arguments: Sequence[str], body: str) -> SbmlModel:
        definition = self.model.createFunctionDefinition()
        self._check(definition.setId(function_id))
        self._check(definition.setMath(self._math(f"lambda({', '.join([*arguments, body])})")))
        return self

    def event(self, event_id: str, trigger: str, variable: str, value: str, *, delay: str | None = None,
              initial_value: bool = False, priority: str | None = None,
              use_values_from_trigger_time: bool = True) -> SbmlModel:
        event = self.model.createEvent()
        self._check(event.setId(event_id))
        event.setUseValuesFromTriggerTime(use_values_from_trigger_time)
        t = event.createTrigger()
        t.setInitialValue(initial_value)
        t.setPersistent(True)
        self._check(t.setMath(self._math(trigger)))
        if delay is not None:
            self._check(event.createDelay().setMath(self._math(delay)))
        if priority is not None:
            self._check(event.createPriority().setMath(self._math(priority)))
        assignment = event.createEventAssignment()
        assignment.setVariable(variable)
        self._check(assignment.setMath(self._math(value)))
        return self

    def to_string(self) -> str:
        return libsbml.writeSBMLToString(self.document)

    def write(self, path: str | Path) -> Path:
        path = Path(path)
        path.write_text(self.to_string(), encoding="utf-8")
        return path


def tsv_text(rows: Table, columns: Sequence[str] | None = None) -> str:
    """Rows (dicts) -> TSV text; `columns` default to the keys in first-seen order."""
    if columns is None:
        columns = list(dict.fromkeys(key for row in rows for key in row))
    lines = ["\t".join(columns)]
    for row in rows:
        lines.append("\t".join(_cell(row.get(column, "")) for column in columns))
    return "\n".join(lines) + "\n"


def _cell(value: object) -> str:
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _files(rows: Table | Sequence[Table], stem: str) -> list[tuple[str, Table]]:
    if rows and isinstance(rows[0], Sequence) and not isinstance(rows[0], Mapping):
        return [(f"{stem}_{i + 1}.tsv", part) for i, part in enumerate(rows)]  # type: ignore[misc]
    return [(f"{stem}.tsv", rows)]  # type: ignore[list-item]


def write_petab(
    directory: str | Path,
    model: SbmlModel | str,
    *,
    parameters: Table | Sequence[Table],
    observables: Table | Sequence[Table],
    conditions: Table | Sequence[Table],
    measurements: Table | Sequence[Table],
    name: str = "problem",
) -> Path:
    """Write a PEtab v1 problem into `directory`; returns the YAML path.

    `model` is an `SbmlModel` or SBML text. Files: `model.xml`, `parameters.tsv`,
    `observables.tsv`, `conditions.tsv`, `measurements.tsv` (or `<stem>_<i>.tsv`
    for several files of one table), `<name>.yaml`.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "model.xml").write_text(model if isinstance(model, str) else model.to_string(),
                                         encoding="utf-8")
    listed: dict[str, list[str]] = {}
    for key, rows, stem in (
        ("parameter_file", parameters, "parameters"),
        ("observable_files", observables, "observables"),
        ("condition_files", conditions, "conditions"),
        ("measurement_files", measurements, "measurements"),
    ):
        listed[key] = []
        for file_name, part in _files(rows, stem):
            (directory / file_name).write_text(tsv_text(part), encoding="utf-8")
            listed[key].append(file_name)
    content = {
        "format_version": 1,
        "parameter_file": listed["parameter_file"] if len(listed["parameter_file"]) > 1
        else listed["parameter_file"][0],
        "problems": [{
            "sbml_files": ["model.xml"],
            "observable_files": listed["observable_files"],
            "condition_files": listed["condition_files"],
            "measurement_files": listed["measurement_files"],
        }],
    }
    yaml_path = directory / f"{name}.yaml"
    yaml_path.write_text(yaml.safe_dump(content, sort_keys=False), encoding="utf-8")
    return yaml_path


def parameter(parameter_id: str, nominal: float, *, scale: str = "lin", lower: float = 1e-3,
              upper: float = 1e3, estimate: int = 1, **extra: object) -> dict[str, object]:
    """One parameter-table row."""
    return {"parameterId": parameter_id, "parameterScale": scale, "lowerBound": lower,
            "upperBound": upper, "nominalValue": nominal, "estimate": estimate, **extra}


def observable(observable_id: str, formula: str, noise: str, *, transformation: str = "lin",
               distribution: str = "normal") -> dict[str, object]:
    """One observable-table row."""
    return {"observableId": observable_id, "observableFormula": formula, "noiseFormula": noise,
            "observableTransformation": transformation, "noiseDistribution": distribution}


def measurement(observable_id: str, condition: str, time: float | str, value: float | str, *,
                preequilibration: str = "", observable_parameters: str = "",
                noise_parameters: str = "") -> dict[str, object]:
    """One measurement-table row."""
    return {"observableId": observable_id, "preequilibrationConditionId": preequilibration,
            "simulationConditionId": condition, "measurement": value, "time": time,
            "observableParameters": observable_parameters, "noiseParameters": noise_parameters}
