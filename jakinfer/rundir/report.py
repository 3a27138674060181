"""One self-contained HTML page per run directory (`jakinfer report RUN_DIR`).

`read_run` reads what a run directory holds; `render_html` turns it into one
HTML page with no external assets (figures embedded as base64 PNG data URIs,
inline CSS, no scripts); `write_report` does both and writes the page.

A run directory is what `jakinfer.rundir.sample.run_sampling` writes (`jakinfer
sample`), with `run.json` (configuration), `diagnostics.json` (diagnostics and
verdict) and `summary.csv` (arviz summary); or what the optimisation commands
write (`jakinfer optimize`, `profile`, `laplace`; see `jakinfer.rundir.layout`),
with or without a NUTS run beside them: a directory holding one of the three
NUTS files must hold all of them, one without them needs at least one of the
results below. Optional, and shown when present:

* `posterior.nc`: NUTS posterior means and standard deviations are taken from
  its draws (otherwise from the rounded `summary.csv`);
* every `*.png` below the run directory (`fit.png` first; e.g. `waterfall.png`,
  `profiles.png`), hidden folders excepted;
* `laplace.json` (`jakinfer.rundir.laplace.save_laplace`): a Laplace approximation at the MAP;
* `multistart.csv` + `multistart.json` (`MultistartResult.save`), in the run
  directory or its `multistart/` folder: the best optimum (MAP or MLE);
* `profile_summary.csv` + `profiles.csv` + `profiles.json` (`ProfileResult.save`),
  in the run directory or its `profiles/` folder: profile-likelihood intervals;
* the records of the optimisation commands (`optimize_run.json`, ...), shown
  with the configuration.

With any of the last three, the page has a comparison table, one row per
parameter, all on the estimation scale: NUTS mean and sd, Laplace mean and sd
(and their difference in NUTS standard deviations), the multistart optimum and
the profile interval.
"""

from __future__ import annotations

import base64
import datetime as _datetime
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from jakinfer.errors import InputError
from jakinfer.rundir.html import PAGE_CSS, escape, mapping_html, number_html, table_html
from jakinfer.rundir.laplace import LAPLACE_FILE, LaplaceSummary, load_laplace
from jakinfer.rundir.layout import LAPLACE, OPTIMIZE, PROFILE, read_stage_record
from jakinfer.rundir.stage import read_json_object

if TYPE_CHECKING:
    from jakinfer.infer.optimize import MultistartResult

REQUIRED_FILES: tuple[str, ...] = ("run.json", "diagnostics.json", "summary.csv")
"""The files that make a folder a run directory (for the report)."""

REPORT_FILE = "report.html"
"""Default name of the page, written into the run directory."""

_MULTISTART_FILES = ("multistart.csv", "multistart.json")
_PROFILE_FILES = ("profile_summary.csv", "profiles.csv", "profiles.json")


# -- reading a run directory ---------------------------------------------------------------
@dataclass(frozen=True)
class RunContents:
    """What `read_run` found in a run directory.

    Attributes:
        run_dir: the directory.
        record: `run.json`.
        diagnostics: `diagnostics.json` `diagnostics` (numbers); `verdict`: its `verdict`
            (`ok`, `text`, `checks`).
        summary: `summary.csv` (arviz summary, rows `theta[<id>]` and `theta_linear[<id>]`).
        posterior: `(parameter id -> (mean, sd))` from `posterior.nc` `theta`, or
            from `summary.csv` when there is no `posterior.nc`.
        parameters: the run's parameter ids (estimation order); `names` their display names.
        figures: every `*.png`, `fit.png` first.
        laplace, multistart, profiles: optional results (see the module docstring).
        stage_records: the optimisation commands' records by file name (`optimize_run.json`, ...).
        has_nuts: whether the directory holds a NUTS run (else `record`, `diagnostics`,
            `summary` and `posterior` are empty).
    """

    run_dir: Path
    record: dict
    diagnostics: dict
    verdict: dict
    summary: pd.DataFrame
    posterior: dict[str, tuple[float, float]]
    posterior_source: str
    parameters: tuple[str, ...]
    names: dict[str, str]
    figures: tuple[Path, ...]
    laplace: LaplaceSummary | None = None
    multistart: MultistartResult | None = None
    profiles: pd.DataFrame | None = None
    stage_records: dict[str, dict] = field(default_factory=dict)
    has_nuts: bool = True


NO_NUTS_VERDICT = ("no NUTS posterior in this run directory (`jakinfer sample` adds one); "
                   "optimisation results only")


def _theta_rows(summary: pd.DataFrame) -> pd.DataFrame:
    rows = summary[summary.index.astype(str).str.startswith("theta[")]
    return rows.rename(index=lambda label: str(label)[len("theta["):].rstrip("]"))


def _posterior_moments(path: Path) -> dict[str, tuple[float, float]] | None:
    if not path.is_file():
        return None
    import xarray as xr

    try:
        with xr.open_dataset(path, group="posterior") as dataset:
            theta = dataset["theta"].load()
    except (OSError, KeyError, ValueError) as error:
        raise InputError(f"cannot read the posterior variable theta: {error}", file=str(path)) from None
    flat = theta.stack(sample=("chain", "draw")).transpose("parameter", "sample").values
    ids = [str(p) for p in theta["parameter"].values]
    sd = flat.std(axis=1, ddof=1) if flat.shape[1] > 1 else np.full(len(ids), np.nan)
    return {pid: (float(m), float(s)) for pid, m, s in zip(ids, flat.mean(axis=1), sd, strict=True)}


def _find_result(run_dir: Path, folder: str, names: tuple[str, ...]) -> Path | None:
    """The folder holding all of `names` (the run directory or its `folder`); None when neither
    holds any; `InputError` naming the missing file when a folder holds only some."""
    for candidate in (run_dir, run_dir / folder):
        present = [(candidate / name).is_file() for name in names]
        if all(present):
            return candidate
        if any(present):
            missing = next(name for name, here in zip(names, present, strict=True) if not here)
            raise InputError(f"incomplete result: {missing} is missing beside "
                             f"{names[present.index(True)]}", file=str(candidate / missing))
    return None


def _check_ids(kind: str, ids, parameters: tuple[str, ...], path: Path) -> None:
    if tuple(ids) != parameters:
        raise InputError(f"the {kind} result is for parameters {list(ids)}, the run for {list(parameters)}",
                         file=str(path))


def read_run(run_dir: str | Path) -> RunContents:
    """Read a run directory (see the module docstring for the files).

    Raises:
        InputError: `run_dir` is missing or not a directory, a required file is
            missing or malformed (the message names it), or an optional result
            is incomplete or for other parameters.
    """
    run_dir = Path(run_dir)
    if not run_dir.exists():
        raise InputError("run directory not found", file=str(run_dir))
    if not run_dir.is_dir():
        raise InputError("not a run directory (a file, not a folder)", file=str(run_dir))
    laplace = load_laplace(run_dir / LAPLACE_FILE) if (run_dir / LAPLACE_FILE).is_file() else None
    multistart_folder = _find_result(run_dir, "multistart", _MULTISTART_FILES)
    profile_folder = _find_result(run_dir, "profiles", _PROFILE_FILES)
    has_nuts = any((run_dir / name).is_file() for name in REQUIRED_FILES)
    if has_nuts or (laplace is None and multistart_folder is None and profile_folder is None):
        for name in REQUIRED_FILES:
            if not (run_dir / name).is_file():
                raise InputError(f"not a run directory: {name} is missing (expected {', '.join(REQUIRED_FILES)}, "
                                 "or the results of `jakinfer optimize`)", file=str(run_dir / name))
        record, stored, summary, parameters, names, posterior, source = _read_nuts(run_dir)
    else:
        record, stored, summary, posterior, source = {}, {"verdict": {"ok": None, "text": NO_NUTS_VERDICT}}, \
            pd.DataFrame(columns=["mean", "sd"]), {}, "none"
        parameters, names = (), {}

    multistart = None
    if multistart_folder is not None:
        from jakinfer.infer.optimize import MultistartResult

        multistart = MultistartResult.load(multistart_folder)
    profile_result = None
    if profile_folder is not None:
        from jakinfer.infer.profile import ProfileResult

        profile_result = ProfileResult.load(profile_folder)
    if not has_nuts:  # the parameters of the first optimisation result found
        first = next(r for r in (multistart, laplace, profile_result) if r is not None)
        parameters = tuple(first.parameter_ids)
        names = {pid: pid for pid in parameters}
    if laplace is not None:
        _check_ids("Laplace", laplace.parameter_ids, parameters, run_dir / LAPLACE_FILE)
    if multistart is not None:
        _check_ids("multistart", multistart.parameter_ids, parameters, multistart_folder / "multistart.json")
    profiles = None
    if profile_result is not None:
        _check_ids("profile", profile_result.parameter_ids, parameters, profile_folder / "profiles.json")
        profiles = profile_result.summary_frame().set_index("parameter")

    figures = sorted(
        (p for p in run_dir.rglob("*.png")
         if p.is_file() and not any(part.startswith(".") for part in p.relative_to(run_dir).parts)),
        key=lambda p: (p.relative_to(run_dir) != Path("fit.png"), str(p.relative_to(run_dir))),
    )
    stage_records = {stage.record: stage_record for stage in (OPTIMIZE, PROFILE, LAPLACE)
                     if (stage_record := read_stage_record(run_dir, stage)) is not None}
    return RunContents(
        run_dir=run_dir, record=record, diagnostics=dict(stored.get("diagnostics") or {}),
        verdict=stored["verdict"], summary=summary, posterior=posterior, posterior_source=source,
        parameters=parameters, names=names, figures=tuple(figures), laplace=laplace, multistart=multistart,
        profiles=profiles, stage_records=stage_records, has_nuts=has_nuts,
    )


def _read_nuts(run_dir: Path) -> tuple:
    """`run.json`, `diagnostics.json`, `summary.csv` (checked), parameter ids and names,
    posterior moments and where they came from."""
    record = read_json_object(run_dir / "run.json")
    stored = read_json_object(run_dir / "diagnostics.json")
    if not isinstance(stored.get("verdict"), dict) or "text" not in stored["verdict"]:
        raise InputError("missing field 'verdict' (with its 'text')", file=str(run_dir / "diagnostics.json"))
    try:
        summary = pd.read_csv(run_dir / "summary.csv", index_col=0)
    except (ValueError, pd.errors.ParserError) as error:
        raise InputError(f"not a summary table: {error}", file=str(run_dir / "summary.csv")) from None
    for column in ("mean", "sd"):
        if column not in summary.columns:
            raise InputError("missing column", file=str(run_dir / "summary.csv"), column=column)
    theta = _theta_rows(summary)
    if theta.empty:
        raise InputError("no theta[...] rows", file=str(run_dir / "summary.csv"))
    parameters = tuple(theta.index)
    names = ({pid: str(name) for pid, name in theta["name"].items()} if "name" in theta.columns
             else {pid: pid for pid in parameters})
    posterior = _posterior_moments(run_dir / "posterior.nc")
    source = "posterior.nc"
    if posterior is None:
        posterior = {pid: (float(row["mean"]), float(row["sd"])) for pid, row in theta.iterrows()}
        source = "summary.csv (rounded)"
    return record, stored, summary, parameters, names, posterior, source


def comparison_table(contents: RunContents) -> pd.DataFrame | None:
    """NUTS vs Laplace / multistart optimum / profile intervals, one row per parameter.

    All values on the estimation scale. Columns (those available): `name`,
    `nuts_mean`, `nuts_sd`, `laplace_mean`, `laplace_sd`, `laplace_shift`
    (`(laplace_mean - nuts_mean) / nuts_sd`), `laplace_sd_ratio`
    (`laplace_sd / nuts_sd`), `map` or `mle` (best multistart point),
    `profile_lower`, `profile_upper`. None when the run holds none of the three results.
    Without a NUTS run, the `nuts_*` and `laplace_shift`/`laplace_sd_ratio` columns are left out.
    """
    if contents.laplace is None and contents.multistart is None and contents.profiles is None:
        return None
    ids = list(contents.parameters)
    table = pd.DataFrame(index=pd.Index(ids, name="parameter"))
    table["name"] = [contents.names.get(p, p) for p in ids]
    if contents.has_nuts:
        table["nuts_mean"] = [contents.posterior.get(p, (math.nan, math.nan))[0] for p in ids]
        table["nuts_sd"] = [contents.posterior.get(p, (math.nan, math.nan))[1] for p in ids]
    if contents.laplace is not None:
        table["laplace_mean"] = contents.laplace.mean
        table["laplace_sd"] = contents.laplace.sd
    if contents.laplace is not None and contents.has_nuts:
        with np.errstate(divide="ignore", invalid="ignore"):
            table["laplace_shift"] = (table["laplace_mean"] - table["nuts_mean"]) / table["nuts_sd"]
            table["laplace_sd_ratio"] = table["laplace_sd"] / table["nuts_sd"]
    if contents.multistart is not None:
        column = "map" if contents.multistart.objective.value == "negative_log_posterior" else "mle"
        table[column] = contents.multistart.best_x
    if contents.profiles is not None:
        table["profile_lower"] = contents.profiles["ci_lower"].reindex(ids).to_numpy(float)
        table["profile_upper"] = contents.profiles["ci_upper"].reindex(ids).to_numpy(float)
    return table


# -- HTML -------------------------------------------------------------------------------------
_PER_PARAMETER = ("rhat", "ess_bulk", "ess_tail")


def _diagnostics_section(numbers: Mapping) -> str:
    """The diagnostic numbers: one row per parameter (R-hat to 3 decimals, ESS as whole draws, the
    resolution their Monte Carlo error supports), then the sampler-wide numbers."""
    parameters = list(numbers.get("parameters") or [])
    per_parameter = {key: numbers[key] for key in _PER_PARAMETER
                     if isinstance(numbers.get(key), list) and len(numbers[key]) == len(parameters)}
    parts = []
    if parameters and per_parameter:
        frame = pd.DataFrame(per_parameter, index=parameters)
        rows = "".join(
            f'<tr><td class="text">{escape(pid)}</td>'
            + "".join(f"<td>{_rounded(key, value)}</td>" for key, value in row.items()) + "</tr>"
            for pid, row in frame.iterrows())
        head = '<th class="text">parameter</th>' + "".join(f"<th>{escape(key)}</th>" for key in per_parameter)
        parts.append(f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table></div>')
    rest = {key: value for key, value in numbers.items() if key not in (*per_parameter, "parameters")}
    if isinstance(rest.get("ebfmi"), list):
        rest["ebfmi"] = ", ".join(_rounded("ebfmi", v) for v in rest["ebfmi"])
    if rest:
        parts.append(mapping_html(rest))
    return "".join(parts)


def _rounded(key: str, value: object) -> str:
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        return number_html(value)
    if key.startswith("ess"):
        return escape(f"{value:.0f}")
    return escape(f"{value:.3f}")


def _verdict_section(verdict: Mapping) -> str:
    ok = verdict.get("ok")
    text = str(verdict.get("text", ""))
    head = text.splitlines()[0] if text else ("OK" if ok else "WARNING")
    style = "none" if ok is None else ("ok" if ok else "warning")
    parts = [f'<div class="verdict-{style}"><p><strong>{escape(head)}</strong></p>']
    checks = verdict.get("checks") or []
    if checks:
        marks = {True: ("ok", "ok"), False: ("FAIL", "fail"), None: ("n/a", "na")}
        rows = []
        for check in checks:
            mark, css = marks.get(check.get("passed"), ("?", "na"))
            rows.append(f'<tr><td class="text {css}">{mark}</td><td class="text">{escape(check.get("name", ""))}</td>'
                        f'<td class="text">{escape(check.get("message", ""))}</td></tr>')
        parts.append('<table><thead><tr><th class="text">result</th><th class="text">check</th>'
                     '<th class="text">detail</th></tr></thead><tbody>' + "".join(rows) + "</tbody></table>")
    parts.append(f"<details><summary>verdict as text</summary><pre>{escape(text)}</pre></details></div>")
    return "".join(parts)


def _figure(path: Path, run_dir: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    label = path.relative_to(run_dir).as_posix()
    return (f'<figure><img alt="{escape(label)}" src="data:image/png;base64,{data}">'
            f"<figcaption>{escape(label)}</figcaption></figure>")


def _comparison_section(contents: RunContents, table: pd.DataFrame) -> str:
    notes = [f"All values on the estimation scale; NUTS moments from {contents.posterior_source}."
             if contents.has_nuts else "All values on the estimation scale (no NUTS run to compare with)."]
    if contents.laplace is not None:
        lap = contents.laplace
        notes.append(
            f"Laplace: Gaussian at the mode of the {lap.objective.replace('_', ' ')}, Hessian by "
            f"{lap.hessian_method}; laplace_shift = (Laplace mean - NUTS mean) / NUTS sd, "
            f"laplace_sd_ratio = Laplace sd / NUTS sd."
        )
        if lap.n_regularised:
            notes.append(f"The Hessian was not positive definite: {lap.n_regularised} eigenvalue(s) raised "
                         "to a floor (regularised covariance).")
        if lap.at_bounds:
            notes.append(f"The mode lies on a bound for {', '.join(lap.at_bounds)}; the Gaussian ignores it.")
    if contents.multistart is not None:
        ms = contents.multistart
        reached = int(np.sum(ms.reached())) if np.isfinite(ms.best_fval) else 0
        notes.append(f"Multistart: best of {ms.n_starts} starts, objective {ms.objective.value} "
                     f"= {ms.best_fval:.10g}; {reached}/{ms.n_starts} starts within 1e-3 of it, "
                     f"{int(np.sum(ms.failed))} failed.")
    if contents.profiles is not None:
        notes.append("Profile: the profile-likelihood interval (NaN: the threshold was not crossed).")
    return "".join(f"<p>{escape(n)}</p>" for n in notes) + table_html(table, index_label="parameter")


def render_html(contents: RunContents, *, title: str | None = None) -> str:
    """The report page of `contents` as one HTML string (no external references)."""
    record = contents.record
    problem = record.get("problem") or next(
        (r.get("problem") for r in contents.stage_records.values() if r.get("problem")), None)
    problem_name = problem.get("name") if isinstance(problem, Mapping) else problem
    title = title or f"jakinfer run report: {problem_name or contents.run_dir.name}"
    created = _datetime.datetime.now(_datetime.UTC).isoformat(timespec="seconds")
    sections = [
        f"<h1>{escape(title)}</h1>",
        f"<p>Run directory <code>{escape(contents.run_dir.resolve())}</code>; report written {escape(created)}.</p>",
        "<h2>Diagnostics verdict</h2>", _verdict_section(contents.verdict),
    ]
    table = comparison_table(contents)
    if contents.has_nuts:
        sections += ["<h2>Posterior summary</h2>",
                     "<p>arviz summary (<code>summary.csv</code>): <code>theta</code> on the estimation scale, "
                     "<code>theta_linear</code> on the linear scale.</p>",
                     table_html(contents.summary.copy(), index_label="variable")]
    if table is not None:
        heading = "NUTS vs Laplace / optimisation" if contents.has_nuts else "Laplace / optimisation"
        sections += [f"<h2>{heading}</h2>", _comparison_section(contents, table)]
    sections.append("<h2>Figures</h2>")
    if contents.figures:
        sections += [_figure(path, contents.run_dir) for path in contents.figures]
    else:
        sections.append("<p>The run directory holds no PNG figures.</p>")
    numbers = contents.diagnostics
    if numbers:
        sections += ["<h2>Diagnostic numbers</h2>", _diagnostics_section(numbers)]
    if contents.has_nuts:
        sections += ["<h2>Configuration (run.json)</h2>", f'<div class="scroll">{mapping_html(record)}</div>']
    for name, stage_record in contents.stage_records.items():
        sections += [f"<h2>Configuration ({escape(name)})</h2>", f'<div class="scroll">{mapping_html(stage_record)}</div>']
    files = sorted(p.relative_to(contents.run_dir).as_posix() for p in contents.run_dir.iterdir())
    sections += ["<h2>Files</h2>", "<ul>" + "".join(f"<li><code>{escape(f)}</code></li>" for f in files) + "</ul>"]
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<title>{escape(title)}</title>\n<style>{PAGE_CSS}</style>\n</head>\n<body>\n"
            + "\n".join(sections) + "\n</body>\n</html>\n")


def write_report(run_dir: str | Path, out: str | Path | None = None) -> Path:
    """Write the HTML report of `run_dir` to `out` (default `<run_dir>/report.html`); returns the path.

    Raises:
        InputError: see `read_run`; or `out` is a directory.
    """
    contents = read_run(run_dir)
    out = Path(run_dir) / REPORT_FILE if out is None else Path(out)
    if out.is_dir():
        raise InputError("the report path is a directory", file=str(out))
    page = render_html(contents)
    out.parent.mkdir(parents=True, exist_ok=True)
    temporary = out.with_name(f".{out.name}.tmp")
    temporary.write_text(page, encoding="utf-8")
    temporary.replace(out)
    return out
