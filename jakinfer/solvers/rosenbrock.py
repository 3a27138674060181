"""Rodas5P: a linearly implicit Rosenbrock(-Wanner) solver for diffrax.

Rodas5P (Steinebach 2023) is an 8-stage, stiffly accurate Rosenbrock method of order
5 with an embedded method of order 4 and a continuous extension ("dense output") of
order 4.  Each step needs one Jacobian, one LU factorisation and eight linear solves
with that factorisation; there is no Newton iteration, so there is nothing that can
"fail to converge" and the step is a smooth function of its inputs (good for
differentiating through the solver).

Coefficients
------------
The numbers in :data:`RODAS5P_TABLEAU` are copied (full printed precision) from
``Rodas5PTableau`` in ``lib/OrdinaryDiffEqRosenbrock/src/rosenbrock_tableaus.jl`` of
SciML/OrdinaryDiffEq.jl (MIT licence), which in turn implements

    G. Steinebach, "Construction of Rosenbrock-Wanner method Rodas5P and numerical
    benchmarks within the Julia Differential Equations package", BIT Numerical
    Mathematics 63, 27 (2023).

They are given in the "transformed" variables of Hairer & Wanner (Solving ODEs II,
Sect. IV.7, eq. (7.25)), i.e. the form used by the Fortran code RODAS.  The tests in
``tests/solvers/test_rosenbrock.py`` convert them back to the classical
``(alpha, gamma, b)`` form and check every order condition up to order 5 (order 4 for
the embedded method).

Formulation
-----------
With the step ``h = t1 - t0``, ``G(t, y) = h f(t, y)`` (diffrax's ``vf_prod``),
``J_h = dG/dy = h J`` and ``G_t = dG/dt = h f_t``, every step solves, for
``i = 1..8``::

    W u_i = G(t0 + c_i h, y0 + sum_{j<i} a_ij u_j) + sum_{j<i} C_ij u_j
            + d_i h G_t(t0, y0),          W = I / gamma - J_h,

which is the usual ``(I/(h gamma) - J) u_i = f(...) + sum_j (C_ij / h) u_j + h d_i f_t``
multiplied through by ``h``.  ``W`` is LU-factorised once per step and the
factorisation is reused for all eight stages.  Because the method is stiffly accurate
(rows 7 and 8 of ``a`` and the weights reproduce the previous stage input), the
solution is ``y1 = y0 + sum_j a_8j u_j + u_8`` and the embedded order-4 solution is
``y0 + sum_j a_8j u_j``, so the local error estimate is simply ``u_8``.

Dense output
------------
The Rodas5P continuous extension (not a cubic Hermite fallback)::

    y(t0 + theta h) = (1 - theta) y0
                      + theta (y1 + (1 - theta) (K1 + theta (K2 + theta K3))),
    K_r = sum_j H_rj u_j,

with the ``H`` coefficients of the same source; see :class:`Rodas5PInterpolation`.

Size: one solver family: the tableaus of the Rosenbrock methods, the stage solve with its
JVP rule and the diffrax solver class, which must agree with each other.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
import jax.scipy.linalg as jsl
import numpy as np
from diffrax import RESULTS, AbstractAdaptiveSolver, AbstractLocalInterpolation, ODETerm
from jaxtyping import Array, ArrayLike

try:  # diffeqsolve wraps every term in WrapTerm(term, direction) (t1 < t0 support).
    from diffrax._term import WrapTerm as _WrapTerm
except ImportError:  # pragma: no cover - only if diffrax reorganises its internals
    _WrapTerm = None

__all__ = [
    "RODAS5P_TABLEAU",
    "Rodas5P",
    "Rodas5PInterpolation",
    "RosenbrockTableau",
]

#: Signature of a user-supplied Jacobian: ``jacobian(t, y, args) -> df/dy``, shape
#: ``(n, n)`` for ``y`` of shape ``(n,)``.
JacobianFn = Callable[[ArrayLike, Array, Any], Array]


# --------------------------------------------------------------------------------------
# Tableau
# --------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, eq=False)
class RosenbrockTableau:
    """Coefficients of a stiffly accurate Rosenbrock method in transformed form.

    All arrays are numpy float64 constants (they are baked into the traced program,
    never traced themselves).  ``s`` is the number of stages.

    Attributes:
        gamma: the diagonal coefficient ``gamma`` (scalar).
        a: ``(s, s)`` strictly lower triangular; stage ``i`` is evaluated at
            ``y0 + sum_j a[i, j] u_j``.
        C: ``(s, s)`` strictly lower triangular coupling ``C[i, j] u_j`` on the
            right-hand side of stage ``i`` (already divided by ``h`` in the
            ``1/(h gamma)`` scaling; see the module docstring).
        c: ``(s,)`` stage times ``t0 + c_i h``.
        d: ``(s,)`` coefficients of the time derivative, ``d_i = sum_j gamma_ij``.
        m: ``(s,)`` weights of the solution, ``y1 = y0 + sum_i m_i u_i``.
        m_hat: ``(s,)`` weights of the embedded solution.
        H: ``(r, s)`` dense-output coefficients, ``K_r = sum_j H[r, j] u_j``.
        order: classical order of ``m``.
        embedded_order: classical order of ``m_hat``.
    """

    gamma: float
    a: np.ndarray
    C: np.ndarray
    c: np.ndarray
    d: np.ndarray
    m: np.ndarray
    m_hat: np.ndarray
    H: np.ndarray
    order: int
    embedded_order: int

    @property
    def num_stages(self) -> int:
        """Number of stages ``s``."""
        return int(self.c.shape[0])

    def classical_form(self) -> dict[str, np.ndarray]:
        """Convert to the classical ``(alpha, Gamma, b)`` form of Hairer & Wanner.

        Classical form: ``(I - h gamma J) k_i = h f(y0 + sum_j alpha_ij k_j)
        + h J sum_{j<i} gamma_ij k_j``, ``y1 = y0 + sum_i b_i k_i``.  The
        transformation is ``Gamma = (I / gamma - C)^{-1}`` (lower triangular, diagonal
        ``gamma``), ``alpha = a Gamma``, ``b = m Gamma``.

        Returns:
            dict with ``alpha`` ``(s, s)``, ``Gamma`` ``(s, s)`` (diagonal included),
            ``beta = alpha + Gamma`` ``(s, s)``, ``b`` ``(s,)``, ``b_hat`` ``(s,)``.
        """
        s = self.num_stages
        Gamma = np.linalg.inv(np.eye(s) / self.gamma - self.C)
        alpha = self.a @ Gamma
        return {
            "alpha": alpha,
            "Gamma": Gamma,
            "beta": alpha + Gamma,
            "b": self.m @ Gamma,
            "b_hat": self.m_hat @ Gamma,
        }


def _rodas5p_tableau() -> RosenbrockTableau:
    # Source of every number below: Rodas5PTableau in
    # SciML/OrdinaryDiffEq.jl, lib/OrdinaryDiffEqRosenbrock/src/rosenbrock_tableaus.jl
    # (Steinebach 2023, BIT 63:27).  Do not round.
    gamma = 0.21193756319429014
    a_row6 = [
        -7.502846399306121,
        2.561846144803919,
        -11.627539656261098,
        -0.18268767659942256,
        0.030198172008377946,
    ]
    a = np.zeros((8, 8))
    a[1, :1] = [3.0]
    a[2, :2] = [2.849394379747939, 0.45842242204463923]
    a[3, :3] = [-6.954028509809101, 2.489845061869568, -10.358996098473584]
    a[4, :4] = [
        2.8029986275628964,
        0.5072464736228206,
        -0.3988312541770524,
        -0.04721187230404641,
    ]
    a[5, :5] = a_row6
    a[6, :6] = a_row6 + [1.0]
    a[7, :7] = a_row6 + [1.0, 1.0]

    C = np.zeros((8, 8))
    C[1, :1] = [-14.155112264123755]
    C[2, :2] = [-17.97296035885952, -2.859693295451294]
    C[3, :3] = [147.12150275711716, -1.41221402718213, 71.68940251302358]
    C[4, :4] = [
        165.43517024871676,
        -0.4592823456491126,
        42.90938336958603,
        -5.961986721573306,
    ]
    C[5, :5] = [
        24.854864614690072,
        -3.0009227002832186,
        47.4931110020768,
        5.5814197821558125,
        -0.6610691825249471,
    ]
    C[6, :6] = [
        30.91273214028599,
        -3.1208243349937974,
        77.79954646070892,
        34.28646028294783,
        -19.097331116725623,
        -28.087943162872662,
    ]
    C[7, :7] = [
        37.80277123390563,
        -3.2571969029072276,
        112.26918849496327,
        66.9347231244047,
        -40.06618937091002,
        -54.66780262877968,
        -9.48861652309627,
    ]
    c = np.array(
        [
            0.0,
            0.6358126895828704,
            0.4095798393397535,
            0.9769306725060716,
            0.4288403609558664,
            1.0,
            1.0,
            1.0,
        ]
    )
    d = np.array(
        [
            0.21193756319429014,
            -0.42387512638858027,
            -0.3384627126235924,
            1.8046452872882734,
            2.325825639765069,
            0.0,
            0.0,
            0.0,
        ]
    )
    H = np.array(
        [
            [
                25.948786856663858,
                -2.5579724845846235,
                10.433815404888879,
                -2.3679251022685204,
                0.524948541321073,
                1.1241088310450404,
                0.4272876194431874,
                -0.17202221070155493,
            ],
            [
                -9.91568850695171,
                -0.9689944594115154,
                3.0438037242978453,
                -24.495224566215796,
                20.176138334709044,
                15.98066361424651,
                -6.789040303419874,
                -6.710236069923372,
            ],
            [
                11.419903575922262,
                2.8879645146136994,
                72.92137995996029,
                80.12511834622643,
                -52.072871366152654,
                -59.78993625266729,
                -0.15582684282751913,
                4.883087185713722,
            ],
        ]
    )
    # Stiffly accurate: the solution is the input of a (virtual) 9th stage, i.e.
    # y1 = y0 + sum_j a_8j u_j + u_8; the embedded solution drops u_8.
    m = np.array(a_row6 + [1.0, 1.0, 1.0])
    m_hat = np.array(a_row6 + [1.0, 1.0, 0.0])
    for arr in (a, C, c, d, m, m_hat, H):
        arr.setflags(write=False)
    return RosenbrockTableau(
        gamma=gamma,
        a=a,
        C=C,
        c=c,
        d=d,
        m=m,
        m_hat=m_hat,
        H=H,
        order=5,
        embedded_order=4,
    )


#: The Rodas5P tableau (numpy float64 constants).
RODAS5P_TABLEAU: RosenbrockTableau = _rodas5p_tableau()


# --------------------------------------------------------------------------------------
# Dense output
# --------------------------------------------------------------------------------------


def _linear_rescale(t0: ArrayLike, t: ArrayLike, t1: ArrayLike) -> Array:
    """``(t - t0) / (t1 - t0)``, returning 0 (with zero gradients) when t0 == t1."""
    same = t0 == t1
    num = jnp.where(same, 0.0, t - t0)
    den = jnp.where(same, 1.0, t1 - t0)
    return num / den


class Rodas5PInterpolation(AbstractLocalInterpolation):
    """Rodas5P continuous extension on one step ``[t0, t1]``.

    ``y(t0 + theta h) = (1 - theta) y0 + theta (y1 + (1 - theta) (K1 + theta (K2 +
    theta K3)))`` with ``K = H u`` computed by :meth:`Rodas5P.step`.  It interpolates
    ``y0`` and ``y1`` exactly and is accurate to order 4 inside the step.

    Attributes:
        t0, t1: scalar ends of the step.
        y0, y1: ``(n,)`` solution at the ends of the step.
        k: ``(3, n)`` dense-output vectors ``K1, K2, K3``.
    """

    t0: ArrayLike
    t1: ArrayLike
    y0: Array
    y1: Array
    k: Array

    def evaluate(self, t0: ArrayLike, t1: ArrayLike | None = None, left: bool = True) -> Array:
        """Value ``(n,)`` at ``t0``, or the increment ``y(t1) - y(t0)`` if ``t1``."""
        del left
        if t1 is not None:
            return self.evaluate(t1) - self.evaluate(t0)
        with jax.numpy_dtype_promotion("standard"):
            theta = _linear_rescale(self.t0, t0, self.t1).astype(self.y0.dtype)
            theta1 = 1 - theta
            k1, k2, k3 = self.k[0], self.k[1], self.k[2]
            return theta1 * self.y0 + theta * (self.y1 + theta1 * (k1 + theta * (k2 + theta * k3)))


# --------------------------------------------------------------------------------------
# Solver
# --------------------------------------------------------------------------------------


@jax.custom_jvp
def _apply_inverse(matrix: Array, inverse: Array, rhs: Array) -> Array:
    """``inverse @ rhs`` where ``inverse = matrix^-1`` ``(n, n)``, ``rhs`` ``(n,)``.

    Its JVP, ``inverse @ (d rhs - d matrix @ u)`` with ``u = inverse @ rhs``,
    uses the tangent of ``matrix`` and ignores that of ``inverse``: the tangent
    of the inverse itself (``-W^-1 dW W^-1``, two more triangular solves per
    tangent in ``jnp.linalg.inv``'s rule) is then never formed, and each stage
    of a differentiated step costs two matrix-vector products per tangent.
    """
    return inverse @ rhs


@_apply_inverse.defjvp
def _apply_inverse_jvp(primals, tangents):
    matrix, inverse, rhs = primals
    matrix_tangent, _, rhs_tangent = tangents
    solution = inverse @ rhs
    return solution, inverse @ (rhs_tangent - matrix_tangent @ solution)


def _check_state(y0: Any) -> None:
    """Raise ValueError (at trace time) unless ``y0`` is one 1-D float array."""
    if not isinstance(y0, (jax.Array, np.ndarray)):
        raise ValueError(
            "Rodas5P requires the state y to be a single 1-D JAX array, got "
            f"{type(y0).__name__}. Flatten PyTree states into one vector first."
        )
    if y0.ndim != 1:
        raise ValueError(
            f"Rodas5P requires the state y to be a single 1-D array, got an array of shape {tuple(y0.shape)}."
        )
    if not jnp.issubdtype(y0.dtype, jnp.inexact):
        raise ValueError(f"Rodas5P requires a floating-point state y, got dtype {y0.dtype}.")


def _original_time(terms: Any, t: Array) -> Array:
    """Map the solver's time to the time of the user's term.

    ``diffeqsolve`` integrates in ``tau = direction * t`` and wraps the user's term in
    ``WrapTerm(term, direction)``; a user-supplied Jacobian must be evaluated at the
    user's time ``t = direction * tau``.
    """
    if _WrapTerm is not None and isinstance(terms, _WrapTerm):
        return t * terms.direction
    return t


class Rodas5P(AbstractAdaptiveSolver):
    """Rodas5P: 8-stage, order-5(4), stiffly accurate Rosenbrock-Wanner method.

    L-stable and stiffly accurate, so suitable for stiff ODEs (and index-1 DAEs in
    principle, although only ODEs ``y' = f(t, y, args)`` are supported here).  One
    Jacobian evaluation and one LU factorisation of ``I/gamma - h J`` per step; no
    nonlinear solves.  The local error estimate is the difference to the embedded
    order-4 solution.  Dense output uses the Rodas5P continuous extension
    (:class:`Rodas5PInterpolation`), not a cubic Hermite fallback.

    The state ``y`` must be one 1-D float array of shape ``(n,)``; anything else
    raises ``ValueError`` when ``diffeqsolve`` is traced.  The term must be a
    ``diffrax.ODETerm``.

    Attributes:
        jacobian: optional analytic Jacobian ``jacobian(t, y, args) -> (n, n)`` array
            ``df/dy`` of the user's vector field (in the user's time).  If ``None``
            (default) it is computed with ``jax.jacfwd`` of the vector field.
        autonomous: set to ``True`` if ``f`` does not depend on ``t`` explicitly; this
            skips computing ``df/dt`` (otherwise obtained by forward-mode autodiff
            together with the Jacobian, or by one ``jax.jvp`` when ``jacobian`` is
            given).  Results are identical either way for autonomous ``f``.
        time_derivative: optional analytic ``df/dt`` ``(t, y, args) -> (n,)``, used
            with ``jacobian`` instead of one ``jax.jvp`` in time.
        explicit_inverse: form ``W^-1`` once per step (LU with partial pivoting,
            then the inverse) and apply it to each stage as a matrix-vector
            product, instead of eight pairs of triangular solves. For the small
            systems of signalling models this halves the cost of a step under XLA
            on the CPU, and its forward-mode tangent is two matrix products
            (``d W^-1 = -W^-1 dW W^-1``) instead of a differentiated
            factorisation: forward sensitivities become about 2x cheaper. Set
            ``False`` for large systems.

    Example:
        ```python
        sol = diffrax.diffeqsolve(
            diffrax.ODETerm(f), Rodas5P(), t0, t1, dt0, y0, args,
            stepsize_controller=diffrax.PIDController(rtol=1e-8, atol=1e-8),
        )
        ```
    """

    jacobian: JacobianFn | None = None
    autonomous: bool = False
    time_derivative: JacobianFn | None = None
    explicit_inverse: bool = True

    term_structure: ClassVar = ODETerm
    interpolation_cls: ClassVar[Callable[..., Rodas5PInterpolation]] = Rodas5PInterpolation
    tableau: ClassVar[RosenbrockTableau] = RODAS5P_TABLEAU

    def order(self, terms: Any) -> int:
        """Classical order of the method: 5."""
        del terms
        return self.tableau.order

    def error_order(self, terms: Any) -> int:
        """Order of the local error estimate, in diffrax's convention: 5.

        diffrax's ``PIDController`` uses exponents ``coeff / error_order`` where
        ``error_order`` is the local order of ``y_error`` (``min(p, q) + 1`` for a
        ``p(q)`` pair, the same convention that gives Kvaerno5 ``error_order = 5``).
        The embedded method has order 4, so ``y_error = O(h^5)``.
        """
        del terms
        return self.tableau.embedded_order + 1

    def init(
        self,
        terms: Any,
        t0: ArrayLike,
        t1: ArrayLike,
        y0: Array,
        args: Any,
    ) -> None:
        """No solver state is carried between steps (no FSAL); checks ``y0``."""
        del terms, t0, t1, args
        _check_state(y0)
        return None

    def _linearise(
        self, terms: Any, t0: Array, y0: Array, args: Any, control: Any
    ) -> tuple[Array, Array, Array | None]:
        """Return ``G(t0, y0)`` ``(n,)``, ``dG/dy`` ``(n, n)``, ``dG/dt`` ``(n,)``.

        ``G(t, y) = vf_prod(t, y, args, control) = h f(t, y)``; ``dG/dt`` is ``None``
        when the solver is marked autonomous.
        """
        n = y0.shape[0]

        def G(t: Array, y: Array) -> Array:
            return terms.vf_prod(t, y, args, control)

        if self.jacobian is None:
            if self.autonomous:
                G_y, G0 = jax.jacfwd(lambda y: (G(t0, y),) * 2, has_aux=True)(y0)
                G_t = None
            else:
                (G_t, G_y), G0 = jax.jacfwd(lambda t, y: (G(t, y),) * 2, argnums=(0, 1), has_aux=True)(t0, y0)
        else:
            jac = jnp.asarray(self.jacobian(_original_time(terms, t0), y0, args))
            if jac.shape != (n, n):
                raise ValueError(
                    f"Rodas5P: jacobian(t, y, args) must return shape {(n, n)} for "
                    f"y of shape {(n,)}, got {tuple(jac.shape)}."
                )
            G_y = terms.prod(jac, control)
            if self.autonomous:
                G0 = G(t0, y0)
                G_t = None
            elif self.time_derivative is not None:
                G0 = G(t0, y0)
                f_t = jnp.asarray(self.time_derivative(_original_time(terms, t0), y0, args))
                direction = terms.direction if _WrapTerm is not None and isinstance(terms, _WrapTerm) else 1
                G_t = terms.prod(f_t * direction, control)
            else:
                G0, G_t = jax.jvp(lambda t: G(t, y0), (t0,), (jnp.ones_like(t0),))
        return G0, G_y, G_t

    def step(
        self,
        terms: Any,
        t0: ArrayLike,
        t1: ArrayLike,
        y0: Array,
        args: Any,
        solver_state: None,
        made_jump: Any,
    ) -> tuple[Array, Array, dict[str, Array], None, RESULTS]:
        """One Rodas5P step from ``t0`` to ``t1``.

        Returns:
            ``(y1, y_error, dense_info, None, RESULTS.successful)`` with ``y1`` and
            ``y_error`` of shape ``(n,)`` and ``dense_info = dict(y0=(n,), y1=(n,),
            k=(3, n))``.  If the step produced non-finite values the error estimate
            is set to ``inf`` so that the step-size controller rejects the step and
            shrinks ``h``.
        """
        del solver_state, made_jump
        _check_state(y0)
        tab = self.tableau
        s = tab.num_stages
        t0 = jnp.asarray(t0)
        if not jnp.issubdtype(t0.dtype, jnp.inexact):
            t0 = t0.astype(y0.dtype)
        h = jnp.asarray(t1, dtype=t0.dtype) - t0
        control = terms.contr(t0, t1)

        G0, G_y, G_t = self._linearise(terms, t0, y0, args, control)
        n = y0.shape[0]
        with jax.numpy_dtype_promotion("standard"):
            W = jnp.eye(n, dtype=G_y.dtype) / tab.gamma - G_y
            if self.explicit_inverse:
                W_inverse = jnp.linalg.inv(W)

                def solve(rhs: Array) -> Array:
                    return _apply_inverse(W, W_inverse, rhs)
            else:
                lu_piv = jsl.lu_factor(W)

                def solve(rhs: Array) -> Array:
                    return jsl.lu_solve(lu_piv, rhs)

            def stage_sum(coeffs: np.ndarray, us: list[Array]) -> Array | None:
                out = None
                for coeff, u in zip(coeffs, us, strict=True):
                    if coeff != 0.0:
                        term = float(coeff) * u
                        out = term if out is None else out + term
                return out

            us: list[Array] = []
            for i in range(s):
                if i == 0:
                    Gi = G0
                else:
                    incr = stage_sum(tab.a[i, :i], us)
                    Yi = y0 if incr is None else y0 + incr
                    Gi = terms.vf_prod(t0 + float(tab.c[i]) * h, Yi, args, control)
                rhs = Gi
                coupling = stage_sum(tab.C[i, :i], us)
                if coupling is not None:
                    rhs = rhs + coupling
                if G_t is not None and tab.d[i] != 0.0:
                    rhs = rhs + (float(tab.d[i]) * h) * G_t
                us.append(solve(rhs))

            y1 = y0 + stage_sum(tab.m, us)
            y_error = stage_sum(tab.m - tab.m_hat, us)
            k = jnp.stack([stage_sum(tab.H[r], us) for r in range(tab.H.shape[0])])

        ok = jnp.all(jnp.isfinite(y1)) & jnp.all(jnp.isfinite(y_error))
        y_error = jnp.where(ok, y_error, jnp.inf)
        dense_info = dict(y0=y0, y1=y1, k=k)
        return y1, y_error, dense_info, None, RESULTS.successful

    def func(self, terms: Any, t0: ArrayLike, y0: Array, args: Any) -> Array:
        """Vector field ``f(t0, y0, args)``, shape ``(n,)``."""
        return terms.vf(t0, y0, args)


Rodas5P.__init__.__doc__ = """**Arguments:**

- `jacobian`: optional analytic Jacobian `jacobian(t, y, args) -> (n, n)` of the
    vector field with respect to `y`. Default: `jax.jacfwd` of the vector field.
- `autonomous`: `True` if the vector field does not depend explicitly on `t`
    (skips the computation of `df/dt`). Default `False`.
- `time_derivative`: optional analytic `df/dt` `(t, y, args) -> (n,)` (used with
    `jacobian`). Default: one `jax.jvp` in time.
- `explicit_inverse`: apply `W^-1` as a matrix (default `True`, fastest for small
    systems) instead of LU triangular solves.
"""
