"""Validation of the pathway tables and of user tables: every error names the column or line."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nodebio import data
from nodebio.errors import DataValidationError


def load(path, **kwargs):
    options = dict(states=["m1", "m2"], controls=["E1"])
    options.update(kwargs)
    return data.load_csv(path, **options)

def write(tmp_path, frame, name="t.csv"):
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


def test_limonene_table(limonene):
    assert limonene.strains == ("L1", "L2", "L3")
    assert limonene.states == data.PATHWAYS["limonene"].states
    assert limonene.controls == data.PATHWAYS["limonene"].controls
    assert limonene.product == "Limonene"
    assert limonene.unit("Mevalonate") == "µM" and limonene.unit("Limonene") == "g/L"
    # 14 sampling hours per strain; the 5 without pathway values are excluded, not lost
    assert len(limonene.table) == 3 * 9
    assert len(limonene.excluded_rows) == 3 * 5
    assert sorted(limonene.excluded_rows["time"].unique()) == [2.0, 6.0, 10.0, 16.0, 20.0]
    assert "excluded: 15 rows" in repr(limonene)
    # measured mask: L3 Mev-P was not measured at 48 h
    l3 = limonene.table["strain"] == "L3"
    row = l3 & (limonene.table["time"] == 48.0)
    assert not limonene.mask.loc[row, "Mev-P"].item()
    assert limonene.mask.loc[row, "Mevalonate"].item()


def test_isopentenol_table(isopentenol_path):
    dataset = data.load("isopentenol", data_dir=isopentenol_path.parent)
    assert dataset.strains == ("I1", "I2", "I3")
    assert "NudB" in dataset.controls and "Limonene Synthase" not in dataset.controls
    assert dataset.product == "Isopentenol"


def test_user_csv_loads(tidy_csv):
    dataset = load(tidy_csv)
    assert dataset.strains == ("A", "B")
    assert dataset.mask["m1"].sum() == 7
    assert dataset.sha256 == data.file_sha256(tidy_csv)
    long = dataset.to_long()
    assert set(long.columns) == {"strain", "time", "variable", "kind", "value", "measured"}
    assert len(long) == 7 + 8 + 8


def test_custom_column_names(tmp_path, tidy_frame):
    path = write(tmp_path, tidy_frame.rename(columns={"Strain": "line", "Hour": "t"}))
    dataset = load(path, time_col="t", strain_col="line")
    assert dataset.strains == ("A", "B")


def test_unknown_pathway():
    with pytest.raises(DataValidationError, match=r"Unknown pathway: 'limonen' \(did you mean 'limonene'\?\)"):
        data.load("limonen")


def test_missing_time_column(tmp_path, tidy_frame):
    path = write(tmp_path, tidy_frame.rename(columns={"Hour": "Time"}))
    with pytest.raises(DataValidationError, match=r"time column 'Hour' is missing.*Columns: Strain, Time, .*time_col="):
        load(path)


def test_missing_strain_column(tmp_path, tidy_frame):
    path = write(tmp_path, tidy_frame.drop(columns="Strain"))
    with pytest.raises(DataValidationError, match="strain column 'Strain' is missing"):
        load(path)


def test_unknown_state_column_suggests_close_name(tidy_csv):
    with pytest.raises(DataValidationError, match=r"Unknown column: 'mm2' \(did you mean 'm2'\?\)"):
        load(tidy_csv, states=["m1", "mm2"])


def test_duplicated_column_in_header(tmp_path):
    path = tmp_path / "dup.csv"
    path.write_text("Strain,Hour,E1,m1,m1\nA,0,1,1,1\nA,1,1,1,1\nA,2,1,1,1\n")
    with pytest.raises(DataValidationError, match="'m1' appear more than once"):
        data.load_csv(path, states=["m1"], controls=["E1"])


def test_column_both_state_and_control(tidy_csv):
    with pytest.raises(DataValidationError, match="both as state and as control"):
        load(tidy_csv, controls=["E1", "m1"])


def test_non_numeric_cell_names_column_and_line(tmp_path, tidy_frame):
    frame = tidy_frame.astype({"m2": object})
    frame.loc[5, "m2"] = "1.2.3"
    path = write(tmp_path, frame)
    # frame row 5 is CSV line 7 (header is line 1)
    with pytest.raises(DataValidationError, match=r"Column 'm2' has non-numeric .* line 7 .*'1.2.3'"):
        load(path)


def test_infinite_value(tmp_path, tidy_frame):
    tidy_frame.loc[0, "E1"] = np.inf
    with pytest.raises(DataValidationError, match="Column 'E1' has non-numeric or infinite values at line 2"):
        load(write(tmp_path, tidy_frame))


def test_negative_concentration(tmp_path, tidy_frame):
    tidy_frame.loc[3, "m1"] = -0.2
    with pytest.raises(DataValidationError, match=r"Column 'm1' has negative values at line 5 .*-0\.2"):
        load(write(tmp_path, tidy_frame))


def test_duplicated_strain_time(tmp_path, tidy_frame):
    tidy_frame.loc[1, "Hour"] = 0.0
    with pytest.raises(DataValidationError, match=r"Duplicated \(strain, time\) at line 2, line 3.*strain 'A'"):
        load(write(tmp_path, tidy_frame))


def test_non_increasing_time(tmp_path, tidy_frame):
    frame = tidy_frame.iloc[[0, 2, 1, 3, 4, 5, 6, 7]]
    with pytest.raises(DataValidationError, match=r"Time does not increase within strain 'A': line 4 \(time 2\).*Sort"):
        load(write(tmp_path, frame))


def test_non_numeric_time(tmp_path, tidy_frame):
    frame = tidy_frame.astype({"Hour": object})
    frame.loc[2, "Hour"] = "6h"
    with pytest.raises(DataValidationError, match=r"Time column 'Hour' has a missing or non-numeric value at line 4"):
        load(write(tmp_path, frame))


def test_missing_strain_name(tmp_path, tidy_frame):
    tidy_frame.loc[4, "Strain"] = None
    with pytest.raises(DataValidationError, match="Missing strain name .* line 6"):
        load(write(tmp_path, tidy_frame))


def test_variable_without_values_for_a_strain(tmp_path, tidy_frame):
    tidy_frame.loc[4:, "m2"] = None
    with pytest.raises(DataValidationError, match="Strain 'B' has no values at all for state 'm2'"):
        load(write(tmp_path, tidy_frame))


def test_too_few_measured_times(tmp_path, tidy_frame):
    tidy_frame.loc[[5, 6], ["E1", "m1", "m2"]] = None
    with pytest.raises(DataValidationError, match="Strain 'B' has 2 sampling time.*at least 3"):
        load(write(tmp_path, tidy_frame))


def test_rows_without_values_are_excluded_not_dropped(tmp_path, tidy_frame):
    extra = pd.DataFrame({"Strain": ["A"], "Hour": [11.0], "E1": [None], "m1": [None], "m2": [None], "note": ["x"]})
    frame = pd.concat([tidy_frame.iloc[:4], extra, tidy_frame.iloc[4:]], ignore_index=True)
    frame["note"] = frame["note"].fillna("")
    dataset = load(write(tmp_path, frame))
    assert len(dataset.table) == 8
    assert dataset.excluded_rows[["line", "strain", "time"]].values.tolist() == [[6, "A", 11.0]]
    assert dataset.ignored_columns == ("note",)


def test_malformed_csv(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("Strain,Hour,E1,m1\nA,0,1,1\nA,1,1,1,7,8\nA,2,1,1\n")
    with pytest.raises(DataValidationError, match="not a well-formed CSV"):
        data.load_csv(path, states=["m1"], controls=["E1"])


def test_empty_file(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("")
    with pytest.raises(DataValidationError, match="is empty"):
        data.load_csv(path, states=["m1"], controls=["E1"])


def test_missing_file(tmp_path):
    with pytest.raises(DataValidationError, match="does not exist"):
        data.load_csv(tmp_path / "nope.csv", states=["m1"], controls=[])


def test_split_with_unknown_strain(limonene):
    with pytest.raises(DataValidationError, match=r"Unknown strain: 'L4'.*Available: L1, L2, L3"):
        data.split(limonene, ["L1", "L3"], ["L4"])


def test_split_overlap_and_empty(limonene):
    with pytest.raises(DataValidationError, match="both in the training and the test split"):
        data.split(limonene, ["L1", "L2"], ["L2"])
    with pytest.raises(DataValidationError, match="training split is empty"):
        data.split(limonene, [], ["L2"])


# -- time units, strain names, odd values (nothing silently wrong) ---------------------------------

@pytest.mark.parametrize("unit, factor", [("min", 60.0), ("s", 3600.0), ("d", 1 / 24), ("h", 1.0)])
def test_time_units_are_converted_to_hours_once(tmp_path, tidy_frame, unit, factor):
    frame = tidy_frame.assign(Hour=tidy_frame["Hour"] * factor)
    dataset = load(write(tmp_path, frame), time_unit=unit)
    np.testing.assert_allclose(dataset.times("A"), [0.0, 2.0, 6.0, 10.0])
    assert dataset.time_unit == "h" and dataset.input_time_unit == unit


def test_unknown_time_unit_and_far_spans(tmp_path, tidy_frame):
    with pytest.raises(DataValidationError, match="Unknown time unit: 'hours'.*h, min, s, d"):
        load(write(tmp_path, tidy_frame), time_unit="hours")
    minutes = tidy_frame.assign(Hour=tidy_frame["Hour"] * 432)  # 0-4320: minutes read as hours
    with pytest.warns(data.DataWarning, match="span 0-4320 h.*--time-unit"):
        load(write(tmp_path, minutes))


def test_datetime_and_timedelta_times_are_refused_with_a_recipe(tidy_frame):
    stamps = tidy_frame.assign(Hour=pd.Timestamp("2026-01-01") + pd.to_timedelta(tidy_frame["Hour"], unit="h"))
    with pytest.raises(DataValidationError, match="dates and times.*hours since the start"):
        data.from_frame(stamps, states=["m1", "m2"], controls=["E1"])
    deltas = tidy_frame.assign(Hour=pd.to_timedelta(tidy_frame["Hour"], unit="h"))
    with pytest.raises(DataValidationError, match="durations.*pd.Timedelta\\(hours=1\\)"):
        data.from_frame(deltas, states=["m1", "m2"], controls=["E1"])


def test_datetime_strings_in_a_csv_are_named_as_such(tmp_path, tidy_frame):
    frame = tidy_frame.astype({"Hour": object})
    frame["Hour"] = ["2026-01-01 00:00"] * len(frame)
    with pytest.raises(DataValidationError, match="looks like a date or clock time"):
        load(write(tmp_path, frame))


def test_strains_named_na_or_none_are_names(tmp_path, tidy_frame):
    frame = tidy_frame.assign(Strain=["NA"] * 4 + ["None"] * 4)
    dataset = load(write(tmp_path, frame))
    assert dataset.strains == ("NA", "None")
    empty = tidy_frame.astype({"Strain": object})
    empty.loc[2, "Strain"] = ""
    with pytest.raises(DataValidationError, match="Missing strain name.*line 4"):
        load(write(tmp_path, empty, "empty.csv"))


def test_a_value_orders_of_magnitude_above_its_column_is_flagged(tmp_path, tidy_frame):
    frame = tidy_frame.copy()
    frame.loc[5, "m2"] = 1e30
    with pytest.warns(data.DataWarning, match="m2.*1e\\+30.*line 7"):
        load(write(tmp_path, frame))


def test_a_file_that_is_not_utf8_names_itself_and_the_fix(tmp_path, tidy_frame):
    path = tmp_path / "latin.csv"
    path.write_bytes(tidy_frame.to_csv(index=False).replace("m2", "m\u00b2").encode("latin-1"))
    with pytest.raises(DataValidationError, match="latin.csv is not UTF-8 text.*save it as UTF-8"):
        data.load_csv(path, states=["m1"], controls=["E1"])


def test_no_control_column_is_a_clear_error(tidy_frame):
    with pytest.raises(DataValidationError, match="No control columns given"):
        data.from_frame(tidy_frame, states=["m1", "m2"], controls=[])
