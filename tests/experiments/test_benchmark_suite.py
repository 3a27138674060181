"""The benchmark suite's --quick mode runs in the tests so it cannot rot."""

import importlib.util
import json
from pathlib import Path

import pytest

SUITE = Path(__file__).resolve().parents[2] / "experiments" / "benchmarks" / "benchmark_suite.py"


@pytest.fixture(scope="module")
def suite():
    spec = importlib.util.spec_from_file_location("benchmark_suite", SUITE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_quick_benchmark_measures_every_implementation_and_they_agree(suite, tmp_path):
    report = suite.main(["--quick", "--out", str(tmp_path)])
    written = json.loads((tmp_path / "benchmark.json").read_text())
    assert written["single"] == report["single"]
    assert (tmp_path / "benchmark.md").read_text().startswith("## boehm2014")
    names = [row["implementation"] for row in report["single"]]
    assert len(names) == 3 and names[0].startswith("jakinfer")
    for row in report["single"]:
        assert row["nllh_ms"] > 0 and row["gradient_ms"] > 0
        # every solver set-up reaches the published optimum's nllh
        assert row["nllh_value"] == pytest.approx(138.22199693517703, abs=1e-4)
    assert [row["batch"] for row in report["batched"]] == [1, 4]
    for row in report["batched"]:
        assert tuple(row) == suite.BATCH_COLUMNS
        assert row["nllh_per_item_ms"] == pytest.approx(row["nllh_total_ms"] / row["batch"])
        assert row["gradient_per_item_ms"] == pytest.approx(row["gradient_total_ms"] / row["batch"])
        assert row["repeats"] >= 2 and row["gradient_repeats"] >= 2
        assert row["nllh_total_ms"] > 0 and row["gradient_total_ms"] > 0
    assert report["batched"][0]["nllh_speedup"] == pytest.approx(1.0)
    table = (tmp_path / "benchmark.md").read_text()
    assert "| batch B | repeats nllh / grad | nllh total [ms] |" in table
    assert table.count("\n| 1 |") == 1 and table.count("\n| 4 |") == 1
    (multistart,) = report["multistart"]
    assert multistart["n_starts"] == 2 and multistart["best_fval"] >= 138.2
    assert multistart["total_s"] > 0 and multistart["compile_s"] >= 0
    assert set(report["ratios"]) and all(ratio > 0 for ratio in report["ratios"].values())
    assert any("quick" in reason for reason in report["skipped"])
    assert any(reason.startswith("Stan") for reason in report["skipped"])


def test_time_to_target_counts_starts_in_order(suite):
    summary = suite._time_to_target([150.0, 138.505, 138.0, 137.9], [1.0, 2.0, 4.0, 8.0], target=138.5)
    assert summary["first_start_reaching"] == 3 and summary["time_to_best_s"] == 7.0
    assert summary["time_to_loose_s"] == 3.0  # 138.505 is within 0.01 of the target
    assert summary["n_reached"] == 2 and summary["total_s"] == 15.0 and summary["best_fval"] == 137.9
    missed = suite._time_to_target([150.0], [1.0], target=138.5)
    assert missed["time_to_best_s"] is None and missed["first_start_reaching"] is None
    assert missed["time_to_loose_s"] is None


def test_missing_peers_are_reported_as_skipped_with_the_reason(suite, tmp_path):
    if importlib.util.find_spec("amici") is not None:
        pytest.skip("amici is installed here: the skip path is not reachable")
    reason = suite.bench_amici(None, None, tmp_path / "problem.yaml", 1, 1e-8, 1e-8, tmp_path)
    assert reason.startswith("skipped: amici is not installed")
    reason = suite.bench_pypesto_multistart(tmp_path / "problem.yaml", None, (), 0.0, tmp_path, 1e-8, 1e-8)
    assert reason.startswith("skipped: pypesto/amici not installed")
    assert suite.peer_status()["amici"] == "not installed"
