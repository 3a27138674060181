"""The HTML run report (jakinfer.rundir.report, `jakinfer report`).

The run directories are built from synthetic draws with the writers
`run_sampling` uses (`summary_table`, `compute_diagnostics`/`judge`,
`InferenceData.to_netcdf`), so no sampling is needed; the numbers in the
comparison table are checked against the draws themselves.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import arviz as az
import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

from matplotlib.figure import Figure  # noqa: E402

from jakinfer.analysis.diagnostics import compute_diagnostics, judge  # noqa: E402
from jakinfer.analysis.posterior import summary_table  # noqa: E402
from jakinfer.cli import EXIT_INPUT_ERROR, main  # noqa: E402
from jakinfer.errors import InputError  # noqa: E402
from jakinfer.infer.optimize import MultistartResult, ObjectiveKind  # noqa: E402
from jakinfer.infer.profile import Identifiability, ParameterProfile, ProfileResult, WalkEnd  # noqa: E402
from jakinfer.rundir.laplace import LaplaceSummary, load_laplace, save_laplace  # noqa: E402
from jakinfer.rundir.report import REQUIRED_FILES, comparison_table, read_run, write_report  # noqa: E402

IDS = ("k_on", "k_off", "sd_obs")
NAMES = ("k_{on}", "k_{off} <fast>", "\\sigma_{obs}")  # "<" and ">" must be escaped in the page
MEAN = np.array([-1.0, 0.5, -0.3])
SD = np.array([0.2, 0.05, 0.1])
VOID_TAGS = {"meta", "img", "br", "hr", "link", "input", "col", "area", "base", "source", "wbr"}


def synthetic_idata(seed: int = 0, chains: int = 2, draws: int = 200) -> az.InferenceData:
    rng = np.random.default_rng(seed)
    theta = MEAN + SD * rng.standard_normal((chains, draws, len(IDS)))
    idata = az.from_dict(
        posterior={"theta": theta, "theta_linear": 10.0 ** theta},
        sample_stats={
            "diverging": np.zeros((chains, draws), dtype=bool),
            "tree_depth": np.full((chains, draws), 3),
            "energy": rng.standard_normal((chains, draws)),
            "solver_status": np.zeros((chains, draws), dtype=np.int32),
        },
        coords={"parameter": list(IDS)},
        dims={"theta": ["parameter"], "theta_linear": ["parameter"]},
        sample_stats_attrs={"max_tree_depth": 10},
    )
    idata.posterior = idata.posterior.assign_coords(parameter_name=("parameter", list(NAMES)))
    return idata


def png(path: Path, label: str) -> Path:
    figure = Figure(figsize=(2, 1.5))
    figure.subplots().plot([0, 1], [0, 1], label=label)
    figure.savefig(path, dpi=40)
    return path


def write_run(run_dir: Path, idata: az.InferenceData | None = None, posterior: bool = True) -> az.InferenceData:
    """A run directory laid out as `run_sampling` writes it."""
    idata = synthetic_idata() if idata is None else idata
    run_dir.mkdir(parents=True)
    if posterior:
        idata.to_netcdf(str(run_dir / "posterior.nc"))
    summary_table(idata).to_csv(run_dir / "summary.csv")
    diagnostics = compute_diagnostics(idata)
    verdict = judge(diagnostics)
    (run_dir / "diagnostics.json").write_text(json.dumps(
        {"diagnostics": diagnostics.to_dict(), "verdict": verdict.to_dict()}, indent=2))
    (run_dir / "diagnostics.txt").write_text(verdict.text + "\n")
    (run_dir / "run.json").write_text(json.dumps({
        "format": 1,
        "problem": {"name": "toy_binding", "parameters": list(IDS), "n_measurements": 12},
        "nuts": {"chains": 2, "warmup": 100, "draws": 200, "seed": 7, "max_tree_depth": 10},
        "timings_s": {"nuts": 1.5, "total": 2.0},
        "verdict": verdict.text,
    }))
    png(run_dir / "fit.png", "fit")
    return idata


class TagChecker(HTMLParser):
    """Collects start tags and fails on unbalanced or misnested end tags."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.tags: list[tuple[str, dict]] = []
        self.errors: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag not in VOID_TAGS:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1] if self.stack else 'nothing'}")
        else:
            self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


def parse(page: str) -> TagChecker:
    checker = TagChecker()
    checker.feed(page)
    checker.close()
    assert not checker.errors, checker.errors[:5]
    assert checker.stack == [], f"unclosed tags {checker.stack}"
    return checker


def data_uris(checker: TagChecker) -> dict[str, bytes]:
    images = {}
    for tag, attrs in checker.tags:
        if tag == "img":
            prefix = "data:image/png;base64,"
            assert attrs["src"].startswith(prefix), attrs["src"][:40]
            images[attrs["alt"]] = base64.b64decode(attrs["src"][len(prefix):], validate=True)
    return images


def test_report_has_verdict_tables_and_every_figure_inline(tmp_path):
    run_dir = tmp_path / "run"
    write_run(run_dir)
    (run_dir / "extra").mkdir()
    png(run_dir / "extra" / "trace.png", "trace")
    png(run_dir / "waterfall.png", "waterfall")
    out = write_report(run_dir)
    assert out == run_dir / "report.html"
    page = out.read_text(encoding="utf-8")
    checker = parse(page)
    text = "".join(checker.text)

    verdict = json.loads((run_dir / "diagnostics.json").read_text())["verdict"]
    assert verdict["text"].splitlines()[0] in text
    for check in verdict["checks"]:
        assert check["message"] in text
    # every figure, embedded byte for byte; fit.png first
    images = data_uris(checker)
    assert list(images)[0] == "fit.png"
    assert set(images) == {"fit.png", "waterfall.png", "extra/trace.png"}
    for label, content in images.items():
        assert content == (run_dir / label).read_bytes()
    for pid in IDS:
        assert f"theta[{pid}]" in text
    # TeX-like names rendered (Greek letters, subscripts), "<" and ">" escaped
    assert "k<sub>on</sub>" in page and "k<sub>off</sub> &lt;fast&gt;" in page and "<fast>" not in page
    assert "σ<sub>obs</sub>" in page and "\\sigma" not in page and "_{" not in page
    # per-parameter diagnostics, rounded: R-hat to 3 decimals, ESS whole
    diagnostics = json.loads((run_dir / "diagnostics.json").read_text())["diagnostics"]
    section = page[page.index("<h2>Diagnostic numbers</h2>"):]
    for pid, rhat, ess in zip(IDS, diagnostics["rhat"], diagnostics["ess_bulk"], strict=True):
        assert re.search(rf'<td class="text">{pid}</td><td>{rhat:.3f}</td><td>{ess:.0f}</td>', section)
    assert "scroll" in page and ".scroll { max-width: 100%; overflow-x: auto; }" in page
    assert "toy_binding" in text and "max_tree_depth" in text
    # self-contained: nothing fetched from elsewhere
    assert not re.search(r"""(src|href)\s*=\s*["'](?!data:)""", page)
    assert "<script" not in page and "<link" not in page
    assert "NUTS vs Laplace" not in text  # no Laplace or multistart result in this run


def laplace_summary(mean, sd) -> LaplaceSummary:
    return LaplaceSummary(parameter_ids=IDS, mean=np.asarray(mean, float), sd=np.asarray(sd, float),
                          covariance=np.diag(np.asarray(sd, float) ** 2), objective="negative_log_posterior",
                          hessian_method="ForwardOverForward", n_regularised=1, at_bounds=("sd_obs",))


def multistart_result(best) -> MultistartResult:
    n = len(IDS)
    x = np.stack([np.asarray(best, float), np.asarray(best, float) + 1.0])
    return MultistartResult(
        parameter_ids=IDS, objective=ObjectiveKind.NEGATIVE_LOG_POSTERIOR, start_index=np.array([1, 0]),
        x0=np.zeros((2, n)), x=x, fval=np.array([10.5, 12.0]), grad_norm=np.array([1e-7, 1e-7]),
        n_iterations=np.array([20, 30]), n_evaluations=np.array([25, 40]), status=np.array([0, 0]),
        message=("converged", "converged"),
    )


def profile_result(best, lower, upper) -> ProfileResult:
    profiles = []
    for i, pid in enumerate(IDS):
        values = np.array([lower[i] - 0.1, best[i], upper[i] + 0.1])
        x = np.tile(np.asarray(best, float), (3, 1))
        x[:, i] = values
        profiles.append(ParameterProfile(
            parameter_id=pid, index=i, values=values, fval=np.array([13.0, 10.5, 13.0]), x=x,
            status=np.zeros(3, dtype=int), ci_lower=float(lower[i]), ci_upper=float(upper[i]),
            identifiability=Identifiability.IDENTIFIABLE, lower_end=WalkEnd.THRESHOLD, upper_end=WalkEnd.THRESHOLD,
        ))
    return ProfileResult(parameter_ids=IDS, objective=ObjectiveKind.NEGATIVE_LOG_LIKELIHOOD,
                         optimum=np.asarray(best, float), optimum_fval=10.5, reference_fval=10.5,
                         threshold=1.92, confidence=0.95, profiles=tuple(profiles))


def test_comparison_table_puts_nuts_laplace_map_and_profiles_side_by_side(tmp_path):
    run_dir = tmp_path / "run"
    idata = write_run(run_dir)
    draws = idata.posterior["theta"].values.reshape(-1, len(IDS))
    laplace_mean, laplace_sd = MEAN + np.array([0.1, 0.0, -0.05]), SD * np.array([1.0, 2.0, 0.5])
    save_laplace(laplace_summary(laplace_mean, laplace_sd), run_dir)
    best = MEAN + 0.01
    multistart_result(best).save(run_dir / "multistart")
    png(run_dir / "multistart" / "waterfall.png", "waterfall")
    lower, upper = MEAN - 2 * SD, MEAN + 2 * SD
    profile_result(best, lower, upper).save(run_dir / "profiles")

    contents = read_run(run_dir)
    table = comparison_table(contents)
    assert list(table.index) == list(IDS)
    assert list(table["name"]) == list(NAMES)
    # exact moments of the draws (posterior.nc), not the rounded summary.csv
    np.testing.assert_allclose(table["nuts_mean"], draws.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(table["nuts_sd"], draws.std(axis=0, ddof=1), rtol=1e-12)
    np.testing.assert_allclose(table["laplace_mean"], laplace_mean)
    np.testing.assert_allclose(table["laplace_sd"], laplace_sd)
    np.testing.assert_allclose(table["laplace_shift"], (laplace_mean - draws.mean(0)) / draws.std(0, ddof=1))
    np.testing.assert_allclose(table["laplace_sd_ratio"], laplace_sd / draws.std(0, ddof=1))
    np.testing.assert_allclose(table["map"], best)
    assert "mle" not in table
    np.testing.assert_allclose(table["profile_lower"], lower)
    np.testing.assert_allclose(table["profile_upper"], upper)

    checker = parse(write_report(run_dir, tmp_path / "elsewhere" / "r.html").read_text())
    text = "".join(checker.text)
    assert "NUTS vs Laplace" in text
    for column in ("nuts_mean", "laplace_sd", "laplace_shift", "map", "profile_upper"):
        assert column in text
    assert f"{laplace_sd[1]:.4g}" in text and f"{draws.mean(0)[0]:.4g}" in text
    assert "regularised" in text and "sd_obs" in text  # the Hessian and bound caveats are shown
    assert "best of 2 starts" in text
    assert "multistart/waterfall.png" in data_uris(checker)


def test_multistart_alone_gives_an_mle_column_and_summary_csv_is_the_fallback(tmp_path):
    run_dir = tmp_path / "run"
    write_run(run_dir, posterior=False)
    result = multistart_result(MEAN)
    result = MultistartResult(**{**result.__dict__, "objective": ObjectiveKind.NEGATIVE_LOG_LIKELIHOOD})
    result.save(run_dir)  # beside the run files
    contents = read_run(run_dir)
    assert contents.posterior_source.startswith("summary.csv")
    table = comparison_table(contents)
    assert "mle" in table and "map" not in table and "laplace_mean" not in table
    summary = contents.summary.loc[[f"theta[{p}]" for p in IDS]]
    np.testing.assert_allclose(table["nuts_mean"], summary["mean"])


def test_laplace_round_trip(tmp_path):
    summary = laplace_summary(MEAN, SD)
    loaded = load_laplace(save_laplace(summary, tmp_path))
    assert loaded.parameter_ids == IDS and loaded.at_bounds == ("sd_obs",)
    np.testing.assert_array_equal(loaded.mean, MEAN)
    np.testing.assert_array_equal(loaded.covariance, summary.covariance)
    (tmp_path / "laplace.json").write_text(json.dumps({"parameter_ids": list(IDS), "mean": list(MEAN)}))
    with pytest.raises(InputError, match="'sd'"):
        load_laplace(tmp_path / "laplace.json")


def test_missing_or_incomplete_run_directories_are_named(tmp_path):
    with pytest.raises(InputError, match="run directory not found") as error:
        read_run(tmp_path / "nowhere")
    assert "nowhere" in str(error.value)
    (tmp_path / "file").write_text("x")
    with pytest.raises(InputError, match="not a run directory"):
        read_run(tmp_path / "file")
    for name in REQUIRED_FILES:
        run_dir = tmp_path / f"without-{name}"
        write_run(run_dir)
        (run_dir / name).unlink()
        with pytest.raises(InputError, match=re.escape(name)):
            read_run(run_dir)
        assert not (run_dir / "report.html").exists()


def test_inconsistent_extra_results_are_refused(tmp_path):
    run_dir = tmp_path / "run"
    write_run(run_dir)
    (run_dir / "multistart").mkdir()
    (run_dir / "multistart" / "multistart.csv").write_text("start,fval\n")
    with pytest.raises(InputError, match="multistart.json is missing"):
        read_run(run_dir)
    (run_dir / "multistart" / "multistart.csv").unlink()
    other = LaplaceSummary(parameter_ids=("a", "b", "c"), mean=MEAN, sd=SD, covariance=np.diag(SD**2),
                           objective="negative_log_posterior", hessian_method="CentralDifferences",
                           n_regularised=0, at_bounds=())
    save_laplace(other, run_dir)
    with pytest.raises(InputError, match="Laplace result is for parameters"):
        read_run(run_dir)
    (run_dir / "diagnostics.json").write_text("{not json")
    with pytest.raises(InputError, match="diagnostics.json"):
        read_run(run_dir)


def test_cli_report(tmp_path, capsys):
    run_dir = tmp_path / "run"
    write_run(run_dir)
    out = tmp_path / "page.html"
    assert main(["report", str(run_dir), "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert str(out) in captured.out
    assert "toy_binding" in out.read_text()
    assert not (run_dir / "report.html").exists()

    (run_dir / "summary.csv").unlink()
    assert main(["report", str(run_dir)]) == EXIT_INPUT_ERROR
    err = capsys.readouterr().err
    assert err.startswith("jakinfer: error:") and "summary.csv" in err and "Traceback" not in err
    assert main(["report", str(tmp_path / "missing")]) == EXIT_INPUT_ERROR
    assert "run directory not found" in capsys.readouterr().err


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="needs a headless Chromium (Debian package chromium; .ci/run installs it)")
def test_the_page_fits_a_browser_window_and_renders_names(tmp_path):
    """The page as a real browser lays it out (headless Chromium, 520 px wide): nothing wider
    than the window, the wide posterior table scrolls inside its own box, TeX-like names are
    rendered as sub/superscripts. A copy of the page gets a measuring script; the report itself
    has none."""
    import subprocess

    run_dir = tmp_path / "run"
    write_run(run_dir)
    page = write_report(run_dir).read_text(encoding="utf-8")
    probe = ("<script>window.addEventListener('load', () => {"
             "const box = document.querySelector('.scroll');"
             "document.body.setAttribute('data-page-overflow', document.documentElement.scrollWidth - innerWidth);"
             "document.body.setAttribute('data-table-overflow', box.scrollWidth - box.clientWidth);"
             "document.body.setAttribute('data-subscripts', document.querySelectorAll('td sub').length);});"
             "</script>")
    measured = tmp_path / "measured.html"
    measured.write_text(page.replace("</body>", probe + "</body>"), encoding="utf-8")
    dom = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={tmp_path / 'profile'}", "--window-size=520,700", "--dump-dom", measured.as_uri()],
        capture_output=True, text=True, timeout=120).stdout
    numbers = {key: int(value) for key, value in re.findall(r'data-([a-z-]+)="(-?\d+)"', dom)}
    assert numbers["page-overflow"] <= 0
    assert numbers["table-overflow"] > 0  # the summary is wider than 520 px: it scrolls in its box
    assert numbers["subscripts"] >= len(IDS)
