"""The computed answer's label: which data, which dates."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from helpers.data import load_prices
from helpers.reporting import answer, read_records, source_label


def test_label_names_the_simulated_market_and_the_dates_of_the_frame_passed():
    prices = load_prices(["SPY"], start="2020-01-01", end="2020-12-31")
    label = source_label(prices.loc["2020-03-02":"2020-06-30"])
    assert label.startswith("the simulated market (synthetic; not real prices)")
    assert label.endswith("2020-03-02 to 2020-06-30")


def test_label_names_a_csv_folder_by_its_name_only(tmp_path):
    folder = tmp_path / "my-prices"
    folder.mkdir()
    (folder / "AAA.csv").write_text("Date,Close\n2024-01-02,10\n2024-01-03,11\n2024-01-04,12\n")
    label = source_label(load_prices(["AAA"], source=folder))
    assert label == "prices from the CSV folder 'my-prices', 2024-01-02 to 2024-01-04"
    assert str(tmp_path) not in label


def test_answer_prints_and_records_the_labelled_text(capsys, monkeypatch):
    shown = []
    monkeypatch.setattr("helpers.reporting.display", lambda obj, raw=False: shown.append(obj))
    prices = load_prices(["SPY"], start="2021-01-01", end="2021-03-31")
    text = answer("No evidence that A and B differ.", prices)
    assert text.startswith("On the simulated market") and text.endswith("No evidence that A and B differ.")
    assert "No evidence" in capsys.readouterr().out
    notebook = SimpleNamespace(cells=[{"outputs": [{"data": o} for o in shown]}])
    assert read_records(notebook) == {"answer": text}


def test_banner_states_the_dates_and_hash_of_the_trimmed_frame(capsys, monkeypatch):
    from helpers.data import content_hash

    monkeypatch.setattr("helpers.reporting.display", lambda obj, raw=False: None)
    from helpers.reporting import data_banner

    prices = load_prices(["SPY", "SHV"], start="2005-01-01", end="2008-12-31")  # SHV starts 2007-01-11
    common = prices.dropna()
    data_banner(common)
    line = capsys.readouterr().out
    assert f"{common.index[0].date()}..2008-12-31" in line and str(prices.index[0].date()) not in line
    assert content_hash(common)[:12] in line


def test_conclude_records_the_answer_keys_and_checks_the_headline(capsys):
    from helpers.comparison import Comparison
    from helpers.data import load_prices
    from helpers.reporting import conclude

    frame = load_prices(["SPY"], start="2020-01-01", end="2020-12-31")
    c = Comparison("a vs b", "Sharpe ratio difference", 0.1, -0.1, 0.3, halves=("no evidence", "no evidence"))
    full = conclude("Q?", "No evidence that a beats b: +0.10 (95% CI -0.10 to +0.30).", [c], frame,
                    verdict="No evidence", caveats=["A caveat."])
    out = capsys.readouterr().out
    keys = [line for line in out.splitlines() if "'key'" in line]
    for key in ("question", "headline", "verdict", "period", "comparisons", "deciding", "answer"):
        assert any(f"'key': '{key}'" in line for line in keys), key
    assert "2020-01-02 to 2020-12-31" in full and "A caveat." in full and "| a vs b |" in full
    with pytest.raises(ValueError, match="41 words"):
        conclude("Q?", " ".join(["word"] * 41), [c], frame, verdict="x")
