"""The quoted pharmacokinetic models of JAK inhibitors (`PK_MODELS`) and their look-up.

Every number was read, in this form, in the text named by `read_in` (2026 retrieval), or is
derived from such numbers by the formula in `derivation`; the provenance rule of
`jakinfer.model.inhibitors` applies (a drug without a complete quoted set has no `PKModel`). The
model equations are in `jakinfer.model.pharmacokinetics`, regimens in `jakinfer.model.dosing`.
"""

from __future__ import annotations

import math

from jakinfer.errors import InputError
from jakinfer.model.inhibitors import get_inhibitor
from jakinfer.model.pharmacokinetics import (
    Absorption,
    PKModel,
    Quoted,
    ka_from_tmax,
    molecular_weight_from_formula,
)

# Every number was read, in this form, in the text named by `read_in` (2026 retrieval),
# or is derived from such numbers by the formula in `derivation`.

_NLMIXR_UPA = ("nlmixr2lib model file inst/modeldb/specificDrugs/Klunder_2019_upadacitinib.R "
               "(github.com/nlmixr2/nlmixr2lib), a transcription of Klunder 2019 Table 3 with its cell values "
               "in comments")
_UPA = ("Klunder B, Mittapalli RK, Mohamed M-EF, et al. Population pharmacokinetics of upadacitinib using the "
        "immediate-release and extended-release formulations ... phase I-III. Clin Pharmacokinet 58:1045-1058 "
        "(2019), Table 3")
_NLMIXR_TOFA = ("nlmixr2lib model file inst/modeldb/specificDrugs/Xie_2019_tofacitinib.R "
                "(github.com/nlmixr2/nlmixr2lib), a transcription of Xie 2019 Table 3 with its cell values in comments")
_TOFA = ("Xie R, Deng C, Wang Q, et al. Population pharmacokinetics of tofacitinib in patients with psoriatic "
         "arthritis. Int J Clin Pharmacol Ther 57:464-473 (2019), Table 3")
_TOFA_CH = "Xeljanz (tofacitinib) Swiss prescribing information (Fachinformation), Pharmacocinétique"
_TOFA_CH_READ = "ch.oddb.org, Xeljanz Fachinfo chapter 'kinetic' (French): ch.oddb.org/fr/gcc/fachinfo/reg/62630/chapter/kinetic"
_BARI_LABEL = "Olumiant (baricitinib) SmPC section 5.2 (pharmacokinetic properties)"
_BARI_READ = ("Lilly Medical (UK), 'What are the pharmacokinetics for Olumiant (baricitinib)?', "
              "https://www.lillymedical.eu/en-gb/answers/what-are-the-pharmacokinetics-for-olumiant-baricitinib-63140 "
              "(cites the SmPC)")
_BARI_CN = ("Zhang X et al. Pharmacokinetics, safety, and tolerability of single- and multiple-dose once-daily "
            "baricitinib in healthy Chinese subjects. Clin Pharmacol Drug Dev 9:952-960 (2020), abstract")
_RXREASONER = "rxreasoner.com substance page (header above its SmPC-derived pharmacology text)"


def _q(value, unit, source, quote, read_in, as_written, note=""):
    return Quoted(value, unit, source, quote=quote, read_in=read_in, as_written=as_written, note=note)


PK_MODELS: dict[str, PKModel] = {
    "tofacitinib": PKModel(
        drug="tofacitinib",
        clearance=_q(20.4, "L/h", _TOFA, "# Table 3, 'CL/F, L/h' = 20.4 (RSE 4.7%), bootstrap 95% CI 18.6-21.8",
                     _NLMIXR_TOFA, "20.4", note="apparent oral clearance CL/F, reference PsA patient"),
        central_volume=_q(110.0, "L", _TOFA, "# Table 3, 'V/F, L' = 110 (RSE 1.2%), bootstrap 95% CI 108-113",
                          _NLMIXR_TOFA, "110", note="apparent volume V/F"),
        absorption={"IR": Absorption(
            ka=_q(13.8, "1/h", _TOFA, "# Table 3, 'Ka, /h' = 13.8 (RSE 7.9%), bootstrap 95% CI 12.1-16.6",
                  _NLMIXR_TOFA, "13.8"),
            lag=_q(0.3, "h", _TOFA, "# Table 3, 'Lag time, h' = 0.3 (RSE 0.8%), bootstrap 95% CI 0.3-0.3",
                   _NLMIXR_TOFA, "0.3"),
            description="immediate-release tablet (5 mg twice daily); first-order absorption after a lag")},
        fraction_unbound=Quoted(0.6, "fraction", _TOFA_CH,
                                quote="Environ 40% du tofacitinib circulant sont liés aux protéines, en premier "
                                      "lieu l'albumine.",
                                read_in=_TOFA_CH_READ, as_written="40%", derivation="fu = 1 - 0.40 (bound)"),
        molecular_weight=Quoted(molecular_weight_from_formula("C16H20N6O"), "g/mol",
                                "tofacitinib citrate supplier sheet (molecular formula of the citrate salt)",
                                quote="Molecular Formula:C16H20N6O.C6H8O7", read_in="pastebin.com/DWfLPWph",
                                as_written="C16H20N6O",
                                derivation="free base C16H20N6O with IUPAC standard atomic weights"),
        half_life=_q(3.0, "h", _TOFA_CH,
                     "Le profil pharmacocinétique du tofacitinib se caractérise par une résorption rapide (les "
                     "concentrations plasmatiques maximales sont atteintes en l'espace de 0.5-1 h), une élimination "
                     "rapide (demi-vie: ~3 h)", _TOFA_CH_READ, "~3 h"),
        population="typical psoriatic-arthritis patient (Xie 2019 reference: 50 y, 83.3 kg, CrCL 120 mL/min)",
        note="one-compartment model of the population-PK fit; CL and V are apparent (F folded in)"),
    "upadacitinib": PKModel(
        drug="upadacitinib",
        clearance=_q(40.9, "L/h", _UPA,
                     "# Table 3 'CL/F (L/h)' = 40.9 (%RSE 1.6); bootstrap median 41.3, 95% CI 39.6-42.5.",
                     _NLMIXR_UPA, "40.9", note="apparent clearance on immediate-release bioavailability, "
                                               "healthy volunteer at the reference covariates"),
        central_volume=_q(156.0, "L", _UPA,
                          "# Table 3 'Vc/F (L)' = 156 (%RSE 1.7); bootstrap median 156, 95% CI 150-161.",
                          _NLMIXR_UPA, "156"),
        intercompartmental_clearance=_q(3.22, "L/h", _UPA,
                                        "# Table 3 'Q/F (L/h)' = 3.22 (%RSE 5.8); bootstrap median 3.22, "
                                        "95% CI 2.86-3.63.", _NLMIXR_UPA, "3.22"),
        peripheral_volume=_q(68.0, "L", _UPA,
                             "# Table 3 'Vp/F (L)' = 68.0 (%RSE 7.2); bootstrap median 67.4, 95% CI 59.7-78.3.",
                             _NLMIXR_UPA, "68.0"),
        absorption={
            "ER": Absorption(
                ka=_q(0.0523, "1/h", _UPA, "# Table 3 'Extended-release Ka (1/h)' = 0.0523 (%RSE 6.0); bootstrap "
                                           "median 0.0523, 95% CI 0.0460-0.0590.", _NLMIXR_UPA, "0.0523"),
                lag=_q(0.154, "h", _UPA, "# Table 3 'Extended-release absorption lag time (h)' = 0.154 (%RSE 7.7).",
                       _NLMIXR_UPA, "0.154"),
                zero_order_fraction=_q(0.745, "fraction", _UPA,
                                       "Complement of Table 3 'Fraction of extended-release dose absorbed through "
                                       "zero-order process (%)' = 74.5 (%RSE 1.7)", _NLMIXR_UPA, "74.5"),
                zero_order_duration=_q(3.29, "h", _UPA, "# Table 3 'Zero-order infusion duration (h)' = 3.29 "
                                                        "(%RSE 1.7).", _NLMIXR_UPA, "3.29"),
                relative_F=_q(0.762, "fraction", _UPA,
                              "Klunder 2019 Table 3 reports the extended-release relative bioavailability as 76.2%",
                              _NLMIXR_UPA, "76.2%"),
                description=("extended-release tablet (Rinvoq, 15 mg once daily): 74.5% of the bioavailable dose "
                             "enters the central compartment at a constant rate over 3.29 h, 25.5% through a "
                             "depot with ka = 0.0523 1/h, both after a 0.154 h lag; bioavailability 76.2% of the "
                             "immediate-release capsule's")),
            "IR": Absorption(
                ka=_q(2.77, "1/h", _UPA, "Immediate release: Ka = 2.77 1/h with no random effect, a 0.200 h lag, "
                                         "no zero-order arm and unit relative bioavailability (Klunder 2019 Table 3)",
                      _NLMIXR_UPA, "2.77"),
                lag=_q(0.2, "h", _UPA, "Immediate release: Ka = 2.77 1/h with no random effect, a 0.200 h lag, "
                                       "no zero-order arm and unit relative bioavailability (Klunder 2019 Table 3)",
                       _NLMIXR_UPA, "0.200"),
                description="immediate-release capsule (phase II), the reference of the apparent parameters")},
        fraction_unbound=None,  # the label's plasma protein binding could not be read with a quote
        molecular_weight=Quoted(molecular_weight_from_formula("C17H19F3N6O"), "g/mol",
                                "Drugs.com upadacitinib monograph (ASHP)", quote="Molecular formula: C17H19F3N6O",
                                read_in="https://www.drugs.com/monograph/upadacitinib.html", as_written="C17H19F3N6O",
                                derivation="C17H19F3N6O with IUPAC standard atomic weights"),
        half_life=_q(11.5, "h", "Mohamed M-EF, Klunder B, Othman AA. Clinical pharmacokinetics of upadacitinib. "
                                "Clin Pharmacokinet 59:531-544 (2020), Key Points",
                     "Upadacitinib exhibits dose-proportional pharmacokinetics and biphasic elimination with a "
                     "terminal half-life of 9–14 h following administration of the extended-release formulation.",
                     "https://pmc.ncbi.nlm.nih.gov/articles/PMC7217812", "9–14 h",
                     note="value is the midpoint of the quoted range"),
        population="typical healthy volunteer at the reference covariates (Klunder 2019)",
        note="two-compartment model of the phase I-III population-PK fit; apparent parameters (F folded in)"),
    "baricitinib": PKModel(
        drug="baricitinib",
        bioavailability=_q(0.79, "fraction", _BARI_LABEL,
                           "Following oral administration, baricitinib is rapidly absorbed with a median tmax of "
                           "approximately 1 hour (range 0.5 - 3.0 h) and an absolute bioavailability of "
                           "approximately 79 % (CV = 3.94 %).", _BARI_READ, "79 %"),
        central_volume=_q(76.0, "L", _BARI_LABEL,
                          "Mean volume of distribution following intravenous infusion administration was 76 L, "
                          "indicating distribution of baricitinib into tissues.", _BARI_READ, "76 L"),
        clearance=Quoted(math.log(2.0) * 76.0 / 6.5, "L/h", _BARI_CN,
                         derivation="CL = ln 2 x V / t1/2 with V = 76 L (label) and t1/2 = 6.5 h, the midpoint of "
                                    "the quoted 5.7-7.3 h (healthy Chinese adults)",
                         note="the label's clearance and half-life in patients were not read"),
        absorption={"IR": Absorption(
            ka=Quoted(ka_from_tmax(1.0, math.log(2.0) / 6.5), "1/h", _BARI_LABEL,
                      derivation="ka solving tmax = ln(ka/k)/(ka - k) = 1 h (the label's median tmax of "
                                 "approximately 1 hour) with k = ln 2 / 6.5 h",
                      note="one-compartment approximation"),
            description="immediate-release tablet (4 mg once daily)")},
        fraction_unbound=Quoted(0.5, "fraction", _BARI_LABEL,
                                quote="Baricitinib is approximately 50 % bound to plasma proteins.",
                                read_in=_BARI_READ, as_written="50 %", derivation="fu = 1 - 0.50 (bound)"),
        molecular_weight=_q(371.42, "g/mol", "baricitinib (PubChem compound 44205240)",
                            "Chemical formula: C₁₆H₁₇N₇O₂S  Molecular mass: 371.42 g/mol  PubChem compound: 44205240",
                            _RXREASONER + ": https://rxreasoner.com/substances/baricitinib/pharmacology", "371.42"),
        half_life=_q(6.5, "h", _BARI_CN,
                     "Plasma concentrations declined rapidly following the attainment of peak concentrations, with "
                     "a mean terminal half-life of 5.7 to 7.3 hours.", "http://www.pubmed.gov/32945153/",
                     "5.7 to 7.3 hours", note="value is the midpoint of the quoted range"),
        population="healthy adults (half-life); label values for F, V, binding",
        note="one-compartment model from label F, V and a healthy-volunteer half-life"),
}
"""Drug -> `PKModel`, every number quoted or derived from quoted numbers (see the module docstring)."""


def get_pk_model(drug: str) -> PKModel:
    """The `PKModel` of a catalogue drug (case-insensitive, aliases of `jakinfer.model.inhibitors` accepted)."""
    if not isinstance(drug, str):
        raise InputError(f"drug must be a name, got {drug!r}")
    key = drug.strip().lower()
    if key not in PK_MODELS:
        try:
            key = get_inhibitor(key).name
        except InputError:
            raise InputError(f"unknown drug {drug!r}; PK models exist for {sorted(PK_MODELS)}") from None
    if key not in PK_MODELS:
        raise InputError(f"no PK model for {drug!r}: its parameters could not be read with quotes; "
                         f"PK models exist for {sorted(PK_MODELS)}")
    return PK_MODELS[key]
