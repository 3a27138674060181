"""Cellular potencies of JAK inhibitors per cytokine pathway and readout.

A cellular IC50 belongs to a pathway, not to one JAK: it is measured by
stimulating cells with a cytokine (IL-6, IFN-alpha, IL-2, GM-CSF, EPO...),
reading a phosphorylated STAT (pSTAT1, pSTAT3, pSTAT5, pSTAT6) or a downstream
effect (proliferation) in a cell type (CD4+ T cells, monocytes...) in a matrix
(whole blood, PBMC, a cell line), and the receptor signals through a pair of
JAKs (`jaks`, e.g. JAK1/JAK3 for IL-2; the pairing is receptor biology, see
`CYTOKINE_JAKS` and its quote). The same drug has different IC50s in different
pathways, readouts and cells (Traves et al. 2021: "JAKinib potencies depended on
cytokine stimulus, pSTAT readout and cell type"), and whole-blood IC50s include
plasma protein binding (total concentration) while PBMC IC50s in medium are
closer to unbound ones.

`CytokinePotency` records one such number with the provenance rule of
`jakinfer.model.inhibitors`: a value enters only with the sentence (or table cell)
that states it, verbatim (`quote`), its `source` and where it was read
(`read_in`). Values whose text could not be read (the IC50 tables of Traves
2021, McInnes 2019, Dowty 2019 and Parmentier 2018 were not retrievable as
text while this catalogue was built; only their abstracts were) are absent.
`cytokine_potencies(...)` selects by inhibitor, cytokine, readout, JAK and matrix.

Per-JAK potencies (the model's `IC50_<JAK>`) stay in `jakinfer.model.inhibitors`;
a pathway IC50 is not a per-JAK number and is not used as one automatically.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from jakinfer.errors import InputError
from jakinfer.model.inhibitors import get_inhibitor
from jakinfer.model.wiring import JAKS

MATRICES: tuple[str, ...] = ("whole blood", "PBMC", "cell line", "not stated")
READOUT_PREFIXES: tuple[str, ...] = ("pSTAT", "proliferation", "not stated")

_MCINNES = ("McInnes IB, Byers NL, Higgs RE, et al. Comparison of baricitinib, upadacitinib, and tofacitinib "
            "mediated regulation of cytokine signaling in human leukocyte subpopulations. Arthritis Res Ther "
            "21:183 (2019), abstract")
_MCINNES_READ = "https://arthritis-research.biomedcentral.com/articles/10.1186/s13075-019-1964-1 (abstract)"
_MCINNES_QUOTE = ("All JAKis tested inhibited JAK1/2-dependent cytokines (e.g., IL-6 and interferon [IFN]-γ), the "
                  "JAK1/tyrosine kinase 2 (TYK2)-dependent cytokines IL-10 and IFN-α, the JAK2/2-dependent "
                  "cytokines IL-3 and granulocyte-macrophage colony-stimulating factor (GM-CSF), and the "
                  "JAK2/TYK2-dependent cytokine granulocyte colony-stimulating factor (G-CSF)")
_MCINNES_QUOTE_JAK13 = ("tofacitinib and upadacitinib were the most potent inhibitors of the JAK1/3-dependent "
                        "cytokines tested (interleukin [IL]-2, IL-4, IL-15, and IL-21)")

CYTOKINE_JAKS: dict[str, tuple[str, ...]] = {
    "IL-6": ("JAK1", "JAK2"), "IFN-γ": ("JAK1", "JAK2"),
    "IL-10": ("JAK1", "TYK2"), "IFN-α": ("JAK1", "TYK2"),
    "IL-3": ("JAK2",), "GM-CSF": ("JAK2",),
    "G-CSF": ("JAK2", "TYK2"),
    "IL-2": ("JAK1", "JAK3"), "IL-4": ("JAK1", "JAK3"), "IL-15": ("JAK1", "JAK3"), "IL-21": ("JAK1", "JAK3"),
}
"""Cytokine -> the JAKs its receptor signals through, as McInnes et al. 2019 state them
(`CYTOKINE_JAKS_QUOTES`); JAK2/2 is written as (JAK2,)."""

CYTOKINE_JAKS_QUOTES: tuple[tuple[str, str, str], ...] = (
    (_MCINNES_QUOTE, _MCINNES, _MCINNES_READ),
    (_MCINNES_QUOTE_JAK13, _MCINNES, _MCINNES_READ),
)


@dataclass(frozen=True)
class CytokinePotency:
    """One cellular IC50 of an inhibitor in one cytokine pathway.

    Attributes:
        inhibitor: catalogue name (`jakinfer.model.inhibitors.INHIBITORS`).
        ic50_nM: nM (total drug concentration in the assay medium or blood).
        cytokine: the stimulus (`IL-6`, `IFN-α`...), or `not stated` (a JAK-pair assay).
        readout: `pSTAT1`... `pSTAT6`, `proliferation`, or `not stated`.
        jaks: the JAKs driving the readout (a pair, or one for a homodimer or a
            single-JAK-driven cell line).
        matrix: `whole blood`, `PBMC`, `cell line` or `not stated`.
        cell_type: the gated or cultured cells (`CD4+ T cells`, `Ba/F3 JAK2V617F`...), or ``.
        source, quote, read_in: provenance (quote verbatim; `as_written` is the number in it).
        relation: `=` or `>` (a lower bound).
        note: conditions, caveats.
    """

    inhibitor: str
    ic50_nM: float
    cytokine: str
    readout: str
    jaks: tuple[str, ...]
    matrix: str
    source: str
    quote: str
    read_in: str
    as_written: str
    cell_type: str = ""
    relation: str = "="
    note: str = ""

    def __post_init__(self) -> None:
        name = get_inhibitor(self.inhibitor).name
        object.__setattr__(self, "inhibitor", name)
        value = float(self.ic50_nM)
        if not math.isfinite(value) or value <= 0:
            raise InputError(f"{name}: IC50 must be finite and > 0 nM, got {self.ic50_nM!r}")
        object.__setattr__(self, "ic50_nM", value)
        if not self.jaks or any(jak not in JAKS for jak in self.jaks):
            raise InputError(f"{name}: jaks {self.jaks!r} must be a non-empty subset of {JAKS}")
        object.__setattr__(self, "jaks", tuple(self.jaks))
        if self.matrix not in MATRICES:
            raise InputError(f"{name}: matrix {self.matrix!r} is not one of {MATRICES}")
        if not self.readout.startswith(READOUT_PREFIXES):
            raise InputError(f"{name}: readout {self.readout!r} must start with one of {READOUT_PREFIXES}")
        if not self.cytokine:
            raise InputError(f"{name}: the cytokine (or 'not stated') is needed")
        if self.relation not in ("=", ">"):
            raise InputError(f"{name}: relation must be '=' or '>', got {self.relation!r}")
        if not (self.source and self.quote and self.read_in):
            raise InputError(f"{name}: a cellular IC50 needs its source, quote and read_in")
        if not self.as_written or self.as_written not in self.quote:
            raise InputError(f"{name}: the number as written ({self.as_written!r}) is not in its quote")

    @property
    def pathway(self) -> str:
        """`cytokine/readout` (e.g. `IL-6/pSTAT1`)."""
        return f"{self.cytokine}/{self.readout}"


_TOFACITINIB_LABEL = "Xeljanz (tofacitinib) US prescribing information, section 12.1 (mechanism of action)"
_TOFACITINIB_QUOTE = ("Tofacitinib inhibited the in vitro activities of JAK1/JAK2, JAK1/JAK3, and JAK2/JAK2 "
                      "combinations with IC50 of 406, 56, and 1377 nM, respectively.")
_TOFACITINIB_READ = ("secondary: the label's text as reproduced in 'Tofacitinib (Mechanism of Action)', "
                     "https://ptmasterguide.com/2021/05/27/tofacitinib-mechanism-of-action/")
_TOFACITINIB_NOTE = ("the label names JAK combinations, not the cytokine, readout or cells (in the label these "
                     "are cellular assays of JAK-pair-dependent signalling)")

_RUXOLITINIB = "Quintas-Cardama A et al. Blood 115:3109-3117 (2010) (INCB018424), abstract"
_RUXOLITINIB_QUOTE = ("INCB018424 inhibited interleukin-6 signaling (50% inhibitory concentration [IC50] = "
                      "281nM), and proliferation of JAK2V617F+ Ba/F3 cells (IC50 = 127nM).")
_RUXOLITINIB_READ = ("abstract of Quintas-Cardama et al. 2010, Blood 115(15):3109, http://ashpublications.com/"
                     "blood/article/115/15/3109/26879")

CYTOKINE_POTENCIES: tuple[CytokinePotency, ...] = (
    CytokinePotency("tofacitinib", 406.0, "not stated", "not stated", ("JAK1", "JAK2"), "not stated",
                    _TOFACITINIB_LABEL, _TOFACITINIB_QUOTE, _TOFACITINIB_READ, "406", note=_TOFACITINIB_NOTE),
    CytokinePotency("tofacitinib", 56.0, "not stated", "not stated", ("JAK1", "JAK3"), "not stated",
                    _TOFACITINIB_LABEL, _TOFACITINIB_QUOTE, _TOFACITINIB_READ, "56", note=_TOFACITINIB_NOTE),
    CytokinePotency("tofacitinib", 1377.0, "not stated", "not stated", ("JAK2",), "not stated",
                    _TOFACITINIB_LABEL, _TOFACITINIB_QUOTE, _TOFACITINIB_READ, "1377", note=_TOFACITINIB_NOTE),
    CytokinePotency("ruxolitinib", 281.0, "IL-6", "not stated", CYTOKINE_JAKS["IL-6"], "not stated",
                    _RUXOLITINIB, _RUXOLITINIB_QUOTE, _RUXOLITINIB_READ, "281nM",
                    note="the abstract does not state the readout or the cells; JAKs of IL-6 from CYTOKINE_JAKS"),
    CytokinePotency("ruxolitinib", 127.0, "none (JAK2V617F-driven)", "proliferation", ("JAK2",), "cell line",
                    _RUXOLITINIB, _RUXOLITINIB_QUOTE, _RUXOLITINIB_READ, "127nM", cell_type="Ba/F3 JAK2V617F+",
                    note="the same number as the cellular JAK2 Potency in jakinfer.model.inhibitors"),
)
"""Every catalogued cellular (pathway) IC50, each with its quote."""


def cytokine_potencies(inhibitor: str | None = None, *, cytokine: str | None = None, readout: str | None = None,
                       jak: str | None = None, matrix: str | None = None) -> list[CytokinePotency]:
    """The catalogued pathway IC50s matching every given filter (an empty list when none are known).

    Raises:
        InputError: an unknown inhibitor, JAK or matrix.
    """
    name = None if inhibitor is None else get_inhibitor(inhibitor).name
    if jak is not None and jak not in JAKS:
        raise InputError(f"unknown JAK {jak!r}; expected one of {JAKS}")
    if matrix is not None and matrix not in MATRICES:
        raise InputError(f"matrix {matrix!r} is not one of {MATRICES}")
    return [p for p in CYTOKINE_POTENCIES
            if (name is None or p.inhibitor == name) and (cytokine is None or p.cytokine == cytokine)
            and (readout is None or p.readout == readout) and (jak is None or jak in p.jaks)
            and (matrix is None or p.matrix == matrix)]
