"""The shipped example dataset: made again from the synthetic pathway, valid, installed, and its
broken copies each stopped by the validator with a message that names the problem."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from nodebio import data, examples, synthetic

ROOT = Path(__file__).resolve().parent.parent


def test_the_shipped_csv_is_what_the_synthetic_pathway_makes(tmp_path):
    again = examples.write_example(tmp_path / "again.csv")
    assert again.read_bytes() == examples.CSV.read_bytes(), (
        "nodebio/data/examples/synthetic-limonene.csv differs from what nodebio.examples.write_example() makes "
        "now (did nodebio.synthetic change?); run `python -c 'from nodebio import examples; examples.write_example()'`")


def test_the_shipped_reactions_are_the_repository_s_and_fit_the_csv():
    assert examples.REACTIONS.read_bytes() == (ROOT / "data" / "reactions" / "synthetic-limonene.yaml").read_bytes()
    reactions = data.read_reactions(examples.REACTIONS)
    dataset = examples.load_example()
    assert data.stoichiometry(reactions, dataset.states, dataset.controls).shape[0] == len(dataset.states)


def test_the_example_loads_with_its_gaps_and_units():
    dataset = examples.load_example()
    assert dataset.strains == ("S1", "S2", "S3", "S4")
    assert dataset.states == synthetic.MEASURED_STATES and dataset.controls == synthetic.ENZYMES
    assert int((~dataset.mask).to_numpy().sum()) == len(examples.GAPS)
    assert dataset.ignored_columns == ("OD600",)
    assert dataset.unit("Limonene") == "µM"
    assert set(examples.TRAIN) | set(examples.TEST) == set(dataset.strains)


def test_the_example_files_are_package_data():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["nodebio.data"]
    folder = examples.FOLDER.relative_to(ROOT / "nodebio" / "data")
    for path in (examples.CSV, examples.REACTIONS):
        assert any(Path(folder, path.name).match(p) for p in patterns), path


def test_copy_example(tmp_path):
    csv, reactions = examples.copy_example(tmp_path / "work")
    assert csv.read_bytes() == examples.CSV.read_bytes() and reactions.name == examples.REACTIONS.name


EXPECTED = {
    "misspelt-state": r"Unknown column: 'Mevalonat' \(did you mean 'Mevalonate'\?\)",
    "unit-in-a-cell": r"Column 'Mevalonate' has non-numeric or infinite values at line 7 .*'\S+ uM'",
    "negative-value": r"Column 'Acetyl-CoA' has negative values at line 5 .*-0.02",
    "duplicated-row": r"Duplicated \(strain, time\) at line 15, line 16 .*strain 'S2'",
    "unsorted-times": r"Time does not increase within strain 'S1': line 5 \(time 8\) comes after time 12",
    "time-column": r"The time column 'Hour' is missing .*Columns: Strain, Time \(h\)",
    "too-few-times": r"Strain 'S4' has 2 sampling time\(s\).*at least 3",
}


def test_every_mistake_is_stopped_with_its_message(tmp_path):
    made = examples.mistakes(tmp_path)
    assert [m.name for m in made] == list(EXPECTED)
    for mistake in made:
        assert mistake.path.is_file() and mistake.change
        with pytest.raises(data.DataValidationError, match=EXPECTED[mistake.name]):
            mistake.load()
    # the untouched example loads with the same call
    assert examples.Mistake("none", "nothing", examples.CSV).load().strains == ("S1", "S2", "S3", "S4")


def test_true_fold_change_is_the_noise_free_pathway_s():
    pathway = synthetic.SyntheticPathway()
    strain = pathway.sample_strains(4, seed=examples.SETTINGS["seed"])[3]
    base = pathway.simulate(strain)["Limonene"].iloc[-1]
    expected = pathway.simulate(strain, scale={"HMGR": 2.0})["Limonene"].iloc[-1] / base
    assert examples.true_fold_change("S4", {"HMGR": 2.0}) == pytest.approx(expected)
    assert examples.true_fold_change("S4", {}) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="strains S1, S2, S3, S4, not 'S9'"):
        examples.true_fold_change("S9", {"HMGR": 2.0})
