"""Which receptor chains, JAKs and STATs a cytokine uses: wiring as data.

`WIRING` maps a cytokine name to its `CytokineWiring`: the two signalling
receptor chains, the JAK bound to each chain (`jaks[i]` sits on
`receptor_chains[i]`), other JAKs reported for the receptor, and the STATs it
activates (the first is the principal one). `jakinfer.model.pathway.pathway`
uses it when only `cytokine=` is given; `wiring(name)` looks a name up,
forgiving case, hyphens, spaces and Greek letters (`"IFN-γ"`, `"ifng"`,
`"IFN-gamma"` are the same).

The table summarises textbook assignments, as reviewed in

* Schwartz DM, Kanno Y, Villarino A, Ward M, Gadina M, O'Shea JJ. JAK
  inhibition as a therapeutic strategy for immune and inflammatory diseases.
  Nat Rev Drug Discov 16:843-862 (2017), doi:10.1038/nrd.2017.201 (Figure 1);
* Morris R, Kershaw NJ, Babon JJ. The molecular details of cytokine signaling
  via the JAK/STAT pathway. Protein Sci 27:1984-2009 (2018),
  doi:10.1002/pro.3519;

and the pairings named in Traves PG et al. Ann Rheum Dis 80:865-875 (2021),
doi:10.1136/annrheumdis-2020-219012 (IL-2, IL-4: JAK1/JAK3; IFN-γ: JAK1/JAK2;
IL-12, IL-23: JAK2/TYK2; GM-CSF: JAK2/JAK2). A pathway model needs one JAK per
chain: where a receptor is reported with more JAKs (gp130 with JAK1, JAK2 and
TYK2) the pair used is the principal one and the others are listed in
`other_jaks`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from jakinfer.errors import InputError

JAKS: tuple[str, ...] = ("JAK1", "JAK2", "JAK3", "TYK2")
"""The four Janus kinases."""

STATS: tuple[str, ...] = ("STAT1", "STAT2", "STAT3", "STAT4", "STAT5", "STAT5A", "STAT5B", "STAT6")
"""STAT ids the pathway builder accepts."""


@dataclass(frozen=True)
class CytokineWiring:
    """The signalling core of one cytokine receptor.

    Attributes:
        cytokine: display name, e.g. `"IL-6"`.
        receptor_chains: the two signalling chains (gene symbols); for a
            homodimeric receptor the same chain twice.
        jaks: the JAK on each chain, `jaks[i]` on `receptor_chains[i]`.
        stats: the STATs activated, principal first.
        other_jaks: further JAKs reported for this receptor, not modelled.
        note: a remark on simplifications.
    """

    cytokine: str
    receptor_chains: tuple[str, str]
    jaks: tuple[str, str]
    stats: tuple[str, ...]
    other_jaks: tuple[str, ...] = ()
    note: str = ""

    def __post_init__(self) -> None:
        for jak in (*self.jaks, *self.other_jaks):
            if jak not in JAKS:
                raise ValueError(f"{self.cytokine}: unknown JAK {jak!r}")
        for stat in self.stats:
            if stat not in STATS:
                raise ValueError(f"{self.cytokine}: unknown STAT {stat!r}")


WIRING: dict[str, CytokineWiring] = {
    "IL-6": CytokineWiring(
        "IL-6", ("IL6ST", "IL6ST"), ("JAK1", "JAK2"), ("STAT3",), other_jaks=("TYK2",),
        note="gp130 homodimer (with IL-6Ra); JAK1 dominant, JAK2 and TYK2 also reported"),
    "IFN-γ": CytokineWiring("IFN-γ", ("IFNGR1", "IFNGR2"), ("JAK1", "JAK2"), ("STAT1",)),
    "IL-2": CytokineWiring("IL-2", ("IL2RB", "IL2RG"), ("JAK1", "JAK3"), ("STAT5",),
                           note="IL-2Rb/common gamma chain (with IL-2Ra)"),
    "IL-4": CytokineWiring("IL-4", ("IL4R", "IL2RG"), ("JAK1", "JAK3"), ("STAT6",),
                           note="type I receptor; IL-4 also signals through the type II receptor (JAK1/TYK2)"),
    "IL-13": CytokineWiring("IL-13", ("IL4R", "IL13RA1"), ("JAK1", "TYK2"), ("STAT6",),
                            note="type II receptor; JAK2 also reported on IL-13Ra1"),
    "IL-12": CytokineWiring("IL-12", ("IL12RB1", "IL12RB2"), ("TYK2", "JAK2"), ("STAT4",)),
    "IL-23": CytokineWiring("IL-23", ("IL12RB1", "IL23R"), ("TYK2", "JAK2"), ("STAT3", "STAT4")),
    "Epo": CytokineWiring("Epo", ("EPOR", "EPOR"), ("JAK2", "JAK2"), ("STAT5",),
                          note="EpoR homodimer; the two chains are modelled as two pools"),
}
"""Cytokine name -> wiring."""

_GREEK = {"γ": "g", "α": "a", "β": "b", "gamma": "g", "alpha": "a", "beta": "b"}


def _key(name: str) -> str:
    text = name.strip().lower()
    for greek, latin in _GREEK.items():
        text = text.replace(greek, latin)
    return re.sub(r"[\s_\-]", "", text)


_BY_KEY = {_key(name): wiring for name, wiring in WIRING.items()}


def wiring(cytokine: str) -> CytokineWiring:
    """The wiring of `cytokine` (case, hyphens and Greek letters ignored).

    Raises:
        InputError: an unknown name; the message lists the known cytokines.
    """
    if not isinstance(cytokine, str):
        raise InputError(f"cytokine must be a name, got {cytokine!r}")
    found = _BY_KEY.get(_key(cytokine))
    if found is None:
        raise InputError(f"unknown cytokine {cytokine!r}; the wiring table knows {sorted(WIRING)} "
                         "(or give jaks= and stats= explicitly)")
    return found
