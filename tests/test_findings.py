"""The README's Findings block: formatting for people, generation from recorded results, the stale check."""

from __future__ import annotations

import json

import pytest
from findings_fixtures import all_runs, records

from helpers import findings as f
from helpers.comparison import Comparison

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
    ("leverage_at_cap_share", 0.234, "23.4%"),
    ("whole_history_excess_return", {"SPY/SPXL": -0.00234}, "SPY/SPXL: -0.2%"),
])
def test_values_are_formatted_for_people(key, value, shown):
    assert f.format_value(key, value) == shown


def test_the_block_opens_with_a_summary_table_then_headlines_links_and_terms():
    md = f.findings_markdown(all_runs())
    lines = md.splitlines()
    assert lines[0] == "| Notebook | Question | Verdict | Deciding figure | Evaluated over |"
    rows = [ln for ln in lines if ln.startswith("| [")]
    assert len(rows) == 5                                                 # one row per notebook, first
    r05 = next(r for r in rows if "05 Drawdown" in r)
    rec = records("05_drawdown_aware_leverage")
    assert rec["question"] in r05 and "| No evidence the overlay helps |" in r05
    assert "Sharpe ratio, overlay vs base: -0.06 (95% CI -0.31 to +0.15)" in r05   # the deciding figure
    assert "| 2011-01-31 to 2026-05-01 |" in r05
    assert "\\|z\\| rule" in md                                              # pipes escaped in cells
    assert f"**05.** {rec['headline']}" in md
    link = "reports/real/runs/05_drawdown_aware_leverage/05_drawdown_aware_leverage.html"
    assert f"[report]({link})" in md and f"[05 Drawdown aware leverage]({link})" in r05
    assert "All on CSV folder 'market-data' (real prices)." in md and "/x/" not in md   # no machine paths
    assert "sha256 bc2ae799051e" in md and rec["answer"] not in md        # the full answer is the report's
    terms = md.split("**Terms**", 1)[1]
    for term in ("95% CI", "Block bootstrap", "Jobson-Korkie-Memmel", "Probabilistic / deflated Sharpe", "Holm",
                 "HAC (Newey-West)", "Reg T margin", "Log-gap slope", "IC", "F1, ROC AUC",
                 "Minimum detectable effect", "Halves"):
        assert f"- *{term}*: " in terms
    assert "Politis-White" in terms and "deflated" in terms and "|z| rule" in terms


def test_the_block_stays_under_700_words_with_40_word_headlines_and_long_questions():
    runs = all_runs()
    for run in runs:
        rec = run["records"]
        rec["headline"] = " ".join((rec["headline"].split() * 3)[:40])
        rec["question"] = " ".join((rec["question"].split() * 2)[:32])  # the notebooks' are 24-31
        rec["verdict"] = " ".join((rec["verdict"].split() * 2)[:6])
    md = f.findings_markdown(runs)
    assert f.word_count(md) <= f.MAX_WORDS, f.word_count(md)


def test_words_are_counted_as_read():
    assert f.word_count("| [01 Leveraged](reports/real/runs/x/x.html) | -0.23% | a |\n|---|---|") == 4
    assert f.word_count("<sub>[report](a/b.html) · 14 tickers</sub>") == 3


def test_an_older_set_falls_back_to_its_answer():
    old = {"answer": " ".join(f"w{i}" for i in range(60)), "data": RECORDS["data"]}
    md = f.findings_markdown([{"notebook": "03_mag7_beta_hedge", "records": old}])
    assert "(not recorded)" in md
    assert "w39 ..." in md and "w40" not in md                            # the answer's first 40 words
    assert "| 2022-01-03 to 2025-09-19 |" in md                           # the period from the data
    assert f.headline_of({"answer": "On the simulated market, 2020-01-02 to 2021-01-04: Yes, by 0.2."}) == \
        "Yes, by 0.2."                                                    # the period says source and dates
    recorded = dict(old, question="Recorded question?")
    assert "Recorded question?" in f.findings_markdown([{"notebook": "03_mag7_beta_hedge", "records": recorded}])


def test_a_deciding_comparison_without_an_interval_reads_n_a():
    rec = {"deciding": Comparison("a vs b", "Sharpe ratio", 0.1, float("nan"), float("nan")).to_dict()}
    assert f.deciding_figure(rec) == "Sharpe ratio, a vs b: +0.10 (no interval)"
    assert f.deciding_figure({}) == ""


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
    assert "-old text" in err and "+**03.** No evidence" in err
    assert f.main([str(tmp_path / "r"), "--readme", str(readme)]) == 0
    assert readme.read_text().endswith(f"{f.END}\n\nrest\n")
    assert f.main([str(tmp_path / "r"), "--readme", str(readme), "--check"]) == 0


def test_missing_markers_or_reports_are_named(tmp_path):
    with pytest.raises(ValueError, match="findings:start"):
        f.replace_block("no markers", "x")
    assert f.main([str(tmp_path / "nope")]) == 2


def test_report_links_are_relative_to_the_readme(tmp_path):
    from helpers.files import atomic_write_text
    from helpers.run.core import Result, set_metadata
    from helpers.run.folder import ReportFolder

    out = tmp_path / "reports" / "real"
    out.mkdir(parents=True)
    name = "03_mag7_beta_hedge"
    with ReportFolder(out) as folder:
        staging = folder.new_staging(name)
        result = Result(name, name, {}, "ok", 1.0, records=records(name), files={"report": f"{name}.html"})
        atomic_write_text(staging / f"{name}.html", "<p>report</p>")
        atomic_write_text(staging / "run.json", json.dumps(set_metadata(result)))
        folder.publish(result, staging)
    (run,) = f.with_links(f.load_runs(out), tmp_path / "README.md")
    assert run["link"] == f"reports/real/runs/{name}/{name}.html"
    assert (tmp_path / run["link"]).exists()
