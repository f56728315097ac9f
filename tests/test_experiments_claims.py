"""The paper's claims beside ours, on small tables made by hand."""

from __future__ import annotations

import pandas as pd
import pytest

from nodebio.experiments import claims


def _improvement(rows):
    return pd.DataFrame([{"pathway": p, "model": m, "reference": r, "improvement_integral_%": g,
                          "integral_low": lo, "integral_high": hi} for p, m, r, g, lo, hi in rows])


def test_margin_claims_by_the_rule_against_each_reference():
    improvement = _improvement([
        ("limonene", "node", "TPOT, 30-s search", 95.0, 93.0, 97.0),
        ("limonene", "node", "baseline-gb (published)", 40.0, 20.0, 60.0),
        ("limonene", "node", "baseline-rf (published)", 91.0, 85.0, 96.0),
        ("isopentenol", "node", "baseline-gb (published)", 50.0, float("nan"), float("nan"))])
    table = claims.margin_claims(improvement, ("node",))
    assert list(table.columns) == ["claim", "paper", "ours", "verdict"]
    limonene = table[table["claim"].str.startswith("limonene")]
    assert list(limonene["claim"].str.extract(r"here (.*)\)$")[0]) == [
        "TPOT, 30-s search", "baseline-gb (published)", "baseline-rf (published)"]
    tpot, gb, rf = limonene["verdict"]
    assert tpot.startswith("more than 90% reached by node") and "94.38% within the interval of node" in tpot
    assert "reached by no neural ODE" in gb and "outside every interval" in gb
    assert "undecided for node" in rf  # 85% to 96% includes 90%
    assert (limonene["paper"] == "up to 94.38%").all()
    isopentenol = table[table["claim"].str.startswith("isopentenol")].iloc[0]
    assert isopentenol["paper"] == "up to 97.65%" and "undecided for node" in isopentenol["verdict"]
    assert "no interval" in isopentenol["ours"]


def _results(values):
    rows = []
    for (pathway, model, configuration), seeds in values.items():
        for seed, value in enumerate(seeds):
            for state in ("A", "B"):
                rows.append({"pathway": pathway, "model": model, "configuration": configuration, "seed": seed,
                             "state": state, "rmse_integral": value})
    return pd.DataFrame(rows)


def test_back_computed_score_is_said_to_be_back_computed_and_isopentenol_has_none():
    assert claims.back_computed("limonene") == pytest.approx(53.56 * (1 - 0.9438))
    results = _results({("limonene", "node", "-"): [3.0, 3.05, 2.98], ("isopentenol", "node", "-"): [4.0, 4.2]})
    table = claims.back_computed_claims(results, ("node",))
    limonene, isopentenol = table.iloc[0], table.iloc[1]
    assert "3.01 (back-computed here from 94.38%" in limonene["claim"] and "does not report it" in limonene["claim"]
    assert limonene["verdict"] == "node: ours indistinguishable from 3.01"
    assert isopentenol["verdict"].startswith("not testable")
    far = claims.back_computed_claims(_results({("limonene", "node", "-"): [20.0, 21.0, 19.0]}), ("node",))
    assert far.iloc[0]["verdict"] == "node: ours higher than 3.01"
    one = claims.back_computed_claims(_results({("limonene", "node", "-"): [20.0]}), ("node",), quick=True)
    assert one.iloc[0]["verdict"].startswith("In this quick run, node: no interval")


def test_stored_run_claims():
    results = _results({("limonene", "costello-kinetic", "published"): [8.0, 9.5, 8.4],
                        ("limonene", "tpot", "30-s search"): [46.0, 47.5, 47.0]})
    table = claims.stored_run_claims(results).set_index("paper")
    assert table.loc["8.66", "verdict"] == "ours indistinguishable from the stored run"
    assert table.loc["53.56", "verdict"] == "ours lower than the stored run"
    assert table.loc["53.56", "ours"].startswith("TPOT, 30-s search 46.8")
    missing = claims.stored_run_claims(_results({("limonene", "node", "-"): [1.0]}))
    assert (missing["verdict"] == "not tested: the model did not run").all()


def _speed(node_one, gb_one, node_batched, gb_batched, quick=False):
    def fig(one, batched):
        return {"one_ms": float(pd.Series(one).median()), "batched_ms": float(pd.Series(batched).median()),
                "one_ms_all": one, "batched_ms_all": batched}
    return {"settings": {"quick": quick},
            "inference": {"neural ODE, fused rk4": fig(node_one, node_batched),
                          "baseline GB, published": fig(gb_one, gb_batched)}}


def test_speed_claims_from_the_benchmark_json():
    speed = _speed([1.0, 1.1, 0.9, 1.0], [400.0, 420.0, 390.0], [0.01, 0.011, 0.0095], [60.0, 61.0, 59.0, 62.0])
    table = claims.speed_claims(speed)
    one, batched = table["verdict"]
    assert table.iloc[0]["ours"].startswith("400x")
    assert one.startswith("consistent with about 1000x")
    assert batched.startswith("faster than claimed")
    slow = claims.speed_claims(_speed([1.0, 1.0], [50.0, 52.0], [1.0, 1.0], [2.0, 2.1]))
    assert slow.iloc[0]["verdict"].startswith("slower than claimed")
    edge = claims.speed_claims(_speed([1.0, 1.0, 1.0], [200.0, 600.0, 400.0], [1.0, 1.0], [1000.0, 1000.0]))
    assert edge.iloc[0]["verdict"].startswith("undecided")
    medians_only = _speed([1.0], [400.0], [1.0], [6000.0])
    for figure in medians_only["inference"].values():
        del figure["one_ms_all"], figure["batched_ms_all"]
    table = claims.speed_claims(medians_only)
    assert table.iloc[0]["verdict"].startswith("no interval")
    assert claims.speed_claims(_speed([1.0, 1.0], [400.0, 400.0], [1.0, 1.0], [6.0, 6.0], quick=True)).iloc[0][
        "verdict"].startswith("In this quick run")


def _penalties(with_, without, active=True):
    rows = [{"experiment": "negative (default)", "pathway": "limonene", "seed": s, "rmse_scaled": v,
             "penalty_active": active} for s, v in enumerate(with_)]
    rows += [{"experiment": "no penalty", "pathway": "limonene", "seed": s, "rmse_scaled": v,
              "penalty_active": False} for s, v in enumerate(without)]
    return pd.DataFrame(rows)


def test_regularisation_claim_by_the_rule():
    hurts = claims.regularisation_claim(_penalties([2.5, 2.45, 2.55], [2.29, 2.3, 2.28])).iloc[0]
    assert hurts["verdict"] == "hurts here (higher error with it)" and "3 seeds" in hurts["ours"]
    tie = claims.regularisation_claim(_penalties([2.5, 2.2, 2.35], [2.29, 2.4, 2.3])).iloc[0]
    assert tie["verdict"] == "indistinguishable with and without it"
    helps = claims.regularisation_claim(_penalties([1.0, 1.1, 1.05], [2.0, 2.1, 2.2])).iloc[0]
    assert helps["verdict"] == "helps here (lower error with it)"
    idle = claims.regularisation_claim(_penalties([2.5], [2.29], active=False)).iloc[0]
    assert idle["verdict"] == "not tested: the penalty never acted"


def test_claims_table_leaves_out_what_did_not_run():
    assert claims.claims_table().empty
    table = claims.claims_table(penalties=_penalties([2.5, 2.45], [2.29, 2.3]),
                                results=_results({("limonene", "node", "-"): [3.0, 3.1]}))
    # the back-computed score, the two stored-run numbers (their models did not run: said so), the regularisation
    assert len(table) == 4
    assert (table["verdict"] == "not tested: the model did not run").sum() == 2
    assert table["claim"].str.contains("regularisation").sum() == 1
    assert not table["claim"].str.contains("faster").any()  # no speed JSON given: no speed row


def test_claims_command_reads_a_results_folder_and_the_speed_json(tmp_path, capsys):
    import json

    folder = tmp_path / "results"
    folder.mkdir()
    _results({("limonene", "node", "-"): [3.0, 3.1], ("limonene", "costello-kinetic", "published"): [8.0, 9.0]}).to_csv(
        folder / "results.csv", index=False)
    _improvement([("limonene", "node", "baseline-gb (published)", 40.0, 20.0, 60.0)]).to_csv(
        folder / "improvement.csv", index=False)
    speed = tmp_path / "speed.json"
    speed.write_text(json.dumps(_speed([1.0, 1.1], [400.0, 410.0], [0.01, 0.01], [60.0, 61.0])))
    assert claims.main(["--results", str(folder), "--speed", str(speed)]) == 0
    out = capsys.readouterr().out
    assert "| claim | paper | ours | verdict |" in out and "more than 90% lower RMSE" in out and "about 1000x" in out
    with pytest.raises(SystemExit):
        claims.main(["--results", str(tmp_path)])  # no results.csv there
    assert "no results.csv, improvement.csv" in capsys.readouterr().err
