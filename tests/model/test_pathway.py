"""The pathway builder: wiring cases, conservation of receptor and STAT amounts
(symbolically and in simulations with random parameters), the jakstat_core
equations against the ones written in its docstring, and input errors."""

from __future__ import annotations

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import sympy as sp

from jakinfer.errors import InputError
from jakinfer.model.compiled import compile_model
from jakinfer.model.inhibitors import Inhibitor, UnverifiedPotencyWarning
from jakinfer.model.pathway import Pathway, pathway, resolve
from jakinfer.model.wiring import WIRING, wiring
from jakinfer.problems import MODELS, jakstat_core
from jakinfer.simulate import SolverConfig, SolveStatus, solve_time_course

SYM = {}


def sym(name: str) -> sp.Symbol:
    return SYM.setdefault(name, sp.Symbol(name, real=True))


def weighted_rhs_sum(spec: Pathway, moiety: str) -> sp.Expr:
    """`sum_s n_s V_s dc_s/dt` with symbolic volumes."""
    net = spec.network()
    model = net.to_symbolic()
    compartment = dict(zip(model.state_ids, model.state_compartments, strict=True))
    rhs = dict(zip(model.state_ids, model.rhs, strict=True))
    return sum(count * sym(compartment[s]) * rhs[s] for s, count in spec.conserved_moieties()[moiety].items())


# -- wiring ------------------------------------------------------------------------


@pytest.mark.parametrize("cytokine", sorted(WIRING))
def test_every_wiring_case_builds_with_its_jaks_and_stats(cytokine):
    wired = WIRING[cytokine]
    spec = resolve(cytokine)
    assert spec.jaks == wired.jaks and spec.stats == wired.stats
    net = spec.network()
    model = net.to_symbolic()
    assert {f"p{s}_au" for s in wired.stats} <= set(net.observable_ids)
    assert {f"kcat_{j}" for j in wired.jaks} <= set(model.parameter_ids)
    for species in {s for units in spec.conserved_moieties().values() for s in units}:
        assert species in model.state_ids
    if len(wired.stats) == 2:
        a, b = wired.stats
        assert f"p{a}_p{b}" in model.state_ids and f"nuc_p{a}_p{b}" in model.state_ids


def test_cytokine_names_are_forgiving_and_unknown_ones_list_the_table():
    assert wiring("IFN-gamma") is wiring("ifng") is wiring("IFN-γ") is WIRING["IFN-γ"]
    assert wiring("il_6") is WIRING["IL-6"]
    with pytest.raises(InputError) as error:
        pathway("IL-17")
    for name in WIRING:
        assert name in str(error.value)


def test_explicit_jaks_and_stats_override_the_wiring():
    spec = resolve("IL-4", jaks=("JAK1", "TYK2"), stat=("STAT6", "STAT5"))
    assert spec.jaks == ("JAK1", "TYK2") and spec.stats == ("STAT6", "STAT5")
    spec = resolve(jaks=("JAK2", "JAK2"), stat="STAT5")
    assert spec.cytokine == "cytokine"


@pytest.mark.parametrize("arguments, message", [
    ({"cytokine": "Epo", "jaks": ("JAK2", "JAK9")}, "jaks must be two of"),
    ({"cytokine": "Epo", "stat": "STAT7"}, "stat must be one or two of"),
    ({"cytokine": "Epo", "feedback": "cis"}, "feedback must be one of"),
    ({"cytokine": "Epo", "inhibitor": "aspirin"}, "unknown inhibitor"),
    ({"cytokine": "IL-2", "inhibitor": "fedratinib"}, "no enzymatic IC50 for JAK1"),
    ({"jaks": ("JAK1", "JAK2")}, "give cytokine="),
    ({"cytokine": "Epo", "parameter_values": {"k_nonsense": 1.0}}, "not parameters of this pathway"),
])
def test_bad_arguments_raise_clear_errors(arguments, message):
    with pytest.raises(InputError, match=message):
        pathway(**arguments)


# -- conservation ------------------------------------------------------------------

CONFIGURATIONS = {
    "Epo": {"cytokine": "Epo"},
    "IL-23 two STATs, unphosphorylated dimers, nuclear observables": {
        "cytokine": "IL-23", "unphosphorylated_dimers": True, "nuclear_observable": True},
    "IL-2 no feedback, inhibitor": {"cytokine": "IL-2", "feedback": None,
                                    "inhibitor": Inhibitor.custom("x", {"JAK1": 5.0, "JAK3": 50.0})},
}


@pytest.mark.parametrize("name", sorted(CONFIGURATIONS))
def test_volume_weighted_receptor_and_stat_totals_have_zero_rate(name):
    spec = resolve(**CONFIGURATIONS[name])
    moieties = spec.conserved_moieties()
    assert {"R1", "R2", *spec.stats} == set(moieties)
    for moiety in moieties:
        total = weighted_rhs_sum(spec, moiety)
        assert sp.simplify(sp.expand(total)) == 0, f"{name}: d/dt {moiety} = {total}"


def test_the_moieties_are_the_expected_species():
    """Hand-written moieties of the Epo pathway (independent of `conserved_moieties`)."""
    spec = resolve("Epo")
    assert spec.conserved_moieties()["STAT5"] == {
        "STAT5": 1, "pSTAT5": 1, "L_R1_R2_act_STAT5": 1, "pSTAT5_pSTAT5": 2, "nuc_pSTAT5_pSTAT5": 2,
        "nuc_pSTAT5": 1, "nuc_STAT5": 1}
    assert spec.conserved_moieties()["R1"] == {"R1": 1, "L_R1": 1, "L_R1_R2": 1, "L_R1_R2_act": 1,
                                               "L_R1_R2_act_STAT5": 1}


def test_amounts_are_conserved_in_simulations_with_random_parameters():
    """The richest configuration (two STATs, heterodimers, unphosphorylated dimers,
    SOCS feedback, an inhibitor) at four random parameter sets (rates log-uniform
    within a factor 10 of the defaults, random volumes, totals and inhibitor
    concentration), solved in one vmapped compile: every volume-weighted total
    stays within 1e-8 (relative) of its initial value over 240 min."""
    spec = resolve("IL-23", unphosphorylated_dimers=True, inhibitor=Inhibitor.custom("x", {"JAK2": 3.0,
                                                                                             "TYK2": 30.0}))
    model = compile_model(spec.network().to_symbolic())
    defaults = np.asarray(model.parameter_defaults)
    rng = np.random.default_rng(7)
    draws = defaults * 10.0 ** rng.uniform(-1, 1, (4, defaults.size))
    ids = list(model.parameter_ids)
    draws[:, ids.index("inhibitor_conc")] = rng.uniform(0.0, 20.0, 4)
    times = jnp.linspace(0.0, 240.0, 25)

    @jax.jit
    def solve(p):
        return solve_time_course(model, SolverConfig(), p, model.initial_state(p), times, times[-1])

    states, status = jax.vmap(solve)(jnp.asarray(draws))
    states, status = np.asarray(states), np.asarray(status)
    assert np.all(status == SolveStatus.OK)
    index = {s: i for i, s in enumerate(model.state_ids)}
    compartment = dict(zip(model.state_ids, spec.network().to_symbolic().state_compartments, strict=True))
    for moiety, units in spec.conserved_moieties().items():
        for k in range(draws.shape[0]):
            volume = {c: draws[k, ids.index(c)] for c in ("cyt", "nuc")}
            amount = sum(n * volume[compartment[s]] * states[k, :, index[s]] for s, n in units.items())
            np.testing.assert_allclose(amount, amount[0], rtol=1e-8, atol=0, err_msg=f"{moiety}, draw {k}")
    # not a trivial pass: the STATs were phosphorylated and moved to the nucleus
    assert np.max(states[:, :, index["pSTAT3"]]) > 1e-3
    assert np.max(states[:, :, index["nuc_pSTAT3_pSTAT4"]]) > 1e-4


# -- the library module ------------------------------------------------------------


def test_jakstat_core_equations_are_those_of_its_docstring():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnverifiedPotencyWarning)
        model = jakstat_core.network().to_symbolic()
    assert "jakstat_core" in MODELS and "Reference:" in jakstat_core.__doc__
    rhs = dict(zip(model.state_ids, model.rhs, strict=True))
    s = sym
    t = s("t")
    cytokine = s("cytokine_dose") * sp.exp(-s("k_cytokine_decay") * t)
    f = sp.Piecewise((1, s("inhibitor_conc") <= 0),
                     (1 / (1 + (s("inhibitor_conc") / s("IC50_JAK2")) ** s("h_JAK2")), True))
    a = s("kcat_JAK2") * f / (1 + s("SOCS") / s("K_socs"))
    v = s("nuc") / s("cyt")
    expected = {
        "R1": -s("k_bind") * cytokine * s("R1") + s("k_unbind") * s("L_R1"),
        "L_R1_R2": s("k_dimer") * s("L_R1") * s("R2") - s("k_undimer") * s("L_R1_R2")
        - s("k_act") * a * s("L_R1_R2") + s("k_deact") * s("L_R1_R2_act"),
        "L_R1_R2_act_STAT5": s("k_dock") * s("L_R1_R2_act") * s("STAT5")
        - (s("k_undock") + s("k_stat_phos") * a) * s("L_R1_R2_act_STAT5"),
        "STAT5": -s("k_dock") * s("L_R1_R2_act") * s("STAT5") + s("k_undock") * s("L_R1_R2_act_STAT5")
        + v * s("k_export") * s("nuc_STAT5"),
        "pSTAT5": s("k_stat_phos") * a * s("L_R1_R2_act_STAT5") - 2 * s("k_pdimer") * s("pSTAT5") ** 2
        + 2 * s("k_pdiss") * s("pSTAT5_pSTAT5"),
        "nuc_pSTAT5_pSTAT5": s("k_import") * s("pSTAT5_pSTAT5") / v - s("k_ndiss") * s("nuc_pSTAT5_pSTAT5"),
        "SOCS_mRNA": s("k_socs_tx") * s("nuc_pSTAT5_pSTAT5") - s("k_socs_mrna_deg") * s("SOCS_mRNA"),
        "SOCS": s("k_socs_tl") * s("SOCS_mRNA") - s("k_socs_deg") * s("SOCS"),
    }
    rng = np.random.default_rng(3)
    for species, formula in expected.items():
        for _ in range(3):  # compare numerically at random points
            point = {x: rng.uniform(0.1, 2.0) for x in (rhs[species].free_symbols | formula.free_symbols)}
            difference = (rhs[species] - formula).subs(point)
            assert abs(float(difference)) < 1e-12, species


@pytest.mark.slow
def test_jakstat_core_synthetic_data_show_the_inhibitor():
    """The synthetic data (one simulation) cover every condition and time, and the
    mean pSTAT5 signal falls with the ruxolitinib concentration (differences of
    about 0.04 against a noise of 0.02 / sqrt(11) in each mean)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnverifiedPotencyWarning)
        data = jakstat_core.data()
    m = data.measurements
    assert len(m) == len(jakstat_core.SYNTHETIC_CONDITIONS) * len(jakstat_core.SYNTHETIC_TIMES)
    assert np.all(np.isfinite(m["value"]))
    means = [m.loc[m["condition"] == c, "value"].mean() for c in ("ctrl", "rux_3nM", "rux_300nM")]
    assert means[0] > means[1] > means[2]
