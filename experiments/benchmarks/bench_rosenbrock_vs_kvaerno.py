"""Wall-clock comparison of Rodas5P (jakinfer) and diffrax's Kvaerno5 on Robertson.

Both solvers use ``PIDController(rtol=1e-8, atol=1e-8)`` and integrate the Robertson
chemical kinetics problem from t=0 to t=1e5, saving at 7 log-spaced times.  Each solve
is jitted, warmed up (compile excluded), then timed over repeated calls; the median is
reported together with step counts and the Kvaerno5 / Rodas5P time ratio.  Nothing is
asserted: timings depend on the machine.

Usage: ``.venv/bin/python experiments/benchmarks/bench_rosenbrock_vs_kvaerno.py``
"""

from __future__ import annotations

import statistics
import time

import diffrax as dfx
import jax
import jax.numpy as jnp

from jakinfer.solvers import Rodas5P

jax.config.update("jax_enable_x64", True)

RTOL = ATOL = 1e-8
ARGS = (0.04, 3e7, 1e4)
TS = jnp.array([1e-4, 1e-2, 1.0, 1e2, 1e3, 1e4, 1e5])


def robertson(t, y, args):
    """Robertson kinetics, y of shape (3,)."""
    k1, k2, k3 = args
    y1, y2, y3 = y[0], y[1], y[2]
    return jnp.stack([-k1 * y1 + k3 * y2 * y3, k1 * y1 - k2 * y2**2 - k3 * y2 * y3, k2 * y2**2])


def make_solve(solver: dfx.AbstractSolver):
    @jax.jit
    def solve(y0: jax.Array):
        sol = dfx.diffeqsolve(
            dfx.ODETerm(robertson),
            solver,
            0.0,
            1e5,
            1e-6,
            y0,
            ARGS,
            stepsize_controller=dfx.PIDController(rtol=RTOL, atol=ATOL),
            saveat=dfx.SaveAt(ts=TS),
            max_steps=100_000,
        )
        return sol.ys, sol.stats["num_accepted_steps"], sol.stats["num_rejected_steps"]

    return solve


def bench(name: str, solver: dfx.AbstractSolver, repeats: int = 20) -> tuple[float, jax.Array]:
    solve = make_solve(solver)
    y0 = jnp.array([1.0, 0.0, 0.0])
    t = time.perf_counter()
    ys, acc, rej = jax.block_until_ready(solve(y0))
    compile_s = time.perf_counter() - t
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        jax.block_until_ready(solve(y0))
        times.append(time.perf_counter() - t)
    med = statistics.median(times)
    print(
        f"{name:10s} compile+first {compile_s:6.2f} s | median run {med * 1e3:8.3f} ms | "
        f"steps accepted {int(acc):5d} rejected {int(rej):5d} | y(1e5) = {ys[-1]}"
    )
    return med, ys


def main() -> None:
    print(f"Robertson 0..1e5, PIDController(rtol={RTOL}, atol={ATOL}), device {jax.devices()[0]}")
    t_rodas, ys_r = bench("Rodas5P", Rodas5P())
    t_rodas_aut, _ = bench("Rodas5P(a)", Rodas5P(autonomous=True))
    t_kv, ys_k = bench("Kvaerno5", dfx.Kvaerno5())
    rel = float(jnp.max(jnp.abs(ys_r - ys_k) / jnp.abs(ys_k)))
    print(f"max relative difference Rodas5P vs Kvaerno5: {rel:.2e}")
    print(f"speed ratio Kvaerno5 / Rodas5P            : {t_kv / t_rodas:.2f}x")
    print(f"speed ratio Kvaerno5 / Rodas5P(autonomous): {t_kv / t_rodas_aut:.2f}x")


if __name__ == "__main__":
    main()
