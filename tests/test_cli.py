"""The `jakinfer` command line, run in-process (`main([...])`) to keep compilation low."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from helpers.decay_problem import write_decay_problem

from jakinfer.analysis.posterior import load_inference_data
from jakinfer.cli import EXIT_INPUT_ERROR, EXIT_OK, EXIT_SIMULATION_FAILED, main
from jakinfer.rundir.sample import RUN_FILES

BOEHM_NLLH = 138.22199693517703  # published value at the nominal parameters


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def write_blow_up_problem(directory: Path) -> Path:
    """The decay problem turned into `dx/dt = k x^2` (x0 = 1, k = 0.5): x blows up at t = 2 < 4."""
    yaml_path = write_decay_problem(directory)
    model = directory / "model.xml"
    text = model.read_text()
    text = text.replace("listOfReactants", "listOfProducts")
    text = text.replace("<ci>cell</ci><ci>k</ci><ci>x</ci>", "<ci>cell</ci><ci>k</ci><ci>x</ci><ci>x</ci>")
    model.write_text(text)
    return yaml_path


def test_evaluate_boehm_json(capsys):
    code, out, err = run(capsys, "evaluate", "boehm2014", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["nllh"] == pytest.approx(BOEHM_NLLH, abs=1e-4)
    assert result["n_measurements"] == 48
    assert result["problem"] == "Boehm_JProteomeRes2014"
    assert math.isfinite(result["chi2"]) and result["chi2"] > 0


def test_evaluate_text_with_tolerances(capsys, tmp_path):
    code, out, err = run(capsys, "evaluate", str(write_decay_problem(tmp_path)), "--rtol", "1e-10",
                         "--atol", "1e-12")
    assert code == 0, err
    lines = dict(line.split(None, 1) for line in out.strip().splitlines())
    # Reference: the analytic solution at the nominal k = 0.5, x0 = 1.
    from helpers.decay_problem import SIGMA, TIMES, VALUES

    residual = (VALUES - np.exp(-0.5 * TIMES)) / SIGMA
    assert float(lines["chi2"]) == pytest.approx(np.sum(residual**2), rel=1e-8)
    nllh = 0.5 * np.sum(residual**2) + TIMES.size * (0.5 * math.log(2 * math.pi) + math.log(SIGMA))
    assert float(lines["nllh"]) == pytest.approx(nllh, rel=1e-8)
    assert lines["measurements"] == "5"


def test_solver_failure_names_the_experiment(capsys, tmp_path):
    code, out, err = run(capsys, "evaluate", str(write_blow_up_problem(tmp_path)))
    assert code == EXIT_SIMULATION_FAILED
    assert out == ""
    assert err.startswith("jakinfer: error: simulation failed at the nominal parameters: experiment c0: ")
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_missing_problem_file_is_one_clear_line(capsys, tmp_path):
    missing = tmp_path / "nowhere.yaml"
    code, out, err = run(capsys, "evaluate", str(missing))
    assert code == EXIT_INPUT_ERROR
    assert err.startswith("jakinfer: error: ") and str(missing) in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(("argv", "message"), [
    (["sample", "boehm2014", "--out", "x", "--chain-method", "threads"], "invalid choice: 'threads'"),
    (["sample", "boehm2014", "--out", "x", "--chains", "0"], "0 is less than 1"),
    (["sample", "boehm2014", "--out", "x", "--target-accept", "1.5"], r"target_accept must lie in \(0, 1\)"),
    (["evaluate", "boehm2014", "--rtol", "-1"], "not a positive number"),
    (["sample", "boehm2014"], "--out"),
])
def test_bad_arguments_exit_2(capsys, argv, message):
    code, _, err = run(capsys, *argv)
    assert code == EXIT_INPUT_ERROR
    assert "jakinfer" in err and "error:" in err
    assert "Traceback" not in err
    import re

    assert re.search(message, err), err


def test_sample_writes_a_complete_run_directory(capsys, tmp_path):
    problem = str(write_decay_problem(tmp_path / "problem"))
    out_dir = tmp_path / "run"
    # One chain compiles in about half the time of two; several vectorized chains run in the
    # slow Boehm test of tests/infer/test_nuts.py, and tests/test_results.py builds 2-chain data.
    argv = ["sample", problem, "--chains", "1", "--warmup", "150", "--draws", "150", "--seed", "3",
            "--out", str(out_dir), "--no-progress"]
    code, out, err = run(capsys, *argv)
    assert code == 0, err
    assert sorted(p.name for p in out_dir.iterdir()) == sorted(RUN_FILES)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no staging left
    assert out.splitlines()[0].startswith(("OK:", "WARNING:"))
    assert f"results written to {out_dir}" in out
    assert (out_dir / "diagnostics.txt").read_text().strip() in out

    record = json.loads((out_dir / "run.json").read_text())
    assert record["command"] == ["jakinfer", *argv]
    assert record["nuts"]["seed"] == 3 and record["nuts"]["chains"] == 1
    for package in ("jakinfer", "jax", "diffrax", "numpyro", "arviz", "numpy", "python"):
        assert record["versions"][package]
    for phase in ("load", "nuts", "compile", "iterations", "postprocess", "plot", "total"):
        assert record["timings_s"][phase] >= 0
    assert record["timings_s"]["total"] >= record["timings_s"]["nuts"]

    idata = load_inference_data(out_dir / "posterior.nc")
    assert idata.posterior["theta"].shape == (1, 150, 2)
    diagnostics = json.loads((out_dir / "diagnostics.json").read_text())
    assert diagnostics["diagnostics"]["parameters"] == ["k", "x0"]
    assert diagnostics["verdict"]["text"] == (out_dir / "diagnostics.txt").read_text().strip()
    summary = (out_dir / "summary.csv").read_text().splitlines()
    assert summary[1].startswith("theta[k],k,")
    assert (out_dir / "fit.png").read_bytes().startswith(b"\x89PNG")

    # A different run into the same directory is refused before sampling; nothing is lost.
    def content() -> dict:  # every file, the checkpoint folder's included
        return {p.relative_to(out_dir): p.read_bytes() for p in sorted(out_dir.rglob("*")) if p.is_file()}

    before = content()
    assert any(path.parts[0] == "checkpoint" for path in before)
    code, _, err = run(capsys, *[a if a != "3" else "4" for a in argv])
    assert code == EXIT_INPUT_ERROR
    assert "--force" in err and str(out_dir) in err
    assert content() == before


def _readme_block(marker: str) -> str:
    """The bash block that follows `marker` in the README."""
    text = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    after = text[text.index(marker):]
    start = after.index("```bash\n") + len("```bash\n")
    return after[start:after.index("```", start)]


def test_the_readme_own_data_example_runs(tmp_path):
    """The README's 'Your own data' block, run as written (with this interpreter as `jakinfer`): a
    pathway fitted to a tidy CSV. Its nllh must equal the Gaussian identity
    `chi2 / 2 + n log(sqrt(2 pi) sigma)` at the nominal noise sd (0.05)."""
    import subprocess
    import sys

    script = _readme_block("<!-- own-data example").replace(".venv/bin/jakinfer", f'"{sys.executable}" -m jakinfer.cli')
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=tmp_path, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["n_measurements"] == 6
    assert result["nllh"] == pytest.approx(
        0.5 * result["chi2"] + 6 * math.log(math.sqrt(2 * math.pi) * 0.05), rel=1e-10)


def _write_zero_noise_problem(directory):
    from helpers.petab_factory import SbmlModel, measurement, observable, parameter, write_petab

    model = (SbmlModel().compartment("c", 1.0).species("A", "c", concentration=1.0).parameter("kf", 1.0)
             .reaction("R", {"A": 1}, {}, "c * kf * A"))
    return write_petab(
        directory, model, parameters=[parameter("kf", 0.5, scale="log10")],
        observables=[observable("obs_a", "A", "noiseParameter1_obs_a")],
        conditions=[{"conditionId": "c0"}],
        measurements=[measurement("obs_a", "c0", 0.5, 0.6, noise_parameters="0.1"),
                      measurement("obs_a", "c0", 1.0, 0.4, noise_parameters="0")])


@pytest.mark.parametrize("command", [
    ["evaluate"],
    ["optimize", "--starts", "2", "--batch-size", "2"],
    ["sample", "--chains", "1", "--warmup", "2", "--draws", "2", "--no-progress"],
])
def test_a_zero_noise_sd_names_its_rows_and_their_source(capsys, tmp_path, command):
    yaml_path = _write_zero_noise_problem(tmp_path / "problem")
    out = ["--out", str(tmp_path / "run")] if command[0] != "evaluate" else []
    assert main([command[0], str(yaml_path), *command[1:], *out]) == EXIT_INPUT_ERROR
    err = capsys.readouterr().err
    assert "1 measurement(s) have a noise standard deviation that is not > 0" in err
    assert "measurements.tsv, row 3: observable 'obs_a', sd = 0" in err
    assert "noiseParameters '0'" in err and "noiseParameter1_obs_a" in err
    assert "solver" not in err and "non-finite likelihood" not in err


def test_third_party_warnings_are_hidden_unless_verbose(tmp_path):
    """A warning raised outside jakinfer (here by the user's model file, as arviz raises its
    FutureWarning on import) is hidden on a normal run and shown with --verbose."""
    import subprocess
    import sys

    yaml_path = write_decay_problem(tmp_path / "decay")
    model_file = tmp_path / "noisy_model.py"
    model_file.write_text("import warnings\n\nfrom jakinfer.io.petab import read_petab\n\n\ndef problem():\n"
                          "    warnings.warn('a third-party refactor notice', FutureWarning)\n"
                          f"    return read_petab({str(yaml_path)!r})\n")
    runs = {}
    for flags in ((), ("--verbose",)):
        done = subprocess.run([sys.executable, "-m", "jakinfer.cli", *flags, "evaluate", str(model_file), "--json"],
                              capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr
        assert math.isfinite(json.loads(done.stdout)["nllh"])
        runs[flags] = done.stderr
    assert runs[()] == ""
    assert "FutureWarning: a third-party refactor notice" in runs[("--verbose",)]


def test_native_log_lines_are_dropped_and_everything_else_passes_at_once():
    """XLA's C++ log lines (they reach the stderr descriptor directly) are filtered on a quiet
    run; other output, progress bars ending in a carriage return included, passes unchanged."""
    import os

    from jakinfer.runtime.console import forward_segments

    read_end, write_end = os.pipe()
    log_line = (b"E1207 06:56:45.804212   10738 algebraic_simplifier.cc:10564] Algebraic simplifier is likely "
                b"stuck in a circular simplification loop\n")
    rest = forward_segments(log_line + b"jakinfer: warning: kept\n\rNUTS:  10%|#", write_end)
    assert rest == b""
    rest = forward_segments(b"\rNUTS:  20%|##\nW1207 06:56:4", write_end)
    assert rest == b"W1207 06:56:4"  # may still become a log line: held back
    rest = forward_segments(rest + b"5.1 1 gpu.cc:1] noise\n", write_end)
    os.close(write_end)
    assert rest == b""
    assert os.read(read_end, 4096) == b"jakinfer: warning: kept\n\rNUTS:  10%|#\rNUTS:  20%|##\n"
    os.close(read_end)


def test_whatif_prints_catalogued_pathways_and_says_which_drugs_lack_them(capsys):
    assert main(["whatif"]) == EXIT_OK
    out = capsys.readouterr().out
    assert "tofacitinib 5 mg BID" in out and "JAK1/JAK3 (assay not stated)" in out
    assert "note: baricitinib 4 mg QD: no catalogued cellular IC50 of baricitinib; give one with --ic50" in out


def test_whatif_with_an_ic50_writes_its_numbers_and_figures(capsys, tmp_path):
    from jakinfer.model.daily_inhibition import daily_inhibition
    from jakinfer.model.dosing import dosing_regimen

    assert main(["whatif", "--regimen", "tofacitinib:5:BID", "--regimen", "upadacitinib:15:QD:ER", "--ic50", "30",
                 "--basis", "total", "--json", "--out", str(tmp_path / "w")]) == EXIT_OK
    printed = json.loads(capsys.readouterr().out)
    expected = daily_inhibition(dosing_regimen("upadacitinib", 15.0, "QD", "ER"), 30.0, basis="total")
    assert printed["results"][1]["average_percent"] == pytest.approx(expected.average_percent, rel=1e-12)
    assert printed["results"][1]["hours_above_ic50"] == pytest.approx(expected.hours_above_ic50, rel=1e-12)
    written = json.loads((tmp_path / "w" / "whatif.json").read_text())
    assert written["results"] == printed["results"]
    for name in ("whatif.csv", "whatif.txt", "inhibition_curves.png", "inhibition_heat_map.pdf"):
        assert (tmp_path / "w" / name).stat().st_size > 0


@pytest.mark.parametrize(("argv", "message"), [
    (["--regimen", "tofacitinib:5"], "is not DRUG:DOSE_MG:FREQUENCY"),
    (["--regimen", "tofacitinib:five:BID"], "dose 'five' is not a number of mg"),
    (["--regimen", "tofacitinib:5:TID"], "frequency 'TID' is not one of"),
    (["--regimen", "aspirin:5:QD"], "aspirin"),
    (["--regimen", "upadacitinib:15:QD:ER", "--ic50", "30"], "fraction_unbound"),
    (["--ic50", "-3"], "is not a positive number"),
])
def test_whatif_bad_input_is_named(capsys, argv, message):
    assert main(["whatif", *argv]) == EXIT_INPUT_ERROR
    assert message in capsys.readouterr().err
