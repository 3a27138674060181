"""Inference algorithms over a `Problem`.

Optimisation behind one protocol (`optimizer.Optimizer`: `init`, `step`, `done`):
`fisher_trust_region` on the Fisher information of `fisher`, `projected_bfgs`, scipy's L-BFGS-B;
MAP multistart in `optimize` (with `bound_flips` and `hierarchical` noise), profiles in `profile`,
the Laplace approximation in `laplace`; NUTS with numpyro in `nuts` (through the bound maps of
`bounded`); simulation-based calibration in `sbc`. Submodules are imported on use (numpyro only
with `nuts`).
"""
