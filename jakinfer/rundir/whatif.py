"""The files of a what-if (`jakinfer whatif --out DIR`): numbers, table and figures of daily inhibition."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path

from jakinfer.model.daily_inhibition import DailyInhibition
from jakinfer.runtime.checkpoint import json_ready, write_atomic, write_json_atomic
from jakinfer.runtime.environment import environment_record

COLUMNS = ("regimen", "pathway", "ic50_nM", "basis", "hill", "average_percent", "hours_above_ic50",
           "trough_percent", "peak_percent")


def whatif_table(results: Sequence[DailyInhibition]) -> str:
    """The results as a fixed-width text table (one row per regimen and pathway)."""
    header = f"{'regimen':<28} {'pathway':<44} {'IC50 nM':>9} {'basis':<8} {'avg %':>6} {'h > IC50':>8} " \
             f"{'trough-peak %':>13}"
    rows = [header, "-" * len(header)]
    for r in results:
        rows.append(f"{r.label:<28} {(r.pathway or '(given IC50)')[:44]:<44} {r.ic50_nM:>9.4g} {r.basis:<8} "
                    f"{r.average_percent:>6.1f} {r.hours_above_ic50:>8.1f} "
                    f"{f'{r.trough_percent:.0f}-{r.peak_percent:.0f}':>13}")
    return "\n".join(rows)


def _csv(results: Sequence[DailyInhibition]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(r.to_dict() for r in results)
    return buffer.getvalue()


def write_whatif(out_dir: str | Path, results: Sequence[DailyInhibition], notes: Sequence[str],
                 command: Sequence[str]) -> list[Path]:
    """Write `whatif.json` (summary numbers, notes, command, versions), `whatif.csv`, `whatif.txt`
    and the figures `inhibition_curves.png/.pdf` and `inhibition_heat_map.png/.pdf` into `out_dir`
    (each atomically); returns the paths."""
    from jakinfer.plots.files import figure_files
    from jakinfer.plots.whatif import inhibition_curves, inhibition_heat_map

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files: dict[str, bytes] = {
        "whatif.txt": (whatif_table(results) + "\n" + "".join(f"note: {n}\n" for n in notes)).encode("utf-8"),
        "whatif.csv": _csv(results).encode("utf-8"),
    }
    files.update(figure_files(inhibition_curves(results), "inhibition_curves"))
    files.update(figure_files(inhibition_heat_map(results), "inhibition_heat_map"))
    paths = []
    for name, content in files.items():
        write_atomic(out / name, content)
        paths.append(out / name)
    write_json_atomic(out / "whatif.json", json_ready({
        "results": [r.to_dict() for r in results], "notes": list(notes), "command": list(command),
        **environment_record(),
    }))
    return [*paths, out / "whatif.json"]
