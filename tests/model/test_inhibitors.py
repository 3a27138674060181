"""JAK inhibitors: the inhibition law (IC50 semantics), the catalogue's integrity
and provenance, and the law inside a pathway: an inhibitor at very high
concentration silences exactly the JAKs it inhibits."""

from __future__ import annotations

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import sympy as sp

from jakinfer.errors import InputError
from jakinfer.model.codegen import evaluate
from jakinfer.model.compiled import compile_model
from jakinfer.model.inhibitors import (
    INHIBITORS,
    Inhibitor,
    Potency,
    UnverifiedPotencyWarning,
    activity_fraction,
    get_inhibitor,
    inhibition_factor,
    warn_unverified,
)
from jakinfer.model.pathway import resolve
from jakinfer.model.wiring import JAKS
from jakinfer.simulate import SolverConfig, SolveStatus, solve_time_course

# -- the law ------------------------------------------------------------------------


@pytest.mark.parametrize("hill", [0.5, 1.0, 2.0, 3.7])
def test_activity_is_exactly_one_half_at_the_ic50(hill):
    ic50 = 7.3
    assert activity_fraction(ic50, ic50, hill) == 0.5
    expression = inhibition_factor("I", "K", "h")
    assert expression.subs({sp.Symbol("I", real=True): sp.Rational(73, 10), sp.Symbol("K", real=True):
                            sp.Rational(73, 10), sp.Symbol("h", real=True): sp.nsimplify(hill)}) == sp.Rational(1, 2)
    value = evaluate(expression, {"I": jnp.asarray(ic50), "K": jnp.asarray(ic50), "h": jnp.asarray(hill)})
    assert float(value) == pytest.approx(0.5, rel=1e-15, abs=0)  # exact up to the rounding of I/IC50


def test_activity_is_one_without_inhibitor_and_vanishes_at_high_concentration():
    expression = inhibition_factor("I", "K", "h")
    for hill in (0.5, 1.0, 2.0):
        env = {"K": jnp.asarray(3.0), "h": jnp.asarray(hill)}
        assert float(evaluate(expression, {**env, "I": jnp.asarray(0.0)})) == 1.0
        assert float(evaluate(expression, {**env, "I": jnp.asarray(3e9)})) < 1e-4
        grid = np.logspace(-3, 6, 50)
        values = activity_fraction(grid, 3.0, hill)
        assert np.all(np.diff(values) < 0)
        # the same law written as K^h / (K^h + I^h)
        np.testing.assert_allclose(values, 3.0**hill / (3.0**hill + grid**hill), rtol=1e-12)


def test_the_guarded_law_has_finite_forward_derivatives_at_zero_concentration():
    expression = inhibition_factor("I", "K", "h")

    def f(x):
        return evaluate(expression, {"I": x[0], "K": x[1], "h": x[2]})

    tangent = jax.jacfwd(f)(jnp.array([0.0, 3.0, 0.5]))
    assert np.all(np.isfinite(np.asarray(tangent)))


# -- the catalogue ------------------------------------------------------------------


def test_every_catalogue_number_is_quoted_from_the_text_it_was_read_in():
    """Each number appears verbatim in its quote, the quote says where it was read,
    and an inhibitor with no readable number is kept with none (absent, not guessed)."""
    assert {"tofacitinib", "baricitinib", "ruxolitinib", "upadacitinib", "filgotinib"} <= set(INHIBITORS)
    n_numbers = 0
    for name, inhibitor in INHIBITORS.items():
        assert inhibitor.name == name
        for potency in inhibitor.potencies:
            assert potency.jak in JAKS and potency.assay in ("enzymatic", "cellular")
            assert potency.source and potency.ic50_nM > 0 and potency.relation in ("=", ">")
            assert potency.quoted and potency.read_in, (name, potency.jak)
            assert f"{potency.ic50_nM:g}" in potency.quote, (name, potency.jak)
            if potency.relation == ">":
                assert f"> {potency.ic50_nM:g}" in potency.quote or f">{potency.ic50_nM:g}" in potency.quote
            n_numbers += 1
        if not inhibitor.potencies:
            assert "absent" in inhibitor.note, name
    assert n_numbers == 8
    for name in ("tofacitinib", "upadacitinib", "filgotinib", "abrocitinib", "ritlecitinib"):
        assert INHIBITORS[name].ic50_table() == dict.fromkeys(JAKS), name


def test_catalogue_values_and_absences():
    baricitinib = INHIBITORS["baricitinib"]
    assert baricitinib.ic50_table() == {"JAK1": 5.9, "JAK2": 5.7, "JAK3": 400.0, "TYK2": 53.0}
    assert baricitinib.ic50("JAK3").relation == ">"
    assert "Olumiant" in baricitinib.ic50("JAK1").source and "lillymedical" in baricitinib.ic50("JAK1").read_in
    assert baricitinib.ic50("JAK1", "cellular") is None
    assert INHIBITORS["ruxolitinib"].ic50_table() == {"JAK1": 3.3, "JAK2": 2.8, "JAK3": None, "TYK2": None}
    assert INHIBITORS["ruxolitinib"].ic50_table("cellular") == {"JAK1": None, "JAK2": 127.0, "JAK3": None,
                                                                "TYK2": None}
    assert INHIBITORS["fedratinib"].ic50_table() == {"JAK1": None, "JAK2": 3.0, "JAK3": None, "TYK2": None}


def test_only_unquoted_cited_numbers_warn():
    cited = Potency("JAK2", 1.0, "enzymatic", "Someone et al. 2020")
    with pytest.warns(UnverifiedPotencyWarning, match="JAK2"):
        warn_unverified([cited], "x")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warn_unverified([*Inhibitor.custom("y", {"JAK1": 1.0}).potencies, *INHIBITORS["baricitinib"].potencies],
                        "y")
    with pytest.raises(InputError, match="read_in"):
        Potency("JAK1", 1.0, "enzymatic", "a", quote="1 nM")


def test_an_absent_potency_is_an_error_naming_the_inhibitor_and_the_jak():
    with pytest.raises(InputError, match=r"'tofacitinib' has no enzymatic IC50 for JAK1"):
        resolve("IL-2", inhibitor="tofacitinib").network()
    with pytest.raises(InputError, match=r"'ruxolitinib' has no enzymatic IC50 for JAK3"):
        resolve("IL-2", inhibitor="ruxolitinib").network()
    # on request the JAK without a value is left uninhibited: only JAK1 gets an inhibition factor
    network = resolve("IL-2", inhibitor="ruxolitinib", unknown_ic50="uninhibited").network().to_symbolic()
    assert "IC50_JAK1" in network.parameter_ids and "IC50_JAK3" not in network.parameter_ids


def test_names_aliases_and_errors():
    assert get_inhibitor("Ruxolitinib") is INHIBITORS["ruxolitinib"]
    assert get_inhibitor("INCB018424") is INHIBITORS["ruxolitinib"]
    assert get_inhibitor("cp-690550") is INHIBITORS["tofacitinib"]
    with pytest.raises(InputError, match="catalogue has"):
        get_inhibitor("imatinib")
    with pytest.raises(InputError, match="source"):
        Potency("JAK1", 1.0, "enzymatic", "")
    with pytest.raises(InputError, match="two enzymatic potencies"):
        Inhibitor("x", (Potency("JAK1", 1.0, "enzymatic", "a"), Potency("JAK1", 2.0, "enzymatic", "b")))
    with pytest.raises(InputError, match="unknown JAK"):
        Inhibitor.custom("x", {"JAK5": 1.0})


# -- inside a pathway -----------------------------------------------------------------


@pytest.fixture(scope="module")
def il2():
    """An IL-2 pathway (JAK1 on chain 1, JAK3 on chain 2, STAT5) with an inhibitor of
    both JAKs, and a vmapped solver over parameter vectors (one compile)."""
    spec = resolve("IL-2", inhibitor=Inhibitor.custom("pan", {"JAK1": 2.0, "JAK3": 1.0}))
    model = compile_model(spec.network().to_symbolic())
    times = jnp.array([0.0, 10.0, 30.0, 60.0, 120.0])

    @jax.jit
    @jax.vmap
    def solve(p):
        return solve_time_course(model, SolverConfig(), p, model.initial_state(p), times, times[-1])

    return model, solve


def total_pstat5(model, states):
    index = {s: i for i, s in enumerate(model.state_ids)}
    return (states[..., index["pSTAT5"]] + 2 * states[..., index["pSTAT5_pSTAT5"]]
            + states[..., index["nuc_pSTAT5"]] + 2 * states[..., index["nuc_pSTAT5_pSTAT5"]])


def test_a_saturating_inhibitor_silences_only_the_jaks_it_inhibits(il2):
    """Rows: no inhibitor; saturating inhibitor of JAK3 only (JAK1's IC50 set to
    infinity); the same pathway without inhibitor but with JAK3's catalytic
    activity set to zero; saturating inhibitor of both JAKs."""
    model, solve = il2
    ids = list(model.parameter_ids)
    base = np.asarray(model.parameter_defaults)
    rows = np.tile(base, (4, 1))
    rows[1, ids.index("inhibitor_conc")] = 1e9
    rows[1, ids.index("IC50_JAK1")] = np.inf
    rows[2, ids.index("kcat_JAK3")] = 0.0
    rows[3, ids.index("inhibitor_conc")] = 1e9
    states, status = solve(jnp.asarray(rows))
    assert np.all(np.asarray(status) == SolveStatus.OK)
    signal = np.asarray(total_pstat5(model, states))
    baseline, jak3_inhibited, jak3_dead, both_inhibited = signal
    assert baseline.max() > 1.0
    # the JAK3 part is silenced, the JAK1 part remains (activity 1/2 of the pair's)
    np.testing.assert_allclose(jak3_inhibited, jak3_dead, rtol=1e-6, atol=1e-9)
    assert 0.1 * baseline.max() < jak3_inhibited.max() < 0.95 * baseline.max()
    # inhibiting the whole JAK pair silences the pathway
    assert both_inhibited.max() < 1e-6 * baseline.max()


# -- the approved drugs, and cellular potencies per pathway ---------------------------

APPROVED = ("ruxolitinib", "fedratinib", "tofacitinib", "baricitinib", "upadacitinib", "filgotinib", "abrocitinib",
            "ritlecitinib", "deucravacitinib", "momelotinib", "pacritinib", "delgocitinib")
_JAK_NAMES = {"JAK1": "JAK1", "JAK2": "JAK2", "JAK3": "JAK3", "TYK2": "TYK2", "Tyrosine Kinase 2": "TYK2"}


def test_every_approved_jak_inhibitor_resolves_and_says_what_is_missing():
    for name in APPROVED:
        inhibitor = get_inhibitor(name)
        assert inhibitor.name == name
        if None in inhibitor.ic50_table().values():
            assert "absent" in inhibitor.note or inhibitor.potencies, name
    assert get_inhibitor("Sotyktu") is INHIBITORS["deucravacitinib"]


def test_every_jak_a_quoted_ic50_list_names_has_its_potency():
    """A quote of the form '... inhibited <JAKs> with IC50 values of <numbers> ...' yields one
    potency per JAK it names, with the number in the same position."""
    import re

    pattern = re.compile(r"inhibit\w* (?:the activities of )?(?P<jaks>[\w ,]+?) with IC50 values of "
                         r"(?P<values>[\d., >andM]+?)(?: nM)?(?:,? respectively|,? in )")
    checked = 0
    for inhibitor in INHIBITORS.values():
        quotes = {p.quote for p in inhibitor.potencies if p.assay == "enzymatic"}
        for quote in quotes:
            match = pattern.search(quote)
            if match is None:
                continue
            jaks = [_JAK_NAMES[j.strip()] for j in re.split(r",\s*(?:and\s+)?|\s+and\s+", match["jaks"]) if j.strip()]
            values = [float(v) for v in re.findall(r"\d+(?:\.\d+)?", match["values"])]
            assert len(jaks) == len(values), (inhibitor.name, jaks, values)
            for jak, value in zip(jaks, values, strict=True):
                potency = inhibitor.ic50(jak)
                assert potency is not None and potency.ic50_nM == value and potency.quote == quote, (inhibitor.name, jak)
                checked += 1
    assert checked >= 6  # baricitinib's four, ruxolitinib's two


def test_every_cytokine_potency_quotes_its_number_and_names_a_pathway():
    from jakinfer.model.cytokine_potencies import CYTOKINE_JAKS, CYTOKINE_JAKS_QUOTES, CYTOKINE_POTENCIES

    assert CYTOKINE_POTENCIES
    for potency in CYTOKINE_POTENCIES:
        assert potency.inhibitor in INHIBITORS
        assert potency.as_written in potency.quote and potency.read_in and potency.source
        assert f"{potency.ic50_nM:g}" in potency.as_written
        assert set(potency.jaks) <= set(JAKS) and potency.matrix and potency.readout
        if potency.cytokine in CYTOKINE_JAKS:
            assert potency.jaks == CYTOKINE_JAKS[potency.cytokine]
    # the cytokine -> JAK pairing is itself quoted: each cytokine and its pair appear in one quote
    text = " ".join(quote for quote, _, _ in CYTOKINE_JAKS_QUOTES).replace("[", "").replace("]", "")
    for cytokine in CYTOKINE_JAKS:
        assert cytokine in text, cytokine


def test_cytokine_potency_selection_and_errors():
    from jakinfer.model.cytokine_potencies import CytokinePotency, cytokine_potencies

    tofacitinib = cytokine_potencies("Xeljanz")
    assert sorted(p.ic50_nM for p in tofacitinib) == [56.0, 406.0, 1377.0]
    assert [p.ic50_nM for p in cytokine_potencies("tofacitinib", jak="JAK3")] == [56.0]
    assert [p.ic50_nM for p in cytokine_potencies("ruxolitinib", cytokine="IL-6")] == [281.0]
    assert [p.cell_type for p in cytokine_potencies("ruxolitinib", matrix="cell line")] == ["Ba/F3 JAK2V617F+"]
    assert cytokine_potencies("filgotinib") == []  # Traves 2021's table was not read: absent
    assert cytokine_potencies("ruxolitinib", cytokine="IL-6")[0].pathway == "IL-6/not stated"
    with pytest.raises(InputError, match="unknown inhibitor"):
        cytokine_potencies("aspirin")
    with pytest.raises(InputError, match="unknown JAK"):
        cytokine_potencies(jak="JAK4")
    with pytest.raises(InputError, match="matrix 'serum'"):
        cytokine_potencies(matrix="serum")
    good = dict(inhibitor="baricitinib", ic50_nM=10.0, cytokine="IL-6", readout="pSTAT3", jaks=("JAK1", "JAK2"),
                matrix="whole blood", source="x", quote="IC50 10 nM", read_in="y", as_written="10 nM")
    assert CytokinePotency(**good).pathway == "IL-6/pSTAT3"
    for change, message in (({"as_written": "11 nM"}, "not in its quote"), ({"matrix": "blood"}, "matrix"),
                            ({"readout": "STAT3"}, "readout"), ({"jaks": ("JAK5",)}, "jaks"),
                            ({"quote": ""}, "quote"), ({"ic50_nM": -1.0}, "IC50")):
        with pytest.raises(InputError, match=message):
            CytokinePotency(**{**good, **change})
