"""Analysis of posterior draws: InferenceData and predictive draws (`posterior`), convergence
diagnostics and the verdict (`diagnostics`), model comparison by PSIS-LOO and WAIC (`compare`), and
predictions of new experiments from a posterior (`predict`).
"""
