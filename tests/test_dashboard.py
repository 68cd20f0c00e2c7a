"""The index as a research dashboard: rows with question, answer, numbers for people, thumbnails; sweeps."""

from __future__ import annotations

import base64
import io
import json
import re

import nbformat
import pytest
from PIL import Image

from helpers import dashboard as d
from helpers.findings import QUESTIONS


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
def test_thumbnails_shrink_to_360_pixels_keeping_the_aspect(size, expected):
    with Image.open(io.BytesIO(d.thumbnail(png(*size)))) as img:
        assert img.size == expected                                       # 450 * 360 / 800 = 202.5 -> 202


@pytest.mark.parametrize("source, kind, words", [
    ("synthetic", "simulated", "simulated market, not real prices (synthetic)"),
    ("synthetic:7", "simulated", "simulated market, not real prices (synthetic:7)"),
    ("yfinance", "real", "real prices: Yahoo Finance"),
    ("/home/x/market-data", "real", "real prices: CSV folder 'market-data'"),
    ("csv:market-data", "real", "real prices: CSV folder 'market-data'"),
])
def test_the_data_is_said_plainly(source, kind, words):
    assert d.data_words({"source": source}) == (kind, words)


def meta(name: str, params: dict, records: dict, status: str = "ok", source: str = "synthetic", **extra) -> dict:
    return {"name": name, "set": name, "notebook": "05_drawdown_aware_leverage", "status": status,
            "parameters": params, "duration": 12.34, "finished": "2026-01-02T03:04:05+00:00",
            "defaults": {"target_vol": 0.12, "lev_max": 2.0, "data_source": None},
            "records": {"data": {"source": source, "tickers": ["SPY"], "first_date": "2010-01-04",
                                 "last_date": "2025-12-31", "content_hash": "ab" * 32}, **records},
            "files": {"report": f"{name}.html", "notebook": f"{name}.ipynb", "thumbnail": "thumbnail.png"},
            "path": f"runs/{name}", **extra}


def test_a_row_shows_question_answer_numbers_thumbnail_status_and_provenance():
    m = meta("05_drawdown_aware_leverage", {}, {"answer": "No evidence that <x> helps.", "maxdd_dynamic": -0.192907,
                                                "sharpe_diff_ci": {"vs_base": [-0.17148, 0.244403]},
                                                "pnl": 129863.2})
    row = d.index_row(m)
    assert QUESTIONS["05_drawdown_aware_leverage"] in row
    assert '<p class="answer">No evidence that &lt;x&gt; helps.</p>' in row
    assert "<b>maxdd_dynamic</b>: -19.3%" in row and "vs_base: [-0.171, 0.244]" in row and "129,863" in row
    assert ('<a href="runs/05_drawdown_aware_leverage/05_drawdown_aware_leverage.html"><img class="thumb" '
            'src="runs/05_drawdown_aware_leverage/thumbnail.png"') in row
    assert "simulated market, not real prices" in row and "12.3s" in row and "cached" not in row
    cached = d.index_row(dict(m, cache={"hit": True, "checked": "2026-02-01T00:00:00"}))
    assert '<span class="cached">cached</span>' in cached and "ran 12.3s, 2026-01-02 03:04" in cached
    real = d.index_row(meta("05_x__data_source=m", {"data_source": "/d/m"}, {"answer": "a"}, source="/d/m"))
    assert "real prices: CSV folder &#x27;m&#x27;" in real and "simulated" not in real


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
    assert '<th class="param">target_vol</th>' in table and "<th>sharpe_diff_ci.vs_base</th>" in table
    assert "<td>[-0.1, 0.08]</td>" in table and '<a href="#05_drawdown_aware_leverage__target_vol=0.08' in table
    plots = re.findall(r'<img class="sweep-plot" src="data:image/png;base64,([^"]+)"', page)
    assert len(plots) == 1
    with Image.open(io.BytesIO(base64.b64decode(plots[0]))) as img:
        assert img.format == "PNG" and img.width > 100
    assert page.count('<tbody class="set') == 6 and "1 failed" in page
