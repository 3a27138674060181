"""The fit figure, checked against the analytic decay curves; band and error-bar helpers."""

from __future__ import annotations

import numpy as np
import pytest
from helpers.decay_problem import SIGMA, VALUES, fake_samples, write_decay_problem
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure

from jakinfer.analysis.posterior import to_inference_data
from jakinfer.io.petab import read_petab
from jakinfer.plots.fit import error_bar_limits, plot_fit, quantile_bands, thin_draws


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    problem = read_petab(write_decay_problem(tmp_path_factory.mktemp("decay")))
    return problem, to_inference_data(problem, fake_samples(seed=3))


def test_fit_figure_shows_the_posterior_median_data_and_intervals(fitted, tmp_path):
    problem, idata = fitted
    figure = plot_fit(problem, idata, n_curves=30, n_points=50, seed=1)
    assert isinstance(figure, Figure)
    axes = [ax for ax in figure.axes if ax.get_visible()]
    assert len(axes) == 1
    ax = axes[0]
    # The median line: the median over the thinned draws of x0 exp(-k t).
    median_line = next(line for line in ax.get_lines() if line.get_label() == "posterior median")
    t = median_line.get_xdata()
    thetas = thin_draws(idata, 30, seed=1)
    curves = thetas[:, 1:2] * np.exp(-(10.0 ** thetas[:, 0:1]) * t)
    np.testing.assert_allclose(median_line.get_ydata(), np.median(curves, axis=0), rtol=1e-6, atol=1e-9)
    assert t[0] == 0.0 and t[-1] == 4.0 and t.size == 50
    # The data points with their error bars.
    data = next(c for c in ax.containers if c.get_label() == "data ± median σ")
    np.testing.assert_array_equal(data.lines[0].get_ydata(), VALUES)
    bars = np.array([segment[:, 1] for segment in data.lines[2][0].get_segments()])
    np.testing.assert_allclose(bars, np.stack([VALUES - SIGMA, VALUES + SIGMA], axis=1), rtol=1e-12)
    # The noisy predictive intervals: one vertical segment per measurement, spanning the data mostly.
    intervals = next(c for c in ax.collections if isinstance(c, LineCollection)
                     and c.get_label().startswith("90% predictive"))
    assert len(intervals.get_segments()) == VALUES.size
    figure.savefig(tmp_path / "fit.png")
    figure.savefig(tmp_path / "fit.pdf")
    assert (tmp_path / "fit.png").stat().st_size > 10_000
    assert (tmp_path / "fit.pdf").read_bytes().startswith(b"%PDF")


def test_thin_draws_is_reproducible_and_bounded(fitted):
    _, idata = fitted
    total = idata.posterior.sizes["chain"] * idata.posterior.sizes["draw"]
    assert thin_draws(idata, 10 * total).shape == (total, 2)
    first, second = thin_draws(idata, 7, seed=4), thin_draws(idata, 7, seed=4)
    np.testing.assert_array_equal(first, second)
    assert len({tuple(row) for row in first}) == 7


def test_quantile_bands_match_numpy_percentiles():
    values = np.random.default_rng(0).normal(size=(1000, 3))
    values[0, 0] = np.nan
    bands = quantile_bands(values, (0.5, 0.9))
    np.testing.assert_allclose(bands[0.9][0], np.nanpercentile(values, 5, axis=0))
    np.testing.assert_allclose(bands[0.9][1], np.nanpercentile(values, 95, axis=0))
    np.testing.assert_allclose(bands[0.5][1], np.nanpercentile(values, 75, axis=0))


def test_error_bars_follow_the_transformation():
    lower, upper = error_bar_limits(np.array([100.0]), np.array([0.5]), "log10")
    np.testing.assert_allclose([lower[0], upper[0]], [10**1.5, 10**2.5])
    lower, upper = error_bar_limits(np.array([3.0]), np.array([0.5]), "lin")
    np.testing.assert_allclose([lower[0], upper[0]], [2.5, 3.5])
