import pytest

from nodebio import report


def test_glue_all_returns_values_and_refuses_bad_keys(monkeypatch):
    glued = {}
    import myst_nb

    monkeypatch.setattr(myst_nb, "glue", lambda key, value, display=True: glued.__setitem__(key, (value, display)))
    assert report.glue_all({"a": 1, "b_2": "x"}) is None
    assert glued == {"a": (1, False), "b_2": ("x", False)}
    with pytest.raises(ValueError, match="not an identifier"):
        report.glue_all({"bad key": 1})
