"""The README's Findings block: formatting for people, generation from recorded results, the stale check."""

from __future__ import annotations

import json

import pytest

from helpers import findings as f

RECORDS = {
    "answer": "No evidence that the dynamic hedge and the static hedge differ in Sharpe ratio.",
    "data": {"source": "/x/market-data", "tickers": ["AAPL", "QQQ"], "first_date": "2022-01-03",
             "last_date": "2025-09-19", "content_hash": "abcdef1234567890"},
    "alpha_annual": 0.0512,
    "alpha_ci": [-0.031, 0.14],
    "sharpe_diff_ci": [-0.1432, 0.27],
    "breakeven_borrow_fee": {"TQQQ": 0.0412, "SOXL": 0.0234},
    "pnl_lstm": 129863.2,
}


@pytest.mark.parametrize("key, value, shown", [
    ("alpha_annual", 0.0512, "5.1%"),
    ("alpha_ci", [-0.031, 0.14], "[-3.1%, 14.0%]"),
    ("sharpe_diff_ci", [-0.1432, 0.27], "[-0.143, 0.27]"),
    ("breakeven_borrow_fee", {"TQQQ": 0.0412}, "TQQQ: 4.1%"),
    ("pnl_lstm", 129863.2, "129,863"),
    ("sharpe_static_hedge", 0.93912, "0.939"),
    ("maxdd_dynamic", -0.194, "-19.4%"),
    ("performance", {"equal weight": {"sharpe": 0.51, "volatility": 0.082}},
     "equal weight: sharpe: 0.51; volatility: 8.2%"),
    ("x", float("nan"), "n/a"),
    ("cells_beating_base", 3.0, "3"),
    ("whole_history_excess_return", {"SPY/SPXL": -0.00234}, "SPY/SPXL: -0.2%"),
])
def test_values_are_formatted_for_people(key, value, shown):
    assert f.format_value(key, value) == shown


def test_markdown_has_question_answer_numbers_and_provenance():
    md = f.findings_markdown([{"notebook": "03_mag7_beta_hedge", "records": RECORDS}])
    assert "### 03_mag7_beta_hedge" in md and f.QUESTIONS["03_mag7_beta_hedge"] in md
    assert "**Answer.** No evidence" in md
    assert "- `alpha_ci`: [-3.1%, 14.0%]" in md
    assert "CSV folder 'market-data' (real prices)" in md and "/x/" not in md  # no machine paths
    csv = f.findings_markdown([{"notebook": "x", "records": dict(RECORDS, data=dict(RECORDS["data"],
                                                                                      source="csv:market-data"))}])
    assert "CSV folder 'market-data' (real prices)" in csv
    assert "sha256 abcdef123456" in md


def test_load_runs_reads_record_files_and_prefers_default_parameters(tmp_path):
    (tmp_path / "03_mag7_beta_hedge.json").write_text(json.dumps(RECORDS))
    (tmp_path / "05_x.json").write_text(json.dumps({"sharpe": 1.0}))  # no answer: not a finding
    sweep = dict(RECORDS, answer="a sweep run")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "meta.json").write_text(json.dumps(
        {"notebook": "03_mag7_beta_hedge", "parameters": {"beta_window": 90}, "records": sweep}))
    runs = f.load_runs(tmp_path)
    assert [r["notebook"] for r in runs] == ["03_mag7_beta_hedge"]
    assert runs[0]["records"]["answer"] == RECORDS["answer"]


def publish(folder, name: str, params: dict, answer: str, status: str = "ok", notebook: str = "03_mag7_beta_hedge"):
    """A set published by the runner's own code, as a main job leaves it."""
    from helpers.files import atomic_write_text
    from helpers.run.core import Result, set_metadata

    staging = folder.new_staging(name)
    result = Result(notebook, name, params, status, 1.0, records=dict(RECORDS, answer=answer),
                        files={"results": f"{name}.json"})
    atomic_write_text(staging / f"{name}.json", json.dumps(result.records))
    atomic_write_text(staging / "run.json", json.dumps(set_metadata(result)))
    folder.publish(result, staging)


def test_load_runs_reads_the_runner_layout_preferring_the_default_set(tmp_path):
    from helpers.run.folder import ReportFolder

    src = "/x/market-data"
    with ReportFolder(tmp_path) as folder:
        publish(folder, "03_mag7_beta_hedge__beta_window=90", {"beta_window": 90, "data_source": src}, "sweep 90")
        publish(folder, "03_mag7_beta_hedge__data_source=market-data__1234abcd", {"data_source": src}, "default")
        publish(folder, "03_mag7_beta_hedge__beta_window=30", {"beta_window": 30, "data_source": src}, "sweep 30")
        publish(folder, "05_x__data_source=market-data__1234abcd", {"data_source": src}, "broke", "failed",
                notebook="05_x")
        publish(folder, "01_y__seed=7", {"seed": 7}, "only a non-default run", notebook="01_y")
    assert (tmp_path / "runs" / ".store").is_dir()     # the published folders' copies are not read twice
    runs = {r["notebook"]: r["records"]["answer"] for r in f.load_runs(tmp_path)}
    assert runs == {"03_mag7_beta_hedge": "default", "01_y": "only a non-default run"}  # the failure is ignored
    with ReportFolder(tmp_path) as folder:        # the set named exactly as the notebook wins
        publish(folder, "03_mag7_beta_hedge", {}, "all defaults")
    assert f.load_runs(tmp_path)[1]["records"]["answer"] == "all defaults"


@pytest.mark.parametrize("name, params, default", [
    ("05_x", {}, True),
    ("05_x", {"target_vol": 0.12}, True),                      # a default value given explicitly
    ("05_x__data_source=market-data__62084242", {"data_source": "/d/market-data"}, True),
    ("05_x__target_vol=0.08", {"target_vol": 0.08}, False),
    ("05_x__data_source=m__target_vol=0.08__62084242", {"data_source": "/m", "target_vol": 0.08}, False),
])
def test_default_but_data_source_is_read_from_the_name(name, params, default):
    assert f._defaults_but_data({"notebook": "05_x", "name": name, "parameters": params}) is default


def test_check_mode_names_what_changed_and_write_mode_fixes_it(tmp_path, capsys):
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "03_mag7_beta_hedge.json").write_text(json.dumps(RECORDS))
    readme = tmp_path / "README.md"
    readme.write_text(f"# T\n\n{f.START}\nold text\n{f.END}\n\nrest\n")
    assert f.main([str(tmp_path / "r"), "--readme", str(readme), "--check"]) == 1
    err = capsys.readouterr().err
    assert "-old text" in err and "+**Answer.** No evidence" in err
    assert f.main([str(tmp_path / "r"), "--readme", str(readme)]) == 0
    assert readme.read_text().endswith(f"{f.END}\n\nrest\n")
    assert f.main([str(tmp_path / "r"), "--readme", str(readme), "--check"]) == 0


def test_missing_markers_or_reports_are_named(tmp_path):
    with pytest.raises(ValueError, match="findings:start"):
        f.replace_block("no markers", "x")
    assert f.main([str(tmp_path / "nope")]) == 2
