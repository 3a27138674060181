"""Test helpers shared across the suite (importable as `helpers.*`: `pyproject.toml` puts `tests/` on
the path): small PEtab problems written to disk (`petab_factory`, `decay_problem`, `failure_zoo`,
`toy`), the SBC receptor problem with its sampler settings (`receptor`), and the loader of experiment
scripts (`script_loader`)."""
