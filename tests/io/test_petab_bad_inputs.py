"""Every bad PEtab input gives an `InputError` naming the file, the row (line number in
that file, header = line 1) and the column or field; the input files are never
modified. Nothing here compiles a problem: reading alone must catch these."""

from __future__ import annotations

import copy
import hashlib
from pathlib import Path

import numpy as np
import pytest
from helpers.petab_factory import SbmlModel, measurement, observable, parameter, write_petab

from jakinfer.errors import InputError, UnsupportedFeatureError
from jakinfer.io.petab import read_petab

BASE = {
    "parameters": [
        parameter("kf", 0.5, scale="log10"),
        parameter("scale", 1.0, lower=0.0, upper=10.0),
        parameter("sigma", 0.1, estimate=0),
    ],
    "observables": [
        observable("obs_a", "observableParameter1_obs_a * A", "noiseParameter1_obs_a"),
        observable("obs_b", "B + 0.01", "sigma", transformation="log"),
    ],
    "conditions": [{"conditionId": "c0", "A": ""}, {"conditionId": "c1", "A": 2.0}],
    "measurements": [
        measurement("obs_a", "c0", 0.0, 1.0, observable_parameters="scale", noise_parameters="0.2"),
        measurement("obs_a", "c0", 1.0, 0.6, observable_parameters="2.0", noise_parameters="sigma"),
        measurement("obs_b", "c0", 1.0, 0.4),
        measurement("obs_a", "c1", 1.0, 1.2, observable_parameters="scale", noise_parameters="sigma"),
        measurement("obs_b", "c1", 2.0, 1.5),
    ],
}


def base_model() -> SbmlModel:
    return (SbmlModel().compartment("c", 1.0)
            .species("A", "c", concentration=1.0).species("B", "c", concentration=0.0)
            .parameter("kf", 1.0)
            .reaction("R", {"A": 1}, {"B": 1}, "c * kf * A"))


def write(directory: Path, model: SbmlModel | str | None = None, **tables) -> Path:
    content = copy.deepcopy(BASE)
    content.update(tables)
    return write_petab(directory, base_model() if model is None else model, **content)


def with_cell(table: str, row: int, **cells) -> list[dict]:
    """A copy of BASE[table] with cells of data row `row` (0-based) replaced."""
    rows = copy.deepcopy(BASE[table])
    rows[row] = {**rows[row], **cells}
    return rows


def expect_error(yaml_path: Path, file_name: str, row: int | None, column: str | None, *fragments: str,
                 error_type: type[InputError] = InputError) -> InputError:
    with pytest.raises(error_type) as info:
        read_petab(yaml_path)
    error = info.value
    message = str(error)
    path = str(yaml_path.parent / file_name)
    assert error.file == path, message
    assert f"file {path}" in message
    assert error.row == row, message
    if row is not None:
        assert f"row {row}" in message
    assert error.column == column, message
    if column is not None:
        assert f"column {column!r}" in message
    for fragment in fragments:
        assert fragment in message
    return error


def line(data_row: int) -> int:
    """File line of 0-based data row `data_row` (header is line 1)."""
    return data_row + 2


def test_the_base_problem_is_valid(tmp_path):
    problem = read_petab(write(tmp_path))
    assert problem.measurements.size == len(BASE["measurements"])
    assert problem.parameters.ids == ("kf", "scale")


def test_missing_yaml(tmp_path):
    with pytest.raises(InputError) as info:
        read_petab(tmp_path / "absent.yaml")
    assert info.value.file == str(tmp_path / "absent.yaml")
    assert str(tmp_path / "absent.yaml") in str(info.value) and "not found" in str(info.value)


def test_missing_table_file_listed_in_yaml(tmp_path):
    yaml_path = write(tmp_path)
    (tmp_path / "conditions.tsv").unlink()
    yaml_line = next(i for i, text in enumerate(yaml_path.read_text().splitlines(), 1) if "conditions.tsv" in text)
    expect_error(yaml_path, yaml_path.name, yaml_line, "condition_files", "conditions.tsv", "not found")


def test_yaml_syntax_error_names_the_line(tmp_path):
    yaml_path = write(tmp_path)
    yaml_path.write_text(yaml_path.read_text() + "problems: [unclosed\n")
    error = expect_error(yaml_path, yaml_path.name, len(yaml_path.read_text().splitlines()) + 1, None)
    assert "YAML" in str(error)


def test_unknown_observable_id(tmp_path):
    yaml_path = write(tmp_path, measurements=with_cell("measurements", 2, observableId="obs_c"))
    expect_error(yaml_path, "measurements.tsv", line(2), "observableId", "'obs_c'")


def test_unknown_simulation_condition(tmp_path):
    yaml_path = write(tmp_path, measurements=with_cell("measurements", 1, simulationConditionId="c9"))
    expect_error(yaml_path, "measurements.tsv", line(1), "simulationConditionId", "'c9'")


def test_unknown_preequilibration_condition(tmp_path):
    yaml_path = write(tmp_path, measurements=with_cell("measurements", 4, preequilibrationConditionId="pre"))
    expect_error(yaml_path, "measurements.tsv", line(4), "preequilibrationConditionId", "'pre'")


@pytest.mark.parametrize("time", ["-1", "soon", "", "nan", "-inf"])
def test_bad_time(tmp_path, time):
    yaml_path = write(tmp_path, measurements=with_cell("measurements", 3, time=time))
    expect_error(yaml_path, "measurements.tsv", line(3), "time")


@pytest.mark.parametrize("value", ["nan", "NaN", "", "high", "inf"])
def test_bad_measurement_value(tmp_path, value):
    yaml_path = write(tmp_path, measurements=with_cell("measurements", 1, measurement=value))
    expect_error(yaml_path, "measurements.tsv", line(1), "measurement", repr(value))


@pytest.mark.parametrize("value", ["0", "-0.5"])
def test_nonpositive_measurement_of_log_observable(tmp_path, value):
    yaml_path = write(tmp_path, measurements=with_cell("measurements", 4, measurement=value))
    expect_error(yaml_path, "measurements.tsv", line(4), "measurement", "obs_b", "log")


def test_wrong_number_of_noise_parameters(tmp_path):
    yaml_path = write(tmp_path, measurements=with_cell("measurements", 3, noiseParameters="0.1;0.2"))
    expect_error(yaml_path, "measurements.tsv", line(3), "noiseParameters", "2 value(s)",
                 "noiseParameter1_obs_a")


def test_missing_observable_parameters(tmp_path):
    yaml_path = write(tmp_path, measurements=with_cell("measurements", 0, observableParameters=""))
    expect_error(yaml_path, "measurements.tsv", line(0), "observableParameters", "0 value(s)")


@pytest.mark.parametrize("column", ["observableParameters", "noiseParameters"])
def test_override_naming_an_unknown_parameter(tmp_path, column):
    yaml_path = write(tmp_path, measurements=with_cell("measurements", 1, **{column: "scale_typo"}))
    expect_error(yaml_path, "measurements.tsv", line(1), column, "'scale_typo'")


def test_lower_bound_above_upper_bound(tmp_path):
    yaml_path = write(tmp_path, parameters=with_cell("parameters", 1, lowerBound=5.0, upperBound=2.0))
    expect_error(yaml_path, "parameters.tsv", line(1), "lowerBound", "5.0", "2.0")


def test_log_scale_parameter_with_lower_bound_zero(tmp_path):
    yaml_path = write(tmp_path, parameters=with_cell("parameters", 0, lowerBound=0.0))
    expect_error(yaml_path, "parameters.tsv", line(0), "lowerBound", "log10")


def test_duplicate_parameter_id(tmp_path):
    rows = copy.deepcopy(BASE["parameters"]) + [parameter("kf", 0.2)]
    yaml_path = write(tmp_path, parameters=rows)
    expect_error(yaml_path, "parameters.tsv", line(3), "parameterId", "duplicate", "'kf'")


@pytest.mark.parametrize(
    ("cells", "column"),
    [({"parameterScale": "ln"}, "parameterScale"), ({"estimate": "yes"}, "estimate"),
     ({"nominalValue": "abc"}, "nominalValue"), ({"upperBound": ""}, "upperBound"),
     ({"objectivePriorType": "gamma", "objectivePriorParameters": "1;1"}, "objectivePriorType"),
     ({"objectivePriorType": "normal", "objectivePriorParameters": "1"}, "objectivePriorParameters"),
     ({"objectivePriorType": "normal", "objectivePriorParameters": "1;-2"}, "objectivePriorParameters")],
    ids=["scale", "estimate", "nominal", "empty-bound", "prior-type", "prior-arity", "prior-scale"],
)
def test_bad_parameter_cells(tmp_path, cells, column):
    yaml_path = write(tmp_path, parameters=with_cell("parameters", 0, **cells))
    expect_error(yaml_path, "parameters.tsv", line(0), column)


def test_parameter_id_that_is_a_condition_column(tmp_path):
    conditions = [{**row, "kf": value} for row, value in zip(BASE["conditions"], ("", 0.3), strict=True)]
    yaml_path = write(tmp_path, conditions=conditions)
    expect_error(yaml_path, "parameters.tsv", line(0), "parameterId", "condition table")


def test_parameter_id_that_is_a_model_state(tmp_path):
    rows = copy.deepcopy(BASE["parameters"]) + [parameter("B", 1.0, estimate=0)]
    yaml_path = write(tmp_path, parameters=rows)
    expect_error(yaml_path, "parameters.tsv", line(3), "parameterId", "model state")


def test_parameter_id_that_is_an_assignment_rule_target(tmp_path):
    model = base_model().parameter("ratio", constant=False).assignment_rule("ratio", "A / (A + B)")
    rows = copy.deepcopy(BASE["parameters"]) + [parameter("ratio", 1.0, estimate=0)]
    yaml_path = write(tmp_path, model, parameters=rows)
    expect_error(yaml_path, "parameters.tsv", line(3), "parameterId", "assignment rule")


def test_unknown_symbol_in_observable_formula(tmp_path):
    rows = copy.deepcopy(BASE["observables"])
    rows[1]["observableFormula"] = "B + offset_b"
    yaml_path = write(tmp_path, observables=rows)
    expect_error(yaml_path, "observables.tsv", line(1), "observableFormula", "'offset_b'")


def test_unknown_symbol_in_noise_formula(tmp_path):
    rows = copy.deepcopy(BASE["observables"])
    rows[1]["noiseFormula"] = "sigma_b"
    yaml_path = write(tmp_path, observables=rows)
    expect_error(yaml_path, "observables.tsv", line(1), "noiseFormula", "'sigma_b'")


@pytest.mark.parametrize(
    ("cells", "column"),
    [({"observableFormula": "A +* 2"}, "observableFormula"),
     ({"noiseFormula": ""}, "noiseFormula"),
     ({"observableTransformation": "log2"}, "observableTransformation"),
     ({"noiseDistribution": "cauchy"}, "noiseDistribution"),
     ({"observableFormula": "noiseParameter1_obs_b * B"}, "observableFormula")],
    ids=["syntax", "empty-noise", "transformation", "distribution", "noise-placeholder-in-formula"],
)
def test_bad_observable_cells(tmp_path, cells, column):
    rows = copy.deepcopy(BASE["observables"])
    rows[1].update(cells)
    yaml_path = write(tmp_path, observables=rows)
    expect_error(yaml_path, "observables.tsv", line(1), column)


def test_condition_column_that_is_not_a_model_entity(tmp_path):
    conditions = [{**row, "Epo": 1.0} for row in BASE["conditions"]]
    yaml_path = write(tmp_path, conditions=conditions)
    expect_error(yaml_path, "conditions.tsv", 1, "Epo", "'Epo'")


def test_condition_value_naming_an_unknown_parameter(tmp_path):
    yaml_path = write(tmp_path, conditions=with_cell("conditions", 1, A="A_init"))
    expect_error(yaml_path, "conditions.tsv", line(1), "A", "'A_init'")


def test_duplicate_condition_id(tmp_path):
    conditions = copy.deepcopy(BASE["conditions"]) + [{"conditionId": "c0", "A": 3.0}]
    yaml_path = write(tmp_path, conditions=conditions)
    expect_error(yaml_path, "conditions.tsv", line(2), "conditionId", "duplicate")


def test_table_missing_a_required_column(tmp_path):
    rows = [{k: v for k, v in row.items() if k != "time"} for row in BASE["measurements"]]
    yaml_path = write(tmp_path, measurements=rows)
    expect_error(yaml_path, "measurements.tsv", 1, "time", "missing required column")


def test_empty_table_file(tmp_path):
    yaml_path = write(tmp_path)
    (tmp_path / "observables.tsv").write_text("")
    expect_error(yaml_path, "observables.tsv", 1, None, "empty")


def test_non_utf8_table(tmp_path):
    yaml_path = write(tmp_path)
    path = tmp_path / "conditions.tsv"
    path.write_bytes(path.read_bytes().replace(b"c1", b"c\xe91"))
    expect_error(yaml_path, "conditions.tsv", line(1), "conditionId", "UTF-8")


def test_row_with_too_many_cells(tmp_path):
    yaml_path = write(tmp_path)
    path = tmp_path / "measurements.tsv"
    lines = path.read_text().splitlines()
    lines[3] += "\textra"
    path.write_text("\n".join(lines) + "\n")
    expect_error(yaml_path, "measurements.tsv", 4, None, "cells")


def test_sbml_event_with_a_delay_is_unsupported(tmp_path):
    model = base_model().event("pulse", "time > 1", "A", "2", delay="0.5")
    yaml_path = write(tmp_path, model)
    sbml_line = next(i for i, text in enumerate((tmp_path / "model.xml").read_text().splitlines(), 1)
                     if "<delay" in text)
    expect_error(yaml_path, "model.xml", sbml_line, "<delay> pulse", "event delays",
                 error_type=UnsupportedFeatureError)


def test_sbml_with_an_algebraic_rule_is_unsupported(tmp_path):
    model = base_model().parameter("total", constant=False).algebraic_rule("total - A - B")
    yaml_path = write(tmp_path, model)
    sbml_line = next(i for i, text in enumerate((tmp_path / "model.xml").read_text().splitlines(), 1)
                     if "<algebraicRule" in text)
    expect_error(yaml_path, "model.xml", sbml_line, "<algebraicRule>", "algebraic rules",
                 error_type=UnsupportedFeatureError)


def _hashes(directory: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(directory.iterdir())}


def test_input_files_are_never_modified(tmp_path):
    good = write(tmp_path / "good")
    before = _hashes(good.parent)
    mtimes = {p.name: p.stat().st_mtime_ns for p in good.parent.iterdir()}
    read_petab(good)
    assert _hashes(good.parent) == before
    assert {p.name: p.stat().st_mtime_ns for p in good.parent.iterdir()} == mtimes

    bad = write(tmp_path / "bad", measurements=with_cell("measurements", 2, measurement="nan"))
    before = _hashes(bad.parent)
    with pytest.raises(InputError):
        read_petab(bad)
    assert _hashes(bad.parent) == before


def test_a_nominal_value_undefined_on_its_scale_is_a_warning_and_only_the_nominal_point_is_refused(tmp_path, capsys):
    """PEtab allows an estimated log10 parameter with nominalValue 0 (Lang 2024 has one); the
    problem loads with a warning naming file, row and column, its nominal point is NaN there, and
    `jakinfer evaluate` (which needs the nominal point) refuses it by name."""
    import math

    from jakinfer.cli import EXIT_INPUT_ERROR, main
    from jakinfer.io.petab import NominalValueWarning

    rows = [parameter("kf", 0.0, scale="log10"), *BASE["parameters"][1:]]
    yaml_path = write(tmp_path, parameters=rows)
    with pytest.warns(NominalValueWarning, match=r"parameters\.tsv, row 2, column 'nominalValue'.*'kf'"):
        problem = read_petab(yaml_path)
    theta = problem.nominal_theta
    assert math.isnan(theta[0]) and np.all(np.isfinite(theta[1:]))
    theta[0] = np.log10(0.5)
    assert np.isfinite(problem.negative_log_likelihood(theta))
    with pytest.warns(NominalValueWarning):
        assert main(["evaluate", str(yaml_path)]) == EXIT_INPUT_ERROR
    assert "no nominal value for the estimated parameters ['kf']" in capsys.readouterr().err
