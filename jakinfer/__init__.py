"""jakinfer: Bayesian parameter inference for JAK-STAT signalling models."""

from jakinfer import _jax_config  # noqa: F401  (float64 before any JAX array exists)

# Public names, re-exported lazily (PEP 562) so that `import jakinfer` stays cheap
# (arviz, numpyro and matplotlib are imported on first use).
_EXPORTS = {
    "Problem": "jakinfer.problem",
    "read_petab": "jakinfer.io.petab",
    "network_problem": "jakinfer.io.network",
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
    "to_inference_data": "jakinfer.analysis.posterior",
    "save_inference_data": "jakinfer.analysis.posterior",
    "load_inference_data": "jakinfer.analysis.posterior",
    "run_sampling": "jakinfer.rundir.sample",
    "summary_table": "jakinfer.analysis.posterior",
    "Diagnostics": "jakinfer.analysis.diagnostics",
    "Thresholds": "jakinfer.analysis.diagnostics",
    "Verdict": "jakinfer.analysis.diagnostics",
    "compute_diagnostics": "jakinfer.analysis.diagnostics",
    "judge": "jakinfer.analysis.diagnostics",
    "plot_fit": "jakinfer.plots.fit",
    "pathway": "jakinfer.model.pathway",
    "INHIBITORS": "jakinfer.model.inhibitors",
    "Inhibitor": "jakinfer.model.inhibitors",
    "predict_time_course": "jakinfer.analysis.predict",
    "predict_dose_response": "jakinfer.analysis.predict",
    "scaled": "jakinfer.analysis.predict",
    "NutsSampler": "jakinfer.infer.nuts",
    "CheckpointStore": "jakinfer.runtime.checkpoint",
    "Task": "jakinfer.runtime.campaign",
    "TaskResult": "jakinfer.runtime.campaign",
    "DaskExecutor": "jakinfer.runtime.campaign",
    "InlineExecutor": "jakinfer.runtime.campaign",
    "run_campaign": "jakinfer.runtime.campaign",
    "SbcConfig": "jakinfer.infer.sbc",
    "run_sbc": "jakinfer.infer.sbc",
    "run_multistart_directory": "jakinfer.rundir.optimize",
    "run_profile_directory": "jakinfer.rundir.profile",
    "run_laplace_directory": "jakinfer.rundir.laplace",
    "compare_models": "jakinfer.analysis.compare",
    "ModelComparison": "jakinfer.analysis.compare",
    "plot_comparison": "jakinfer.plots.compare",
    "check_same_observations": "jakinfer.analysis.compare",
    "FisherTrustRegion": "jakinfer.infer.optimize",
    "ProjectedBFGS": "jakinfer.infer.optimize",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'jakinfer' has no attribute {name!r}")
