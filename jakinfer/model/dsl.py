"""A reaction-network DSL: compartments, species, reactions, inputs, observables.

A `ReactionNetwork` is an immutable value; every builder method returns a new
network with one more element, so a model reads as one chain::

    network = (
        ReactionNetwork("transport")
        .compartment("cyt", 1.4)                      # volume, e.g. pl
        .compartment("nuc", 0.45)
        .parameter("k_imp", 0.1, scale="log10", lower=1e-3, upper=10.0)
        .species("A", "cyt", initial=1.0)             # concentration, e.g. nM
        .species("B", "nuc")
        .reaction("import", "A -> B", mass_action("k_imp"))
        .observable("B_au", "B", scale="s_B", noise="sd_B")
        ...
    )
    model = network.to_symbolic()                     # SymbolicModel
    problem = network_problem(network, data)          # Problem (jakinfer.io.network)

Semantics (the SBML ones, so that `jakinfer.io.export` writes the same model):

* Species are concentrations in their compartment; compartment volumes are
  model parameters (their default is the given volume).
* Every rate law gives a *rate per volume* `r` (concentration/time) in the
  reaction's compartment `V_r` (by default the compartment of the reactants).
  The reaction's flux in amount/time is `V_r * r`, and a species `s` with net
  stoichiometry `nu_s` in compartment `V_s` changes as
  `dc_s/dt += nu_s * V_r * r / V_s`. Transport between compartments of
  different volumes therefore conserves the amount `sum_s V_s c_s`.
* Inputs are named time-dependent expressions (see `jakinfer.model.inputs`);
  they become the model's derived expressions (`SymbolicModel.expressions`) and
  are substituted into the rates.
* Formulas are sympy expressions, numbers, or strings in PEtab's math grammar,
  parsed by `petab.v1.math.sympify_petab` (an ANTLR parser; nothing is
  evaluated as Python). Time is `t` or `time`.

`jakinfer.io.network.network_problem` writes PEtab tables (`petab_tables`) and
builds the `Problem` with the same builder as the PEtab reader, so there is one
simulation and likelihood path for every source. This module knows nothing of
files, problems or solvers.

Size: the DSL is one public vocabulary (formulas, rate laws, the elements and
`ReactionNetwork` with its checks), kept in one module so that its names import from one place.
"""

from __future__ import annotations

import abc
import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
import sympy as sp

from jakinfer.errors import InputError
from jakinfer.likelihood import DISTRIBUTIONS, TRANSFORMATIONS
from jakinfer.model.symbolic import TIME, SymbolicModel, rename_to_plain_symbols
from jakinfer.parameters import SCALES, Prior

ExpressionLike = sp.Expr | str | float | int
"""A formula: a sympy expression, a number, or a string in PEtab math syntax."""

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_RESERVED = {TIME.name, "time", "inf", "nan", "true", "false"}
_TERM = re.compile(r"^(?:(\d+)\s*\*?\s*)?([A-Za-z_][A-Za-z0-9_]*)$")


# -- formulas ------------------------------------------------------------------------


def to_expression(value: ExpressionLike, what: str = "formula") -> sp.Expr:
    """A formula as a sympy expression in plain `real=True` symbols and `TIME`.

    Args:
        value: a sympy expression, an int or float, or a string in PEtab math
            syntax (`^` or `**` for powers, `exp`, `ln`/`log`, `piecewise`, ...).
        what: names the formula in error messages.

    Raises:
        InputError: a string that does not parse, or a value of another type.
    """
    if isinstance(value, bool):
        raise InputError(f"{what}: expected a formula or a number, got {value!r}")
    if isinstance(value, int | np.integer):
        return sp.Integer(int(value))
    if isinstance(value, float | np.floating):
        return sp.Float(float(value))
    if isinstance(value, str):
        from petab.v1.math import sympify_petab

        try:
            expression = sympify_petab(value)
        except Exception as error:  # the ANTLR parser raises several types
            raise InputError(f"{what}: cannot parse {value!r}: {error}") from None
        if not isinstance(expression, sp.Basic):
            expression = sp.sympify(expression)
    elif isinstance(value, sp.Basic):
        expression = value
    else:
        raise InputError(f"{what}: expected a formula or a number, got {type(value).__name__}")
    expression = rename_to_plain_symbols(expression)
    # PEtab's parser reads every number as a Float; integral ones become Integers so
    # that `x^2` stays a square (exact derivatives, no float power of a negative base).
    integral = {f: sp.Integer(int(f)) for f in expression.atoms(sp.Float)
                if float(f).is_integer() and abs(float(f)) < 2**53}
    return expression.xreplace({sp.Symbol("time", real=True): TIME, **integral})


def _names(expression: sp.Expr) -> set[str]:
    return {s.name for s in expression.free_symbols}


# -- rate laws -------------------------------------------------------------------------


class RateLaw(abc.ABC):
    """A kinetic law: the rate per volume (concentration/time) of one reaction."""

    @abc.abstractmethod
    def rate(self, reactants: Mapping[str, int]) -> sp.Expr:
        """The rate `r` in concentration/time, given `{species: stoichiometry}`
        of the reaction's reactants."""


@dataclass(frozen=True)
class MassAction(RateLaw):
    """`r = k * prod_s c_s^nu_s` over the reactants (`k` may depend on inputs)."""

    k: sp.Expr

    def rate(self, reactants: Mapping[str, int]) -> sp.Expr:
        product = self.k
        for species_id, stoichiometry in reactants.items():
            product = product * sp.Symbol(species_id, real=True) ** stoichiometry
        return product


@dataclass(frozen=True)
class MichaelisMenten(RateLaw):
    """`r = vmax * S / (km + S)`; `S` is `substrate`, by default the one reactant."""

    vmax: sp.Expr
    km: sp.Expr
    substrate: str | None = None

    def rate(self, reactants: Mapping[str, int]) -> sp.Expr:
        s = sp.Symbol(_single_species(self.substrate, reactants, "MichaelisMenten"), real=True)
        return self.vmax * s / (self.km + s)


@dataclass(frozen=True)
class Hill(RateLaw):
    """`r = vmax * S^n / (k^n + S^n)` (activation) or `vmax * k^n / (k^n + S^n)`
    (`repression=True`); `S` is `species`, by default the one reactant."""

    vmax: sp.Expr
    k: sp.Expr
    n: sp.Expr
    species: str | None = None
    repression: bool = False

    def rate(self, reactants: Mapping[str, int]) -> sp.Expr:
        s = sp.Symbol(_single_species(self.species, reactants, "Hill"), real=True)
        numerator = self.k**self.n if self.repression else s**self.n
        return self.vmax * numerator / (self.k**self.n + s**self.n)


@dataclass(frozen=True)
class Custom(RateLaw):
    """Any rate expression (concentration/time) in species, parameters, inputs, time."""

    expression: sp.Expr

    def rate(self, reactants: Mapping[str, int]) -> sp.Expr:
        return self.expression


def _single_species(species: str | None, reactants: Mapping[str, int], law: str) -> str:
    if species is not None:
        return species
    if len(reactants) != 1:
        raise InputError(f"{law}: name the substrate species (the reaction has {len(reactants)} reactants)")
    return next(iter(reactants))


def mass_action(k: ExpressionLike) -> MassAction:
    """Mass action with rate constant `k` (units: 1/time / concentration^(order-1))."""
    return MassAction(to_expression(k, "mass_action rate constant"))


def michaelis_menten(vmax: ExpressionLike, km: ExpressionLike, substrate: str | None = None) -> MichaelisMenten:
    """Michaelis–Menten: `vmax` concentration/time, `km` concentration."""
    return MichaelisMenten(to_expression(vmax, "vmax"), to_expression(km, "km"), substrate)


def hill(vmax: ExpressionLike, k: ExpressionLike, n: ExpressionLike, species: str | None = None, *,
         repression: bool = False) -> Hill:
    """Hill kinetics: `vmax` concentration/time, `k` concentration, `n` dimensionless."""
    return Hill(to_expression(vmax, "vmax"), to_expression(k, "k"), to_expression(n, "n"), species,
                repression)


def custom(expression: ExpressionLike) -> Custom:
    """An arbitrary rate expression (concentration/time)."""
    return Custom(to_expression(expression, "rate"))


# -- network elements ----------------------------------------------------------------


@dataclass(frozen=True)
class Compartment:
    """A compartment of constant `volume` (> 0, e.g. pl)."""

    id: str
    volume: float


@dataclass(frozen=True)
class Species:
    """A species: concentration in `compartment`, initial value in parameters."""

    id: str
    compartment: str
    initial: sp.Expr


@dataclass(frozen=True)
class Parameter:
    """A parameter of the network or of its observables.

    Attributes:
        value: the value (linear scale): the default model value and the
            nominal value of the parameter table.
        scale: estimation scale (`lin`, `log`, `log10`).
        lower, upper: bounds on linear scale (required where `estimate`).
        estimate: whether the parameter is estimated.
        prior: optional prior (PEtab `objectivePriorType` semantics).
        name: display name.
    """

    id: str
    value: float
    scale: str = "lin"
    lower: float | None = None
    upper: float | None = None
    estimate: bool = False
    prior: Prior | None = None
    name: str = ""


@dataclass(frozen=True)
class Reaction:
    """A reaction `reactants -> products` with a rate law.

    `reactants`/`products` are `(species id, stoichiometry)` pairs;
    `compartment` is the compartment the rate refers to (None: the reactants').
    """

    id: str
    reactants: tuple[tuple[str, int], ...]
    products: tuple[tuple[str, int], ...]
    law: RateLaw
    compartment: str | None = None


@dataclass(frozen=True)
class Input:
    """A named time-dependent quantity `u(t)` (e.g. a ligand dose)."""

    id: str
    expression: sp.Expr


@dataclass(frozen=True)
class ObservableSpec:
    """A measured quantity.

    Attributes:
        formula: the observable `h` (already including offset and scale).
        noise: the noise parameter (standard deviation for `normal`, scale for
            `laplace`) as a formula, or None when each measurement brings its
            own `sigma` in the data.
        transformation: `lin`, `log` or `log10` (PEtab observableTransformation).
        distribution: `normal` or `laplace`.
    """

    id: str
    formula: sp.Expr
    noise: sp.Expr | None
    transformation: str = "lin"
    distribution: str = "normal"
    name: str = ""


Scale = Literal["lin", "log", "log10"]


# -- the network -----------------------------------------------------------------------


@dataclass(frozen=True)
class ReactionNetwork:
    """An immutable reaction network; build it with the chainable methods."""

    name: str
    compartments: tuple[Compartment, ...] = ()
    species_list: tuple[Species, ...] = ()
    parameters: tuple[Parameter, ...] = ()
    reactions: tuple[Reaction, ...] = ()
    inputs: tuple[Input, ...] = ()
    observables: tuple[ObservableSpec, ...] = ()
    description: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if not _IDENTIFIER.match(self.name):
            raise InputError(f"network name {self.name!r} is not an identifier")

    # -- ids -------------------------------------------------------------------
    @property
    def compartment_ids(self) -> tuple[str, ...]:
        return tuple(c.id for c in self.compartments)

    @property
    def species_ids(self) -> tuple[str, ...]:
        return tuple(s.id for s in self.species_list)

    @property
    def parameter_ids(self) -> tuple[str, ...]:
        return tuple(p.id for p in self.parameters)

    @property
    def input_ids(self) -> tuple[str, ...]:
        return tuple(u.id for u in self.inputs)

    @property
    def observable_ids(self) -> tuple[str, ...]:
        return tuple(o.id for o in self.observables)

    def _all_ids(self) -> set[str]:
        return {*self.compartment_ids, *self.species_ids, *self.parameter_ids, *self.input_ids,
                *self.observable_ids, *(r.id for r in self.reactions)}

    def _new_id(self, element_id: str, kind: str) -> None:
        if not isinstance(element_id, str) or not _IDENTIFIER.match(element_id):
            raise InputError(f"{kind} id {element_id!r} is not an identifier ([A-Za-z_][A-Za-z0-9_]*)")
        if element_id in _RESERVED:
            raise InputError(f"{kind} id {element_id!r} is reserved")
        if element_id in self._all_ids():
            raise InputError(f"{kind} id {element_id!r} is already used in network {self.name!r}")

    # -- builder methods ---------------------------------------------------------
    def compartment(self, compartment_id: str, volume: float) -> ReactionNetwork:
        """Add a compartment of constant `volume` (> 0)."""
        self._new_id(compartment_id, "compartment")
        volume = float(volume)
        if not np.isfinite(volume) or volume <= 0:
            raise InputError(f"compartment {compartment_id!r}: volume must be finite and > 0, got {volume}")
        return replace(self, compartments=(*self.compartments, Compartment(compartment_id, volume)))

    def species(self, species_id: str, compartment: str, initial: ExpressionLike = 0.0) -> ReactionNetwork:
        """Add a species (a concentration in `compartment`) with its initial value,
        a number or a formula in parameters (e.g. `"207.6 * ratio"`)."""
        self._new_id(species_id, "species")
        if compartment not in self.compartment_ids:
            raise InputError(f"species {species_id!r}: unknown compartment {compartment!r}")
        expression = to_expression(initial, f"initial value of species {species_id!r}")
        return replace(self, species_list=(*self.species_list, Species(species_id, compartment, expression)))

    def parameter(self, parameter_id: str, value: float, *, scale: Scale = "lin",
                  lower: float | None = None, upper: float | None = None, estimate: bool | None = None,
                  prior: Prior | None = None, name: str = "") -> ReactionNetwork:
        """Add a parameter (linear-scale `value`).

        It is estimated when `estimate` is True, or when `estimate` is None and
        bounds are given. Estimated parameters need finite bounds with
        `lower < upper` (> 0 on log scales) enclosing `value`.
        """
        self._new_id(parameter_id, "parameter")
        if scale not in SCALES:
            raise InputError(f"parameter {parameter_id!r}: scale {scale!r} is not one of {SCALES}")
        value = float(value)
        if not np.isfinite(value):
            raise InputError(f"parameter {parameter_id!r}: value must be finite, got {value}")
        if estimate is None:
            estimate = lower is not None or upper is not None
        if estimate:
            if lower is None or upper is None:
                raise InputError(f"parameter {parameter_id!r} is estimated and needs both bounds")
            lower, upper = float(lower), float(upper)
            if not (np.isfinite(lower) and np.isfinite(upper) and lower < upper):
                raise InputError(f"parameter {parameter_id!r}: need finite bounds lower < upper, "
                                 f"got {lower}, {upper}")
            if scale != "lin" and lower <= 0:
                raise InputError(f"parameter {parameter_id!r}: lower bound must be > 0 on {scale} scale")
            if not lower <= value <= upper:
                raise InputError(f"parameter {parameter_id!r}: value {value} outside [{lower}, {upper}]")
        if scale != "lin" and value <= 0:
            raise InputError(f"parameter {parameter_id!r}: value must be > 0 on {scale} scale")
        if prior is not None and not isinstance(prior, Prior):
            raise InputError(f"parameter {parameter_id!r}: prior must be a jakinfer.parameters.Prior")
        element = Parameter(parameter_id, value, scale, lower, upper, bool(estimate), prior, name)
        return replace(self, parameters=(*self.parameters, element))

    def input(self, input_id: str, expression: ExpressionLike) -> ReactionNetwork:
        """Add a named input `u(t)`: a formula in time, parameters and earlier inputs
        (see `jakinfer.model.inputs` for doses and splines)."""
        self._new_id(input_id, "input")
        parsed = to_expression(expression, f"input {input_id!r}")
        return replace(self, inputs=(*self.inputs, Input(input_id, parsed)))

    def reaction(self, reaction_id: str, equation: str | tuple[Mapping[str, int], Mapping[str, int]],
                 law: RateLaw | ExpressionLike, *, compartment: str | None = None) -> ReactionNetwork:
        """Add a reaction.

        Args:
            equation: `"2 A + B -> C"` (integer stoichiometries; `"-> A"` is a
                synthesis, `"A ->"` a degradation), or `(reactants, products)`
                as `{species: stoichiometry}` mappings.
            law: a `RateLaw` (`mass_action`, `michaelis_menten`, `hill`,
                `custom`), or a formula taken as `custom` rate.
            compartment: the compartment the rate refers to; by default the
                compartment of the reactants (of the products for a synthesis).
        """
        self._new_id(reaction_id, "reaction")
        reactants, products = _parse_equation(equation, reaction_id)
        for species_id, _ in (*reactants, *products):
            if species_id not in self.species_ids:
                raise InputError(f"reaction {reaction_id!r}: unknown species {species_id!r}")
        if not isinstance(law, RateLaw):
            law = custom(law)
        if compartment is None:
            compartment = self._reaction_compartment(reaction_id, reactants, products)
        elif compartment not in self.compartment_ids:
            raise InputError(f"reaction {reaction_id!r}: unknown compartment {compartment!r}")
        element = Reaction(reaction_id, reactants, products, law, compartment)
        return replace(self, reactions=(*self.reactions, element))

    def observable(self, observable_id: str, formula: ExpressionLike, *,
                   noise: ExpressionLike | None = None, scale: ExpressionLike | None = None,
                   offset: ExpressionLike | None = None, transformation: str = "lin",
                   distribution: str = "normal", name: str = "") -> ReactionNetwork:
        """Add an observable `h = offset + scale * formula`.

        `noise` is the noise formula (e.g. a parameter id); leave it None when
        the data give a `sigma` for every measurement of this observable.
        """
        self._new_id(observable_id, "observable")
        if transformation not in TRANSFORMATIONS:
            raise InputError(f"observable {observable_id!r}: transformation {transformation!r} is not one "
                             f"of {TRANSFORMATIONS}")
        if distribution not in DISTRIBUTIONS:
            raise InputError(f"observable {observable_id!r}: distribution {distribution!r} is not one of "
                             f"{DISTRIBUTIONS}")
        expression = to_expression(formula, f"observable {observable_id!r}")
        if scale is not None:
            expression = to_expression(scale, f"scale of observable {observable_id!r}") * expression
        if offset is not None:
            expression = to_expression(offset, f"offset of observable {observable_id!r}") + expression
        noise_expression = None if noise is None else to_expression(noise, f"noise of {observable_id!r}")
        element = ObservableSpec(observable_id, expression, noise_expression, transformation,
                                 distribution, name)
        return replace(self, observables=(*self.observables, element))

    def _reaction_compartment(self, reaction_id, reactants, products) -> str:
        compartment_of = {s.id: s.compartment for s in self.species_list}
        side = reactants if reactants else products
        compartments = {compartment_of[s] for s, _ in side}
        if len(compartments) != 1:
            raise InputError(f"reaction {reaction_id!r}: its species lie in compartments "
                             f"{sorted(compartments)}; name the compartment the rate refers to")
        return compartments.pop()

    # -- compilation -------------------------------------------------------------
    def resolved_inputs(self) -> dict[str, sp.Expr]:
        """Input id -> expression in time and parameters only (earlier inputs substituted)."""
        resolved: dict[str, sp.Expr] = {}
        for element in self.inputs:
            expression = element.expression.xreplace(
                {sp.Symbol(k, real=True): v for k, v in resolved.items()})
            unknown = _names(expression) - {TIME.name, *self.parameter_ids, *self.compartment_ids}
            if unknown:
                raise InputError(f"input {element.id!r} uses {sorted(unknown)}, which are not parameters, "
                                 "compartments or earlier inputs")
            resolved[element.id] = expression
        return resolved

    def fluxes(self) -> dict[str, sp.Expr]:
        """Reaction id -> flux `V_r * r` (amount/time), written in inputs (not substituted)."""
        fluxes = {}
        for reaction in self.reactions:
            reactants = dict(reaction.reactants)
            volume = sp.Symbol(reaction.compartment, real=True)
            fluxes[reaction.id] = volume * reaction.law.rate(reactants)
        return fluxes

    def to_symbolic(self) -> SymbolicModel:
        """The ODE model: `dc_s/dt = sum_r nu_{s,r} V_r r_r / V_s`.

        States are the species in declaration order; model parameters are the
        compartments, then the parameters the equations use (in declaration
        order). Inputs are the model's `expressions`. Computed once per network.

        Raises:
            InputError: a rate, initial value or input uses an unknown symbol.
        """
        return self._symbolic

    @functools.cached_property
    def _symbolic(self) -> SymbolicModel:
        if not self.species_list:
            raise InputError(f"network {self.name!r} has no species")
        inputs = self.resolved_inputs()
        substitution = {sp.Symbol(k, real=True): v for k, v in inputs.items()}
        compartment_of = {s.id: s.compartment for s in self.species_list}
        rates = {s.id: sp.Integer(0) for s in self.species_list}
        allowed = {TIME.name, *self.species_ids, *self.parameter_ids, *self.compartment_ids, *self.input_ids}
        for reaction in self.reactions:
            flux = sp.Symbol(reaction.compartment, real=True) * reaction.law.rate(dict(reaction.reactants))
            unknown = _names(flux) - allowed
            if unknown:
                raise InputError(f"reaction {reaction.id!r}: its rate uses unknown symbols {sorted(unknown)}")
            flux = flux.xreplace(substitution)
            for species_id, change in _net_stoichiometry(reaction).items():
                volume = sp.Symbol(compartment_of[species_id], real=True)
                rates[species_id] = rates[species_id] + change * flux / volume
        initial_values = []
        for s in self.species_list:
            unknown = _names(s.initial) - {TIME.name, *self.parameter_ids, *self.compartment_ids,
                                           *self.input_ids}
            if unknown:
                raise InputError(f"initial value of species {s.id!r} uses {sorted(unknown)}, which are not "
                                 "parameters, compartments or inputs")
            initial_values.append(s.initial.xreplace(substitution).xreplace({TIME: sp.Integer(0)}))
        rhs = tuple(rates[s] for s in self.species_ids)
        used = set().union(*(_names(e) for e in (*rhs, *initial_values, *inputs.values())))
        model_parameters = [p for p in self.parameters if p.id in used]
        return SymbolicModel(
            name=self.name,
            state_ids=self.species_ids,
            parameter_ids=(*self.compartment_ids, *(p.id for p in model_parameters)),
            parameter_defaults=(*(c.volume for c in self.compartments), *(p.value for p in model_parameters)),
            rhs=rhs,
            initial_values=tuple(initial_values),
            expressions=inputs,
            state_compartments=tuple(s.compartment for s in self.species_list),
        )

    # -- checks used by the readers (jakinfer.io.network, jakinfer.io.tidy) -------------
    def condition_targets(self) -> tuple[str, ...]:
        """Ids a condition may set: compartments, species (initial values), parameters."""
        return (*self.compartment_ids, *self.species_ids, *self.parameter_ids)

    def check_observables(self, model: SymbolicModel) -> None:
        """Every symbol of every observable's formula and noise formula is a model quantity.

        Raises:
            InputError: naming the observable and the unknown symbols.
        """
        known = {TIME.name, *model.state_ids, *model.parameter_ids, *model.expressions, *self.parameter_ids}
        for spec in self.observables:
            for what, expression in (("formula", spec.formula), ("noise", spec.noise)):
                if expression is None:
                    continue
                unknown = _names(expression) - known
                if unknown:
                    raise InputError(f"observable {spec.id!r}: its {what} uses unknown symbols {sorted(unknown)}")

    def check_parameters_used(self, model: SymbolicModel) -> None:
        """Every parameter is used by a reaction, an input, an initial value or an observable.

        Raises:
            InputError: naming the unused parameters.
        """
        used = set(model.parameter_ids)
        for spec in self.observables:
            used |= _names(spec.formula) | (_names(spec.noise) if spec.noise is not None else set())
        unused = [p.id for p in self.parameters if p.id not in used]
        if unused:
            raise InputError(f"parameters {unused} of network {self.name!r} are used by no reaction, input, "
                             "initial value or observable")


def _net_stoichiometry(reaction: Reaction) -> dict[str, int]:
    change: dict[str, int] = {}
    for species_id, n in reaction.reactants:
        change[species_id] = change.get(species_id, 0) - n
    for species_id, n in reaction.products:
        change[species_id] = change.get(species_id, 0) + n
    return {k: v for k, v in change.items() if v != 0}


def _parse_equation(equation, reaction_id: str) -> tuple[tuple[tuple[str, int], ...], tuple[tuple[str, int], ...]]:
    if isinstance(equation, tuple) and len(equation) == 2:
        sides = []
        for side in equation:
            pairs = []
            for species_id, n in dict(side).items():
                if not isinstance(n, int | np.integer) or isinstance(n, bool) or n <= 0:
                    raise InputError(f"reaction {reaction_id!r}: stoichiometry of {species_id!r} must be a "
                                     f"positive integer, got {n!r}")
                pairs.append((str(species_id), int(n)))
            sides.append(tuple(pairs))
        return sides[0], sides[1]
    if not isinstance(equation, str) or equation.count("->") != 1:
        raise InputError(f"reaction {reaction_id!r}: expected an equation 'A + 2 B -> C', got {equation!r}")
    left, right = equation.split("->")
    return _parse_side(left, reaction_id), _parse_side(right, reaction_id)


def _parse_side(text: str, reaction_id: str) -> tuple[tuple[str, int], ...]:
    text = text.strip()
    if not text or text == "0" or text == "∅":
        return ()
    counts: dict[str, int] = {}
    for term in text.split("+"):
        match = _TERM.match(term.strip())
        if not match:
            raise InputError(f"reaction {reaction_id!r}: cannot read the term {term.strip()!r} "
                             "(expected '[integer] species')")
        n = int(match.group(1) or 1)
        if n <= 0:
            raise InputError(f"reaction {reaction_id!r}: stoichiometry must be positive in {term.strip()!r}")
        counts[match.group(2)] = counts.get(match.group(2), 0) + n
    return tuple(counts.items())
