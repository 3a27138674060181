"""`jakinfer optimize`, `profile`, `laplace`: checkpointed, resumable, one run directory.

Compile budget: the test process shares one `Problem` (the decay toy) between all
in-process commands (`jakinfer.cli._load_problem` is patched to return it), so the
projected-BFGS program of batch size 2 compiles once for the multistarts and the
profiles, and the central-difference Hessian once. Two subprocesses (the victims
of SIGKILL) compile their own.

Kill and resume: `jakinfer optimize` (20 batches of 2 starts) and `jakinfer profile`
(2 parameters) run in subprocesses and are SIGKILLed once their checkpoint lists a
record; the same command run again computes only the missing records (the stored
ones are neither rewritten nor recomputed) and writes byte-identical result files
to those of an uninterrupted run.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from helpers.decay_problem import write_decay_problem

from jakinfer import cli
from jakinfer.cli import EXIT_INPUT_ERROR, main
from jakinfer.errors import InputError
from jakinfer.infer.nuts import NutsConfig, run_fingerprint
from jakinfer.io.petab import read_petab
from jakinfer.rundir.identity import check_run_directory
from jakinfer.runtime.checkpoint import read_manifest

_LOAD_PROBLEM = cli._load_problem  # the real loader (the module's fixture replaces it)

OPTIMIZE_ARGS = ("--starts", "40", "--batch-size", "2", "--seed", "7", "--method", "bfgs", "--no-progress")
PROFILE_ARGS = ("--step", "0.01", "--batch-size", "2", "--method", "bfgs", "--no-progress")
MULTISTART_FILES = ("multistart.csv", "multistart.json", "multistart_summary.txt")
PROFILE_FILES = ("profiles.csv", "profile_summary.csv", "profiles.json")


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """The decay problem on disk, loaded once; in-process commands get this object."""
    root = tmp_path_factory.mktemp("optimize")
    path = write_decay_problem(root / "problem")
    problem = read_petab(path)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(cli, "_load_problem", lambda args, path=None: problem)
        yield {"root": root, "path": str(path), "problem": problem, "cache": {}}


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def reference(setup, capsys) -> Path:
    """An uninterrupted `optimize` + `profile` run directory (computed once per module)."""
    if "reference" not in setup["cache"]:
        ref = setup["root"] / "reference"
        code, _, err = run(capsys, "optimize", setup["path"], "--out", str(ref), *OPTIMIZE_ARGS)
        assert code == 0, err
        code, _, err = run(capsys, "profile", setup["path"], "--out", str(ref), *PROFILE_ARGS)
        assert code == 0, err
        setup["cache"]["reference"] = ref
    return setup["cache"]["reference"]


def jakinfer(*argv: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "jakinfer.cli", *argv], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, env=env)


def listed(store: Path) -> tuple[str, ...]:
    try:
        manifest = read_manifest(store)
    except InputError:
        return ()
    return () if manifest is None else tuple(sorted(manifest["records"]))


def kill_after_first_record(process: subprocess.Popen, store: Path) -> tuple[str, ...]:
    deadline = time.monotonic() + 400
    while not listed(store) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.002)
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL, process.stderr.read()
    return listed(store)


def snapshot(store: Path, keys) -> dict:
    """Bytes and modification time of each record file (a recomputed record is rewritten)."""
    return {key: ((store / "records" / f"{key}.npz").read_bytes(),
                  (store / "records" / f"{key}.npz").stat().st_mtime_ns) for key in keys}


def same_files(a: Path, b: Path, names) -> None:
    for name in names:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_sigkilled_optimize_and_profile_resume_to_the_uninterrupted_result(setup, capsys):
    """(a) optimize and (b) profile, each SIGKILLed after its first record, then the same
    command again; (c) a damaged record is recomputed, never read."""
    victim_dir = setup["root"] / "victim"
    victim = jakinfer("optimize", setup["path"], "--out", str(victim_dir), *OPTIMIZE_ARGS)
    ref = reference(setup, capsys)  # compiles here while the victim compiles there
    profile_dir = setup["root"] / "profile-victim"
    profile_victim = jakinfer("profile", setup["path"], "--out", str(profile_dir), "--from", str(ref),
                              *PROFILE_ARGS)
    try:
        store = victim_dir / "checkpoint_optimize"
        done = kill_after_first_record(victim, store)
        assert 1 <= len(done) < 20, done  # killed part-way: 20 batches make the whole run
        assert not (victim_dir / "optimize_run.json").exists() and not (victim_dir / "multistart.csv").exists()
        before = snapshot(store, done)

        code, out, err = run(capsys, "optimize", setup["path"], "--out", str(victim_dir), *OPTIMIZE_ARGS)
        assert code == 0, err
        assert f"resumed: {len(done)} record(s) restored" in out
        record = json.loads((victim_dir / "optimize_run.json").read_text())
        assert record["checkpoint"] == {"folder": "checkpoint_optimize", "records": 20,
                                        "computed": 20 - len(done), "resumed": len(done)}
        assert snapshot(store, done) == before  # finished batches were not recomputed
        same_files(victim_dir, ref, MULTISTART_FILES)

        # (c) a record whose bytes no longer match its checksum is recomputed, not used
        damaged = store / "records" / "batch-000003.npz"
        data = bytearray(damaged.read_bytes())
        data[len(data) // 2] ^= 0xFF
        damaged.write_bytes(bytes(data))
        code, out, err = run(capsys, "optimize", setup["path"], "--out", str(victim_dir), *OPTIMIZE_ARGS)
        assert code == 0, err
        assert "1 damaged checkpoint record(s) recomputed: batch-000003" in err
        assert json.loads((victim_dir / "optimize_run.json").read_text())["checkpoint"]["computed"] == 1
        same_files(victim_dir, ref, MULTISTART_FILES)

        store = profile_dir / "checkpoint_profile"
        done = kill_after_first_record(profile_victim, store)
        assert done == ("parameter-k",), done  # parameters in problem order: k, then x0
        assert not (profile_dir / "profiles.csv").exists()
        before = snapshot(store, done)
        code, out, err = run(capsys, "profile", setup["path"], "--out", str(profile_dir), "--from", str(ref),
                             *PROFILE_ARGS)
        assert code == 0, err
        assert "resumed: 1 record(s) restored" in out
        assert snapshot(store, done) == before
        assert json.loads((profile_dir / "profile_run.json").read_text())["checkpoint"]["computed"] == 1
        same_files(profile_dir, ref, PROFILE_FILES)
    finally:
        for process in (victim, profile_victim):
            if process.poll() is None:
                process.kill()
            process.wait(timeout=60)
            process.stderr.close()


def test_optimize_profile_laplace_report_share_one_run_directory(setup, capsys, tmp_path):
    """(e) optimize -> profile -> laplace -> report in one directory; `sample` would accept
    it; another problem, or changed settings without --force, are refused."""
    run_dir = tmp_path / "run"
    shutil.copytree(reference(setup, capsys), run_dir)
    code, out, err = run(capsys, "laplace", setup["path"], "--out", str(run_dir), "--hessian", "central")
    assert code == 0, err
    assert out.startswith("Laplace approximation at the mode of the negative log posterior")
    laplace = json.loads((run_dir / "laplace.json").read_text())
    assert laplace["parameter_ids"] == ["k", "x0"] and all(sd > 0 for sd in laplace["sd"])
    summary = (run_dir / "profile_summary.csv").read_text().splitlines()
    assert summary[0].startswith("parameter,estimate,ci_lower,ci_upper,identifiability")
    assert all(",identifiable," in line for line in summary[1:])
    for figure in ("waterfall.png", "waterfall.pdf", "profiles.png", "profiles.pdf"):
        assert (run_dir / figure).stat().st_size > 1000, figure

    code, out, err = run(capsys, "report", str(run_dir))
    assert code == 0, err
    page = (run_dir / "report.html").read_text()
    for text in ("waterfall.png", "profiles.png", "laplace_mean", "laplace_sd", "profile_lower", "map",
                 "Laplace / optimisation", "optimize_run.json", "profile_run.json", "laplace_run.json",
                 "no NUTS posterior"):
        assert text in page, text
    assert page.count("data:image/png;base64,") == 2

    problem = setup["problem"]
    nuts = run_fingerprint(problem, NutsConfig(chains=1, warmup=10, draws=10))
    assert check_run_directory(run_dir, nuts, stage="sample").clean  # `sample` may add its files
    other = {**nuts, "problem_digest": "0" * 64}
    with pytest.raises(InputError, match="different run.*another problem.*--force"):
        check_run_directory(run_dir, other, stage="sample")

    before = {p.name: p.read_bytes() for p in run_dir.iterdir() if p.is_file()}
    changed = [a if a != "7" else "8" for a in OPTIMIZE_ARGS]
    code, _, err = run(capsys, "optimize", setup["path"], "--out", str(run_dir), *changed)
    assert code == EXIT_INPUT_ERROR
    assert "optimize run with other settings" in err and "seed" in err and "--force" in err
    assert {p.name: p.read_bytes() for p in run_dir.iterdir() if p.is_file()} == before
    (run_dir / "notes.txt").write_text("mine")
    code, _, err = run(capsys, "laplace", setup["path"], "--out", str(run_dir), "--hessian", "central")
    assert code == EXIT_INPUT_ERROR and "notes.txt" in err


@pytest.mark.parametrize(("argv", "message"), [
    (["optimize", "P", "--out", "x", "--starts", "0"], "argument --starts: 0 is less than 1"),
    (["optimize", "P", "--out", "x", "--batch-size", "0"], "argument --batch-size: 0 is less than 1"),
    (["optimize", "P", "--out", "x", "--method", "newton"], "argument --method: invalid choice: 'newton'"),
    (["optimize", "P", "--out", "x", "--objective", "mode"], "argument --objective: invalid choice"),
    (["optimize", "P", "--out", "x", "--noise", "analytic"], "argument --noise: invalid choice: 'analytic'"),
    (["optimize", "P"], "the following arguments are required: --out"),
    (["profile", "P", "--out", "x", "--confidence", "1.5"], "argument --confidence: '1.5' is not in"),
    (["profile", "P", "--out", "x", "--step", "-1"], "argument --step: '-1' is not a positive number"),
    (["profile", "P", "--out", "EMPTY"], r"argument --out \(no --from given\): no multistart result"),
    (["profile", "P", "--out", "x", "--from", "EMPTY"], "argument --from: no multistart result"),
    (["laplace", "P", "--out", "x", "--from", "EMPTY"], "argument --from: no multistart result"),
    (["laplace", "P", "--out", "x", "--hessian", "bfgs"], "argument --hessian: invalid choice"),
    (["profile", "P", "--out", "x", "--from", "FAKE", "--parameters", "k", "kk"],
     r"argument --parameters: unknown parameter id\(s\) \['kk'\]; the estimated parameters are \['k', 'x0'\]"),
])
def test_bad_arguments_name_the_argument(setup, capsys, tmp_path, argv, message):
    import re

    (tmp_path / "EMPTY").mkdir()
    (tmp_path / "FAKE").mkdir()
    (tmp_path / "FAKE" / "multistart.csv").write_text("")
    places = {"P": setup["path"], "x": str(tmp_path / "x"), "EMPTY": str(tmp_path / "EMPTY"),
              "FAKE": str(tmp_path / "FAKE")}
    code, out, err = run(capsys, *[places.get(a, a) for a in argv])
    assert code == EXIT_INPUT_ERROR
    assert "Traceback" not in err and out == ""
    assert re.search(message, err), err
    assert not (tmp_path / "x").exists()  # refused before anything was written


def test_optimize_noise_handling_is_a_setting_of_the_run(setup, capsys, tmp_path):
    """`--noise profiled` on a problem without estimated noise parameters optimises the same
    function (same optimum, nothing profiled), and is recorded: a run directory of the other
    handling is refused without --force."""
    ref = reference(setup, capsys)
    out = tmp_path / "profiled"
    code, _, err = run(capsys, "optimize", setup["path"], "--out", str(out), *OPTIMIZE_ARGS, "--noise", "profiled")
    assert code == 0, err
    record = json.loads((out / "optimize_run.json").read_text())
    assert record["settings"]["noise"] == "profiled"
    metadata = json.loads((out / "multistart.json").read_text())["metadata"]
    assert metadata["noise"] == "profiled" and metadata["profiled_noise_parameters"] == []
    assert (out / "multistart.csv").read_bytes() == (ref / "multistart.csv").read_bytes()
    before = (ref / "multistart.json").read_bytes()
    code, _, err = run(capsys, "optimize", setup["path"], "--out", str(ref), *OPTIMIZE_ARGS, "--noise", "profiled")
    assert code == EXIT_INPUT_ERROR and "noise" in err and "--force" in err
    assert (ref / "multistart.json").read_bytes() == before


def test_optimize_bound_flips_are_a_setting_of_the_run(setup, capsys, tmp_path):
    """The default run records its two rounds of bound flips (per start: the value before
    them); `--bound-flips 0` runs the local optimiser alone, records that, and a run
    directory of the other setting is refused without --force."""
    ref = reference(setup, capsys)
    metadata = json.loads((ref / "multistart.json").read_text())["metadata"]
    flips = metadata["bound_flips"]
    assert flips["rounds"] == 2 and len(flips["fval_before"]) == len(flips["runs_per_start"])
    out = tmp_path / "no_flips"
    code, _, err = run(capsys, "optimize", setup["path"], "--out", str(out), *OPTIMIZE_ARGS, "--bound-flips", "0")
    assert code == 0, err
    assert json.loads((out / "optimize_run.json").read_text())["settings"]["bound_flips"] is None
    assert json.loads((out / "multistart.json").read_text())["metadata"]["bound_flips"] is None
    before = (ref / "multistart.json").read_bytes()
    code, _, err = run(capsys, "optimize", setup["path"], "--out", str(ref), *OPTIMIZE_ARGS, "--bound-flips", "0")
    assert code == EXIT_INPUT_ERROR and "bound_flips" in err and "--force" in err
    assert (ref / "multistart.json").read_bytes() == before


def test_adjoint_gradients_are_a_setting_of_the_run(setup, capsys, tmp_path, monkeypatch):
    """`--gradient adjoint` optimises with reverse-mode gradients to the optimum of the
    forward-sensitivity run, and run.json records the method."""
    ref = reference(setup, capsys)
    monkeypatch.setattr(cli, "_load_problem", _LOAD_PROBLEM)
    out = tmp_path / "adjoint"
    code, _, err = run(capsys, "optimize", setup["path"], "--out", str(out), *OPTIMIZE_ARGS, "--gradient", "adjoint")
    assert code == 0, err
    record = json.loads((out / "optimize_run.json").read_text())
    assert record["fingerprint"]["solver"]["gradient"] == "adjoint"
    assert json.loads((ref / "optimize_run.json").read_text())["fingerprint"]["solver"]["gradient"] == "forward"
    ours, theirs = (pd.read_csv(path / "multistart.csv") for path in (out, ref))
    assert ours["fval"].min() == pytest.approx(theirs["fval"].min(), rel=1e-9)
