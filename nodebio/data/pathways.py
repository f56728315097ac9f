"""Pathway structure as data: reactions, their stoichiometry, and a registry of reaction lists.

:class:`Reaction` is one step of a pathway (substrates and products with their coefficients,
catalysing enzymes, modifiers, lumped intermediates). :data:`REACTIONS` holds the reaction list of
each named dataset; :func:`register_reactions` adds one (the synthetic pathway registers its own),
:func:`reactions_for` looks one up. :func:`stoichiometry` turns a list into the matrix S
(states x reactions) for given states and controls, and names any state or enzyme a reaction needs
that the data lack. :func:`pathway_chain` unrolls a list into the chain of single steps, lumped
intermediates included, that the pathway figure draws.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np

from nodebio.errors import DataValidationError, UsageError, unknown_message

__all__ = ["Reaction", "REACTIONS", "mevalonate_pathway", "register_reactions", "reactions_for",
           "stoichiometry", "pathway_chain", "LIMONENE_STEP"]

@dataclass(frozen=True)
class Reaction:
    """One step of a pathway, as the structured neural ODE uses it.

    name : a label, e.g. ``"HMGR"``.
    substrates, products : ``{state: stoichiometric coefficient}`` (positive numbers, molecules
        consumed or made per turnover), or a sequence of names (coefficient 1). A reaction without
        substrates is a supply from the host; one without products is a drain.
    enzymes : the controls (protein columns) that catalyse it; its flux sees only these and its
        substrates (and ``modifiers``).
    modifiers : further states the flux depends on without consuming them (e.g. feedback).
    lumped : unmeasured intermediates this step stands for (documentation; e.g. Mev-PP in
        PMK/PMD), so that a reader sees what a lumped step hides.
    """

    name: str
    substrates: Mapping[str, float] = field(default_factory=dict)
    products: Mapping[str, float] = field(default_factory=dict)
    enzymes: tuple[str, ...] = ()
    modifiers: tuple[str, ...] = ()
    lumped: tuple[str, ...] = ()

    def __post_init__(self):
        for side in ("substrates", "products"):
            value = getattr(self, side)
            if not isinstance(value, Mapping):
                value = {name: 1.0 for name in value}
            bad = {k: v for k, v in value.items() if not (np.isfinite(v) and v > 0)}
            if bad:
                raise DataValidationError(f"Reaction {self.name!r}: stoichiometric coefficients of its {side} must be "
                                 f"positive numbers, got {bad}.")
            object.__setattr__(self, side, dict(value))
        object.__setattr__(self, "enzymes", tuple(self.enzymes))
        object.__setattr__(self, "modifiers", tuple(self.modifiers))
        object.__setattr__(self, "lumped", tuple(self.lumped))
        if not self.substrates and not self.products:
            raise DataValidationError(f"Reaction {self.name!r} has neither substrates nor products.")

    @property
    def inputs(self) -> tuple[str, ...]:
        """The states the flux depends on: substrates then modifiers, without repeats."""
        return tuple(dict.fromkeys([*self.substrates, *self.modifiers]))

    def to_dict(self) -> dict:
        """Plain-Python form (for checkpoints); :meth:`from_dict` inverts it."""
        return {"name": self.name, "substrates": dict(self.substrates), "products": dict(self.products),
                "enzymes": list(self.enzymes), "modifiers": list(self.modifiers), "lumped": list(self.lumped)}

    @classmethod
    def from_dict(cls, values: Mapping) -> "Reaction":
        return cls(values["name"], dict(values.get("substrates", {})), dict(values.get("products", {})),
                   tuple(values.get("enzymes", ())), tuple(values.get("modifiers", ())),
                   tuple(values.get("lumped", ())))

    def __str__(self) -> str:
        def side(terms):
            return " + ".join(f"{'' if c == 1 else f'{c:g} '}{s}" for s, c in terms.items()) or "∅"

        by = f" [{', '.join(self.enzymes)}]" if self.enzymes else " [host]"
        return f"{self.name}: {side(self.substrates)} -> {side(self.products)}{by}"


def mevalonate_pathway(product_step: Reaction, with_mev_p: bool = True) -> tuple[Reaction, ...]:
    """The heterologous mevalonate pathway from acetyl-CoA to IPP/DMAPP, then ``product_step``.

    with_mev_p : Mev-P is a state (MK and PMK/PMD are two steps); otherwise MK/PMK/PMD is one step
        that lumps Mev-P and Mev-PP.
    """
    steps = [
        # The host supplies acetyl-CoA (central metabolism); no pathway enzyme catalyses it.
        Reaction("acetyl-CoA supply", products={"Acetyl-CoA": 1.0}, modifiers=("Acetyl-CoA",)),
        # 2 acetyl-CoA -(AtoB)-> acetoacetyl-CoA; + acetyl-CoA -(HMGS)-> HMG-CoA
        Reaction("AtoB/HMGS", {"Acetyl-CoA": 3.0}, {"HMG-CoA": 1.0}, ("AtoB", "HMGS"),
                 lumped=("Acetoacetyl-CoA",)),
        Reaction("HMGR", {"HMG-CoA": 1.0}, {"Mevalonate": 1.0}, ("HMGR",)),
    ]
    if with_mev_p:
        steps += [
            Reaction("MK", {"Mevalonate": 1.0}, {"Mev-P": 1.0}, ("MK",)),
            Reaction("PMK/PMD", {"Mev-P": 1.0}, {"IPP/DMAPP": 1.0}, ("PMK", "PMD"), lumped=("Mev-PP",)),
        ]
    else:
        steps.append(Reaction("MK/PMK/PMD", {"Mevalonate": 1.0}, {"IPP/DMAPP": 1.0}, ("MK", "PMK", "PMD"),
                              lumped=("Mev-P", "Mev-PP")))
    return tuple(steps) + (product_step,)


#: The limonene branch: IPP/DMAPP -(Idi, GPPS)-> GPP -(limonene synthase)-> limonene, GPP lumped.
LIMONENE_STEP = Reaction("Idi/GPPS/LS", {"IPP/DMAPP": 2.0}, {"Limonene": 1.0},
                          ("Idi", "GPPS", "Limonene Synthase"), lumped=("GPP",))

#: The reactions of each pathway, as data: acetyl-CoA -> HMG-CoA -> mevalonate -> Mev-P ->
#: IPP/DMAPP -> (GPP ->) product. Unmeasured intermediates (acetoacetyl-CoA, Mev-PP, GPP, and
#: Mev-P for isopentenol, whose series is left out of the states) are lumped into the step that
#: makes and consumes them: their pools are assumed small and fast, so the lumped step's flux is
#: the flux through them. :mod:`nodebio.synthetic` registers ``"synthetic"`` (its measured states)
#: with :func:`register_reactions`. :func:`stoichiometry` turns a list into a matrix.
REACTIONS: dict[str, tuple[Reaction, ...]] = {
    "limonene": mevalonate_pathway(LIMONENE_STEP, with_mev_p=True),
    "isopentenol": mevalonate_pathway(Reaction("NudB", {"IPP/DMAPP": 1.0}, {"Isopentenol": 1.0}, ("NudB",)),
                                      with_mev_p=False),
}


def register_reactions(name: str, reactions: Sequence[Reaction]) -> None:
    """Make ``reactions`` the reaction list of datasets named ``name`` (see :func:`reactions_for`)."""
    reactions = tuple(reactions)
    bad = [r for r in reactions if not isinstance(r, Reaction)]
    if bad or not reactions:
        raise UsageError(f"register_reactions({name!r}, ...) needs a non-empty list of Reaction, got {reactions!r}.")
    REACTIONS[name] = reactions


def reactions_for(name: str) -> tuple[Reaction, ...]:
    """The reaction list of a dataset by its name (a key of :data:`REACTIONS`)."""
    if name not in REACTIONS:
        raise DataValidationError(
            f"No reaction list for dataset {name!r} (known: {', '.join(REACTIONS)}). Pass reactions= "
            "explicitly: a list of nodebio.data.Reaction naming its states and controls, or read one from a file "
            "with nodebio.data.read_reactions (YAML or SBML; `nodebio train --reactions FILE`)."
        )
    return REACTIONS[name]


def stoichiometry(reactions: Sequence[Reaction], states: Sequence[str], controls: Sequence[str]) -> np.ndarray:
    """The stoichiometric matrix S, shape (n_states, n_reactions): S[i, j] is the net number of
    molecules of state i that one turnover of reaction j makes (negative: consumes).

    Every state, modifier and enzyme a reaction names must be among ``states``/``controls``;
    otherwise :class:`DataValidationError` names the reaction, the missing name and the fix.
    """
    states, controls = list(states), list(controls)
    if not reactions:
        raise DataValidationError("The reaction list is empty: a structured model needs at least one reaction.")
    names = [r.name for r in reactions]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise DataValidationError(f"Reaction names must be unique; repeated: {', '.join(repeated)}.")
    S = np.zeros((len(states), len(reactions)))
    for j, reaction in enumerate(reactions):
        for kind, names_, known in (("state", [*reaction.substrates, *reaction.products, *reaction.modifiers], states),
                                    ("enzyme", list(reaction.enzymes), controls)):
            missing = [n for n in names_ if n not in known]
            if missing:
                raise DataValidationError(
                    f"Reaction {reaction.name!r} names {kind}(s) absent from the data: "
                    + unknown_message(kind, missing, known)
                    + f" Add the column to the dataset's {'states' if kind == 'state' else 'controls'}, or edit the "
                    "reaction (lump the missing metabolite into a neighbouring step, or drop the enzyme)."
                )
        for s, c in reaction.substrates.items():
            S[states.index(s), j] -= c
        for s, c in reaction.products.items():
            S[states.index(s), j] += c
    return S



def pathway_chain(reactions: Sequence[Reaction]) -> list[tuple[str, str, tuple[str, ...]]]:
    """The reactions unrolled into single steps ``(substrate, product, enzymes)``, for drawing.

    A reaction that lumps intermediates becomes one step per intermediate plus one: its first
    substrate -> each lumped intermediate in turn -> its first product. Its enzymes are shared out
    in order, one per step from the end, the first step taking any extra ones (Idi and GPPS make
    GPP, limonene synthase limonene). Supplies from the host (no substrate) are left out.
    """
    chain = []
    for reaction in reactions:
        if not reaction.substrates or not reaction.products:
            continue
        nodes = [next(iter(reaction.substrates)), *reaction.lumped, next(iter(reaction.products))]
        steps = len(nodes) - 1
        enzymes = list(reaction.enzymes)
        if len(enzymes) >= steps:
            groups = [tuple(enzymes[:len(enzymes) - steps + 1])] + [(e,) for e in enzymes[len(enzymes) - steps + 1:]]
        else:
            groups = [tuple(enzymes)] * steps
        chain.extend((a, b, g) for a, b, g in zip(nodes[:-1], nodes[1:], groups))
    return chain
