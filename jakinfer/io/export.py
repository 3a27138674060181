"""Write models as SBML and problems as PEtab v1 folders.

* `sbml_string` / `write_sbml`: a `ReactionNetwork` becomes SBML Level 3
  Version 2 with its reactions (kinetic law = flux in amount/time), inputs as
  assignment rules and formula initial values as initial assignments; a plain
  `SymbolicModel` becomes species with rate rules (`dx/dt` as written), its
  derived expressions assignment rules. Formulas are written as libsbml ASTs
  built node by node from sympy (no formula strings are parsed).
* `rate_rule_sbml`: SBML of species with rate rules given as formula strings
  (small hand-written models: calibration problems, test fixtures).
* `write_petab` / `write_petab_folder`: the SBML file, the four PEtab tables and
  the YAML file.
* `petab_formula`: a sympy expression in PEtab math syntax (time as `time`,
  floats written so that they read back exactly).

Both forms read back with `jakinfer.io.sbml.read_sbml` into the same equations.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import libsbml
import pandas as pd
import sympy as sp
import yaml

from jakinfer.errors import UnsupportedFeatureError
from jakinfer.model.symbolic import TIME, SymbolicModel

if TYPE_CHECKING:
    from jakinfer.model.dsl import ReactionNetwork

_SBML_LEVEL, _SBML_VERSION = 3, 2
_TABLE_KEYS = ("parameters", "observables", "conditions", "measurements")


@dataclass(frozen=True)
class PetabTables:
    """The four PEtab v1 tables of a problem, as string DataFrames.

    Each carries `attrs["file"]`, `attrs["files"]` and `attrs["lines"]` (where
    its rows came from) for the PEtab builder's error messages.
    """

    parameters: pd.DataFrame
    observables: pd.DataFrame
    conditions: pd.DataFrame
    measurements: pd.DataFrame


# -- formulas ----------------------------------------------------------------------------


def petab_formula(expression: sp.Expr) -> str:
    """`expression` in PEtab math syntax; `TIME` is written as `time`."""
    from petab.v1.math.printer import PetabStrPrinter

    class _Printer(PetabStrPrinter):
        def _print_Float(self, expr):
            return repr(float(expr))

        def _print_Rational(self, expr):
            return f"({expr.p} / {expr.q})"

        def _print_And(self, expr):
            return " && ".join(f"({self._print(a)})" for a in expr.args)

        def _print_Or(self, expr):
            return " || ".join(f"({self._print(a)})" for a in expr.args)

        def _print_Not(self, expr):
            return f"!({self._print(expr.args[0])})"

    return _Printer().doprint(expression.xreplace({TIME: sp.Symbol("time", real=True)}))


_FUNCTIONS = {
    sp.exp: libsbml.AST_FUNCTION_EXP,
    sp.Abs: libsbml.AST_FUNCTION_ABS,
    sp.floor: libsbml.AST_FUNCTION_FLOOR,
    sp.ceiling: libsbml.AST_FUNCTION_CEILING,
    sp.sin: libsbml.AST_FUNCTION_SIN,
    sp.cos: libsbml.AST_FUNCTION_COS,
    sp.tan: libsbml.AST_FUNCTION_TAN,
    sp.asin: libsbml.AST_FUNCTION_ARCSIN,
    sp.acos: libsbml.AST_FUNCTION_ARCCOS,
    sp.atan: libsbml.AST_FUNCTION_ARCTAN,
    sp.sinh: libsbml.AST_FUNCTION_SINH,
    sp.cosh: libsbml.AST_FUNCTION_COSH,
    sp.tanh: libsbml.AST_FUNCTION_TANH,
    sp.Max: libsbml.AST_FUNCTION_MAX,
    sp.Min: libsbml.AST_FUNCTION_MIN,
    sp.And: libsbml.AST_LOGICAL_AND,
    sp.Or: libsbml.AST_LOGICAL_OR,
    sp.Xor: libsbml.AST_LOGICAL_XOR,
    sp.Not: libsbml.AST_LOGICAL_NOT,
    sp.StrictLessThan: libsbml.AST_RELATIONAL_LT,
    sp.LessThan: libsbml.AST_RELATIONAL_LEQ,
    sp.StrictGreaterThan: libsbml.AST_RELATIONAL_GT,
    sp.GreaterThan: libsbml.AST_RELATIONAL_GEQ,
    sp.Equality: libsbml.AST_RELATIONAL_EQ,
    sp.Unequality: libsbml.AST_RELATIONAL_NEQ,
}


def _node(kind: int, children=()) -> libsbml.ASTNode:
    node = libsbml.ASTNode(kind)
    for child in children:
        node.addChild(child)  # libsbml takes ownership ("disownedChild")
    return node


def sympy_to_ast(expression: sp.Basic) -> libsbml.ASTNode:
    """A sympy expression as a libsbml MathML AST (`TIME` becomes SBML time).

    Raises:
        UnsupportedFeatureError: a sympy node with no MathML counterpart here.
    """
    e = expression
    if isinstance(e, sp.Symbol):
        if e.name == TIME.name:
            node = libsbml.ASTNode(libsbml.AST_NAME_TIME)
            node.setName("time")
            return node
        node = libsbml.ASTNode(libsbml.AST_NAME)
        node.setName(e.name)
        return node
    if e is sp.true or e is sp.false:
        return libsbml.ASTNode(libsbml.AST_CONSTANT_TRUE if e is sp.true else libsbml.AST_CONSTANT_FALSE)
    if e is sp.pi:
        return libsbml.ASTNode(libsbml.AST_CONSTANT_PI)
    if e is sp.E:
        return libsbml.ASTNode(libsbml.AST_CONSTANT_E)
    if e.is_Integer:
        node = libsbml.ASTNode(libsbml.AST_INTEGER)
        node.setValue(int(e))
        return node
    if e.is_Rational:
        node = libsbml.ASTNode(libsbml.AST_RATIONAL)
        node.setValue(int(e.p), int(e.q))
        return node
    if e.is_Float or e.is_Number:
        node = libsbml.ASTNode(libsbml.AST_REAL)
        node.setValue(float(e))  # inf and nan included (MathML <infinity/>, <notanumber/>)
        return node
    if isinstance(e, sp.Add):
        return _node(libsbml.AST_PLUS, [sympy_to_ast(a) for a in e.args])
    if isinstance(e, sp.Mul):
        return _node(libsbml.AST_TIMES, [sympy_to_ast(a) for a in e.args])
    if isinstance(e, sp.Pow):
        base, exponent = e.args
        if exponent == -1:
            return _node(libsbml.AST_DIVIDE, [sympy_to_ast(sp.Integer(1)), sympy_to_ast(base)])
        return _node(libsbml.AST_POWER, [sympy_to_ast(base), sympy_to_ast(exponent)])
    if isinstance(e, sp.log):
        if len(e.args) != 1:
            raise UnsupportedFeatureError(f"cannot write {e} as MathML")
        return _node(libsbml.AST_FUNCTION_LN, [sympy_to_ast(e.args[0])])
    if isinstance(e, sp.Piecewise):
        children = []
        for value, condition in e.args:
            children.append(sympy_to_ast(value))
            if condition is not sp.true:
                children.append(sympy_to_ast(condition))
        return _node(libsbml.AST_FUNCTION_PIECEWISE, children)
    kind = _FUNCTIONS.get(type(e))
    if kind is not None:
        return _node(kind, [sympy_to_ast(a) for a in e.args])
    raise UnsupportedFeatureError(f"cannot write {type(e).__name__} ({e}) as MathML")


# -- SBML --------------------------------------------------------------------------------


class _Document:
    def __init__(self, model_id: str) -> None:
        self.document = libsbml.SBMLDocument(_SBML_LEVEL, _SBML_VERSION)
        self.model = self.document.createModel()
        self._check(self.model.setId(model_id), f"model id {model_id!r}")

    @staticmethod
    def _check(code: int, what: str) -> None:
        if code != libsbml.LIBSBML_OPERATION_SUCCESS:
            raise UnsupportedFeatureError(
                f"libsbml refused {what}: {libsbml.OperationReturnValue_toString(code)}")

    def compartment(self, compartment_id: str, size: float) -> None:
        c = self.model.createCompartment()
        self._check(c.setId(compartment_id), f"compartment id {compartment_id!r}")
        c.setSize(float(size))
        c.setConstant(True)
        c.setSpatialDimensions(3)

    def species(self, species_id: str, compartment: str, initial: sp.Expr) -> None:
        s = self.model.createSpecies()
        self._check(s.setId(species_id), f"species id {species_id!r}")
        s.setCompartment(compartment)
        s.setHasOnlySubstanceUnits(False)
        s.setBoundaryCondition(False)
        s.setConstant(False)
        if initial.is_Number:
            s.setInitialConcentration(float(initial))
        else:
            self.initial_assignment(species_id, initial)

    def parameter(self, parameter_id: str, value: float | None, *, constant: bool = True) -> None:
        p = self.model.createParameter()
        self._check(p.setId(parameter_id), f"parameter id {parameter_id!r}")
        if value is not None:
            p.setValue(float(value))
        p.setConstant(constant)

    def initial_assignment(self, symbol: str, expression: sp.Expr) -> None:
        assignment = self.model.createInitialAssignment()
        assignment.setSymbol(symbol)
        self._check(assignment.setMath(sympy_to_ast(expression)), f"the initial value of {symbol!r}")

    def assignment_rule(self, variable: str, expression: sp.Expr) -> None:
        rule = self.model.createAssignmentRule()
        rule.setVariable(variable)
        self._check(rule.setMath(sympy_to_ast(expression)), f"the assignment rule of {variable!r}")

    def rate_rule(self, variable: str, expression: sp.Expr | libsbml.ASTNode) -> None:
        rule = self.model.createRateRule()
        rule.setVariable(variable)
        math = expression if isinstance(expression, libsbml.ASTNode) else sympy_to_ast(expression)
        self._check(rule.setMath(math), f"the rate rule of {variable!r}")

    def reaction(self, reaction_id: str, reactants, products, modifiers, flux: sp.Expr) -> None:
        r = self.model.createReaction()
        self._check(r.setId(reaction_id), f"reaction id {reaction_id!r}")
        r.setReversible(False)
        for species_id, n in reactants:
            reference = r.createReactant()
            reference.setSpecies(species_id)
            reference.setStoichiometry(float(n))
            reference.setConstant(True)
        for species_id, n in products:
            reference = r.createProduct()
            reference.setSpecies(species_id)
            reference.setStoichiometry(float(n))
            reference.setConstant(True)
        for species_id in modifiers:
            r.createModifier().setSpecies(species_id)
        law = r.createKineticLaw()
        self._check(law.setMath(sympy_to_ast(flux)), f"the kinetic law of {reaction_id!r}")

    def text(self) -> str:
        errors = [self.document.getError(i) for i in range(self.document.getNumErrors())
                  if self.document.getError(i).getSeverity() >= libsbml.LIBSBML_SEV_ERROR]
        if errors:
            raise UnsupportedFeatureError(f"the SBML written is not valid: {errors[0].getMessage().strip()}")
        return libsbml.writeSBMLToString(self.document)


def sbml_string(model: SymbolicModel | ReactionNetwork) -> str:
    """SBML Level 3 Version 2 text of a `ReactionNetwork` or a `SymbolicModel`.

    Raises:
        UnsupportedFeatureError: a formula or id that SBML cannot hold.
    """
    from jakinfer.model.dsl import ReactionNetwork

    if isinstance(model, ReactionNetwork):
        return _network_sbml(model)
    if isinstance(model, SymbolicModel):
        return _symbolic_sbml(model)
    raise TypeError(f"expected a ReactionNetwork or SymbolicModel, got {type(model).__name__}")


def rate_rule_sbml(model_id: str, species: Mapping[str, float], rate_rules: Mapping[str, str],
                   parameters: Mapping[str, float], *, compartment: str = "cell") -> str:
    """SBML Level 3 Version 2 text of a model written as rate rules in formula strings.

    Every species lives in one compartment of size 1 (so amounts and
    concentrations coincide) and has one rate rule.

    Args:
        model_id: the SBML model id.
        species: species id -> initial value.
        rate_rules: species id -> `d species / dt` in SBML L3 infix syntax (parsed by
            libsbml; no Python evaluation).
        parameters: global constant parameter id -> value.
        compartment: the compartment id.

    Raises:
        UnsupportedFeatureError: an id SBML cannot hold, a formula libsbml cannot
            parse, or a species without a rate rule.
    """
    missing = set(species) ^ set(rate_rules)
    if missing:
        raise UnsupportedFeatureError(f"species and rate rules must match one to one; unmatched: {sorted(missing)}")
    document = _Document(model_id)
    document.compartment(compartment, 1.0)
    for parameter_id, value in parameters.items():
        document.parameter(parameter_id, value)
    for species_id, initial in species.items():
        document.species(species_id, compartment, sp.Float(initial))
    for species_id, formula in rate_rules.items():
        math = libsbml.parseL3Formula(formula)
        if math is None:
            raise UnsupportedFeatureError(
                f"libsbml cannot parse the rate rule of {species_id!r}, {formula!r}: {libsbml.getLastParseL3Error()}")
        document.rate_rule(species_id, math)
    return document.text()


def write_sbml(model: SymbolicModel | ReactionNetwork, path: str | Path) -> Path:
    """Write `sbml_string(model)` to `path`; returns the path."""
    path = Path(path)
    path.write_text(sbml_string(model), encoding="utf-8")
    return path


def _network_sbml(network: ReactionNetwork) -> str:
    symbolic = network.to_symbolic()
    document = _Document(network.name)
    for compartment in network.compartments:
        document.compartment(compartment.id, compartment.volume)
    values = {p.id: p.value for p in network.parameters}
    for parameter_id in symbolic.parameter_ids:
        if parameter_id in values:
            document.parameter(parameter_id, values[parameter_id])
    for element in network.inputs:
        document.parameter(element.id, None, constant=False)
        document.assignment_rule(element.id, element.expression)
    for species in network.species_list:
        document.species(species.id, species.compartment, species.initial)
    species_ids = set(network.species_ids)
    fluxes = network.fluxes()
    for reaction in network.reactions:
        flux = fluxes[reaction.id]
        involved = {s for s, _ in (*reaction.reactants, *reaction.products)}
        modifiers = sorted({s.name for s in flux.free_symbols} & species_ids - involved)
        document.reaction(reaction.id, reaction.reactants, reaction.products, modifiers, flux)
    return document.text()


def _symbolic_sbml(model: SymbolicModel) -> str:
    document = _Document(model.name)
    compartments = [c for c in dict.fromkeys(model.state_compartments) if c is not None]
    defaults = dict(zip(model.parameter_ids, model.parameter_defaults, strict=True))
    for compartment in compartments:
        if compartment in defaults:
            document.compartment(compartment, defaults[compartment])
        elif compartment in model.expressions:
            document.compartment(compartment, 1.0)
            document.initial_assignment(compartment, model.expressions[compartment])
        else:
            raise UnsupportedFeatureError(f"compartment {compartment!r} of the model has no size")
    for parameter_id, value in defaults.items():
        if parameter_id not in compartments:
            document.parameter(parameter_id, value)
    for expression_id, expression in model.expressions.items():
        if expression_id not in compartments:
            document.parameter(expression_id, None, constant=False)
            document.assignment_rule(expression_id, expression)
    compartment_list = list(model.state_compartments) or [None] * len(model.state_ids)
    for state_id, compartment, rhs, initial in zip(model.state_ids, compartment_list, model.rhs,
                                                   model.initial_values, strict=True):
        if compartment is None:
            document.parameter(state_id, None, constant=False)
            document.initial_assignment(state_id, initial)
        else:
            document.species(state_id, compartment, initial)
        document.rate_rule(state_id, rhs)
    return document.text()


# -- PEtab -------------------------------------------------------------------------------


def write_petab(directory: str | Path, model: SymbolicModel | ReactionNetwork, tables: PetabTables, *,
                name: str) -> Path:
    """Write a PEtab v1 problem: `model_{name}.xml`, `parameters_{name}.tsv`,
    `observables_{name}.tsv`, `conditions_{name}.tsv`, `measurements_{name}.tsv`
    and `{name}.yaml` in `directory` (created if missing).

    Returns:
        the YAML path.
    """
    files = {
        "sbml": f"model_{name}.xml",
        "parameters": f"parameters_{name}.tsv",
        "observables": f"observables_{name}.tsv",
        "conditions": f"conditions_{name}.tsv",
        "measurements": f"measurements_{name}.tsv",
    }
    return write_petab_folder(directory, sbml_string(model), tables, files=files, yaml_name=f"{name}.yaml")


def write_petab_folder(directory: str | Path, sbml: str, tables: PetabTables, *,
                       files: Mapping[str, str] | None = None, yaml_name: str = "problem.yaml") -> Path:
    """Write a one-model PEtab v1 problem from SBML text and its four tables.

    Args:
        directory: the folder (created if missing).
        sbml: the SBML text.
        tables: the tables; each is written as TSV without an index.
        files: file names by key (`sbml`, `parameters`, `observables`,
            `conditions`, `measurements`); default `model.xml` and `<key>.tsv`.
        yaml_name: the YAML file's name.

    Returns:
        the YAML path.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    files = {"sbml": "model.xml", **{key: f"{key}.tsv" for key in _TABLE_KEYS}, **(files or {})}
    (directory / files["sbml"]).write_text(sbml, encoding="utf-8")
    for key in _TABLE_KEYS:
        table: pd.DataFrame = getattr(tables, key)
        table.to_csv(directory / files[key], sep="\t", index=False, lineterminator="\n")
    content = {
        "format_version": 1,
        "parameter_file": files["parameters"],
        "problems": [{
            "sbml_files": [files["sbml"]],
            "observable_files": [files["observables"]],
            "condition_files": [files["conditions"]],
            "measurement_files": [files["measurements"]],
        }],
    }
    yaml_path = directory / yaml_name
    yaml_path.write_text(yaml.safe_dump(content, sort_keys=False), encoding="utf-8")
    return yaml_path
