"""Tests of the bound-flip search (jakinfer.infer.bound_flips).

The bookkeeping is checked against a stand-in local optimiser whose outcome is
known by construction (a lookup of where each start ends); that the flips reach
the published Boehm 2014 optimum from its local optimum 149.588 is checked with
the real optimiser in tests/infer/test_optimize.py.
"""

from __future__ import annotations

import numpy as np
import pytest

from jakinfer.infer.bound_flips import BoundFlips, flipped_starts, improve_by_bound_flips
from jakinfer.infer.optimizer import BatchResult, ExitStatus

LOWER = np.array([-5.0, -5.0, 0.0, -np.inf])
UPPER = np.array([5.0, 5.0, 0.0, 5.0])


def test_flipped_starts_by_hand():
    """Coordinates on a bound move to the opposite one; a pinned coordinate (2) and one
    whose opposite bound is infinite (3) never move; `flippable` excludes coordinates."""
    x = np.array([[-5.0, 1.0, 0.0, 5.0],      # 0 on its lower bound; 3 on an upper bound with no lower one
                  [5.0, -5.0, 0.0, 0.0],      # 0 up, 1 down
                  [0.5, 4.0, 0.0, -3.0]])     # nothing on a bound
    starts, owner, coordinate = flipped_starts(x, LOWER, UPPER, tolerance=1e-9)
    assert owner.tolist() == [0, 1, 1] and coordinate.tolist() == [0, 0, 1]
    np.testing.assert_array_equal(starts, [[5.0, 1.0, 0.0, 5.0], [-5.0, -5.0, 0.0, 0.0], [5.0, 5.0, 0.0, 0.0]])
    starts, owner, coordinate = flipped_starts(x, LOWER, UPPER, 1e-9, flippable=np.array([False, True, True, True]))
    assert owner.tolist() == [1] and coordinate.tolist() == [1]
    near = flipped_starts(np.array([[-5.0 + 1e-6, 0.0, 0.0, 0.0]]), LOWER, UPPER, tolerance=1e-5)[0]
    np.testing.assert_array_equal(near, [[5.0, 0.0, 0.0, 0.0]])


def _batch(x0, x, fval, evaluations) -> BatchResult:
    n = len(fval)
    return BatchResult(x0=np.asarray(x0, float), x=np.asarray(x, float), fval=np.asarray(fval, float),
                       grad_norm=np.zeros(n), n_iterations=np.full(n, 2), n_evaluations=np.asarray(evaluations),
                       status=np.full(n, int(ExitStatus.CONVERGED_DECREMENT)),
                       message=tuple(f"plain {i}" for i in range(n)))


def _lookup_optimiser(ends: dict[tuple[float, float], tuple[tuple[float, float], float]], calls: list):
    """A local optimiser that sends each start to a fixed end point (10 evaluations each)."""
    def minimise(starts):
        calls.append(np.array(starts))
        outcome = [ends[tuple(float(v) for v in start)] for start in starts]
        return _batch(starts, [end for end, _ in outcome], [value for _, value in outcome], np.full(len(starts), 10))
    return minimise


def test_flips_keep_improvements_count_evaluations_and_go_on_while_they_improve():
    """Row 0 (on two bounds) improves in round 1 and again in round 2, then ends inside
    the box; row 1 (inside) is never flipped; row 2's flip is worse; row 3 failed."""
    lower, upper = np.array([-5.0, -5.0]), np.array([5.0, 5.0])
    ends = {
        (5.0, 5.0): ((5.0, -5.0), 7.0),     # round 1, row 0, coordinate 0 flipped: worse than 5
        (-5.0, -5.0): ((-5.0, -5.0), 3.0),  # round 1, row 0, coordinate 1 flipped: kept
        (0.0, -5.0): ((0.0, -5.0), 9.5),    # round 1, row 2: worse than 9
        (5.0, -5.0): ((2.0, 2.0), 1.0),     # round 2, row 0, coordinate 0 flipped: kept
        (-5.0, 5.0): ((-5.0, 5.0), 5.0),    # round 2, row 0, coordinate 1 flipped: worse
    }
    plain = _batch(x0=[[0.0, 0.0], [1.0, 1.0], [2.0, 2.0], [3.0, 3.0]],
                   x=[[-5.0, 5.0], [0.3, 0.2], [0.0, 5.0], [5.0, 5.0]],
                   fval=[5.0, 2.0, 9.0, np.inf], evaluations=[20, 20, 20, 20])
    calls: list = []
    result, record = improve_by_bound_flips(_lookup_optimiser(ends, calls), plain, lower, upper,
                                            BoundFlips(rounds=3), names=("a", "b"))
    assert len(calls) == 2  # round 3: row 0 ends inside the box, nothing to flip
    np.testing.assert_array_equal(calls[0], [[5.0, 5.0], [-5.0, -5.0], [0.0, -5.0]])
    np.testing.assert_array_equal(calls[1], [[5.0, -5.0], [-5.0, 5.0]])
    assert result.fval.tolist()[:3] == [1.0, 2.0, 9.0] and result.fval[3] == np.inf
    np.testing.assert_array_equal(result.x[0], [2.0, 2.0])
    np.testing.assert_array_equal(result.x0, plain.x0)
    assert result.n_evaluations.tolist() == [20 + 4 * 10, 20, 20 + 10, 20]
    assert result.n_iterations.tolist() == [2 + 4 * 2, 2, 2 + 2, 2]
    assert record.runs.tolist() == [4, 0, 1, 0] and record.kept.tolist() == [2, 0, 0, 0]
    assert record.fval_before.tolist()[:3] == [5.0, 2.0, 9.0]
    assert "after bound flip 2: a to its opposite bound" in result.message[0]
    assert result.message[1:] == plain.message[1:]
    metadata = record.as_metadata(BoundFlips(rounds=3))
    assert metadata["runs"] == 5 and metadata["improved_starts"] == 1 and metadata["fval_before"][3] is None
    # one round only: row 0 stops at its first improvement
    once, _ = improve_by_bound_flips(_lookup_optimiser(ends, []), plain, lower, upper, BoundFlips(rounds=1))
    assert once.fval[0] == 3.0


def test_no_rounds_or_nothing_on_a_bound_runs_nothing():
    lower, upper = np.array([-5.0, -5.0]), np.array([5.0, 5.0])
    plain = _batch(x0=[[0.0, 0.0]], x=[[0.1, 0.2]], fval=[1.0], evaluations=[20])
    calls: list = []
    for config in (BoundFlips(rounds=0), BoundFlips()):
        result, record = improve_by_bound_flips(_lookup_optimiser({}, calls), plain, lower, upper, config)
        assert calls == [] and result.fval.tolist() == [1.0] and record.runs.tolist() == [0]


def test_bound_flips_settings_are_checked():
    with pytest.raises(ValueError, match="rounds"):
        BoundFlips(rounds=-1)
    with pytest.raises(ValueError, match="rounds"):
        BoundFlips(rounds=1.5)
    with pytest.raises(ValueError, match="tolerance"):
        BoundFlips(tolerance=-1.0)
