"""A catalogue of bad inputs: each gives one clear error, and no input file is ever modified.

Covers what `tests/io/test_petab_bad_inputs.py` (PEtab table contents) and
`tests/io/test_tidy.py` (tidy column values) do not: sampler settings, command-line
arguments of `sample` and `sbc`, run directories that are not what they seem, and
files that are empty, not UTF-8, binary, absurdly large or full of overflowing
numbers. Nothing here compiles a sampler: every error comes before sampling.
"""

from __future__ import annotations

import hashlib
import math
import re
from pathlib import Path

import numpy as np
import pytest
from helpers.decay_problem import write_decay_problem

from jakinfer.cli import EXIT_INPUT_ERROR, main
from jakinfer.errors import InputError
from jakinfer.infer.nuts import NutsConfig, NutsSampler
from jakinfer.io.petab import read_petab
from jakinfer.io.tidy import read_tidy


def hashes(directory: Path) -> dict[str, str]:
    """SHA-256 of every file below `directory` (relative path -> digest)."""
    return {str(p.relative_to(directory)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(directory.rglob("*")) if p.is_file()}


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture()
def decay(tmp_path) -> Path:
    return write_decay_problem(tmp_path / "problem")


# -- sampler settings ---------------------------------------------------------------------
@pytest.mark.parametrize(("settings", "message"), [
    ({"warmup": -1}, "warmup must be an integer >= 0"),
    ({"max_tree_depth": 0}, "max_tree_depth must be an integer >= 1"),
    ({"max_tree_depth": 31}, "max_tree_depth must be <= 30"),
    ({"chunk_size": 0}, "chunk_size must be an integer >= 1"),
    ({"chunk_size": 10.0}, "chunk_size must be an integer"),
    ({"chains": True}, "chains must be an integer"),
    ({"seed": True}, "seed must be a non-negative integer"),
    ({"seed": 2**63}, "below 2\\*\\*63"),
    ({"target_accept": math.nan}, r"target_accept must lie in \(0, 1\)"),
    ({"target_accept": "0.8"}, r"target_accept must lie in \(0, 1\)"),
    ({"target_accept": True}, r"target_accept must lie in \(0, 1\)"),
    ({"dense_mass": "yes"}, "dense_mass must be True or False"),
    ({"progress_bar": 1}, "progress_bar must be True or False"),
    ({"init_theta": []}, "init_theta must be a finite vector"),
    ({"init_theta": [[0.1, 1.0]]}, "init_theta must be a finite vector"),
    ({"init_theta": "ab"}, "init_theta must be a finite vector"),
    ({"init_theta": [0.0, 1e400]}, "init_theta must be a finite vector"),
])
def test_bad_nuts_settings(settings, message):
    with pytest.raises(InputError, match=message):
        NutsConfig(**settings)


def test_numpy_integers_are_accepted_and_normalised():
    config = NutsConfig(chains=np.int64(2), seed=np.int32(5), target_accept=np.float32(0.9))
    assert type(config.chains) is int and type(config.seed) is int and config.to_dict()["chains"] == 2


def test_an_infinite_bound_is_refused_before_compiling(decay):
    """An upper bound of 1e400 reads as inf (PEtab allows it); NUTS names the parameter."""
    path = decay.parent / "parameters.tsv"
    path.write_text(path.read_text().replace("\t5.0\t", "\t1e400\t", 1))
    problem = read_petab(decay)
    assert problem.parameters.upper[1] == math.inf
    with pytest.raises(InputError, match=r"finite bounds.*'x0' has \[0.1, inf\]"):
        NutsSampler(problem, NutsConfig())


# -- command lines --------------------------------------------------------------------------
SAMPLE_ARGUMENTS = [
    (["--chunk-size", "0"], "0 is less than 1"),
    (["--max-steps", "0"], "0 is less than 1"),
    (["--dtmin", "-1"], "not a positive number"),
    (["--dtmin", "nan"], "not a positive number"),
    (["--dtmin", "inf"], "not a positive number"),
    (["--rtol", "1e400"], "not a positive number"),
    (["--seed", "-1"], "-1 is less than 0"),
    (["--seed", str(2**63)], "is more than"),
    (["--max-tree-depth", "31"], "31 is more than 30"),
    (["--warmup", "-1"], "-1 is less than 0"),
    (["--draws", "abc"], "'abc' is not an integer"),
    (["--draws", "1e3"], "'1e3' is not an integer"),
    (["--target-accept", "nan"], r"target_accept must lie in \(0, 1\)"),
    (["--chain-method", "threads"], "invalid choice"),
    (["--bogus"], "unrecognized arguments: --bogus"),
]


@pytest.mark.parametrize(("extra", "message"), SAMPLE_ARGUMENTS, ids=[" ".join(a) for a, _ in SAMPLE_ARGUMENTS])
def test_bad_sample_arguments_exit_2(capsys, decay, tmp_path, extra, message):
    before = hashes(decay.parent)
    code, out, err = run(capsys, "sample", str(decay), "--out", str(tmp_path / "run"), *extra)
    assert code == EXIT_INPUT_ERROR and out == ""
    assert re.search(message, err), err
    assert "Traceback" not in err
    assert not (tmp_path / "run").exists()
    assert hashes(decay.parent) == before


SBC_ARGUMENTS = [
    (["--replicates", "0"], "0 is less than 1"),
    (["--thin", "0"], "0 is less than 1"),
    (["--bins", "1"], "1 is less than 2"),
    (["--workers", "-1"], "-1 is less than 0"),
    (["--workers", "2", "--scheduler", "tcp://127.0.0.1:1"], "not allowed with argument"),
    (["--draws", "10", "--thin", "11", "--workers", "0"], r"thin \(11\) must not exceed the draws"),
    (["--scheduler", "localhost:8786"], "tcp://host:port"),
]


@pytest.mark.parametrize(("extra", "message"), SBC_ARGUMENTS, ids=[" ".join(a) for a, _ in SBC_ARGUMENTS])
def test_bad_sbc_arguments_exit_2(capsys, decay, tmp_path, extra, message):
    before = hashes(decay.parent)
    code, out, err = run(capsys, "sbc", str(decay), "--out", str(tmp_path / "sbc"), *extra)
    assert code == EXIT_INPUT_ERROR, (out, err)
    assert re.search(message, err), err
    assert "Traceback" not in err and err.count("error:") == 1
    assert hashes(decay.parent) == before


@pytest.mark.parametrize("command", ["sample", "sbc"])
def test_output_path_that_is_a_file(capsys, decay, tmp_path, command):
    target = tmp_path / "taken"
    target.write_text("my notes")
    code, _, err = run(capsys, command, str(decay), "--out", str(target), "--workers", "0") if command == "sbc" \
        else run(capsys, command, str(decay), "--out", str(target))
    assert code == EXIT_INPUT_ERROR and "is a file" in err and str(target) in err
    assert target.read_text() == "my notes"


def test_sbc_directory_with_other_files_is_refused(capsys, decay, tmp_path):
    out = tmp_path / "sbc"
    out.mkdir()
    (out / "thesis.tex").write_text("do not delete")
    code, _, err = run(capsys, "sbc", str(decay), "--out", str(out), "--workers", "0")
    assert code == EXIT_INPUT_ERROR and "thesis.tex" in err and "--force" in err
    assert hashes(out) == {"thesis.tex": hashlib.sha256(b"do not delete").hexdigest()}


@pytest.mark.parametrize("content", [b"", b"\xff\xfe\x00garbage", b"- just\n- a list\n", "directory"],
                         ids=["empty", "not-utf8", "yaml-list", "directory"])
def test_problem_argument_that_is_not_a_petab_yaml(capsys, tmp_path, content):
    path = tmp_path / "problem.yaml"
    if content == "directory":
        path.mkdir()
    else:
        path.write_bytes(content)
    before = hashes(tmp_path)
    code, out, err = run(capsys, "sample", str(path), "--out", str(tmp_path / "run"))
    assert code == EXIT_INPUT_ERROR and out == ""
    assert err.startswith("jakinfer: error: ") and str(path) in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert hashes(tmp_path) == before


def test_run_directory_with_a_damaged_checkpoint_is_refused_untouched(capsys, decay, tmp_path):
    """A run directory whose checkpoint manifest is garbage is not resumed (it cannot be
    identified) and not touched; `--force` would replace it."""
    out = tmp_path / "run"
    (out / "checkpoint" / "records").mkdir(parents=True)
    (out / "checkpoint" / "manifest.json").write_bytes(b"\x00\x01 not json")
    before = hashes(out)
    code, _, err = run(capsys, "sample", str(decay), "--out", str(out), "--no-progress")
    assert code == EXIT_INPUT_ERROR and "--force" in err
    assert hashes(out) == before


def test_unknown_command_and_missing_problem(capsys):
    code, _, err = run(capsys, "fit", "boehm2014")
    assert code == EXIT_INPUT_ERROR and "invalid choice: 'fit'" in err
    code, _, err = run(capsys, "sbc", "--out", "x")
    assert code == EXIT_INPUT_ERROR and "PROBLEM" in err


# -- PEtab files beyond the table contents ---------------------------------------------------------
def _garble(name: str, transform):
    def apply(directory: Path) -> None:
        path = directory / name
        path.write_bytes(transform(path.read_bytes()))
    return apply


PETAB_FILES = {
    "empty-yaml": (_garble("decay.yaml", lambda b: b""), "decay.yaml", "expected a YAML mapping"),
    "not-utf8-yaml": (_garble("decay.yaml", lambda b: b"\xff\xfe" + b), "decay.yaml", "not UTF-8"),
    "empty-sbml": (_garble("model.xml", lambda b: b""), "model.xml", "not valid SBML"),
    "binary-sbml": (_garble("model.xml", lambda b: bytes(range(256)) * 16), "model.xml", "not valid SBML"),
    "not-utf8-sbml": (_garble("model.xml", lambda b: b.replace(b'id="decay"', b'id="d\xe9cay"')), "model.xml",
                      "not valid SBML"),
    "header-only-measurements": (_garble("measurements.tsv", lambda b: b.splitlines(keepends=True)[0]),
                                 "measurements.tsv", "no rows"),
    "overflowing-measurement": (_garble("measurements.tsv", lambda b: b.replace(b"\t0.5\t0.1", b"\t0.5e400\t0.1")),
                                "measurements.tsv", "not a finite number"),
    "overflowing-noise": (_garble("measurements.tsv", lambda b: b.replace(b"\t0.1\n", b"\t1e400\n", 1)),
                          "measurements.tsv", "not a finite number"),
    "nul-in-id": (_garble("measurements.tsv", lambda b: b.replace(b"x_obs", b"x_\x00obs", 1)), "measurements.tsv",
                  "not in the observable table"),
    "huge-field": (_garble("conditions.tsv", lambda b: b + b"c1\t" + b"9" * 200_000 + b"\n"), "conditions.tsv",
                   "field larger than field limit"),
}


@pytest.mark.parametrize("case", sorted(PETAB_FILES))
def test_petab_file_damage_gives_an_input_error_naming_the_file(decay, case):
    damage, file_name, message = PETAB_FILES[case]
    damage(decay.parent)
    before = hashes(decay.parent)
    with pytest.raises(InputError, match=message) as info:
        read_petab(decay)
    assert info.value.file == str(decay.parent / file_name)
    assert hashes(decay.parent) == before


# -- tidy CSV files ---------------------------------------------------------------------------------
TIDY = b"observable,time,value,condition\npS_au,0,0.1,low\npS_au,5,0.6,low\n"
TIDY_FILES = {
    "empty": (b"", 1, "empty table"),
    "header-only": (b"observable,time,value\n", None, "no measurements"),
    "not-utf8": (TIDY.replace(b"low", b"l\xf6w", 1), 2, "not UTF-8"),
    "binary": (bytes(range(256)) * 8, 2, "not UTF-8"),
    "overflowing-value": (TIDY.replace(b"0.6", b"1e400"), 3, "'1e400' is not a finite number"),
    "overflowing-time": (TIDY.replace(b",5,", b",1e400,"), 3, "'1e400' is not a finite number"),
    "nul-in-id": (TIDY.replace(b"pS_au,5", b"pS\x00au,5"), 3, "not a valid observable id"),
    "huge-field": (b"observable,time,value\n" + b"a" * 1_000_000 + b",1,1\n", 2, "field larger than field limit"),
}


@pytest.mark.parametrize("case", sorted(TIDY_FILES))
def test_tidy_file_damage_gives_an_input_error(tmp_path, case):
    data, row, message = TIDY_FILES[case]
    path = tmp_path / "data.csv"
    path.write_bytes(data)
    with pytest.raises(InputError, match=message) as info:
        read_tidy(path)
    assert info.value.file == str(path) and info.value.row == row
    assert path.read_bytes() == data


@pytest.mark.parametrize("variant", [b"\xef\xbb\xbf" + TIDY, TIDY.replace(b"\n", b"\r\n")], ids=["bom", "crlf"])
def test_tidy_file_with_bom_or_windows_line_ends_is_read(tmp_path, variant):
    path = tmp_path / "data.csv"
    path.write_bytes(variant)
    data = read_tidy(path)
    assert list(data.measurements["observable"]) == ["pS_au", "pS_au"]
    assert path.read_bytes() == variant
