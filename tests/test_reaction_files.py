"""Reaction lists from files: the YAML format both ways, SBML import, and errors naming the file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nodebio import data, synthetic
from nodebio.models.node import NeuralODEModel

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "data" / "reactions" / "synthetic-limonene.yaml"


def test_the_yaml_format_round_trips(tmp_path):
    reactions = (
        data.Reaction("supply", products={"A": 1}, modifiers=("A",)),
        data.Reaction("step", {"A": 2, "B": 0.5}, {"C": 1.5}, ("E1", "E2"), modifiers=("C",), lumped=("hidden",)),
        data.Reaction("drain", {"C": 1}, enzymes=("E3",)),
        data.Reaction("NO synthase", ["C"], ["NO"], ("yes",)),  # names YAML would otherwise read as booleans
    )
    path = data.write_reactions(tmp_path / "mine.yaml", reactions, comment="a test\npathway")
    text = path.read_text()
    assert text.startswith("# Reactions for the pathway-structured") and "# a test\n# pathway\n" in text
    assert data.read_reactions(path) == reactions
    assert data.read_reactions(data.write_reactions(tmp_path / "again.yml", data.read_reactions(path))) == reactions


def test_lists_mean_coefficient_one_and_optional_keys_may_be_left_out(tmp_path):
    path = tmp_path / "short.yaml"
    path.write_text("reactions:\n"
                    "  - name: HMGR\n    substrates: [HMG-CoA]\n    products: Mevalonate\n    enzymes: HMGR\n"
                    "  - name: supply\n    products: {HMG-CoA: 1}\n")
    hmgr, supply = data.read_reactions(path)
    assert hmgr == data.Reaction("HMGR", {"HMG-CoA": 1.0}, {"Mevalonate": 1.0}, ("HMGR",))
    assert supply.substrates == {} and supply.enzymes == () and supply.modifiers == () and supply.lumped == ()


def test_the_example_file_is_the_limonene_pathway():
    assert data.read_reactions(EXAMPLE) == data.reactions_for("limonene")
    spec = data.PATHWAYS["limonene"]
    data.stoichiometry(data.read_reactions(EXAMPLE), synthetic.MEASURED_STATES, synthetic.ENZYMES)
    data.stoichiometry(data.read_reactions(EXAMPLE), spec.states, spec.controls)


BAD_FILES = {
    "malformed": ("reactions:\n  - name: A\n    substrates: [x\n", r"is not valid YAML at line \d+, column \d+"),
    "no name": ("reactions:\n  - substrates: [A]\n", r"reaction 1 has no name"),
    "empty name": ("reactions:\n  - name: ''\n    substrates: [A]\n", r"reaction 1 has no name"),
    "zero coefficient": ("reactions:\n  - name: R\n    substrates: {A: 0}\n",
                         r"reaction 1 \('R'\): the coefficient of 'A' in its substrates must be a positive number, "
                         r"got 0"),
    "negative coefficient": ("reactions:\n  - name: R\n    products: {A: -1}\n", r"\('R'\).*'A'.*positive.*got -1"),
    "text coefficient": ("reactions:\n  - name: R\n    products: {A: two}\n", r"\('R'\).*'A'.*positive.*got 'two'"),
    "unknown key": ("reactions:\n  - name: R\n    substrates: [A]\n    enzyme: [E]\n",
                    r"reaction 1 \('R'\): Unknown key: 'enzyme' \(did you mean 'enzymes'\?\)"),
    "unknown top key": ("reaction:\n  - name: R\n", r"mapping with the key 'reactions'"),
    "extra top key": ("reactions:\n  - {name: R, products: [A]}\nreactons: []\n",
                      r"Unknown top-level key: 'reactons' \(did you mean 'reactions'\?\)"),
    "empty list": ("reactions: []\n", r"the list 'reactions' is empty"),
    "not a list": ("reactions: {name: R}\n", r"'reactions' must be a list"),
    "repeated names": ("reactions:\n  - {name: R, products: [A]}\n  - {name: S, products: [B]}\n"
                       "  - {name: R, substrates: [B]}\n", r"repeated: 'R' \(reactions 1, 3\)"),
    "neither side": ("reactions:\n  - name: R\n    enzymes: [E]\n", r"\('R'\) has neither substrates nor products"),
    "unquoted boolean": ("reactions:\n  - name: R\n    products: [NO]\n", r"\('R'\): products holds False.*quotes"),
    "repeated in a list": ("reactions:\n  - name: R\n    products: [A, A]\n", r"products lists 'A' more than once"),
    "entry not a mapping": ("reactions:\n  - R\n", r"reaction 1 must be a mapping"),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_bad_yaml_files_are_clear_errors_naming_file_and_entry(tmp_path, case):
    text, pattern = BAD_FILES[case]
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(data.DataValidationError, match=pattern) as raised:
        data.read_reactions(path)
    assert str(path) in str(raised.value)


def test_missing_files_and_unknown_suffixes(tmp_path):
    with pytest.raises(data.DataValidationError, match=r"nowhere\.yaml: no such reaction file"):
        data.read_reactions(tmp_path / "nowhere.yaml")
    with pytest.raises(data.DataValidationError, match=r"nowhere\.xml: no such reaction file"):
        data.read_reactions(tmp_path / "nowhere.xml")
    (tmp_path / "r.json").write_text("{}")
    with pytest.raises(data.DataValidationError, match=r"r\.json: a reaction file is YAML .* or SBML"):
        data.read_reactions(tmp_path / "r.json")
    with pytest.raises(data.DataValidationError, match="writes YAML"):
        data.write_reactions(tmp_path / "r.xml", data.reactions_for("limonene"))
    with pytest.raises(data.DataValidationError, match="apply to SBML files only"):
        data.read_reactions(EXAMPLE, states=["A"])


def test_a_column_the_data_lack_is_named_at_fit_time(tmp_path):
    path = tmp_path / "gpp.yaml"
    path.write_text("reactions:\n  - name: GPPS\n    substrates: {IPP/DMAPP: 2}\n    products: {GPP: 1}\n"
                    "    enzymes: [GPPS]\n")
    reactions = data.read_reactions(path)
    prepared = data.prepare(synthetic.make_dataset(3, seed=1), ["S1", "S2"], ["S3"], n_points=30)
    model = NeuralODEModel(structure="structured", flux_width=4, depth=1, iterations=2, device="cpu",
                           reactions=reactions)
    with pytest.raises(data.DataValidationError, match=r"Reaction 'GPPS' names state\(s\) absent.*'GPP'"):
        model.fit(prepared, progress=False)


# -- SBML --------------------------------------------------------------------------------------------


def _sbml_document(path: Path) -> Path:
    """A small SBML document: S -(E)-> P (reversible, P inhibits it), 2 P -> Q, a supply of S;
    species S and P with names, Q and the enzyme E by id only."""
    libsbml = pytest.importorskip("libsbml")
    doc = libsbml.SBMLDocument(3, 2)
    model = doc.createModel()
    model.setId("small")
    compartment = model.createCompartment()
    compartment.setId("cell")
    compartment.setConstant(True)
    for sid, name in (("s", "Substrate"), ("p", "Product"), ("q", None), ("E", None)):
        species = model.createSpecies()
        species.setId(sid)
        if name:
            species.setName(name)
        species.setCompartment("cell")
        species.setHasOnlySubstanceUnits(False)
        species.setBoundaryCondition(False)
        species.setConstant(False)

    def reaction(rid, name, reactants, products, modifiers=(), reversible=False):
        r = model.createReaction()
        r.setId(rid)
        if name:
            r.setName(name)
        r.setReversible(reversible)
        for side, create in ((reactants, r.createReactant), (products, r.createProduct)):
            for sid, c in side.items():
                ref = create()
                ref.setSpecies(sid)
                ref.setStoichiometry(c)
                ref.setConstant(True)
        for sid in modifiers:
            r.createModifier().setSpecies(sid)

    reaction("v1", "conversion", {"s": 1}, {"p": 1}, modifiers=("E", "p"), reversible=True)
    reaction("v2", None, {"p": 2}, {"q": 1})
    reaction("supply", None, {}, {"s": 1})
    assert libsbml.writeSBMLToFile(doc, str(path)) == 1
    return path


def test_sbml_import_by_the_rule_and_its_overrides(tmp_path):
    path = _sbml_document(tmp_path / "small.xml")
    conversion, v2, supply = data.read_reactions(path)
    # names when set, else ids; the enzyme E (no reaction's reactant or product) an enzyme, the state a modifier
    assert conversion == data.Reaction("conversion", {"Substrate": 1}, {"Product": 1}, ("E",), ("Product",))
    assert v2 == data.Reaction("v2", {"Product": 2}, {"q": 1})
    assert supply == data.Reaction("supply", {}, {"Substrate": 1})
    # the dataset's states decide instead when given: here Product is no state, so it is an enzyme
    assert data.read_reactions(path, states=["Substrate", "q"])[0].enzymes == ("E", "Product")
    assert data.read_reactions(path, enzymes_from_modifiers=True)[0].enzymes == ("E", "Product")
    assert data.read_reactions(path, enzymes_from_modifiers=False)[0].modifiers == ("E", "Product")
    first = data.read_reactions(path, roles={"E": "modifier"}, names={"p": "P", "Substrate": "S", "E": "E"})[0]
    assert first == data.Reaction("conversion", {"S": 1}, {"P": 1}, (), ("E", "P"))
    first = data.read_reactions(path, enzymes={"v1": ["HMGR"]})[0]
    assert first.enzymes == ("HMGR",) and first.modifiers == ("Product",)
    with pytest.raises(data.DataValidationError, match=r"Unknown reaction: 'v9'"):
        data.read_reactions(path, enzymes={"v9": ["E"]})
    with pytest.raises(data.DataValidationError, match="roles must be 'enzyme' or 'modifier'"):
        data.read_reactions(path, roles={"E": "catalyst"})
    S = data.stoichiometry(data.read_reactions(path), ["Substrate", "Product", "q"], ["E"])
    np.testing.assert_array_equal(S, [[-1, 0, 1], [1, -2, 0], [0, 1, 0]])


def test_an_unreadable_sbml_file_is_a_clear_error(tmp_path):
    pytest.importorskip("libsbml")
    path = tmp_path / "broken.sbml"
    path.write_text("<sbml><model><listOfReactions>")
    with pytest.raises(data.DataValidationError, match=r"broken\.sbml is not a readable SBML document"):
        data.read_reactions(path)


def test_the_kinetic_models_sbml_reads_back_as_its_network(tmp_path):
    pytest.importorskip("libsbml")
    from nodebio.models import _sbml, kinetic

    text = _sbml.document({name: 1.0 for name in kinetic.PARAMETER_NAMES}, {s: 1.0 for s in kinetic.STATES},
                          {e: 1.0 for e in kinetic.ENZYMES}, None)
    path = tmp_path / "kinetic.xml"
    path.write_text(text, encoding="utf-8")
    columns = {sid: name for name, sid in _sbml.SPECIES_IDS.items()}
    reactions = data.read_reactions(path, names=columns)
    by_name = {r.name: r for r in reactions}
    assert len(reactions) == 9 and by_name["GPPS"].substrates == {"IPP/DMAPP": 2.0}
    assert by_name["HMGR"].modifiers == ("Acetyl-CoA", "Acetoacetyl-CoA") and by_name["HMGR"].enzymes == ()
    S = data.stoichiometry(reactions, synthetic.METABOLITES, [])
    acetyl_coa = S[synthetic.METABOLITES.index("Acetyl-CoA")]
    assert dict(zip(by_name, acetyl_coa)) == {"acetyl_CoA_supply": 1, "AtoB": -1, "HMGS": -1, "HMGR": 0, "MK": 0,
                                              "PMK": 0, "PMD": 0, "GPPS": 0, "LS": 0}
    # its enzyme levels are parameters of the rate laws: enzymes= names them
    named = data.read_reactions(path, names=columns, enzymes={"LS": "Limonene Synthase", "GPPS": ["GPPS"]})
    assert {r.name: r.enzymes for r in named}["LS"] == ("Limonene Synthase",)
    data.stoichiometry(named, synthetic.METABOLITES, synthetic.ENZYMES)


# -- hostile files: duplicate keys, aliases, sizes, devices, many reactions ------------------------

GOOD = "reactions:\n  - name: HMGR\n    substrates: {HMG-CoA: 1}\n    products: {Mevalonate: 1}\n"


@pytest.mark.parametrize("text, message", [
    ("reactions:\n  - name: HMGR\n    substrates: {HMG-CoA: 1}\n    substrates: {Acetyl-CoA: 2}\n"
     "    products: {Mevalonate: 1}\n", r"at line 4: the key 'substrates' is given again \(first at line 3\)"),
    ("reactions: []\nreactions:\n  - name: HMGR\n    products: [Mevalonate]\n",
     r"at line 2: the key 'reactions' is given again \(first at line 1\)"),
    ("reactions:\n  - &r {name: HMGR, products: [Mevalonate]}\n  - *r\n", r"anchors \(&r\) are not allowed"),
    ("reactions:\n  - name: HMGR\n    substrates: {HMG-CoA: 1e300}\n    products: {Mevalonate: 1}\n",
     r"got '1e300' \(YAML reads a number with an exponent but no decimal point, such as 1e3, as text"),
    ("reactions:\n  - !!python/object/apply:os.system ['touch /tmp/nodebio-yaml-ran']\n",
     r"not valid YAML.*could not determine a constructor"),
])
def test_hostile_yaml_is_refused_naming_the_line(tmp_path, text, message):
    path = tmp_path / "r.yaml"
    path.write_text(text)
    with pytest.raises(data.DataValidationError, match=message):
        data.read_reactions(path)


def test_a_billion_laughs_is_refused_before_it_expands(tmp_path):
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for k in range(1, 9):
        previous, name = chr(ord("a") + k - 1), chr(ord("a") + k)
        lines.append(f"{name}: &{name} [{', '.join(['*' + previous] * 9)}]")
    lines.append("reactions: *i")
    path = tmp_path / "laughs.yaml"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(data.DataValidationError, match=r"at line 1: anchors \(&a\) are not allowed"):
        data.read_reactions(path)


def test_only_regular_files_of_a_bounded_size_are_read(tmp_path, monkeypatch):
    import os

    from nodebio.data import reaction_files

    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    with pytest.raises(data.DataValidationError, match="is not a regular file"):
        data.read_reactions(fifo)  # never opened: it would block
    device = tmp_path / "zero.yaml"
    device.symlink_to("/dev/zero")
    with pytest.raises(data.DataValidationError, match="is not a regular file"):
        data.read_reactions(device)
    big = tmp_path / "big.yaml"
    big.write_text(GOOD)
    monkeypatch.setattr(reaction_files, "MAX_BYTES", 10)
    with pytest.raises(data.DataValidationError, match=r"has 8\d bytes, more than a reaction file needs"):
        data.read_reactions(big)


class _Counted(str):
    """A name that counts its comparisons with other names."""

    comparisons = 0

    def __eq__(self, other):
        _Counted.comparisons += 1
        return str.__eq__(self, other)

    __hash__ = str.__hash__


def test_many_reactions_are_checked_in_linear_time_and_copies_refused(tmp_path):
    from nodebio.data import reaction_files

    n = 3000
    reactions = [reaction_files.Reaction(_Counted(f"R{k}"), {f"S{k}": 1.0}, {f"S{k + 1}": 1.0}) for k in range(n)]
    _Counted.comparisons = 0
    reaction_files._check_unique(tmp_path / "many.yaml", reactions)
    assert _Counted.comparisons < 10 * n  # comparing every name with every other: n * n = 9,000,000
    copies = [reaction_files.Reaction(f"copy{k}", {"HMG-CoA": 1.0}, {"Mevalonate": 1.0}) for k in range(3)]
    with pytest.raises(data.DataValidationError, match=r"reactions 1 \('copy0'\) and 2 \('copy1'\) are the same "
                                                       "reaction"):
        reaction_files._check_unique(tmp_path / "x.yaml", copies)
    named = [reaction_files.Reaction("R", {"A": 1.0}, {"B": 1.0}), reaction_files.Reaction("R", {"B": 1.0}, {"C": 1.0})]
    with pytest.raises(data.DataValidationError, match=r"repeated: 'R' \(reactions 1, 2\)"):
        reaction_files._check_unique(tmp_path / "x.yaml", named)
