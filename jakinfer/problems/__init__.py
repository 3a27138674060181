"""The built-in problems: curated JAK-STAT models, one module each, written in the reaction-network DSL.

Every module has the reference, the equations in its docstring, `network()`
(the `ReactionNetwork`), `data()` (the shipped measurements as `TidyData`) and
`problem()` (the `Problem` with its data). `receptor` is the small receptor -> pSTAT
problem of the calibration checks (`jakinfer sbc receptor`), written as PEtab files.
"""

from jakinfer.problems import boehm2014, jakstat_core, swameye2003

MODELS = {"boehm2014": boehm2014, "jakstat_core": jakstat_core, "swameye2003": swameye2003}
"""Model name -> module."""

__all__ = ["MODELS", "boehm2014", "jakstat_core", "swameye2003"]
