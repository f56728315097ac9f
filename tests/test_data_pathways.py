"""Reactions as data: the stoichiometry, errors naming what is missing, the drawn chain."""

from __future__ import annotations

import numpy as np
import pytest

from nodebio import data, synthetic
from nodebio.errors import UsageError
from nodebio.models.node import NeuralODEModel


SMALL = dict(structure="structured", flux_width=8, depth=2, iterations=12, eval_every=4, windows_per_strain=2,
             device="cpu")


def test_stoichiometry_of_the_limonene_pathway():
    spec = data.PATHWAYS["limonene"]
    reactions = data.reactions_for("limonene")
    S = data.stoichiometry(reactions, spec.states, spec.controls)
    assert S.shape == (len(spec.states), len(reactions))
    col = {r.name: j for j, r in enumerate(reactions)}
    row = {s: i for i, s in enumerate(spec.states)}
    assert S[row["HMG-CoA"], col["HMGR"]] == -1 and S[row["Mevalonate"], col["HMGR"]] == 1
    assert S[row["Acetyl-CoA"], col["AtoB/HMGS"]] == -3
    assert S[row["IPP/DMAPP"], col["Idi/GPPS/LS"]] == -2 and S[row["Limonene"], col["Idi/GPPS/LS"]] == 1
    # every reaction column touches only its own substrates and products
    for j, reaction in enumerate(reactions):
        touched = {spec.states[i] for i in np.flatnonzero(S[:, j])}
        assert touched == set(reaction.substrates) | set(reaction.products)
    # isopentenol lumps Mev-P (not among its states) into one step
    iso = data.PATHWAYS["isopentenol"]
    S_iso = data.stoichiometry(data.reactions_for("isopentenol"), iso.states, iso.controls)
    assert S_iso.shape == (len(iso.states), 5)
    step = next(r for r in data.reactions_for("isopentenol") if "Mev-P" in r.lumped)
    assert set(step.enzymes) == {"MK", "PMK", "PMD"}


def test_stoichiometry_names_what_is_missing():
    spec = data.PATHWAYS["isopentenol"]
    with pytest.raises(data.DataValidationError, match=r"'MK'.*'Mev-P'.*Add the column"):
        data.stoichiometry(data.reactions_for("limonene"), spec.states, spec.controls)
    bad = [data.Reaction("HMGR", {"HMG-CoA": 1}, {"Mevalonate": 1}, ("HMG reductase",))]
    with pytest.raises(data.DataValidationError, match=r"enzyme\(s\) absent.*'HMG reductase'.*Available: AtoB"):
        data.stoichiometry(bad, spec.states, spec.controls)
    with pytest.raises(ValueError, match="positive"):
        data.Reaction("x", {"HMG-CoA": -1}, {"Mevalonate": 1})
    with pytest.raises(data.DataValidationError, match="No reaction list for dataset 'mine'"):
        data.reactions_for("mine")
    # through the model: a clear error at fit time, naming the state
    prepared = data.prepare(synthetic.make_dataset(3, seed=1), ["S1", "S2"], ["S3"], n_points=30)
    wrong = [data.Reaction("GPPS", {"IPP/DMAPP": 2}, {"GPP": 1}, ("GPPS",))]
    with pytest.raises(data.DataValidationError, match="'GPP'"):
        NeuralODEModel(**SMALL, reactions=wrong).fit(prepared, progress=False)


def test_the_drawn_chain_unrolls_lumped_intermediates():
    chain = data.pathway_chain(data.reactions_for("limonene"))
    assert [a for a, _, _ in chain] == ["Acetyl-CoA", "Acetoacetyl-CoA", "HMG-CoA", "Mevalonate", "Mev-P", "Mev-PP",
                                        "IPP/DMAPP", "GPP"]
    assert chain[-1] == ("GPP", "Limonene", ("Limonene Synthase",))
    assert chain[-2] == ("IPP/DMAPP", "GPP", ("Idi", "GPPS"))
    iso = data.pathway_chain(data.reactions_for("isopentenol"))
    assert [e for _, _, e in iso[3:6]] == [("MK",), ("PMK",), ("PMD",)]  # one step lumps Mev-P and Mev-PP


def test_reaction_lists_are_registered_by_name():
    assert data.reactions_for("synthetic") == data.reactions_for("limonene")  # synthetic registers its own
    mine = (data.Reaction("HMGR", {"HMG-CoA": 1}, {"Mevalonate": 1}, ("HMGR",)),)
    data.register_reactions("mine", mine)
    try:
        assert data.reactions_for("mine") == mine
    finally:
        del data.REACTIONS["mine"]
    with pytest.raises(UsageError, match="non-empty list of Reaction"):
        data.register_reactions("mine", [])
