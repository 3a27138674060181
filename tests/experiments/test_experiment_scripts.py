"""Every experiment script in experiments/ runs in `--quick` mode and writes its figures and numbers.

The scripts are discovered by `experiments/run_all.py` (the same command lines it
uses), so a new script is tested as soon as it lands; the benchmarks have their
own test. Each runs as a subprocess with a temporary `--out`, in a temporary
working directory (nothing is written to the repository's `results/`). Beyond the
files, the numbers are checked where a reference exists (the published Boehm
optimum, the shape of the posterior, the profile interval around its estimate).

The quick runs take one to three minutes each on a 2-core CPU (mostly JAX
compilation), so they are marked slow; the cheap contract checks are not.
"""

from __future__ import annotations

import json
import math
import re
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers.script_loader import load_script

EXPERIMENTS = Path(__file__).resolve().parents[2] / "experiments"
BOEHM_NLLH = 138.2219969
BOEHM_IDS = ("Epo_degradation_BaF3", "k_exp_hetero", "k_exp_homo", "k_imp_hetero", "k_imp_homo", "k_phos",
             "sd_pSTAT5A_rel", "sd_pSTAT5B_rel", "sd_rSTAT5A_rel")
SCRIPT_TIMEOUT_S = 3600


def _load_run_all():
    return load_script("run_all.py")


run_all = _load_run_all()
SCRIPTS = [script for script in run_all.discover() if not script.path.startswith("benchmarks/")]


def run_quick(script, tmp_path: Path) -> Path:
    """Run `script --quick --out <tmp>/<name>` in `tmp_path`; returns the output folder."""
    root = tmp_path / "results"
    completed = subprocess.run(script.command(root, quick=True), cwd=tmp_path, capture_output=True, text=True,
                               timeout=SCRIPT_TIMEOUT_S, check=False)
    assert completed.returncode == 0, (f"{script.path} failed (exit {completed.returncode}):\n"
                                       f"{completed.stdout[-3000:]}\n{completed.stderr[-5000:]}")
    assert not (tmp_path / "results" / "quick").exists()
    out = root / script.name
    assert out.is_dir(), f"{script.path} wrote nothing to {out}"
    return out


def files(out: Path, suffix: str) -> list[Path]:
    return sorted(p for p in out.rglob(f"*{suffix}") if p.is_file() and ".partial-" not in str(p))


def check_generic(out: Path) -> None:
    """Figures as PNG and PDF, numbers as CSV or netCDF, all non-trivial."""
    pngs, pdfs = files(out, ".png"), files(out, ".pdf")
    assert pngs and pdfs, f"no PNG/PDF figure in {out}"
    for png in pngs:
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5_000, png
    for pdf in pdfs:
        assert pdf.read_bytes()[:5] == b"%PDF-", pdf
    tables, netcdf = files(out, ".csv"), files(out, ".nc")
    assert tables or netcdf, f"no CSV or netCDF numbers in {out}"
    for table in tables:
        frame = pd.read_csv(table)
        numbers = frame.select_dtypes("number").to_numpy(float)
        assert len(frame) > 0 and np.isfinite(numbers).any(), f"{table} holds no finite numbers"


def check_run_directory(run: Path, chains: int, draws: int) -> None:
    import arviz as az

    from jakinfer.rundir.report import write_report

    for name in ("posterior.nc", "summary.csv", "diagnostics.json", "fit.png", "fit.pdf", "run.json"):
        assert (run / name).is_file(), f"{run / name} missing"
    idata = az.from_netcdf(str(run / "posterior.nc"))
    theta = idata.posterior["theta"]
    assert (theta.sizes["chain"], theta.sizes["draw"]) == (chains, draws)
    assert np.all(np.isfinite(theta.values))
    lower, upper = idata.constant_data["lower"].values, idata.constant_data["upper"].values
    assert np.all((theta.values >= lower) & (theta.values <= upper))
    verdict = json.loads((run / "diagnostics.json").read_text())["verdict"]
    assert verdict["text"].startswith(("OK:", "WARNING:"))
    # the HTML report reads a real run directory
    page = write_report(run, run.parent / "report.html").read_text()
    assert verdict["text"].splitlines()[0] in page and "data:image/png;base64," in page


def check_boehm_multistart(out: Path) -> None:
    table = pd.read_csv(out / "multistart.csv")
    assert len(table) == 10  # --quick: 10 starts
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n_starts"] == 10 and summary["best_nllh"] == pytest.approx(table["fval"].min())
    # the best start reaches the published optimum; the bound flips (default 2 rounds) never lose one
    assert summary["best_nllh"] <= BOEHM_NLLH + 1e-3
    assert summary["bound_flips"] == 2
    assert summary["n_reached_published"] >= summary["n_reached_published_before_flips"]
    assert [c[len("x."):] for c in table.columns if c.startswith("x.")] == list(BOEHM_IDS)
    for stem in ("waterfall.png", "waterfall.pdf"):
        assert (out / stem).is_file()


def check_boehm_multistart_settings(out: Path) -> None:
    """--quick: the defaults and the profiled-noise variant, seed 0, 4 starts each."""
    table = pd.read_csv(out / "settings.csv")
    assert list(table["variant"]) == ["fisher (defaults)", "fisher, noise profiled"]
    assert np.all(table["n_starts"] == 4) and np.all(table["seed"] == 0)
    np.testing.assert_allclose(table["fraction"], table["reached"] / 4)
    assert np.all((table["fraction_low"] <= table["fraction"]) & (table["fraction"] <= table["fraction_high"]))
    assert np.all(table["best_fval"] >= BOEHM_NLLH - 1e-3) and np.all(table["n_failed"] == 0)
    for stem in ("success_fraction.png", "success_fraction.pdf", "settings.json"):
        assert (out / stem).is_file()


def check_boehm_multistart_strategies(out: Path) -> None:
    """--quick: plain, barrier 0.3 and bound flips from the same 3 starts (seed 0)."""
    table = pd.read_csv(out / "strategies.csv").set_index("strategy")
    assert list(table.index) == ["plain", "barrier 0.3", "flip bounds, 2 rounds"]
    assert np.all(table["n_starts"] == 3)
    np.testing.assert_allclose(table["fraction"], table["reached"] / 3, rtol=1e-5)  # the CSV keeps 6 digits
    starts = pd.read_csv(out / "starts.csv")
    assert len(starts) == 9 and np.all(starts["fval"] >= BOEHM_NLLH - 1e-3)
    # flips only ever keep a lower value, at the price of more evaluations
    plain, flipped = (starts[starts["strategy"] == name].set_index("start") for name in ("plain", "flip bounds, 2 rounds"))
    assert np.all(flipped["fval"] <= plain["fval"] + 1e-9) and np.all(flipped["evaluations"] >= plain["evaluations"])
    assert 1 <= table.loc["barrier 0.3", "distinct_stage_ends"] <= 3
    assert np.isnan(table.loc["plain", "distinct_stage_ends"])
    for stem in ("strategies.png", "strategies.pdf", "strategies.json"):
        assert (out / stem).is_file()


def test_strategies_log_barrier_by_hand_and_by_autodiff():
    import jax
    import jax.numpy as jnp

    module = load_script("boehm_multistart_strategies.py")
    lower, upper = jnp.array([-5.0, -1.0]), jnp.array([5.0, 2.0])
    x = jnp.array([1.0, 0.5])
    value, gradient, curvature = module.log_barrier(x, lower, upper)
    assert float(value) == pytest.approx(-(np.log(6.0) + np.log(4.0) + np.log(1.5) + np.log(1.5)), rel=1e-14)

    def barrier(y):
        return module.log_barrier(y, lower, upper)[0]

    np.testing.assert_allclose(np.asarray(gradient), np.asarray(jax.grad(barrier)(x)), rtol=1e-14)
    np.testing.assert_allclose(np.asarray(curvature), np.diag(np.asarray(jax.hessian(barrier)(x))), rtol=1e-14)
    assert float(module.log_barrier(jnp.array([5.0, 0.5]), lower, upper)[0]) == np.inf


def test_wilson_interval_matches_scipy():
    from scipy.stats import binomtest

    module = load_script("boehm_multistart_settings.py")
    for successes, n in ((13, 100), (0, 4), (4, 4), (1, 20)):
        reference = binomtest(successes, n).proportion_ci(confidence_level=0.95, method="wilson")
        np.testing.assert_allclose(module.wilson_interval(successes, n), (reference.low, reference.high),
                                   atol=1e-12)


def check_boehm_profiles(out: Path) -> None:
    summary = pd.read_csv(out / "profile_summary.csv").set_index("parameter")
    assert tuple(summary.index) == BOEHM_IDS
    record = json.loads((out / "summary.json").read_text())
    assert record["optimum_nllh"] <= BOEHM_NLLH + 1e-3
    k_phos = summary.loc["k_phos"]  # well determined by the data
    assert k_phos["identifiability"] == "identifiable"
    assert k_phos["ci_lower"] < k_phos["estimate"] < k_phos["ci_upper"]
    for stem in ("profiles.png", "profiles.pdf", "profiles.csv"):
        assert (out / stem).is_file()


def check_boehm_nuts(out: Path) -> None:
    check_run_directory(out, chains=2, draws=20)
    summary = pd.read_csv(out / "summary.csv", index_col=0)
    assert [f"theta[{p}]" for p in BOEHM_IDS] == [i for i in summary.index if i.startswith("theta[")]


def check_swameye_fit(out: Path) -> None:
    fit = json.loads((out / "map.json").read_text())
    assert math.isfinite(fit["negative_log_likelihood"])
    check_run_directory(out / "run", chains=2, draws=25)
    bands = pd.read_csv(out / "whatif_epo_input.csv")
    assert len(bands) > 0
    for stem in ("whatif_epo_input.png", "whatif_epo_input.pdf"):
        assert (out / stem).is_file()


def check_jak_inhibitor_dose_response(out: Path) -> None:
    """Relative pSTAT5 readouts: 1 without inhibitor, falling with the dose towards 0
    (median and bands ordered); the catalogue's absent tofacitinib JAK2 IC50 is
    reported, not filled in; the cellular ruxolitinib potency shifts the curve right."""
    summary = json.loads((out / "summary.json").read_text())
    assert summary["failed_solves"] == 0 and summary["assumptions"]
    assert any(s.startswith("tofacitinib") for s in summary["skipped"])
    table = pd.read_csv(out / "dose_response.csv")
    for (_, _), rows in table.groupby(["label", "readout"]):
        rows = rows.sort_values("dose_nM")
        np.testing.assert_allclose(rows["median"].iloc[0], 1.0, rtol=1e-9)
        assert np.all(np.diff(rows["median"]) <= 1e-6) and rows["median"].iloc[-1] < 0.05
        assert np.all(rows["lower_90"] <= rows["median"] + 1e-12) and np.all(rows["median"] <= rows["upper_90"] + 1e-12)
    half = pd.read_csv(out / "readout_ic50.csv").set_index("label")
    enzymatic = half.loc[half["assay"] == "enzymatic", "auc_half_dose_nM_median"]
    cellular = half.loc[half["assay"] == "cellular", "auc_half_dose_nM_median"]
    assert cellular.min() > enzymatic.max() and np.all(half["auc_half_dose_nM_median"] > half["jak2_ic50_nM"])


SWAMEYE_NLLH = -71.05901753811617
"""Negative log-likelihood at the Swameye collection's optimum (tests/model/test_library.py)."""


def check_swameye_profiles(out: Path) -> None:
    """Quick mode profiles p1, p3, p4 from a one-start multistart at the collection's optimum."""
    record = json.loads((out / "summary.json").read_text())
    assert record["optimum_nllh"] <= SWAMEYE_NLLH + 1e-3
    summary = pd.read_csv(out / "profile_summary.csv").set_index("parameter")
    assert tuple(summary.index) == ("p1", "p3", "p4")
    for parameter in ("p1", "p3", "p4"):  # phosphorylation, import and cycling rates: well determined
        row = summary.loc[parameter]
        assert row["identifiability"] == "identifiable"
        assert row["ci_lower"] < row["estimate"] < row["ci_upper"]
    intervals = pd.read_csv(out / "profile_intervals.csv").set_index("parameter")
    np.testing.assert_allclose(intervals["ci_lower_linear"], 10 ** summary["ci_lower"], rtol=1e-8)
    points = pd.read_csv(out / "profiles.csv")
    assert points["delta"].min() >= -1e-6  # the profile never beats the optimum
    for stem in ("profiles.png", "profiles.pdf", "multistart/multistart.csv"):
        assert (out / stem).is_file()


def check_swameye_model_comparison(out: Path) -> None:
    """Both models sampled from their MAP; WAIC recomputed by hand from each saved posterior;
    the data favour nuclear cycling by far (the model without it cannot bring STAT5 back)."""
    import arviz as az
    from scipy.special import logsumexp

    record = json.loads((out / "comparison.json").read_text())
    assert record["map"]["cycling"]["negative_log_likelihood"] <= SWAMEYE_NLLH + 1e-3
    assert record["map"]["no_cycling"]["negative_log_likelihood"] > SWAMEYE_NLLH + 50
    table = pd.read_csv(out / "comparison.csv")
    assert len(table) == 4 and set(table["model"]) == {"cycling", "no_cycling"}
    assert np.all(np.isfinite(table["elpd"]))
    for name in ("cycling", "no_cycling"):
        check_run_directory(out / name / "run", chains=2, draws=30)
        idata = az.from_netcdf(str(out / name / "run" / "posterior.nc"))
        log_likelihood = idata.log_likelihood["y"].values.reshape(-1, 46)
        waic = np.sum(logsumexp(log_likelihood, axis=0) - np.log(log_likelihood.shape[0])
                      - log_likelihood.var(axis=0))
        row = table[(table["criterion"] == "waic") & (table["model"] == name)]
        assert row["elpd"].item() == pytest.approx(waic, rel=1e-9)
    assert record["best_by_loo"] == "cycling"
    loo = table[table["criterion"] == "loo"].set_index("model")
    assert loo.loc["no_cycling", "elpd_diff"] > 20
    for stem in ("model_comparison.png", "model_comparison.pdf", "pointwise.csv"):
        assert (out / stem).is_file()


SPECIFIC = {
    "boehm_multistart": check_boehm_multistart,
    "boehm_multistart_settings": check_boehm_multistart_settings,
    "boehm_multistart_strategies": check_boehm_multistart_strategies,
    "boehm_profiles": check_boehm_profiles,
    "boehm_nuts": check_boehm_nuts,
    "swameye_fit": check_swameye_fit,
    "swameye_profiles": check_swameye_profiles,
    "swameye_model_comparison": check_swameye_model_comparison,
    "jak_inhibitor_dose_response": check_jak_inhibitor_dose_response,
}


def test_every_script_has_a_quick_mode_an_out_option_and_a_readme_entry():
    readme = (EXPERIMENTS / "README.md").read_text(encoding="utf-8")
    assert SCRIPTS, "no experiment scripts found"
    for script in SCRIPTS:
        source = (EXPERIMENTS / script.path).read_text(encoding="utf-8")
        assert '"--quick"' in source and '"--out"' in source, f"{script.path} lacks --quick or --out"
        assert re.search(rf"\b{re.escape(script.path)}\b", readme), f"experiments/README.md does not mention {script.path}"
    assert "benchmarks/benchmark_suite.py" in readme


def test_run_all_lists_and_orders_the_scripts(capsys):
    names = [script.name for script in run_all.discover()]
    assert names.index("boehm_multistart") < names.index("boehm_profiles")  # profiles start from its optimum
    assert "run_all" not in names and "benchmark_suite" in names
    assert run_all.main(["--list"]) == 0
    listed = capsys.readouterr().out
    assert all(name in listed for name in names)
    command = run_all.SCRIPTS[1].command(Path("root"), quick=True)
    assert command[2:] == ["--quick", "--out", str(Path("root/boehm_profiles")), "--multistart",
                           str(Path("root/boehm_multistart"))]
    with pytest.raises(SystemExit):
        run_all.main(["--only", "no_such_script"])


@pytest.mark.slow
@pytest.mark.parametrize("script", SCRIPTS, ids=[script.name for script in SCRIPTS])
def test_script_runs_in_quick_mode(script, tmp_path):
    out = run_quick(script, tmp_path)
    check_generic(out)
    SPECIFIC.get(script.name, lambda out: None)(out)
