"""ODE solvers for stiff models (diffrax-compatible)."""

from jakinfer.solvers.rosenbrock import (
    RODAS5P_TABLEAU,
    Rodas5P,
    Rodas5PInterpolation,
    RosenbrockTableau,
)

__all__ = ["RODAS5P_TABLEAU", "Rodas5P", "Rodas5PInterpolation", "RosenbrockTableau"]
