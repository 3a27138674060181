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
    assert set(report["ratios"]) and all(ratio > 0 for ratio in report["ratios"].values())
    assert any("quick" in reason for reason in report["skipped"])
