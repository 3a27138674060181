"""First against repeated `jakinfer evaluate` over the PEtab benchmark collection (issue 15, compile once).

For each problem directory of the collection, runs `jakinfer evaluate PROBLEM.yaml --json` twice in
fresh processes that share a new, empty cache directory (`JAKINFER_CACHE_DIR`): the first call
traces, lowers, compiles and stores the program; the second finds it. Records the wall time of
each process (imports included) and the phases the CLI reports (`load_s`, `compile_s`, `run_s`,
`compiled`), checks that both calls give the same nllh and compares it with AMICI's reference
(`reference_llh.yaml`, nllh = -llh), and prints a Markdown table.

    python experiments/benchmarks/compile_cache.py --pin-core 1 --skip Chen_MSB2009
    python experiments/benchmarks/compile_cache.py --models Boehm_JProteomeRes2014 Raimundez_PCB2020
    python experiments/benchmarks/compile_cache.py --from-json rows.json   # the table of a saved run
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

COLLECTION = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "benchmark_collection"


def problem_yaml(directory: Path) -> Path | None:
    """The problem's YAML file in a collection directory (`<name>.yaml`, else the only YAML)."""
    named = directory / f"{directory.name}.yaml"
    if named.exists():
        return named
    candidates = sorted(directory.glob("*.yaml"))
    return candidates[0] if len(candidates) == 1 else None


def timed_evaluate(yaml_path: Path, cache: Path, timeout: float, core: int | None) -> dict:
    """One `jakinfer evaluate --json` process: its wall time and JSON answer, or its error."""
    command = [sys.executable, "-m", "jakinfer.cli", "evaluate", str(yaml_path), "--json"]
    if core is not None:
        command = ["taskset", "-c", str(core), *command]
    environment = {**os.environ, "JAKINFER_CACHE_DIR": str(cache)}
    environment.pop("JAKINFER_NO_CACHE", None)
    started = time.perf_counter()
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=environment)
    except subprocess.TimeoutExpired:
        return {"wall_s": time.perf_counter() - started, "error": f"no result in {timeout:.0f} s"}
    wall = time.perf_counter() - started
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["(no message)"])[-1]
        return {"wall_s": wall, "error": last[:160]}
    return {"wall_s": wall, **json.loads(done.stdout.strip().splitlines()[-1])}


def measure(name: str, timeout: float, core: int | None) -> dict:
    yaml_path = problem_yaml(COLLECTION / name)
    if yaml_path is None:
        return {"model": name, "first": {"error": "no single problem YAML"}, "repeated": {}}
    with tempfile.TemporaryDirectory(prefix="jakinfer-cache-bench-") as cache:
        first = timed_evaluate(yaml_path, Path(cache), timeout, core)
        repeated = timed_evaluate(yaml_path, Path(cache), timeout, core) if "error" not in first else {}
    return {"model": name, "first": first, "repeated": repeated}


def reference_nllh() -> dict[str, float]:
    """AMICI's reference nllh per model (`reference_llh.yaml`: nllh = -llh)."""
    import yaml

    table = yaml.safe_load((COLLECTION / "reference_llh.yaml").read_text())
    return {name: -float(entry["llh"]) for name, entry in table.items()}


def markdown(rows: list[dict]) -> str:
    references = reference_nllh()
    lines = ["| model | first call: wall / compile | repeated: wall / compile (origin) | load, run (repeated) |"
             " speed-up | same nllh | nllh − reference |",
             "|---|---|---|---|---|---|---|"]
    for row in rows:
        first, repeated = row["first"], row["repeated"]
        if "error" in first:
            lines.append(f"| {row['model']} | failed: {first['error']} | | | | | |")
            continue
        reference = references.get(row["model"])
        difference = "no reference" if reference is None else f"{first['nllh'] - reference:.1e}"
        if "error" in repeated:
            lines.append(f"| {row['model']} | {first['wall_s']:.1f} s / {first['compile_s']:.1f} s "
                         f"| failed: {repeated['error']} | | | | {difference} |")
            continue
        same = first["nllh"] == repeated["nllh"]
        lines.append(
            f"| {row['model']} | {first['wall_s']:.1f} s / {first['compile_s']:.1f} s "
            f"| {repeated['wall_s']:.1f} s / {repeated['compile_s']:.1f} s ({repeated['compiled']}) "
            f"| {repeated['load_s']:.1f} s, {repeated['run_s']:.2f} s "
            f"| {first['wall_s'] / repeated['wall_s']:.1f}x | {'yes' if same else 'NO'} | {difference} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="*", help="collection directories (default: all)")
    parser.add_argument("--skip", nargs="*", default=[], help="directories to leave out")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per process")
    parser.add_argument("--pin-core", type=int, default=None, help="run every process on this CPU core")
    parser.add_argument("--json", type=Path, default=None, help="also write the raw rows here")
    parser.add_argument("--from-json", type=Path, default=None, help="print the table of saved rows; run nothing")
    args = parser.parse_args(argv)
    if args.from_json is not None:
        print(markdown(json.loads(args.from_json.read_text())))
        return 0
    names = args.models or sorted(p.name for p in COLLECTION.iterdir() if p.is_dir())
    rows = []
    for name in names:
        if name in args.skip:
            continue
        rows.append(measure(name, args.timeout, args.pin_core))
        print(f"{name}: {json.dumps(rows[-1])}", file=sys.stderr, flush=True)
    if args.json is not None:
        args.json.write_text(json.dumps(rows, indent=2))
    print(markdown(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
