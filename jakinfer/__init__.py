"""jakinfer: Bayesian parameter inference for JAK-STAT signalling models."""

from jakinfer import _jax_config  # noqa: F401  (float64 before any JAX array exists)

# Public names, re-exported lazily (PEP 562) so that `import jakinfer` stays cheap
# (arviz, numpyro and matplotlib are imported on first use).
_EXPORTS = {
    "Problem": "jakinfer.problem",
    "SolverConfig": "jakinfer.simulate",
    "SolveStatus": "jakinfer.simulate",
    "Rodas5P": "jakinfer.solvers",
    "resolve_problem_path": "jakinfer.io.bundled",
    "ReactionNetwork": "jakinfer.model.dsl",
    "read_tidy": "jakinfer.io.tidy",
    "multistart": "jakinfer.infer.optimize",
    "ObjectiveKind": "jakinfer.infer.optimize",
    "profile": "jakinfer.infer.profile",
    "laplace_approximation": "jakinfer.infer.laplace",
    "NutsConfig": "jakinfer.infer.nuts",
    "NutsSamples": "jakinfer.infer.nuts",
    "sample_posterior": "jakinfer.infer.nuts",
    "posterior_model": "jakinfer.infer.nuts",
    "to_inference_data": "jakinfer.results",
    "save_inference_data": "jakinfer.results",
    "load_inference_data": "jakinfer.results",
    "run_sampling": "jakinfer.results",
    "summary_table": "jakinfer.results",
    "Diagnostics": "jakinfer.diagnostics",
    "Thresholds": "jakinfer.diagnostics",
    "Verdict": "jakinfer.diagnostics",
    "compute_diagnostics": "jakinfer.diagnostics",
    "judge": "jakinfer.diagnostics",
    "plot_fit": "jakinfer.plots",
    "pathway": "jakinfer.model.pathway",
    "INHIBITORS": "jakinfer.inhibitors",
    "Inhibitor": "jakinfer.inhibitors",
    "predict_time_course": "jakinfer.predict",
    "predict_dose_response": "jakinfer.predict",
    "scaled": "jakinfer.predict",
    "NutsSampler": "jakinfer.infer.nuts",
    "CheckpointStore": "jakinfer.checkpoint",
    "Task": "jakinfer.campaign",
    "TaskResult": "jakinfer.campaign",
    "DaskExecutor": "jakinfer.campaign",
    "InlineExecutor": "jakinfer.campaign",
    "run_campaign": "jakinfer.campaign",
    "SbcConfig": "jakinfer.infer.sbc",
    "run_sbc": "jakinfer.infer.sbc",
    "run_multistart_directory": "jakinfer.optimize_run",
    "run_profile_directory": "jakinfer.optimize_run",
    "run_laplace_directory": "jakinfer.optimize_run",
    "compare_models": "jakinfer.compare",
    "ModelComparison": "jakinfer.compare",
    "plot_comparison": "jakinfer.compare",
    "check_same_observations": "jakinfer.compare",
    "FisherTrustRegion": "jakinfer.infer.optimize",
    "ProjectedBFGS": "jakinfer.infer.optimize",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'jakinfer' has no attribute {name!r}")
