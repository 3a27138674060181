"""Tests for the Rodas5P Rosenbrock solver (jakinfer.solvers.rosenbrock).

Compile count is kept low: every diffeqsolve configuration is jitted once at module
level with the varying quantities (matrices, parameters, step sizes, save times) passed
as traced arguments.
"""

from __future__ import annotations

import jax

jax.config.update("jax_enable_x64", True)

import diffrax as dfx  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import scipy.linalg  # noqa: E402

from jakinfer.solvers import (  # noqa: E402
    RODAS5P_TABLEAU,
    Rodas5P,
    Rodas5PInterpolation,
)

# --------------------------------------------------------------------------------------
# Order conditions (pure numpy)
# --------------------------------------------------------------------------------------


def _rooted_trees(order: int) -> list[tuple]:
    """All rooted trees with ``order`` vertices; a tree is the sorted tuple of its
    children's subtrees (the single vertex is ``()``)."""
    if order == 1:
        return [()]
    out: set[tuple] = set()

    def forests(remaining: int, max_child: tuple | None):
        # Multisets of subtrees whose sizes add up to `remaining`, generated in
        # non-increasing order to avoid permutations.
        if remaining == 0:
            yield ()
            return
        for size in range(1, remaining + 1):
            for child in _rooted_trees(size):
                key = (size, child)
                if max_child is not None and key > max_child:
                    continue
                for rest in forests(remaining - size, key):
                    yield (child, *rest)

    for forest in forests(order - 1, None):
        out.add(tuple(sorted(forest)))
    return sorted(out)


def _tree_order(tree: tuple) -> int:
    return 1 + sum(_tree_order(child) for child in tree)


def _tree_density(tree: tuple) -> int:
    """gamma(t): the tree factorial."""
    out = _tree_order(tree)
    for child in tree:
        out *= _tree_density(child)
    return out


def _elementary_weight(tree: tuple, alpha: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """Phi_i(t) for a Rosenbrock method (Hairer & Wanner II, Sect. IV.7): vertices
    with exactly one child use beta = alpha + Gamma (diagonal gamma included), all
    other vertices use alpha."""
    if not tree:
        return np.ones(alpha.shape[0])
    if len(tree) == 1:
        return beta @ _elementary_weight(tree[0], alpha, beta)
    out = np.ones(alpha.shape[0])
    for child in tree:
        out = out * (alpha @ _elementary_weight(child, alpha, beta))
    return out


def test_tree_counts() -> None:
    assert [len(_rooted_trees(p)) for p in range(1, 7)] == [1, 1, 2, 4, 9, 20]


def test_order_conditions() -> None:
    tab = RODAS5P_TABLEAU
    cf = tab.classical_form()
    alpha, beta, Gamma = cf["alpha"], cf["beta"], cf["Gamma"]
    # Structural checks of the transformed form.
    assert np.allclose(np.diag(Gamma), tab.gamma, rtol=0, atol=1e-15)
    assert np.allclose(Gamma.sum(axis=1), tab.d, rtol=0, atol=1e-13)
    assert np.allclose(alpha.sum(axis=1), tab.c, rtol=0, atol=1e-13)
    # Classical low-order conditions written out (Hairer & Wanner II, Table 7.1).
    g = tab.gamma
    b = cf["b"]
    beta_p = (beta - np.diag(np.diag(beta))).sum(axis=1)  # beta'_i = sum_{j<i} beta_ij
    a_i = alpha.sum(axis=1)
    assert b.sum() == pytest.approx(1.0, abs=1e-13)
    assert b @ beta_p == pytest.approx(0.5 - g, abs=1e-13)
    assert b @ a_i**2 == pytest.approx(1 / 3, abs=1e-13)
    strict_beta = beta - np.diag(np.diag(beta))
    assert b @ strict_beta @ beta_p == pytest.approx(1 / 6 - g + g**2, abs=1e-13)
    # All B-series conditions: order 5 for b, order 4 for b_hat.
    for p in range(1, 6):
        for tree in _rooted_trees(p):
            phi = _elementary_weight(tree, alpha, beta)
            target = 1.0 / _tree_density(tree)
            assert cf["b"] @ phi == pytest.approx(target, abs=1e-12), tree
            if p <= 4:
                assert cf["b_hat"] @ phi == pytest.approx(target, abs=1e-12), tree
    # The embedded method is *not* of order 5 (otherwise the error estimate is 0).
    defects = [
        abs(cf["b_hat"] @ _elementary_weight(t, alpha, beta) - 1 / _tree_density(t)) for t in _rooted_trees(5)
    ]
    assert max(defects) > 1e-4
    # Stiffly accurate: b equals the last row of beta (y1 is the last stage input
    # plus the last stage), and the embedded weights drop the last stage.
    assert np.allclose(cf["b"], beta[-1], atol=1e-12)


def test_dense_output_coefficients_endpoints() -> None:
    interp = Rodas5PInterpolation(
        t0=jnp.asarray(1.0),
        t1=jnp.asarray(3.0),
        y0=jnp.array([1.0, 2.0]),
        y1=jnp.array([-1.0, 5.0]),
        k=jnp.array([[0.3, 0.1], [0.7, -0.2], [-0.4, 0.9]]),
    )
    np.testing.assert_allclose(interp.evaluate(1.0), [1.0, 2.0], rtol=0, atol=1e-15)
    np.testing.assert_allclose(interp.evaluate(3.0), [-1.0, 5.0], rtol=0, atol=1e-15)
    np.testing.assert_allclose(interp.evaluate(1.5, 3.0), interp.evaluate(3.0) - interp.evaluate(1.5))


# --------------------------------------------------------------------------------------
# Problems
# --------------------------------------------------------------------------------------


def _linear(t, y, A):
    return A @ y


def _robertson(t, y, args):
    k1, k2, k3 = args
    y1, y2, y3 = y[0], y[1], y[2]
    return jnp.stack(
        [
            -k1 * y1 + k3 * y2 * y3,
            k1 * y1 - k2 * y2**2 - k3 * y2 * y3,
            k2 * y2**2,
        ]
    )


def _robertson_jac(t, y, args):
    k1, k2, k3 = args
    y2, y3 = y[1], y[2]
    zero = jnp.zeros_like(y2)
    return jnp.array(
        [
            [-k1 + zero, k3 * y3, k3 * y2],
            [k1 + zero, -2 * k2 * y2 - k3 * y3, -k3 * y2],
            [zero, 2 * k2 * y2, zero],
        ]
    )


def _relax(t, y, k):
    """y' = -k (y - cos t): stiff for large k, non-autonomous."""
    return -k * (y - jnp.cos(t))


def _relax_exact(t, k, y0):
    """Exact solution of _relax with y(0) = y0 (scalar), vectorised over t."""
    k2 = k * k
    particular = (k2 * np.cos(t) + k * np.sin(t)) / (k2 + 1)
    return particular + (y0 - k2 / (k2 + 1)) * np.exp(-k * t)


def _nonlinear(t, y, args):
    """Smooth nonstiff nonlinear non-autonomous test system with exact solution."""
    return jnp.stack([-2 * t * y[0] ** 2, y[1] * (1 - y[1]), jnp.cos(t) * y[2]])


def _nonlinear_jac(t, y, args):
    zero = jnp.zeros_like(t)
    return jnp.array(
        [
            [-4 * t * y[0], zero, zero],
            [zero, 1 - 2 * y[1], zero],
            [zero, zero, jnp.cos(t)],
        ]
    )


def _nonlinear_exact(t):
    t = np.asarray(t)
    return np.stack([1 / (1 + t**2), 1 / (1 + np.exp(-t)), np.exp(np.sin(t))], -1)


NONLINEAR_Y0 = jnp.array([1.0, 0.5, 1.0])
ROBERTSON_ARGS = (0.04, 3e7, 1e4)
ROBERTSON_TS = jnp.array([1e-3, 1.0, 1e2, 1e4, 1e5])
RELAX_TS = jnp.array([0.01, 0.5, 1.0, 2.0])
RELAX_T1 = 2.0


def _adaptive(rtol, atol):
    return dfx.PIDController(rtol=rtol, atol=atol, pcoeff=0.3, icoeff=0.4)


@jax.jit
def _solve_linear(A, y0, ts):
    sol = dfx.diffeqsolve(
        dfx.ODETerm(_linear),
        Rodas5P(),
        0.0,
        ts[-1],
        1e-4,
        y0,
        A,
        stepsize_controller=_adaptive(1e-10, 1e-10),
        saveat=dfx.SaveAt(ts=ts),
        max_steps=4096,
    )
    return sol.ys, sol.stats["num_steps"]


def _solve_robertson(solver, rtol, atol):
    sol = dfx.diffeqsolve(
        dfx.ODETerm(_robertson),
        solver,
        0.0,
        1e5,
        1e-6,
        jnp.array([1.0, 0.0, 0.0]),
        ROBERTSON_ARGS,
        stepsize_controller=_adaptive(rtol, atol),
        saveat=dfx.SaveAt(ts=ROBERTSON_TS),
        max_steps=20_000,
    )
    return sol.ys, sol.stats["num_accepted_steps"], sol.stats["num_rejected_steps"]


def _relax_solve(k, adjoint=None, rtol=1e-12, atol=1e-12):
    kwargs = {} if adjoint is None else {"adjoint": adjoint}
    sol = dfx.diffeqsolve(
        dfx.ODETerm(_relax),
        Rodas5P(),
        0.0,
        RELAX_T1,
        1e-5,
        jnp.array([0.0]),
        k,
        stepsize_controller=_adaptive(rtol, atol),
        saveat=dfx.SaveAt(ts=RELAX_TS),
        max_steps=4096,
        **kwargs,
    )
    return sol.ys[:, 0]


_relax_jit = jax.jit(_relax_solve)


@pytest.fixture(scope="module")
def robertson_rodas():
    """(ys, accepted, rejected) of Rodas5P with the autodiff Jacobian."""
    return jax.jit(lambda: _solve_robertson(Rodas5P(), 1e-10, 1e-14))()


# --------------------------------------------------------------------------------------
# 1. Linear ODE vs matrix exponential (nonstiff and stiff)
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("stiff", [False, True])
def test_linear_matrix_exponential(stiff: bool) -> None:
    rng = np.random.default_rng(0)
    if stiff:
        V = np.array([[1.0, 0.3], [-0.4, 1.0]])
        A = V @ np.diag([-1.0, -1e4]) @ np.linalg.inv(V)
        y0 = np.array([1.0, 2.0])
    else:
        A = np.array([[-0.1, 1.0], [-1.0, -0.1]]) + 0.05 * rng.standard_normal((2, 2))
        y0 = np.array([1.0, 0.0])
    # Interior save times (not step ends) exercise the dense output too.
    ts = np.array([1e-3, 0.123, 0.5, 1.7, 3.0])
    ys, num_steps = _solve_linear(jnp.asarray(A), jnp.asarray(y0), jnp.asarray(ts))
    exact = np.stack([scipy.linalg.expm(A * t) @ y0 for t in ts])
    err = np.max(np.abs(np.asarray(ys) - exact))
    assert err < 1e-7, (err, int(num_steps))
    if stiff:  # L-stability: no tiny steps forced by the -1e4 eigenvalue.
        assert int(num_steps) < 300


# --------------------------------------------------------------------------------------
# 2. Robertson vs Kvaerno5
# --------------------------------------------------------------------------------------


def test_robertson_vs_kvaerno5(robertson_rodas) -> None:
    ys, acc, rej = robertson_rodas
    ys_k, acc_k, rej_k = jax.jit(lambda: _solve_robertson(dfx.Kvaerno5(), 1e-10, 1e-14))()
    ys, ys_k = np.asarray(ys), np.asarray(ys_k)
    rel = np.abs(ys - ys_k) / np.abs(ys_k)
    assert np.all(np.isfinite(ys))
    assert rel.max() < 1e-6, rel
    np.testing.assert_allclose(ys.sum(axis=1), 1.0, rtol=0, atol=1e-10)  # mass
    print(
        f"\nRobertson steps (rtol=1e-10, atol=1e-14): Rodas5P {int(acc)} accepted / "
        f"{int(rej)} rejected; Kvaerno5 {int(acc_k)} accepted / {int(rej_k)} rejected"
    )
    assert int(acc) < 5_000


# --------------------------------------------------------------------------------------
# 3. Non-autonomous stiff problem vs analytic solution
# --------------------------------------------------------------------------------------


def test_nonautonomous_stiff() -> None:
    k = 1e3
    ys = np.asarray(_relax_jit(jnp.asarray(k)))
    exact = _relax_exact(np.asarray(RELAX_TS), k, 0.0)
    np.testing.assert_allclose(ys, exact, rtol=0, atol=1e-10)


# --------------------------------------------------------------------------------------
# 4. Gradients: forward mode, reverse mode, finite differences
# --------------------------------------------------------------------------------------


def test_gradient_forward_reverse_fd() -> None:
    k = 1e3
    ts = np.asarray(RELAX_TS)
    # Forward mode: all save times at once; reverse mode: y(T) (a scalar, so one
    # backward pass; jacrev of the vector would compile a vmapped backward pass).
    fwd = jax.jit(jax.jacfwd(lambda kk: _relax_solve(kk, adjoint=dfx.ForwardMode())[1:]))
    rev = jax.jit(jax.grad(lambda kk: _relax_solve(kk)[-1]))
    d_fwd = np.asarray(fwd(jnp.asarray(k)))
    d_rev = np.asarray(rev(jnp.asarray(k)))[None]
    # Central FD in k: truncation ~ delta^2 |y'''| / 6 ~ 1e-6 relative for delta = 1
    # (y depends on k like 1/k), solver noise ~1e-13 / delta ~ 1e-7 relative.
    delta = 1.0
    d_fd = (np.asarray(_relax_jit(jnp.asarray(k + delta))) - np.asarray(_relax_jit(jnp.asarray(k - delta))))[
        1:
    ] / (2 * delta)
    # Analytic d/dk of the particular solution (the transient is e^{-500} or less).
    t = ts[1:]
    d_exact = (
        (2 * k * np.cos(t) + np.sin(t)) * (k * k + 1) - (k * k * np.cos(t) + k * np.sin(t)) * 2 * k
    ) / (k * k + 1) ** 2
    for d, sl in ((d_fwd, slice(None)), (d_rev, slice(-1, None))):
        rel = np.max(np.abs(d - d_fd[sl]) / np.abs(d_fd[sl]))
        assert rel < 1e-5, (rel, d, d_fd)
        rel_exact = np.max(np.abs(d - d_exact[sl]) / np.abs(d_exact[sl]))
        assert rel_exact < 1e-5, (rel_exact, d, d_exact)
    np.testing.assert_allclose(d_fwd[-1:], d_rev, rtol=1e-8)


# --------------------------------------------------------------------------------------
# 5. vmap over parameters
# --------------------------------------------------------------------------------------


def test_vmap_matches_loop() -> None:
    ks = jnp.array([10.0, 300.0, 1e3, 5e4])
    batched = np.asarray(jax.jit(jax.vmap(_relax_solve))(ks))
    looped = np.stack([np.asarray(_relax_jit(k)) for k in ks])
    np.testing.assert_allclose(batched, looped, rtol=1e-9, atol=1e-12)
    for i, k in enumerate(np.asarray(ks)):
        exact = _relax_exact(np.asarray(RELAX_TS), k, 0.0)
        np.testing.assert_allclose(batched[i], exact, rtol=0, atol=1e-9)


# --------------------------------------------------------------------------------------
# 6. Analytic Jacobian == autodiff Jacobian
# --------------------------------------------------------------------------------------


def test_analytic_jacobian_matches_autodiff(robertson_rodas) -> None:
    ys_ad, acc_ad, _ = robertson_rodas
    ys_an, acc_an, _ = jax.jit(lambda: _solve_robertson(Rodas5P(jacobian=_robertson_jac), 1e-10, 1e-14))()
    np.testing.assert_allclose(np.asarray(ys_an), np.asarray(ys_ad), rtol=1e-9)
    assert abs(int(acc_an) - int(acc_ad)) <= 2


def test_analytic_jacobian_backward_in_time() -> None:
    """t1 < t0 with a time-dependent analytic Jacobian.  diffrax flips time
    internally; the Jacobian must still be evaluated at the user's time.  (Evaluating
    it at the flipped time was checked to give ~2e-3 error here instead of ~5e-7.)"""
    ts = jnp.array([-0.55, -1.5])
    sol = dfx.diffeqsolve(
        dfx.ODETerm(_nonlinear),
        Rodas5P(jacobian=_nonlinear_jac),
        0.0,
        -1.5,
        -0.1,
        NONLINEAR_Y0,
        None,
        stepsize_controller=dfx.ConstantStepSize(),
        saveat=dfx.SaveAt(ts=ts),
        max_steps=32,
    )
    exact = _nonlinear_exact(np.asarray(ts))
    np.testing.assert_allclose(np.asarray(sol.ys), exact, rtol=0, atol=2e-6)


# --------------------------------------------------------------------------------------
# 7. Empirical convergence order with fixed steps
# --------------------------------------------------------------------------------------


def test_convergence_order() -> None:
    T = 2.0
    # T is a step end; the other times are interior points (dense output).
    ts = jnp.array([0.77, 1.33, T])

    @jax.jit
    def solve(dt0):
        return dfx.diffeqsolve(
            dfx.ODETerm(_nonlinear),
            Rodas5P(),
            0.0,
            T,
            dt0,
            NONLINEAR_Y0,
            None,
            stepsize_controller=dfx.ConstantStepSize(),
            saveat=dfx.SaveAt(ts=ts),
            max_steps=64,
        ).ys

    exact = _nonlinear_exact(np.asarray(ts))
    errs = []
    for n in (10, 20, 40):
        ys = np.asarray(solve(jnp.asarray(T / n)))
        errs.append(np.max(np.abs(ys - exact), axis=1))
    errs = np.array(errs)  # (3 step sizes, 3 save times)
    ratios = errs[:-1] / errs[1:]
    end_orders = np.log2(ratios[:, -1])
    dense_orders = np.log2(ratios[:, :-1])
    # Step ends: order 5 (ratio ~ 32 when halving h).
    assert np.all(end_orders > 4.6), end_orders
    assert np.all(end_orders < 5.6), end_orders
    # Dense output: at least order 4.
    assert np.all(dense_orders > 3.6), dense_orders


# --------------------------------------------------------------------------------------
# Interface details
# --------------------------------------------------------------------------------------


def test_solver_metadata() -> None:
    solver = Rodas5P()
    term = dfx.ODETerm(_linear)
    assert solver.order(term) == 5
    assert solver.error_order(term) == 5
    assert isinstance(solver, dfx.AbstractAdaptiveSolver)
    assert solver.interpolation_cls is Rodas5PInterpolation


@pytest.mark.parametrize(
    "y0",
    [
        {"a": jnp.array([1.0])},
        jnp.ones((2, 2)),
        jnp.array([1, 2]),
    ],
)
def test_rejects_non_vector_state(y0) -> None:
    with pytest.raises(ValueError, match="Rodas5P"):
        Rodas5P().init(dfx.ODETerm(lambda t, y, a: y), 0.0, 1.0, y0, None)


def test_bad_jacobian_shape() -> None:
    solver = Rodas5P(jacobian=lambda t, y, args: jnp.ones((3, 2)))
    with pytest.raises(ValueError, match="shape"):
        solver.step(
            dfx.ODETerm(lambda t, y, a: -y),
            jnp.asarray(0.0),
            jnp.asarray(0.1),
            jnp.ones(2),
            None,
            None,
            False,
        )


# --------------------------------------------------------------------------------------
# 8. Linear-algebra variants: explicit inverse (default) vs LU solves; analytic df/dt
# --------------------------------------------------------------------------------------


def test_lu_solves_and_analytic_time_derivative_match_default() -> None:
    """The LU path and an analytic ``df/dt`` give the default's answer on a stiff,
    non-autonomous problem, and both match the exact solution."""
    k = 1e3

    def solve(solver):
        sol = dfx.diffeqsolve(
            dfx.ODETerm(_relax), solver, 0.0, RELAX_T1, 1e-5, jnp.array([0.0]), k,
            stepsize_controller=_adaptive(1e-12, 1e-12), saveat=dfx.SaveAt(ts=RELAX_TS),
            max_steps=4096,
        )
        return np.asarray(sol.ys[:, 0])

    def jacobian(t, y, kk):
        return jnp.full((1, 1), -kk)

    def time_derivative(t, y, kk):
        return jnp.array([-kk * jnp.sin(t)])

    default = solve(Rodas5P())
    lu = solve(Rodas5P(explicit_inverse=False))
    analytic = solve(Rodas5P(jacobian=jacobian, time_derivative=time_derivative))
    exact = _relax_exact(np.asarray(RELAX_TS), k, 0.0)
    np.testing.assert_allclose(lu, default, rtol=0, atol=1e-12)
    np.testing.assert_allclose(analytic, default, rtol=0, atol=1e-12)
    np.testing.assert_allclose(analytic, exact, rtol=0, atol=1e-10)


def _coupled(t, y, k):
    """A stiff, nonlinear two-state system whose Jacobian depends on ``k`` and ``y``."""
    return jnp.array([-k * y[0] + y[1] * y[1], k * y[0] - 3.0 * y[1] - y[0] * y[1]])


def test_explicit_inverse_derivatives_match_lu_path() -> None:
    """The explicit inverse's JVP rule (``W^-1 (d rhs - dW u)``, no tangent of
    ``W^-1`` formed) gives the same first and second derivatives as
    differentiating the LU solves, in the parameter and the initial state."""
    ts = jnp.linspace(0.1, 2.0, 5)

    def solve(solver, k, y0):
        sol = dfx.diffeqsolve(
            dfx.ODETerm(_coupled), solver, 0.0, 2.0, None, y0, k,
            stepsize_controller=_adaptive(1e-9, 1e-9), saveat=dfx.SaveAt(ts=ts),
            adjoint=dfx.ForwardMode(), max_steps=4096,
        )
        return sol.ys

    def derivatives(solver):
        def of(arguments):
            return solve(solver, arguments[0], jnp.stack([arguments[1], 0.2]))

        arguments = jnp.array([50.0, 1.0])
        first = jax.jit(jax.jacfwd(of))(arguments)
        second = jax.jit(jax.jacfwd(jax.jacfwd(of)))(arguments)
        return np.asarray(first), np.asarray(second)

    first, second = derivatives(Rodas5P())
    first_lu, second_lu = derivatives(Rodas5P(explicit_inverse=False))
    assert np.max(np.abs(first)) > 1e-3 and np.max(np.abs(second)) > 1e-4
    np.testing.assert_allclose(first, first_lu, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(second, second_lu, rtol=1e-8, atol=1e-11)
