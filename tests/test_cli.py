"""The nodebio command line."""

from __future__ import annotations

import pandas as pd

from nodebio import cli, data


def test_info_on_a_pathway(limonene_path, capsys):
    assert cli.main(["info", "limonene", "--data-dir", str(limonene_path.parent)]) == 0
    out = capsys.readouterr().out
    assert "Dataset 'limonene': 3 strains" in out and "sampling times" in out


def test_info_on_a_user_csv(tidy_csv, capsys):
    assert cli.main(["info", "--csv", str(tidy_csv), "--states", "m1,m2", "--controls", "E1"]) == 0
    assert "2 strains, 2 states, 1 controls" in capsys.readouterr().out


def test_info_bad_inputs(tidy_csv, capsys):
    assert cli.main(["info", "limonen"]) == 2
    assert "did you mean 'limonene'" in capsys.readouterr().err
    assert cli.main(["info", "--csv", str(tidy_csv), "--states", "m1,zz"]) == 2
    assert "Unknown column: 'zz'" in capsys.readouterr().err
    assert cli.main(["info", "--csv", str(tidy_csv)]) == 2
    assert "--csv needs --states" in capsys.readouterr().err
    assert cli.main(["info"]) == 2
    assert "Name a pathway table" in capsys.readouterr().err


def test_fetch_with_a_bad_folder_is_a_clear_error(tmp_path, limonene_path, capsys):
    (tmp_path / "limonene_data.csv").write_text("corrupted")
    assert cli.main(["fetch", "--data-dir", str(tmp_path)]) == 2
    assert "expected " + data.REGISTRY["limonene_data.csv"].sha256 in capsys.readouterr().err


def test_synthetic_writes_a_loadable_csv(tmp_path, capsys):
    out = tmp_path / "syn.csv"
    assert cli.main(["synthetic", "--strains", "3", "--seed", "1", "--out", str(out)]) == 0
    frame = pd.read_csv(out)
    assert frame["Strain"].nunique() == 3
    dataset = data.load_csv(out, states=["Mevalonate", "Limonene"], controls=["HMGR"])
    assert dataset.strains == ("S1", "S2", "S3")
