"""The index as a research dashboard: rows with question, answer, numbers for people, thumbnails; sweeps."""

from __future__ import annotations

import base64
import html
import io
import json
import re

import nbformat
import pytest
from findings_fixtures import NOTEBOOKS, records
from PIL import Image

from helpers import dashboard as d


def png(width: int, height: int, color=(255, 0, 0)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buf, format="PNG")
    return buf.getvalue()


def image_cell(*images: bytes, tags=()):
    cell = nbformat.v4.new_code_cell("plot()")
    cell.outputs = [nbformat.v4.new_output("display_data", data={"image/png": base64.b64encode(i).decode()})
                    for i in images]
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell


def test_the_headline_figure_is_the_tagged_one_else_the_last():
    red, green, blue = png(4, 4, (255, 0, 0)), png(4, 4, (0, 255, 0)), png(4, 4, (0, 0, 255))
    nb = nbformat.v4.new_notebook()
    nb.cells = [image_cell(red), nbformat.v4.new_code_cell("x"), image_cell(green, blue)]
    assert d.headline_png(nb) == blue
    nb.cells[0].metadata["tags"] = ["headline"]
    assert d.headline_png(nb) == red
    nb.cells = [nbformat.v4.new_code_cell("x")]
    assert d.headline_png(nb) is None


@pytest.mark.parametrize("size, expected", [((1200, 600), (360, 180)), ((800, 450), (360, 202)),
                                            ((200, 100), (200, 100))])
def test_thumbnails_shrink_to_a_width_keeping_the_aspect(size, expected):
    with Image.open(io.BytesIO(d.thumbnail(png(*size), 360))) as img:
        assert img.size == expected                                       # 450 * 360 / 800 = 202.5 -> 202
    with Image.open(io.BytesIO(d.thumbnail(png(2000, 1000)))) as img:
        assert img.size == (d.THUMB_WIDTH, d.THUMB_WIDTH // 2) and d.THUMB_WIDTH >= 640  # sharp when enlarged


@pytest.mark.parametrize("source, kind, words", [
    ("synthetic", "simulated", "simulated market, not real prices (synthetic)"),
    ("synthetic:7", "simulated", "simulated market, not real prices (synthetic:7)"),
    ("yfinance", "real", "real prices: Yahoo Finance"),
    ("/home/x/market-data", "real", "real prices: CSV folder 'market-data'"),
    ("csv:market-data", "real", "real prices: CSV folder 'market-data'"),
])
def test_the_data_is_said_plainly(source, kind, words):
    assert d.data_words({"source": source}) == (kind, words)


def meta(name: str, params: dict, records: dict, status: str = "ok", source: str = "synthetic",
         notebook: str = "05_drawdown_aware_leverage", **extra) -> dict:
    return {"name": name, "set": name, "notebook": notebook, "status": status,
            "parameters": params, "duration": 12.34, "finished": "2026-01-02T03:04:05+00:00",
            "defaults": {"target_vol": 0.12, "lev_max": 2.0, "data_source": None},
            "records": {"data": {"source": source, "tickers": ["SPY"], "first_date": "2010-01-04",
                                 "last_date": "2025-12-31", "content_hash": "ab" * 32}, **records},
            "files": {"report": f"{name}.html", "notebook": f"{name}.ipynb", "thumbnail": "thumbnail.png"},
            "path": f"runs/{name}", **extra}


def test_a_row_shows_question_headline_results_comparisons_thumbnail_status_and_provenance():
    rec = records("05_drawdown_aware_leverage")
    m = meta("05_drawdown_aware_leverage", {}, dict(rec, pnl=129863.2))
    row = d.index_row(m)
    assert f'<p class="question">{html.escape(rec["question"])}</p>' in row
    assert f'<p class="headline">{html.escape(rec["headline"])}</p>' in row
    assert "<td>max drawdown, overlay</td><td>-24.7%</td>" in row                  # human labels, units
    assert "<caption>Sharpe gap, 95% CI</caption>" in row and "<td>[-0.315, 0.154]</td>" in row  # nested: a table
    assert "<td>P/L</td><td>129,863</td>" in row and "maxdd_dynamic" not in row
    assert '<table class="dataframe comparisons">' in row and "Detectable (80% power)" in row
    assert '<details class="answer"><summary>Full answer</summary>' in row and "<strong>No evidence" in row
    assert ('<a class="enlarge" href="#zoom-05_drawdown_aware_leverage"><img class="thumb" '
            'src="runs/05_drawdown_aware_leverage/thumbnail.png"') in row
    assert 'id="zoom-05_drawdown_aware_leverage" href="#05_drawdown_aware_leverage"' in row   # click closes it
    title = re.search(r'<div class="title">.*?</div>', row).group(0)             # status and links beside it
    assert 'class="status ok">ok</span>' in title and ">report</a>" in title and "12.3s" in title
    assert "real prices: CSV folder" in row and "cached" not in row
    cached = d.index_row(dict(m, cache={"hit": True, "checked": "2026-02-01T00:00:00"}))
    assert '<span class="cached">cached</span>' in cached and "ran 12.3s, 2026-01-02 03:04" in cached
    real = d.index_row(meta("05_x__data_source=m", {"data_source": "/d/m"}, {"answer": "a"}, source="/d/m"))
    assert "real prices: CSV folder &#x27;m&#x27;" in real and "simulated" not in real


def test_an_older_set_shows_the_start_of_its_answer():
    row = d.index_row(meta("05_drawdown_aware_leverage", {}, {"answer": "No evidence that <x> helps."}))
    assert '<p class="headline">No evidence that &lt;x&gt; helps.</p>' in row


@pytest.mark.parametrize("key, shown", [
    ("maxdd_dynamic", "max drawdown, overlay"), ("ic_cross_sectional", "IC across assets per date"),
    ("max_drawdown", "max drawdown"), ("sortino_ci", "sortino 95% CI"), ("sharpe_diff_vs_x", "Sharpe gap vs x"), ("turnover", "turnover"),
    ("edge_per_trade_bps", "gross edge per trade (bp)"), ("new_key", "new key"),
])
def test_keys_get_human_labels(key, shown):
    assert d.label(key) == shown


def test_a_dict_of_dicts_is_a_table_and_an_interval_dict_one_figure():
    out = d.results_html({"performance": {"ew": {"sharpe": 0.794, "cagr": 0.072}, "iv": {"sharpe": 0.7}},
                          "ic_cross_sectional": {"estimate": 0.04, "low": -0.03, "high": 0.11}})
    assert "<th>Sharpe</th><th>CAGR</th>" in out and "<td>ew</td><td>0.794</td><td>7.2%</td>" in out
    assert "<td>iv</td><td>0.7</td><td>-</td>" in out
    assert "<td>IC across assets per date</td><td>0.04 [-0.03, 0.11]</td>" in out


def test_the_page_opens_with_every_notebook_at_a_glance():
    sets = [meta(s, {}, records(s), notebook=s) for s in NOTEBOOKS]
    sets.append(meta("05_drawdown_aware_leverage__target_vol=0.2", {"target_vol": 0.2},
                     dict(records("05_drawdown_aware_leverage"), headline="sweep"), notebook="05_drawdown_aware_leverage"))
    page = d.index_html(sets)
    glance = re.search(r'<table class="glance">.*?</table>', page, re.S).group(0)
    assert glance.count("<tr>") == 6 and "sweep" not in glance              # the default set stands for each
    for s in NOTEBOOKS:
        assert html.escape(records(s)["headline"]) in glance and f'href="#{s}"' in glance
    assert page.index('class="glance"') < page.index('<section class="set')


def sweep_sets():
    """A 2 x 2 sweep of target_vol and lev_max (one cell at the defaults), a failure, another source."""
    sets = []
    for tv in (0.08, 0.12):
        for lm in (1.5, 2.0):
            params = {k: v for k, v in {"target_vol": tv, "lev_max": lm}.items()
                      if (k, v) not in (("target_vol", 0.12), ("lev_max", 2.0))}
            name = "05_drawdown_aware_leverage" + "".join(f"__{k}={v}" for k, v in params.items())
            sets.append(meta(name, params, {"answer": "a", "sharpe_dynamic": round(tv * 10 + lm, 3),
                                            "sharpe_diff_ci": {"vs_base": [-0.1, tv]}, "text": "x"}))
    sets.append(meta("05_drawdown_aware_leverage__target_vol=0.2", {"target_vol": 0.2}, {}, status="failed"))
    sets.append(meta("05_drawdown_aware_leverage__data_source=m", {"data_source": "/d/m"},
                     {"sharpe_dynamic": 9.0}, source="/d/m"))
    return sets


def test_sets_of_one_notebook_and_source_form_a_sweep_of_what_differs():
    (group,) = d.sweeps(sweep_sets())                                      # one source has a single set
    assert group["swept"] == ["target_vol", "lev_max"] and group["source"] == "synthetic"
    assert group["rows"] == [{"target_vol": 0.08, "lev_max": 1.5}, {"target_vol": 0.08, "lev_max": 2.0},
                             {"target_vol": 0.12, "lev_max": 1.5}, {"target_vol": 0.12, "lev_max": 2.0}]
    assert group["results"] == ["sharpe_dynamic", "sharpe_diff_ci.vs_base"]  # numbers and intervals only
    assert d.numeric_results({"a": 1, "b": True, "c": [1, 2], "d": {"e": 3, "f": "x"}, "g": {str(i): i for i in
                                                                                          range(9)}}) == \
        {"a": 1, "c": [1, 2], "d.e": 3}


def test_two_swept_parameters_give_a_heatmap_one_gives_a_line(monkeypatch):
    specs = []
    monkeypatch.setattr(d, "_plot", lambda spec: specs.append(json.loads(spec)) or "data:image/png;base64,")
    (group,) = d.sweeps(sweep_sets())
    d.sweep_plots(group)
    (heat,) = specs                                                         # intervals are not plotted
    assert heat["kind"] == "heatmap" and (heat["x"], heat["y"]) == ("target_vol", "lev_max")
    assert heat["xs"] == [0.08, 0.12] and heat["ys"] == [1.5, 2.0]
    assert heat["z"] == [[2.3, 2.7], [2.8, 3.2]]                            # z[lev_max][target_vol] = 10 tv + lm
    specs.clear()
    line = [m for m in sweep_sets()[:4] if (m["parameters"].get("lev_max", 2.0)) == 2.0]
    d.sweep_plots(d.sweeps(line)[0])
    assert specs == [{"kind": "line", "x": "target_vol", "xs": [0.08, 0.12], "ys": [2.8, 3.2],
                      "title": "sharpe_dynamic"}]


def test_the_page_has_the_sweep_table_inline_plots_and_every_row():
    page = d.index_html(sweep_sets(), {"python": "3.11"})
    table = re.search(r'<table class="sweep-table">.*?</table>', page, re.S).group(0)
    assert table.count("<tr>") == 5                                        # a header and a row per combination
    assert '<th class="param">target_vol</th>' in table and "<th title=\"sharpe_diff_ci.vs_base\">Sharpe gap, 95% CI: vs_base</th>" in table
    assert "<td>[-0.1, 0.08]</td>" in table and '<a href="#05_drawdown_aware_leverage__target_vol=0.08' in table
    plots = re.findall(r'<img class="sweep-plot" src="data:image/png;base64,([^"]+)"', page)
    assert len(plots) == 1
    with Image.open(io.BytesIO(base64.b64decode(plots[0]))) as img:
        assert img.format == "PNG" and img.width > 100
    assert page.count('<section class="set') == 6 and "1 failed" in page


def test_results_by_the_same_names_share_one_table():
    pairs = ("SPY/SPXL", "QQQ/TQQQ", "IWM/TNA", "DIA/UDOW")
    out = d.results_html({"rehedges_per_year": dict(zip(pairs, (25.6, 34.3, 35.1, 21.8))),
                          "breakeven_borrow_fee_ci": {p: [0.013, 0.031] for p in pairs}})
    assert out.count("<table") == 1 and "<th>SPY/SPXL</th><th>QQQ/TQQQ</th>" in out
    assert "<tr><td>re-hedges per year</td><td>25.6</td>" in out
    assert "<tr><td>break-even borrow fee, 95% CI</td><td>[1.3%, 3.1%]</td>" in out
