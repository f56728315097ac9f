"""SBML export of the kinetic model (:meth:`nodebio.models.kinetic.CostelloKineticModel.to_sbml`).

Builds an SBML Level 3 Version 2 document with python-libsbml (imported here only):
one compartment of size 1, the six measured species, the three held species (boundary and
constant), one parameter per constant, enzyme levels as parameters (constant, or set by a
piecewise-linear assignment rule in ``time``, hours), and the nine reactions of the rate laws.
:func:`problems` runs libsbml's consistency checks.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np
from nodebio.errors import SBMLError

__all__ = ["SPECIES_IDS", "ENZYME_IDS", "document", "problems", "piecewise_linear"]

#: SBML ids of the species (measured, then held constant).
SPECIES_IDS = {"Acetyl-CoA": "Acetyl_CoA", "HMG-CoA": "HMG_CoA", "Mevalonate": "Mevalonate", "Mev-P": "Mev_P",
               "IPP/DMAPP": "IPP_DMAPP", "Limonene": "Limonene", "Acetoacetyl-CoA": "Acetoacetyl_CoA",
               "Mev-PP": "Mev_PP", "GPP": "GPP"}
#: SBML ids of the enzyme levels (the seven inputs, then the two held constant).
ENZYME_IDS = {"AtoB": "E_AtoB", "HMGS": "E_HMGS", "HMGR": "E_HMGR", "MK": "E_MK", "PMK": "E_PMK", "PMD": "E_PMD",
              "Limonene Synthase": "E_Limonene_Synthase", "Idi": "E_Idi", "GPPS": "E_GPPS"}
_HELD_SPECIES = ("Acetoacetyl-CoA", "Mev-PP", "GPP")

#: (id, reactants {species: stoichiometry}, products, modifiers, kinetic law); species by SBML id.
_REACTIONS = (
    ("acetyl_CoA_supply", {}, {"Acetyl_CoA": 1}, (), "Vin"),
    ("AtoB", {"Acetyl_CoA": 1}, {"Acetoacetyl_CoA": 1}, (),
     "k11 * E_AtoB * Acetyl_CoA / (k12 + k13 * Acetyl_CoA)"),
    ("HMGS", {"Acetyl_CoA": 1, "Acetoacetyl_CoA": 1}, {"HMG_CoA": 1}, (),
     "k21 * E_HMGS * Acetyl_CoA * Acetoacetyl_CoA * ks3 / (k22 * Acetoacetyl_CoA + k23 * Acetyl_CoA"
     " + k24 * Acetyl_CoA * Acetoacetyl_CoA)"),
    ("HMGR", {"HMG_CoA": 1}, {"Mevalonate": 1}, ("Acetyl_CoA", "Acetoacetyl_CoA"),
     "k31 * E_HMGR * HMG_CoA / (k32 * Acetyl_CoA + k33 * Acetoacetyl_CoA + k34 * HMG_CoA + k35)"),
    ("MK", {"Mevalonate": 1}, {"Mev_P": 1}, ("GPP",),
     "k41 * E_MK * Mevalonate / (k42 * GPP + k43 * Mev_P + k44 * Mevalonate + k45)"),
    ("PMK", {"Mev_P": 1}, {"Mev_PP": 1}, (), "k51 * E_PMK * Mev_P / (k52 + Mev_P)"),
    ("PMD", {"Mev_PP": 1}, {"IPP_DMAPP": 1}, ("Mev_P", "Mevalonate"),
     "k61 * E_PMD * Mev_PP / (k62 * Mev_P + k63 * Mevalonate + k64 * Mev_PP + k65)"),
    # IPP + DMAPP -> GPP, both drawn from the pooled IPP/DMAPP (dp/dt = v6 - 2 v8)
    ("GPPS", {"IPP_DMAPP": 2}, {"GPP": 1}, (),
     "k81 * E_GPPS * IPP_DMAPP * IPP_DMAPP / (k82 + k83 * IPP_DMAPP + k84 * IPP_DMAPP + IPP_DMAPP * IPP_DMAPP)"),
    ("LS", {"GPP": 1}, {"Limonene": 1}, (), "k91 * E_Limonene_Synthase * GPP / (k92 + GPP)"),
)


def _libsbml():
    try:
        import libsbml
    except ImportError:
        raise ImportError("The SBML export needs python-libsbml: pip install python-libsbml "
                          "(pinned in requirements.lock).") from None
    return libsbml


def _check(code, what):
    libsbml = _libsbml()
    if code != libsbml.LIBSBML_OPERATION_SUCCESS:
        raise SBMLError(f"libsbml could not {what}: {libsbml.OperationReturnValue_toString(code)}")


def piecewise_linear(times: np.ndarray, values: np.ndarray, rtol: float = 1e-10) -> tuple[np.ndarray, np.ndarray]:
    """The knots of the piecewise-linear function through (times, values), collinear points
    dropped (the function is unchanged to ``rtol`` of the values' scale)."""
    times, values = np.asarray(times, float), np.asarray(values, float)
    scale = max(float(np.abs(values).max()), 1e-300)
    keep = [0]
    for i in range(1, len(times) - 1):
        k = keep[-1]
        line = values[k] + (values[i + 1] - values[k]) * (times[i] - times[k]) / (times[i + 1] - times[k])
        if abs(values[i] - line) > rtol * scale:
            keep.append(i)
    keep.append(len(times) - 1)
    knots_t, knots_v = times[keep], values[keep]
    if np.abs(np.interp(times, knots_t, knots_v) - values).max() > 10 * rtol * scale:
        return times, values  # drift: keep every point
    return knots_t, knots_v


def _piecewise_formula(times: np.ndarray, values: np.ndarray) -> str:
    t, v = piecewise_linear(times, values)
    if len(t) == 1:
        return repr(float(v[0]))
    pieces = []
    for j in range(len(t) - 1):
        slope = (v[j + 1] - v[j]) / (t[j + 1] - t[j])
        pieces.append(f"{float(v[j])!r} + {float(slope)!r} * (time - {float(t[j])!r})")
    # segment j holds for time < t[j+1]; the last extends beyond both ends' segments as simulate's does
    args = []
    for j, piece in enumerate(pieces[:-1]):
        args += [piece, f"time < {float(t[j + 1])!r}"]
    args.append(pieces[-1])
    return f"piecewise({', '.join(args)})" if len(pieces) > 1 else pieces[0]


def document(params: Mapping[str, float], initial: Mapping[str, float], enzymes: Mapping[str, np.ndarray],
             times: np.ndarray | None, strain: str | None = None, units: Mapping[str, str] | None = None) -> str:
    """The SBML document as a string.

    params : the 39 parameters by name (:data:`nodebio.models.kinetic.PARAMETER_NAMES`);
    initial : initial values of the six measured species by state name; enzymes : per measured
    enzyme, its values on ``times`` (piecewise-linear rule), or one number when ``times`` is None
    (constant).
    """
    libsbml = _libsbml()
    doc = libsbml.SBMLDocument(3, 2)
    model = doc.createModel()
    model.setId("costello2018_limonene_kinetic" + (f"_{_sid(strain)}" if strain else ""))
    model.setName("Michaelis-Menten model of the limonene pathway (Costello & Garcia Martin 2018), fitted by "
                  "nodebio" + (f"; enzyme levels of strain {strain}" if strain else "; enzyme levels constant"))
    _add_units_and_compartment(libsbml, model)
    _add_species(model, params, initial, dict(units or {}))
    _add_parameters(model, params)
    _add_enzyme_inputs(libsbml, model, enzymes, times)
    _add_reactions(libsbml, model)
    return libsbml.writeSBMLToString(doc)


def _add_units_and_compartment(libsbml, model) -> None:
    hour = model.createUnitDefinition()
    hour.setId("hour")
    unit = hour.createUnit()
    for setter, value in ((unit.setKind, libsbml.UNIT_KIND_SECOND), (unit.setExponent, 1), (unit.setScale, 0),
                          (unit.setMultiplier, 3600.0)):
        _check(setter(value), "define the hour")
    _check(model.setTimeUnits("hour"), "set the time unit")
    compartment = model.createCompartment()
    compartment.setId("cell")
    compartment.setSize(1.0)
    compartment.setSpatialDimensions(3)
    compartment.setConstant(True)


def _add_species(model, params: Mapping[str, float], initial: Mapping[str, float], units: dict) -> None:
    """The six measured species (their initial values) and the three held ones (boundary, constant)."""
    for name, sid in SPECIES_IDS.items():
        species = model.createSpecies()
        species.setId(sid)
        held = name in _HELD_SPECIES
        species.setName(name + (" (held constant)" if held else f" ({units.get(name, '?')})"))
        species.setCompartment("cell")
        species.setInitialConcentration(float(params[name]) if held else float(initial[name]))
        species.setHasOnlySubstanceUnits(False)
        species.setBoundaryCondition(held)
        species.setConstant(held)


def _add_parameters(model, params: Mapping[str, float]) -> None:
    """The kinetic constants and the held enzyme levels, constant."""
    for name, value in params.items():
        if name in _HELD_SPECIES:
            continue
        parameter = model.createParameter()
        parameter.setId(ENZYME_IDS.get(name, name))
        if name in ENZYME_IDS:
            parameter.setName(f"{name} level (held constant)")
        parameter.setValue(float(value))
        parameter.setConstant(True)


def _add_enzyme_inputs(libsbml, model, enzymes: Mapping[str, np.ndarray], times: np.ndarray | None) -> None:
    """The measured enzyme levels: piecewise-linear assignment rules over ``times``, or constants."""
    for name, values in enzymes.items():
        parameter = model.createParameter()
        sid = ENZYME_IDS[name]
        parameter.setId(sid)
        parameter.setName(f"{name} level (peak area)")
        if times is None:
            parameter.setValue(float(np.asarray(values, float)))
            parameter.setConstant(True)
            continue
        values = np.asarray(values, float)
        parameter.setValue(float(values[0]))
        parameter.setConstant(False)
        rule = model.createAssignmentRule()
        rule.setVariable(sid)
        math = libsbml.parseL3Formula(_piecewise_formula(np.asarray(times, float), values))
        if math is None:
            raise SBMLError(f"libsbml could not parse the input of {name}: {libsbml.getLastParseL3Error()}")
        _check(rule.setMath(math), f"set the input of {name}")


def _add_reactions(libsbml, model) -> None:
    """The nine reactions with their rate laws (:data:`_REACTIONS`)."""
    for rid, reactants, products, modifiers, law in _REACTIONS:
        reaction = model.createReaction()
        reaction.setId(rid)
        reaction.setReversible(False)
        for side, create in ((reactants, reaction.createReactant), (products, reaction.createProduct)):
            for sid, stoichiometry in side.items():
                ref = create()
                ref.setSpecies(sid)
                ref.setStoichiometry(float(stoichiometry))
                ref.setConstant(True)
        for sid in modifiers:
            reaction.createModifier().setSpecies(sid)
        kinetic_law = reaction.createKineticLaw()
        math = libsbml.parseL3Formula(law)
        if math is None:
            raise SBMLError(f"libsbml could not parse the rate law of {rid}: {libsbml.getLastParseL3Error()}")
        _check(kinetic_law.setMath(math), f"set the rate law of {rid}")


def problems(sbml: str, severity: str = "error") -> list[str]:
    """libsbml's consistency checks on a document: messages at ``severity`` (``"error"``, which
    includes fatal ones, or ``"warning"`` and above)."""
    libsbml = _libsbml()
    doc = libsbml.readSBMLFromString(sbml)
    doc.checkConsistency()
    floor = libsbml.LIBSBML_SEV_ERROR if severity == "error" else libsbml.LIBSBML_SEV_WARNING
    found = []
    for i in range(doc.getNumErrors()):
        error = doc.getError(i)
        if error.getSeverity() >= floor:
            found.append(f"{error.getSeverityAsString()} {error.getErrorId()} line {error.getLine()}: "
                         f"{error.getMessage().strip()}")
    return found


def _sid(text: str) -> str:
    out = "".join(c if c.isalnum() else "_" for c in str(text))
    return out if out and (out[0].isalpha() or out[0] == "_") else f"_{out}"
