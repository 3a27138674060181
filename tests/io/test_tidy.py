"""Tidy CSV data: validation errors that name file, line and column, and the
round trip tidy CSV -> Problem -> PEtab folder -> `read_petab`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from jakinfer.errors import InputError
from jakinfer.io.network import network_problem, write_petab_from_tidy
from jakinfer.io.petab import read_petab
from jakinfer.io.tidy import read_tidy
from jakinfer.model.dsl import ReactionNetwork, mass_action
from jakinfer.model.inputs import exponential_decay
from jakinfer.parameters import Prior

MEASUREMENTS = """condition,observable,time,value,sigma,replicate
low,pS_au,0,0.02,0.05,r1
low,pS_au,5,0.61,0.05,r1
low,pS_au,5,0.55,0.05,r2
low,tS_au,10,0.93,,r1
high,pS_au,2.5,1.18,0.08,r1
high,tS_au,0,1.05,,
high,tS_au,30,0.81,,
"""

CONDITIONS = """condition,dose,S
low,1.0,
high,4.0,1.2
"""


def network() -> ReactionNetwork:
    """Dose-driven phosphorylation, dimerisation and nuclear cycling (a small JAK-STAT motif)."""
    return (
        ReactionNetwork("motif").compartment("cyt", 1.4).compartment("nuc", 0.45)
        .parameter("dose", 1.0, estimate=False)
        .parameter("k_deg", 0.1, scale="log10", lower=1e-3, upper=10.0)
        .parameter("k_phos", 0.5, scale="log10", lower=1e-3, upper=10.0)
        .parameter("k_imp", 0.3, scale="log", lower=1e-3, upper=10.0, prior=Prior("logNormal", -1.0, 1.0))
        .parameter("k_exp", 0.05, scale="log10", lower=1e-3, upper=10.0)
        .parameter("scale_p", 0.8, lower=0.01, upper=10.0)
        .parameter("sd_t", 0.04, scale="log10", lower=1e-3, upper=1.0)
        .input("epo", exponential_decay("dose", "k_deg"))
        .species("S", "cyt", 1.0).species("pS", "cyt").species("pSpS", "cyt").species("npSpS", "nuc")
        .reaction("phos", "S -> pS", mass_action("k_phos * epo"))
        .reaction("dimer", "2 pS -> pSpS", mass_action(2.0))
        .reaction("import", "pSpS -> npSpS", mass_action("k_imp"))
        .reaction("export", "npSpS -> 2 S", mass_action("k_exp"))
        .observable("pS_au", "pS + 2 * pSpS", scale="scale_p")
        .observable("tS_au", "S + pS + 2 * pSpS", noise="sd_t")
    )


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture()
def files(tmp_path):
    return write(tmp_path / "data.csv", MEASUREMENTS), write(tmp_path / "conditions.csv", CONDITIONS)


def test_reads_typed_columns_and_lines(files):
    data = read_tidy(*files, network=network())
    m = data.measurements
    assert list(m["condition"]) == ["low"] * 4 + ["high"] * 3
    np.testing.assert_array_equal(m["time"], [0, 5, 5, 10, 2.5, 0, 30])
    np.testing.assert_array_equal(m["sigma"].isna(), [False] * 3 + [True] + [False] + [True] * 2)
    assert list(m["replicate"]) == ["r1", "r1", "r2", "r1", "r1", "", ""]
    assert data.lines == (2, 3, 4, 5, 6, 7, 8)
    assert np.isnan(data.conditions.loc[0, "S"]) and data.conditions.loc[1, "S"] == 1.2
    assert data.condition_ids == ("low", "high")


def edit(text: str, line: int, old: str, new: str) -> str:
    lines = text.splitlines()
    assert old in lines[line - 1]
    lines[line - 1] = lines[line - 1].replace(old, new, 1)
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(("measurements", "conditions", "row", "column", "message"), [
    (edit(MEASUREMENTS, 3, "0.61", "nan"), CONDITIONS, 3, "value", "not a finite number"),
    (edit(MEASUREMENTS, 4, ",5,", ",-5,"), CONDITIONS, 4, "time", "negative time"),
    (edit(MEASUREMENTS, 6, "2.5", "2.5min"), CONDITIONS, 6, "time", "not a number"),
    (edit(MEASUREMENTS, 7, ",,", ",0,"), CONDITIONS, 7, "sigma", "sigma must be > 0"),
    (edit(MEASUREMENTS, 2, "pS_au", ""), CONDITIONS, 2, "observable", "empty observable"),
    (edit(MEASUREMENTS, 5, "low", "low dose"), CONDITIONS, 5, "condition", "not a valid condition id"),
    (edit(MEASUREMENTS, 8, "high", "medium"), CONDITIONS, 8, "condition", "'medium' is not in the conditions"),
    (edit(MEASUREMENTS, 1, "sigma", "sigm"), CONDITIONS, 1, "sigm", "unknown column 'sigm'"),
    (edit(MEASUREMENTS, 1, "value", "val"), CONDITIONS, 1, "value", "missing required column"),
    (edit(MEASUREMENTS, 5, "tS_au", "zS_au"), CONDITIONS, 5, "observable", "unknown observable 'zS_au'"),
    (MEASUREMENTS, edit(CONDITIONS, 3, "high", "low"), 3, "condition", "duplicate condition 'low'"),
    (MEASUREMENTS, edit(CONDITIONS, 2, "1.0", "one"), 2, "dose", "'one' is not a number"),
    (MEASUREMENTS, edit(CONDITIONS, 1, "dose", "Dose"), 1, "Dose", "not a parameter, compartment or species"),
])
def test_errors_name_file_line_and_column(tmp_path, measurements, conditions, row, column, message):
    data_file = write(tmp_path / "data.csv", measurements)
    condition_file = write(tmp_path / "conditions.csv", conditions)
    with pytest.raises(InputError, match=message) as info:
        read_tidy(data_file, condition_file, network=network())
    error = info.value
    assert (error.row, error.column) == (row, column)
    bad_file = condition_file if conditions != CONDITIONS else data_file
    assert error.file == str(bad_file)


def test_ignored_columns_and_default_condition(tmp_path):
    path = write(tmp_path / "data.csv", "observable,time,value,source\ntS_au,0,1.0,blot 3\n")
    with pytest.raises(InputError, match="unknown column 'source'"):
        read_tidy(path)
    data = read_tidy(path, ignore_columns=("source",))
    assert data.condition_ids == ("default",)
    assert data.without_sigma("tS_au").measurements["sigma"].isna().all()


def test_round_trip_through_a_petab_folder(files, tmp_path):
    """tidy CSV -> Problem, and tidy CSV -> PEtab files -> read_petab:
    the same log-likelihood (and the PEtab folder is what the builder read)."""
    net = network()
    data = read_tidy(*files, network=net)
    direct = network_problem(net, data)
    yaml_path = write_petab_from_tidy(net, data, tmp_path / "petab")
    assert sorted(p.name for p in yaml_path.parent.iterdir()) == [
        "conditions_motif.tsv", "measurements_motif.tsv", "model_motif.xml", "motif.yaml",
        "observables_motif.tsv", "parameters_motif.tsv"]
    reread = read_petab(yaml_path)
    assert reread.parameters.ids == direct.parameters.ids == ("k_deg", "k_phos", "k_imp", "k_exp", "scale_p",
                                                              "sd_t")
    assert reread.parameters.priors == direct.parameters.priors
    np.testing.assert_array_equal(reread.parameters.lower, direct.parameters.lower)
    theta = direct.nominal_theta + np.array([0.1, -0.2, 0.05, 0.3, -0.1, 0.2])
    expected = float(direct.log_likelihood(theta))
    assert np.isfinite(expected)
    assert float(reread.log_likelihood(theta)) == pytest.approx(expected, rel=1e-8)
