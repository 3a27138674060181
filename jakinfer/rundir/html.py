"""HTML building blocks of the run report: escaping, numbers, tables, nested records, names, CSS.

Plain functions from values to HTML text (no scripts, no external assets), used by
`jakinfer.rundir.report`.
"""

from __future__ import annotations

import html
import json
import math
import re
from collections.abc import Mapping

import numpy as np
import pandas as pd

PAGE_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em auto; max-width: 72em;
       padding: 0 1em; color: #222; line-height: 1.4; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; border-bottom: 1px solid #ccc; margin-top: 2em; }
table { border-collapse: collapse; margin: 0.5em 0; font-size: 0.9em; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.6em; text-align: right; vertical-align: top; }
th { background: #f3f3f3; } td.text, th.text { text-align: left; }
pre { background: #f7f7f7; padding: 0.8em; overflow-x: auto; font-size: 0.85em; }
.ok { color: #176b2c; } .fail { color: #a11; font-weight: bold; } .na { color: #777; }
.verdict-ok { border-left: 6px solid #2a9d48; padding-left: 1em; }
.verdict-warning { border-left: 6px solid #c62828; padding-left: 1em; }
.verdict-none { border-left: 6px solid #999; padding-left: 1em; }
figure { margin: 1em 0; } figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { font-size: 0.85em; color: #555; }
details { margin: 0.5em 0; }
.scroll { max-width: 100%; overflow-x: auto; }
td.text { overflow-wrap: anywhere; }
"""


def escape(value: object) -> str:
    """`value` as HTML text."""
    return html.escape(str(value), quote=True)


def number_html(value: object, digits: int = 4) -> str:
    """A number to `digits` significant digits (an en dash for None)."""
    if value is None:
        return "&ndash;"
    if isinstance(value, bool | np.bool_):
        return escape(value)
    if isinstance(value, int | np.integer):
        return escape(int(value))
    if isinstance(value, float | np.floating):
        if not math.isfinite(value):
            return escape(value)
        return escape(f"{float(value):.{digits}g}")
    return escape(value)


_GREEK = {name: chr(code) for name, code in (
    ("alpha", 0x3B1), ("beta", 0x3B2), ("gamma", 0x3B3), ("delta", 0x3B4), ("epsilon", 0x3B5),
    ("varepsilon", 0x3B5), ("zeta", 0x3B6), ("eta", 0x3B7), ("theta", 0x3B8), ("kappa", 0x3BA),
    ("lambda", 0x3BB), ("mu", 0x3BC), ("nu", 0x3BD), ("xi", 0x3BE), ("pi", 0x3C0), ("rho", 0x3C1),
    ("sigma", 0x3C3), ("tau", 0x3C4), ("phi", 0x3C6), ("varphi", 0x3C6), ("chi", 0x3C7), ("psi", 0x3C8),
    ("omega", 0x3C9), ("Gamma", 0x393), ("Delta", 0x394), ("Theta", 0x398), ("Lambda", 0x39B),
    ("Sigma", 0x3A3), ("Phi", 0x3A6), ("Psi", 0x3A8), ("Omega", 0x3A9))}
_TEX_SCRIPT = re.compile(r"([_^])(?:\{([^{}]*)\}|(\w))")
_TEX_COMMAND = re.compile(r"\\([A-Za-z]+)")


def name_html(name: object) -> str:
    """A parameter name as HTML: PEtab's TeX-like names (`\\sigma_{pSTAT5A,rel}`) rendered with
    Greek letters and sub/superscripts; anything else escaped as it is."""
    text = escape(name)
    if "\\" not in text and "{" not in text:  # a plain name such as `k_on` stays as written
        return text
    text = _TEX_COMMAND.sub(lambda m: _GREEK.get(m.group(1), ""), text)
    text = _TEX_SCRIPT.sub(lambda m: f"<{'sub' if m.group(1) == '_' else 'sup'}>{m.group(2) or m.group(3)}"
                                     f"</{'sub' if m.group(1) == '_' else 'sup'}>", text)
    return text.replace("{", "").replace("}", "")


def table_html(frame: pd.DataFrame, caption: str | None = None, index_label: str = "") -> str:
    """`frame` as a table in a box that scrolls sideways when wider than the page; a `name`
    column is rendered with `name_html`."""
    numeric = {c: pd.api.types.is_numeric_dtype(frame[c]) for c in frame.columns}
    head = f'<th class="text">{escape(index_label)}</th>' + "".join(
        f"<th>{escape(c)}</th>" if numeric[c] else f'<th class="text">{escape(c)}</th>' for c in frame.columns
    )
    rows = []
    for label, row in frame.iterrows():
        cells = [f'<td class="text">{escape(label)}</td>']
        for column in frame.columns:
            value = row[column]
            if numeric[column]:
                cells.append(f"<td>{number_html(value)}</td>")
            elif column == "name":
                cells.append(f'<td class="text">{name_html(value)}</td>')
            else:
                cells.append(f'<td class="text">{escape(value)}</td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    cap = f"<caption>{escape(caption)}</caption>" if caption else ""
    return (f'<div class="scroll"><table>{cap}<thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody>'
            "</table></div>")


def mapping_html(mapping: Mapping) -> str:
    """A nested JSON object as nested two-column tables (lists of scalars inline)."""
    rows = []
    for key, value in mapping.items():
        if isinstance(value, Mapping) and value:
            cell = mapping_html(value)
        elif isinstance(value, list) and any(isinstance(v, Mapping | list) for v in value):
            cell = f"<pre>{escape(json.dumps(value, indent=1))}</pre>"
        elif isinstance(value, list):
            cell = escape(", ".join(str(v) for v in value)) if value else "[]"
        elif isinstance(value, str) and "\n" in value:
            cell = f"<pre>{escape(value)}</pre>"
        elif isinstance(value, float):
            cell = number_html(value, 6)
        else:
            cell = escape(json.dumps(value) if value is None or isinstance(value, bool) else value)
        rows.append(f'<tr><th class="text">{escape(key)}</th><td class="text">{cell}</td></tr>')
    return "<table>" + "".join(rows) + "</table>"
