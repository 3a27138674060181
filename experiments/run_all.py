"""Run every experiment script, in `--quick` mode or in full, one after another.

Each script runs in its own Python process (`sys.executable`) with `--out
<root>/<name>`, where `<root>` is `results/quick` with `--quick` and `results`
otherwise, so smoke runs never mix with real ones. The scripts are those of
`SCRIPTS` (in that order: the profiles start from the multistart's optimum) and any
other `experiments/*.py` found beside them (run with `--out` and, when asked,
`--quick`); `experiments/benchmarks/benchmark_suite.py` is included, the
single-purpose benchmark `bench_rosenbrock_vs_kvaerno.py` is not.

    python experiments/run_all.py --quick                 # every script's smoke run (minutes)
    python experiments/run_all.py                         # everything in full (many hours on a CPU)
    python experiments/run_all.py --quick --only boehm_multistart boehm_profiles
    python experiments/run_all.py --list
    python experiments/run_all.py --quick --cpu 1         # pin the scripts to CPU 1 (Linux)

Writes `<root>/run_all.json`: per script the command, exit code, wall time and the
files it wrote. Exits 1 if a script failed (the others still run, unless
`--stop-on-failure`).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

EXPERIMENTS = Path(__file__).resolve().parent
RESULTS = Path("results")


@dataclass(frozen=True)
class Script:
    """One experiment script and how to run it.

    Attributes:
        path: relative to `experiments/`.
        makes: what it produces (for `--list` and the README).
        extra: more arguments, given the output root (e.g. where an earlier script wrote).
    """

    path: str
    makes: str
    extra: Callable[[Path], list[str]] = field(default=lambda root: [])

    @property
    def name(self) -> str:
        return Path(self.path).stem

    def command(self, root: Path, quick: bool) -> list[str]:
        """The command line that runs the script with outputs in `root / name`."""
        arguments = ["--out", str(root / self.name), *self.extra(root)]
        return [sys.executable, str(EXPERIMENTS / self.path), *(["--quick"] if quick else []), *arguments]


SCRIPTS: tuple[Script, ...] = (
    Script("boehm_multistart.py", "Boehm 2014: multistart maximum likelihood, waterfall plot"),
    Script("boehm_profiles.py", "Boehm 2014: profile likelihoods of all parameters",
           extra=lambda root: ["--multistart", str(root / "boehm_multistart")]),
    Script("boehm_multistart_settings.py", "Boehm 2014: multistart success rate against optimiser settings"),
    Script("boehm_multistart_strategies.py", "Boehm 2014: per-start strategies tried for the multistart success "
           "rate (barrier, anchor, freeze, bound flips)"),
    Script("boehm_nuts.py", "Boehm 2014: NUTS posterior, fit with posterior bands", extra=lambda root: ["--no-progress"]),
    Script("swameye_fit.py", "Swameye 2003: MAP, NUTS, fit, what-if prediction of the pEpoR input",
           extra=lambda root: ["--no-progress"]),
    Script("swameye_profiles.py", "Swameye 2003: profile likelihoods from swameye_fit's MAP (or a multistart)",
           extra=lambda root: ["--map", str(root / "swameye_fit" / "map.json")]),
    Script("swameye_model_comparison.py", "Swameye 2003 with vs without nuclear cycling: NUTS, PSIS-LOO, WAIC",
           extra=lambda root: ["--no-progress"]),
    Script("jak_inhibitor_dose_response.py", "JAK2-inhibitor dose-response of pSTAT5 with credible bands "
           "(Swameye 2003 posterior, catalogue IC50s)"),
    Script("benchmarks/benchmark_suite.py", "benchmarks: jakinfer vs diffrax (and AMICI), batched throughput"),
)
"""The known scripts, in the order they run."""

_NOT_RUN = {"run_all.py"}


def discover() -> tuple[Script, ...]:
    """`SCRIPTS` (those present) followed by any other `experiments/*.py`."""
    known = {script.path for script in SCRIPTS}
    present = [script for script in SCRIPTS if (EXPERIMENTS / script.path).is_file()]
    others = [Script(path.name, "(not described in run_all.SCRIPTS)") for path in sorted(EXPERIMENTS.glob("*.py"))
              if path.name not in known and path.name not in _NOT_RUN and not path.name.startswith("_")]
    return (*present, *others)


def _pin(cpu: int | None) -> Callable[[], None] | None:
    if cpu is None:
        return None
    if not hasattr(os, "sched_setaffinity"):
        raise SystemExit("--cpu needs os.sched_setaffinity (Linux)")
    return lambda: os.sched_setaffinity(0, {cpu})


def run_script(script: Script, root: Path, quick: bool, cpu: int | None = None) -> dict:
    """Run one script to completion (output streamed through); returns its record."""
    command = script.command(root, quick)
    print(f"\n=== {script.name}: {' '.join(command)}", flush=True)
    started = time.perf_counter()
    completed = subprocess.run(command, check=False, preexec_fn=_pin(cpu))
    seconds = time.perf_counter() - started
    out = root / script.name
    files = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()) if out.is_dir() else []
    status = "ok" if completed.returncode == 0 else f"FAILED (exit code {completed.returncode})"
    print(f"=== {script.name}: {status} after {seconds:.0f} s, {len(files)} files in {out}", flush=True)
    return {"script": script.path, "command": command, "returncode": completed.returncode,
            "seconds": seconds, "out": str(out), "files": files}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="each script's --quick smoke run")
    parser.add_argument("--out", type=Path, default=None,
                        help="output root (default results/quick with --quick, else results)")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run only these scripts (names without .py)")
    parser.add_argument("--list", action="store_true", help="list the scripts and exit")
    parser.add_argument("--cpu", type=int, default=None, help="pin every script to this CPU (Linux)")
    parser.add_argument("--stop-on-failure", action="store_true")
    args = parser.parse_args(argv)

    scripts = discover()
    if args.list:
        for script in scripts:
            print(f"{script.name:<18} {script.makes}")
        return 0
    if args.only:
        names = {script.name for script in scripts}
        unknown = sorted(set(args.only) - names)
        if unknown:
            parser.error(f"unknown script(s) {unknown}; known: {sorted(names)}")
        scripts = tuple(script for script in scripts if script.name in args.only)
    root = args.out or (RESULTS / "quick" if args.quick else RESULTS)
    root.mkdir(parents=True, exist_ok=True)

    records = []
    for script in scripts:
        records.append(run_script(script, root, args.quick, args.cpu))
        if records[-1]["returncode"] != 0 and args.stop_on_failure:
            break
    summary = {"quick": args.quick, "root": str(root), "python": sys.executable, "scripts": records}
    (root / "run_all.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    failed = [record["script"] for record in records if record["returncode"] != 0]
    print(f"\n{len(records) - len(failed)} of {len(records)} scripts succeeded"
          + (f"; failed: {', '.join(failed)}" if failed else "") + f"; summary in {root / 'run_all.json'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
