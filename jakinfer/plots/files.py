"""Figure files: every figure of jakinfer is written as PNG (150 dpi) and PDF."""

from __future__ import annotations

import io
from pathlib import Path

from matplotlib.figure import Figure

FIGURE_FORMATS: tuple[tuple[str, dict], ...] = (("png", {"dpi": 150}), ("pdf", {}))
"""The file formats every figure is written in, with their `savefig` options."""


def figure_files(figure: Figure, stem: str) -> dict[str, bytes]:
    """`figure` rendered as `{"<stem>.png": bytes (150 dpi), "<stem>.pdf": bytes}`, for
    atomic writes into a run directory; the figure stays open."""
    files = {}
    for suffix, options in FIGURE_FORMATS:
        buffer = io.BytesIO()
        figure.savefig(buffer, format=suffix, **options)
        files[f"{stem}.{suffix}"] = buffer.getvalue()
    return files


def save_figure(figure: Figure, path_stem: str | Path) -> list[Path]:
    """Save `figure` as `<stem>.png` (150 dpi) and `<stem>.pdf`; returns the paths."""
    stem = Path(path_stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = []
    for suffix, options in FIGURE_FORMATS:
        paths.append(stem.with_suffix(f".{suffix}"))
        figure.savefig(paths[-1], **options)
    return paths


def close_figure(figure: Figure) -> None:
    """Release a figure made through pyplot (a plain `Figure` needs nothing)."""
    import matplotlib.pyplot as plt

    plt.close(figure)
