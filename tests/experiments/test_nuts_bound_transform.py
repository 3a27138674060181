"""experiments/benchmarks/nuts_bound_transform.py: its arithmetic, and its --quick run (slow)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from helpers.script_loader import load_script


@pytest.fixture(scope="module")
def script():
    return load_script("benchmarks/nuts_bound_transform.py")


def _run(transform: str, seed: int, bulk: dict[str, float], steps: float) -> dict:
    worst = min(bulk, key=bulk.get)
    return {"seed": seed, "bound_transform": transform, "bulk_ess": bulk, "min_bulk_ess": bulk[worst],
            "min_bulk_parameter": worst, "min_tail_ess": 50.0, "max_rhat": 1.01, "divergences": 0,
            "leapfrog_steps_per_draw": steps / 400, "min_bulk_ess_per_1000_steps": 1000 * bulk[worst] / steps}


def test_means_per_map_and_the_table(script):
    runs = [_run("logistic", 1, {"k_exp_hetero": 60.0, "k_imp_homo": 200.0}, 10_000),
            _run("logistic", 2, {"k_exp_hetero": 150.0, "k_imp_homo": 100.0}, 8_000),
            _run("probit", 1, {"k_exp_hetero": 200.0, "k_imp_homo": 280.0}, 10_000)]
    means = script.means(runs)
    assert list(means) == ["logistic", "probit"]
    assert means["logistic"]["runs"] == 2 and means["probit"]["runs"] == 1
    assert means["logistic"]["min_bulk_ess"] == pytest.approx((60 + 100) / 2)
    assert means["logistic"]["min_bulk_ess_per_1000_steps"] == pytest.approx((6.0 + 12.5) / 2)
    assert means["logistic"]["bulk_ess[k_imp_homo]"] == pytest.approx(150.0)
    report = {"problem": "p", "settings": {"chains": 2, "warmup": 200, "draws": 200, "max_tree_depth": 10},
              "runs": runs, "means": means}
    table = script.markdown(report)
    assert "| 1 | logistic | 60 (`k_exp_hetero`) | 60 / 200 |" in table
    assert "- probit: min bulk ESS 200, per 1000 steps 20.0 (1 runs)" in table


@pytest.mark.slow
def test_quick_run_writes_both_maps(script, tmp_path):
    report = script.main(["--quick", "--out", str(tmp_path)])
    written = json.loads((tmp_path / "nuts_bound_transform.json").read_text())
    assert [run["bound_transform"] for run in written["runs"]] == ["logistic", "probit"]
    for run in report["runs"]:
        assert run["divergences"] >= 0 and np.isfinite(run["min_bulk_ess"]) and run["leapfrog_steps_per_draw"] >= 1
        assert set(run["bulk_ess"]) == set(report["runs"][0]["bulk_ess"])
    assert (tmp_path / "nuts_bound_transform.md").read_text().startswith("# NUTS through the logistic")
