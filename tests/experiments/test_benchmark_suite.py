"""The benchmark suite's --quick mode runs in the tests so it cannot rot."""

import importlib.util
import json

import pytest
from helpers.script_loader import load_script


@pytest.fixture(scope="module")
def suite():
    return load_script("benchmarks/benchmark_suite.py")


def test_quick_benchmark_measures_every_implementation_and_they_agree(suite, tmp_path):
    """--quick runs every code path of the suite once with few compilations: jakinfer's
    nllh and gradient, the plain diffrax build's nllh, one vmapped batch (B = 2) and a
    2-start multistart; what it leaves out is listed as skipped."""
    report = suite.main(["--quick", "--out", str(tmp_path)])
    written = json.loads((tmp_path / "benchmark.json").read_text())
    assert written["single"] == report["single"] and written["budget_s"] == 2.0 and written["repeats"] == 2
    assert (tmp_path / "benchmark.md").read_text().startswith("## boehm2014")
    names = [row["implementation"] for row in report["single"]]
    assert len(names) == 2 and names[0].startswith("jakinfer") and names[1].startswith("plain diffrax")
    for row in report["single"]:
        assert row["nllh_ms"] > 0 and row["compile_nllh_s"] > 0
        # every solver set-up reaches the published optimum's nllh
        assert row["nllh_value"] == pytest.approx(138.22199693517703, abs=1e-4)
    ours, peer = report["single"]
    assert ours["gradient_ms"] > 0 and ours["gradient_mode"] == "forward" and ours["compile_gradient_s"] > 0
    assert peer["gradient_ms"] is None and peer["compile_gradient_s"] is None  # --quick: nllh only
    assert list(report["ratios"]) == [f"nllh: {names[1]} / jakinfer"]
    assert report["ratios"][f"nllh: {names[1]} / jakinfer"] == pytest.approx(peer["nllh_ms"] / ours["nllh_ms"])
    (batch,) = report["batched"]
    assert batch["batch"] == 2 and tuple(batch) == suite.BATCH_COLUMNS
    assert batch["nllh_per_item_ms"] == pytest.approx(batch["nllh_total_ms"] / 2)
    assert batch["gradient_per_item_ms"] == pytest.approx(batch["gradient_total_ms"] / 2)
    assert batch["repeats"] >= 2 and batch["gradient_repeats"] >= 2
    assert batch["nllh_total_ms"] > 0 and batch["gradient_total_ms"] > 0
    assert batch["compile_nllh_s"] > 0 and batch["compile_gradient_s"] > 0
    assert batch["nllh_speedup"] == pytest.approx(1.0) and batch["gradient_speedup"] == pytest.approx(1.0)
    table = (tmp_path / "benchmark.md").read_text()
    assert "| batch B | repeats nllh / grad | nllh total [ms] |" in table
    assert table.count("\n| 2 |") == 1
    assert f"| {names[1]} | {peer['nllh_ms']:.2f} | — | not timed (--quick) |" in table
    (multistart,) = report["multistart"]
    assert multistart["n_starts"] == 2 and multistart["best_fval"] >= 138.2
    assert multistart["total_s"] > 0 and multistart["compile_s"] >= 0
    assert "(scipy L-BFGS-B, no bound flips, ≤ 2 iterations" in multistart["implementation"]
    assert set(report["part_seconds"]) == {"single", "batched", "multistart"}
    assert all(seconds > 0 for seconds in report["part_seconds"].values())
    skipped = report["skipped"]
    assert any(reason.startswith("peers") and "quick" in reason for reason in skipped)
    assert any("reverse mode: --quick" in reason for reason in skipped)
    assert any(reason.startswith(f"{names[1]} gradient: --quick") for reason in skipped)
    assert any(reason.startswith("Stan") for reason in skipped)


def test_batch_sizes_repeats_and_budget_override_the_quick_defaults(suite, tmp_path, monkeypatch):
    """--batch-sizes, --repeats and --budget-s reach the batched part (measured by a stub)."""
    calls = []

    def bench_batched(problem, batch_sizes, repeats, seed, budget_s):
        calls.append((batch_sizes, repeats, budget_s))
        return []

    monkeypatch.setattr(suite, "bench_batched", bench_batched)
    skip = ["--skip", "single", "multistart"]
    suite.main(["--quick", *skip, "--out", str(tmp_path)])
    suite.main(["--quick", *skip, "--batch-sizes", "3", "5", "--repeats", "4", "--budget-s", "0.5",
                "--out", str(tmp_path)])
    suite.main(["--skip", "single", "amici", "multistart", "--out", str(tmp_path)])  # full mode
    assert calls == [([2], 2, 2.0), ([3, 5], 4, 0.5), ([1, 4, 16, 64, 256, 1024], 30, 20.0)]


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
