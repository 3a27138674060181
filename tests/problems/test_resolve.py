"""PROBLEM arguments (`jakinfer.problems.resolve`): every way to name a problem, and the errors."""

from __future__ import annotations

import textwrap

import pytest

from jakinfer.cli import main
from jakinfer.errors import InputError
from jakinfer.problems import MODELS
from jakinfer.problems.resolve import load_problem, model_entries

MEASUREMENTS = textwrap.dedent("""\
    observable,condition,time,value
    pSTAT3_au,high,0,0.05
    pSTAT3_au,high,30,0.21
    pSTAT3_au,low,30,0.09
    """)
CONDITIONS = "condition,cytokine_dose\nhigh,1\nlow,0.1\n"


@pytest.fixture
def il6_data(tmp_path):
    (tmp_path / "m.csv").write_text(MEASUREMENTS)
    (tmp_path / "c.csv").write_text(CONDITIONS)
    return tmp_path / "m.csv", tmp_path / "c.csv"


def test_a_built_in_model_name_gives_the_model_with_its_shipped_data():
    problem = load_problem("swameye2003")
    reference = MODELS["swameye2003"].problem()
    assert problem.parameters.ids == reference.parameters.ids
    assert problem.measurements.size == reference.measurements.size


def test_boehm2014_is_the_bundled_petab_problem_and_the_dsl_model_with_user_data(tmp_path):
    assert str(load_problem("boehm2014").source).endswith("Boehm_JProteomeRes2014.yaml")
    data = tmp_path / "pstat5.csv"
    observable = MODELS["boehm2014"].network().observable_ids[0]
    data.write_text(f"observable,time,value\n{observable},10,40\n{observable},30,30\n")
    problem = load_problem("boehm2014", data=data)
    assert problem.measurements.size == 2
    assert "network" in str(problem.source)


def test_a_pathway_with_options_and_the_users_data(il6_data):
    measurements, conditions = il6_data
    problem = load_problem("pathway:IL-6:inhibitor=baricitinib,feedback=none", data=measurements,
                           conditions=conditions)
    assert problem.measurements.size == 3
    assert list(problem.experiments.ids) == ["high", "low"]
    assert "inhibitor_conc" in problem.model.parameter_ids
    assert not any("SOCS" in state for state in problem.model.state_ids)
    with_socs = load_problem("pathway:IL-6", data=measurements, conditions=conditions)
    assert any("SOCS" in state for state in with_socs.model.state_ids)


@pytest.mark.parametrize("spec, message", [
    ("pathway:IL-6", "ships no measurements"),
    ("pathway:", "name a cytokine"),
    ("pathway:IL-6:colour=blue", "unknown pathway option 'colour=blue'"),
    ("pathway:IL-6:nuclear_observable=maybe", "must be true or false"),
    ("no_such_model", "jakinfer models"),
    ("receptor", "jakinfer sbc receptor"),
])
def test_bad_problem_arguments_say_what_to_do(spec, message):
    with pytest.raises(InputError, match=message):
        load_problem(spec)


def test_data_never_goes_with_a_petab_problem(il6_data):
    with pytest.raises(InputError, match="brings its own measurement table"):
        load_problem(str(load_problem("boehm2014").source), data=il6_data[0])


def test_conditions_need_measurements(il6_data):
    with pytest.raises(InputError, match="goes with a measurement file"):
        load_problem("pathway:IL-6", conditions=il6_data[1])


def test_a_bad_data_file_names_file_row_and_column(tmp_path):
    data = tmp_path / "bad.csv"
    data.write_text("observable,time,value\npSTAT3_au,10,high\n")
    with pytest.raises(InputError, match=r"bad\.csv.*row 2.*value"):
        load_problem("pathway:IL-6", data=data)


def test_python_files_defining_a_network_or_a_problem(tmp_path, il6_data):
    network_file = tmp_path / "my_model.py"
    network_file.write_text("from jakinfer.model.pathway import pathway\n\n\ndef network():\n"
                            "    return pathway('IL-6', feedback=None, name='mine')\n")
    problem = load_problem(str(network_file), data=il6_data[0], conditions=il6_data[1])
    assert problem.name == "mine" and problem.measurements.size == 3
    problem_file = tmp_path / "my_problem.py"
    problem_file.write_text("from jakinfer.problems import swameye2003\n\n\ndef problem():\n"
                            "    return swameye2003.problem(nuclear_cycling=False)\n")
    assert load_problem(str(problem_file)).name == MODELS["swameye2003"].problem(nuclear_cycling=False).name
    with pytest.raises(InputError, match="ships no measurements"):
        load_problem(str(network_file))
    empty = tmp_path / "empty.py"
    empty.write_text("x = 1\n")
    with pytest.raises(InputError, match=r"must define problem\(\)"):
        load_problem(str(empty))


def test_jakinfer_models_lists_every_name(capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    for entry in model_entries():
        assert entry.name in out
    assert {"boehm2014", "swameye2003", "jakstat_core"} <= {line.split()[0] for line in out.splitlines() if line}
