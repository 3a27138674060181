"""Read an SBML model (Level 2/3, ODE semantics) into a `SymbolicModel`.

The MathML of every kinetic law, rule and initial assignment is read by walking
libsbml's AST into sympy; nothing is parsed from strings. Supported: species
(concentrations or amounts, boundary and constant species), constant
compartments, global and local parameters, assignment and rate rules, initial
assignments, function definitions (expanded), reactions with constant
stoichiometry, events without delay (triggers on time and state, assignments to
species, parameters and compartments, `initialValue`, `priority`,
`useValuesFromTriggerTime`; a parameter or compartment an event assigns becomes a
state with zero rate, and a compartment change keeps the amounts of the
concentration species in it, as SBML says). Algebraic rules, delays, fast
reactions, `rateOf`, conversion factors and compartment sizes given by rules
raise `UnsupportedFeatureError` naming the element.

Size: one reader: SBML's quantities (species, compartments, parameters, rules, initial
assignments, reactions, events) map onto each other (a compartment an event changes
becomes a state, a species' unit depends on its compartment), so they are read together.
"""

from __future__ import annotations

from pathlib import Path

import libsbml
import sympy as sp

from jakinfer.errors import InputError, UnsupportedFeatureError
from jakinfer.model.symbolic import TIME, ModelEvent, SymbolicModel, trigger_root

_MAX_RULE_DEPTH = 100


def read_sbml(path: str | Path) -> SymbolicModel:
    """Read an SBML file into a `SymbolicModel`.

    Raises:
        InputError: the file is missing or not valid SBML.
        UnsupportedFeatureError: the model uses an SBML feature listed above.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError("SBML model file not found", file=str(path))
    document = libsbml.readSBMLFromFile(str(path))
    return _model_from_document(document, str(path))


def read_sbml_string(text: str, source: str = "<string>") -> SymbolicModel:
    """Read SBML given as a string (`source` names it in error messages)."""
    return _model_from_document(libsbml.readSBMLFromString(text), source)


def _model_from_document(document: libsbml.SBMLDocument, source: str) -> SymbolicModel:
    errors = [
        document.getError(i)
        for i in range(document.getNumErrors())
        if document.getError(i).getSeverity() >= libsbml.LIBSBML_SEV_ERROR
    ]
    if errors:
        first = errors[0]
        raise InputError(
            f"not valid SBML: {first.getMessage().strip()}", file=source, row=first.getLine()
        )
    model = document.getModel()
    if model is None:
        raise InputError("the SBML document has no <model>", file=source)
    return _SBMLReader(model, source).read()


class _SBMLReader:
    def __init__(self, model: libsbml.Model, source: str) -> None:
        self.model = model
        self.source = source
        self.function_definitions = {
            fd.getId(): fd for fd in model.getListOfFunctionDefinitions()
        }

    # -- errors -----------------------------------------------------------------
    def unsupported(self, what: str, element_id: str | None = None,
                    element: libsbml.SBase | None = None) -> UnsupportedFeatureError:
        """The error for an unsupported feature: the row is the element's line in
        the file (where libsbml knows it), the column names the element."""
        return UnsupportedFeatureError(
            f"SBML feature not supported: {what}", file=self.source, **_location(element, element_id)
        )

    # -- math -------------------------------------------------------------------
    def math(self, node: libsbml.ASTNode | None, context: str) -> sp.Expr:
        if node is None:
            raise InputError(f"{context} has no math", file=self.source, column=context)
        return _ast_to_sympy(node, self, context, {})

    # -- model ------------------------------------------------------------------
    def read(self) -> SymbolicModel:
        model = self.model
        self._reject_unsupported()

        compartments = {c.getId(): c for c in model.getListOfCompartments()}
        species = {s.getId(): s for s in model.getListOfSpecies()}
        parameters = {p.getId(): p for p in model.getListOfParameters()}

        assignment_rules: dict[str, sp.Expr] = {}
        rate_rules: dict[str, sp.Expr] = {}
        for rule in model.getListOfRules():
            variable = rule.getVariable()
            if rule.isAssignment():
                assignment_rules[variable] = self.math(rule.getMath(), f"assignmentRule {variable}")
            elif rule.isRate():
                rate_rules[variable] = self.math(rule.getMath(), f"rateRule {variable}")
        for compartment_id in compartments:
            if compartment_id in assignment_rules or compartment_id in rate_rules:
                raise self.unsupported("compartment size changing in time", compartment_id,
                                       model.getRuleByVariable(compartment_id))

        initial_assignments = {
            ia.getSymbol(): self.math(ia.getMath(), f"initialAssignment {ia.getSymbol()}")
            for ia in model.getListOfInitialAssignments()
        }
        event_targets = self._event_targets(assignment_rules)
        # Parameters and compartments that events assign are states with zero rate.
        promoted = [q for q in (*compartments, *parameters) if q in event_targets and q not in rate_rules]

        # States: non-constant species without assignment rules, then rate-rule parameters.
        state_ids: list[str] = []
        state_compartments: list[str | None] = []
        for species_id, s in species.items():
            if species_id in assignment_rules:
                continue
            if s.getConstant() and species_id not in rate_rules:
                continue
            state_ids.append(species_id)
            state_compartments.append(s.getCompartment())
        for parameter_id in parameters:
            if parameter_id in rate_rules:
                state_ids.append(parameter_id)
                state_compartments.append(None)
        state_ids.extend(promoted)
        state_compartments.extend([None] * len(promoted))
        promoted_initial: dict[str, sp.Expr] = {}

        # Constant quantities: compartments, constant parameters, constant species.
        parameter_ids: list[str] = []
        parameter_defaults: list[float] = []
        derived: dict[str, sp.Expr] = dict(assignment_rules)
        for compartment_id, c in compartments.items():
            if compartment_id in promoted and compartment_id in initial_assignments:
                promoted_initial[compartment_id] = initial_assignments[compartment_id]
                continue
            if compartment_id in initial_assignments:
                derived[compartment_id] = initial_assignments[compartment_id]
                continue
            size = c.getSize() if c.isSetSize() else (1.0 if c.getSpatialDimensions() == 0 else float("nan"))
            if size != size:
                raise InputError("compartment has no size", file=self.source, **_location(c, compartment_id))
            if compartment_id in promoted:
                promoted_initial[compartment_id] = sp.Float(size)
                continue
            parameter_ids.append(compartment_id)
            parameter_defaults.append(float(size))
        for parameter_id, p in parameters.items():
            if parameter_id in assignment_rules or parameter_id in rate_rules:
                continue
            if parameter_id in promoted and parameter_id in initial_assignments:
                promoted_initial[parameter_id] = initial_assignments[parameter_id]
                continue
            if parameter_id in initial_assignments and initial_assignments[parameter_id].free_symbols:
                derived[parameter_id] = initial_assignments[parameter_id]
                continue
            # a number from an initial assignment is the parameter's value (conditions may override it)
            value = (float(initial_assignments[parameter_id]) if parameter_id in initial_assignments
                     else p.getValue() if p.isSetValue() else float("nan"))
            if value != value:
                raise InputError(
                    "parameter has neither a value nor an initial assignment",
                    file=self.source, **_location(p, parameter_id),
                )
            if parameter_id in promoted:
                promoted_initial[parameter_id] = sp.Float(value)
                continue
            parameter_ids.append(parameter_id)
            parameter_defaults.append(float(value))
        for species_id, s in species.items():
            if species_id in state_ids or species_id in assignment_rules:
                continue
            if species_id in initial_assignments:
                derived[species_id] = initial_assignments[species_id]
                continue
            parameter_ids.append(species_id)
            parameter_defaults.append(float(self._species_initial_value(s).xreplace(
                {sp.Symbol(c, real=True): sp.Float(v.getSize()) for c, v in compartments.items()})))

        expressions = _resolve_derived(derived, self.source)

        def substitute(expression: sp.Expr) -> sp.Expr:
            replacements = {s: expressions[s.name] for s in expression.free_symbols if s.name in expressions}
            return expression.xreplace(replacements) if replacements else expression

        # Right-hand side.
        rates = {state_id: sp.Integer(0) for state_id in state_ids}
        for reaction in model.getListOfReactions():
            self._add_reaction(reaction, rates, species, compartments, substitute)
        for variable, expression in rate_rules.items():
            rates[variable] = substitute(expression)
        for state_id in state_ids:
            s = species.get(state_id)
            if s is not None and s.getBoundaryCondition() and state_id not in rate_rules:
                rates[state_id] = sp.Integer(0)

        # Initial values.
        initial_values = []
        for state_id in state_ids:
            if state_id in initial_assignments:
                value = initial_assignments[state_id]
            elif state_id in promoted_initial:
                value = promoted_initial[state_id]
            elif state_id in species:
                value = self._species_initial_value(species[state_id])
            else:
                p = parameters[state_id]
                if not p.isSetValue():
                    raise InputError(
                        "rate-rule parameter has no initial value",
                        file=self.source, **_location(p, state_id),
                    )
                value = sp.Float(p.getValue())
            value = substitute(value).xreplace({sp.Symbol(q, real=True): v for q, v in promoted_initial.items()})
            initial_values.append(value.xreplace({TIME: sp.Integer(0)}))
        for state_id, value in zip(state_ids, initial_values, strict=True):
            bad = {s.name for s in value.free_symbols} & set(state_ids)
            if bad:
                raise self.unsupported(
                    f"initial value of {state_id} depends on other states {sorted(bad)}", state_id
                )

        events = tuple(self._event(event, species, substitute) for event in model.getListOfEvents())
        return SymbolicModel(
            name=model.getId() or Path(self.source).stem,
            state_ids=tuple(state_ids),
            parameter_ids=tuple(parameter_ids),
            parameter_defaults=tuple(parameter_defaults),
            rhs=tuple(rates[s] for s in state_ids),
            initial_values=tuple(initial_values),
            expressions=expressions,
            state_compartments=tuple(state_compartments),
            events=events,
        )

    # -- events -----------------------------------------------------------------
    def _event_targets(self, assignment_rules) -> set[str]:
        """The ids events assign, each checked not to be set by an assignment rule."""
        targets = set()
        for event in self.model.getListOfEvents():
            event_id = event.getId() or "event"
            for assignment in event.getListOfEventAssignments():
                variable = assignment.getVariable()
                if variable in assignment_rules:
                    raise self.unsupported(f"event assignment to {variable!r}, which an assignment rule sets",
                                           event_id, assignment)
                targets.add(variable)
        return targets

    def _event(self, event: libsbml.Event, species, substitute) -> ModelEvent:
        event_id = event.getId() or "event"
        trigger = event.getTrigger()
        if trigger is None:
            raise InputError("event has no trigger", file=self.source, **_location(event, event_id))
        condition = substitute(self.math(trigger.getMath(), f"trigger of event {event_id}"))
        try:
            root = trigger_root(condition)
        except ValueError:
            raise self.unsupported(f"event trigger {condition} (an equality or a condition without a root "
                                   "function)", event_id, trigger) from None
        priority = 0.0
        if event.isSetPriority() and event.getPriority().isSetMath():
            value = substitute(self.math(event.getPriority().getMath(), f"priority of event {event_id}"))
            if not value.is_number:
                raise self.unsupported(f"event priority that is not a number ({value})", event_id,
                                       event.getPriority())
            priority = float(value)
        assignments: dict[str, sp.Expr] = {}
        for assignment in event.getListOfEventAssignments():
            variable = assignment.getVariable()
            assignments[variable] = substitute(self.math(assignment.getMath(),
                                                         f"eventAssignment {variable} of event {event_id}"))
        # A compartment that changes keeps the amounts of the concentration species in it.
        for species_id, s in species.items():
            compartment = s.getCompartment()
            if (compartment in assignments and species_id not in assignments and not s.getHasOnlySubstanceUnits()
                    and not s.getConstant() and not s.getBoundaryCondition()):
                size = sp.Symbol(compartment, real=True)
                assignments[species_id] = sp.Symbol(species_id, real=True) * size / assignments[compartment]
        return ModelEvent(
            id=event_id,
            trigger=root,
            assignments=tuple(assignments.items()),
            initial_value=bool(trigger.getInitialValue()) if trigger.isSetInitialValue() else True,
            priority=priority,
            use_values_from_trigger_time=bool(event.getUseValuesFromTriggerTime()),
        )

    def _species_initial_value(self, s: libsbml.Species) -> sp.Expr:
        """The species' initial value in its own unit (amount if it has only
        substance units, else concentration), written in the compartment size
        symbol so that a condition overriding the size also changes it."""
        size = sp.Symbol(s.getCompartment(), real=True)
        if s.isSetInitialConcentration():
            concentration = sp.Float(s.getInitialConcentration())
            return concentration * size if s.getHasOnlySubstanceUnits() else concentration
        if s.isSetInitialAmount():
            amount = sp.Float(s.getInitialAmount())
            return amount if s.getHasOnlySubstanceUnits() else amount / size
        raise InputError("species has neither an initial amount, an initial concentration, nor an "
                         "initial assignment", file=self.source, **_location(s, s.getId()))

    def _add_reaction(self, reaction, rates, species, compartments, substitute) -> None:
        reaction_id = reaction.getId()
        if reaction.isSetFast() and reaction.getFast():
            raise self.unsupported("fast reaction", reaction_id, reaction)
        law = reaction.getKineticLaw()
        if law is None or law.getMath() is None:
            raise InputError("reaction has no kinetic law", file=self.source,
                             **_location(reaction, f"{reaction_id} kineticLaw"))
        local_values = {}
        for local in list(law.getListOfLocalParameters()) + list(law.getListOfParameters()):
            local_values[local.getId()] = sp.Float(local.getValue())
        flux = _ast_to_sympy(law.getMath(), self, f"kineticLaw of {reaction_id}", local_values)
        for references, sign in (
            (reaction.getListOfReactants(), -1),
            (reaction.getListOfProducts(), 1),
        ):
            for reference in references:
                species_id = reference.getSpecies()
                if species_id not in rates:
                    continue
                s = species[species_id]
                if s.getBoundaryCondition():
                    continue
                if reference.isSetStoichiometryMath():
                    raise self.unsupported("stoichiometryMath", reaction_id, reference)
                if reference.isSetId() and (not reference.getConstant()
                                            or self.model.getInitialAssignmentBySymbol(reference.getId())
                                            or self.model.getRuleByVariable(reference.getId())):
                    raise self.unsupported("stoichiometry set by a rule or initial assignment",
                                           reaction_id, reference)
                stoichiometry = reference.getStoichiometry() if reference.isSetStoichiometry() else 1.0
                change = sign * sp.nsimplify(stoichiometry) * flux
                if not s.getHasOnlySubstanceUnits():
                    change = change / sp.Symbol(s.getCompartment(), real=True)
                rates[species_id] = rates[species_id] + substitute(change)

    def _reject_unsupported(self) -> None:
        model = self.model
        for event in model.getListOfEvents():
            if event.isSetDelay():
                raise self.unsupported("event delays (write the delayed change as a second event)",
                                       event.getId() or "event", event.getDelay())
        for rule in model.getListOfRules():
            if rule.isAlgebraic():
                raise self.unsupported("algebraic rules", None, rule)
        if model.getNumConstraints():
            raise self.unsupported("constraints", None, model.getConstraint(0))
        for s in model.getListOfSpecies():
            if s.isSetConversionFactor():
                raise self.unsupported("conversion factors", s.getId(), s)
        if model.isSetConversionFactor():
            raise self.unsupported("conversion factors", "model", model)
        for element in (*model.getListOfCompartments(), *model.getListOfSpecies(),
                        *model.getListOfParameters(), *model.getListOfReactions()):
            if element.getId() == TIME.name:
                raise self.unsupported(
                    f"an element with id {TIME.name!r} (the name of the time symbol)", element.getId(), element
                )


def _location(element: libsbml.SBase | None, element_id: str | None) -> dict:
    """`row` (the element's line in the file, where libsbml knows it) and `column`
    (`<elementName> id`) for an `InputError` about one SBML element."""
    line = element.getLine() if element is not None else 0
    name = element.getElementName() if element is not None else ""
    label = f"<{name}> {element_id}" if name and element_id else (element_id or (f"<{name}>" if name else None))
    return {"row": line if line > 0 else None, "column": label}


def _resolve_derived(derived: dict[str, sp.Expr], source: str) -> dict[str, sp.Expr]:
    """Substitute derived quantities into each other until none refers to another."""
    resolved = dict(derived)
    for _ in range(_MAX_RULE_DEPTH):
        changed = False
        for key, expression in resolved.items():
            replacements = {s: resolved[s.name] for s in expression.free_symbols if s.name in resolved}
            if replacements:
                resolved[key] = expression.xreplace(replacements)
                changed = True
        if not changed:
            return resolved
    raise InputError("assignment rules / initial assignments form a cycle", file=source)


_BINARY_OPS = {
    libsbml.AST_POWER: lambda a, b: a**b,
    libsbml.AST_FUNCTION_POWER: lambda a, b: a**b,
    libsbml.AST_DIVIDE: lambda a, b: a / b,
    libsbml.AST_RELATIONAL_EQ: sp.Eq,
    libsbml.AST_RELATIONAL_NEQ: sp.Ne,
    libsbml.AST_RELATIONAL_LT: sp.StrictLessThan,
    libsbml.AST_RELATIONAL_LEQ: sp.LessThan,
    libsbml.AST_RELATIONAL_GT: sp.StrictGreaterThan,
    libsbml.AST_RELATIONAL_GEQ: sp.GreaterThan,
}

_UNARY_OPS = {
    libsbml.AST_FUNCTION_EXP: sp.exp,
    libsbml.AST_FUNCTION_LN: sp.log,
    libsbml.AST_FUNCTION_ABS: sp.Abs,
    libsbml.AST_FUNCTION_FLOOR: sp.floor,
    libsbml.AST_FUNCTION_CEILING: sp.ceiling,
    libsbml.AST_FUNCTION_SIN: sp.sin,
    libsbml.AST_FUNCTION_COS: sp.cos,
    libsbml.AST_FUNCTION_TAN: sp.tan,
    libsbml.AST_FUNCTION_ARCSIN: sp.asin,
    libsbml.AST_FUNCTION_ARCCOS: sp.acos,
    libsbml.AST_FUNCTION_ARCTAN: sp.atan,
    libsbml.AST_FUNCTION_SINH: sp.sinh,
    libsbml.AST_FUNCTION_COSH: sp.cosh,
    libsbml.AST_FUNCTION_TANH: sp.tanh,
    libsbml.AST_FUNCTION_ARCSINH: sp.asinh,
    libsbml.AST_FUNCTION_ARCCOSH: sp.acosh,
    libsbml.AST_FUNCTION_ARCTANH: sp.atanh,
    libsbml.AST_FUNCTION_SEC: sp.sec,
    libsbml.AST_FUNCTION_CSC: sp.csc,
    libsbml.AST_FUNCTION_COT: sp.cot,
    libsbml.AST_LOGICAL_NOT: sp.Not,
}

_UNSUPPORTED_AST = {
    libsbml.AST_FUNCTION_DELAY: "delay()",
    libsbml.AST_FUNCTION_RATE_OF: "rateOf()",
    libsbml.AST_NAME_AVOGADRO: None,
}


def _ast_to_sympy(node: libsbml.ASTNode, reader: _SBMLReader, context: str, bound: dict) -> sp.Expr:
    kind = node.getType()
    children = [node.getChild(i) for i in range(node.getNumChildren())]

    def walk(child):
        return _ast_to_sympy(child, reader, context, bound)

    if kind in (libsbml.AST_INTEGER,):
        return sp.Integer(node.getInteger())
    if kind in (libsbml.AST_REAL, libsbml.AST_REAL_E):
        value = node.getReal()
        if value != value:
            return sp.nan
        if value in (float("inf"), float("-inf")):
            return sp.oo if value > 0 else -sp.oo
        return sp.Float(value, 17)
    if kind == libsbml.AST_RATIONAL:
        return sp.Rational(node.getNumerator(), node.getDenominator())
    if kind == libsbml.AST_NAME_TIME:
        return TIME
    if kind == libsbml.AST_NAME_AVOGADRO:
        return sp.Float(6.02214076e23)
    if kind == libsbml.AST_CONSTANT_E:
        return sp.E
    if kind == libsbml.AST_CONSTANT_PI:
        return sp.pi
    if kind == libsbml.AST_CONSTANT_TRUE:
        return sp.true
    if kind == libsbml.AST_CONSTANT_FALSE:
        return sp.false
    if kind == libsbml.AST_NAME:
        name = node.getName()
        if name in bound:
            return bound[name]
        return sp.Symbol(name, real=True)
    if kind in _UNSUPPORTED_AST:
        raise reader.unsupported(_UNSUPPORTED_AST[kind] or node.getName(), context)
    if kind == libsbml.AST_PLUS:
        return sp.Add(*[walk(c) for c in children]) if children else sp.Integer(0)
    if kind == libsbml.AST_TIMES:
        return sp.Mul(*[walk(c) for c in children]) if children else sp.Integer(1)
    if kind == libsbml.AST_MINUS:
        if len(children) == 1:
            return -walk(children[0])
        return walk(children[0]) - walk(children[1])
    if kind in _BINARY_OPS:
        return _BINARY_OPS[kind](walk(children[0]), walk(children[1]))
    if kind in _UNARY_OPS:
        return _UNARY_OPS[kind](walk(children[0]))
    if kind == libsbml.AST_FUNCTION_LOG:
        if len(children) == 2:
            return sp.log(walk(children[1]), walk(children[0]))
        return sp.log(walk(children[0]), 10)
    if kind == libsbml.AST_FUNCTION_ROOT:
        if len(children) == 2:
            return walk(children[1]) ** (1 / walk(children[0]))
        return sp.sqrt(walk(children[0]))
    if kind == libsbml.AST_LOGICAL_AND:
        return sp.And(*[walk(c) for c in children])
    if kind == libsbml.AST_LOGICAL_OR:
        return sp.Or(*[walk(c) for c in children])
    if kind == libsbml.AST_LOGICAL_XOR:
        return sp.Xor(*[walk(c) for c in children])
    if kind == libsbml.AST_FUNCTION_MAX:
        return sp.Max(*[walk(c) for c in children])
    if kind == libsbml.AST_FUNCTION_MIN:
        return sp.Min(*[walk(c) for c in children])
    if kind == libsbml.AST_FUNCTION_REM:
        return sp.Mod(walk(children[0]), walk(children[1]))
    if kind == libsbml.AST_FUNCTION_QUOTIENT:
        return sp.floor(walk(children[0]) / walk(children[1]))
    if kind == libsbml.AST_FUNCTION_PIECEWISE:
        pieces = []
        for i in range(0, len(children) - 1, 2):
            pieces.append((walk(children[i]), walk(children[i + 1])))
        if len(children) % 2 == 1:
            pieces.append((walk(children[-1]), True))
        return sp.Piecewise(*pieces)
    if kind == libsbml.AST_FUNCTION:
        name = node.getName()
        definition = reader.function_definitions.get(name)
        if definition is None:
            raise InputError(f"call of undefined function {name!r}", file=reader.source, column=context)
        arguments = [walk(c) for c in children]
        names = [definition.getArgument(i).getName() for i in range(definition.getNumArguments())]
        if len(names) != len(arguments):
            raise InputError(
                f"function {name!r} takes {len(names)} arguments, got {len(arguments)}",
                file=reader.source, column=context,
            )
        body = definition.getBody()
        return _ast_to_sympy(body, reader, f"functionDefinition {name}", dict(zip(names, arguments, strict=True)))
    if kind == libsbml.AST_LAMBDA:
        raise reader.unsupported("lambda outside a function definition", context)
    raise reader.unsupported(f"MathML element {node.getName() or kind}", context)
