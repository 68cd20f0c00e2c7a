"""The reports index as a research dashboard: one static, self-contained HTML page.

At the top, one row per notebook (its default set): question and headline, so a reader has every
verdict on the first screen. Then each report set (a ``run.json`` dict, see :mod:`helpers.run`)
as a row: its headline figure (a readable thumbnail; a click enlarges it) beside its title, status,
duration ("cached" when the runner reused it) and links; its recorded ``question`` and ``headline``
(:func:`helpers.findings.question_of`, :func:`helpers.findings.headline_of`); its data provenance,
said plainly ("simulated market, not real prices" or "real prices") and parameters; its key results
with human labels (:data:`LABELS`) and units (:func:`helpers.findings.format_value`), nested results
as small tables; its comparisons as a small table (:func:`helpers.comparison.table`); and the full
answer behind a disclosure. The page fits a 1366 px window without sideways scrolling.

Sets of one notebook on one data source that differ in their parameters are a *sweep*: one table
with a row per parameter combination and a column per numeric key result (numbers and
``[low, high]`` intervals at the top level of the records, and those one level down in a record
of at most :data:`MAX_NESTED` entries, e.g. ``sharpe_diff_ci.vs_base``), and a small plot of each
numeric key result against each numeric swept parameter: a line for one swept parameter, a
heatmap for two, points for more. The plots are inline PNGs (``data:`` URIs), so the page needs
nothing but the files it links to, from the file system or behind any web server.

The headline figure of a notebook (:func:`headline_png`): the first image of a cell tagged
``headline``, else the notebook's last image output; the runner saves it as ``thumbnail.png``
(at most :data:`THUMB_WIDTH` pixels wide) in the set.
"""

from __future__ import annotations

import base64
import functools
import html
import io
import json
import math
from urllib.parse import quote

from helpers import comparison as cmp
from helpers.findings import format_value, headline_of, period_of, preference, question_of, title_of
from helpers.source import DataSource

THUMB_WIDTH = 960      # pixels: shown 320 wide, enlarged on a click
MAX_NESTED = 4         # a record dict with at most this many entries gives sweep columns
MAX_PLOTS = 24         # plots per sweep
esc = html.escape


# --------------------------------------------------------------------------- the headline figure


def headline_png(nb) -> bytes | None:
    """The PNG bytes of a notebook's headline figure (an nbformat node), or None without images.

    The first ``image/png`` output of the first cell tagged ``headline``; without such a cell,
    the last ``image/png`` output of the notebook.
    """
    images, tagged = [], None
    for cell in nb.cells:
        pngs = [out["data"]["image/png"] for out in cell.get("outputs", [])
                if "image/png" in out.get("data", {})]
        if pngs and tagged is None and "headline" in cell.get("metadata", {}).get("tags", []):
            tagged = pngs[0]
        images += pngs
    chosen = tagged if tagged is not None else (images[-1] if images else None)
    if chosen is None:
        return None
    data = "".join(chosen) if isinstance(chosen, list) else chosen
    return base64.b64decode(data)


def thumbnail(png: bytes, width: int = THUMB_WIDTH) -> bytes:
    """``png`` scaled down (never up) to ``width`` pixels wide, aspect kept, as PNG bytes."""
    from PIL import Image

    with Image.open(io.BytesIO(png)) as img:
        img = img.convert("RGBA") if img.mode not in ("RGB", "RGBA") else img
        if img.width > width:
            img = img.resize((width, max(1, round(img.height * width / img.width))), Image.LANCZOS)
        out = io.BytesIO()
        img.save(out, format="PNG", optimize=True)
    return out.getvalue()


# --------------------------------------------------------------------------- words for a set


def data_words(data: dict) -> tuple[str, str]:
    """(kind, words) for a run's data provenance: kind ``simulated`` / ``real`` / ``unknown``."""
    source = str((data or {}).get("source", ""))
    if not source:
        return "unknown", "data source not recorded"
    ds = DataSource.from_label(source)
    if ds.is_simulated:
        return "simulated", f"simulated market, not real prices ({source})"
    if ds.kind == "yfinance":
        return "real", "real prices: Yahoo Finance"
    return "real", f"real prices: CSV folder '{ds.name}'"


def _href(set_path: str, file_name: str) -> str:
    return esc(quote(f"{set_path}/{file_name}"))


# What the index shows as key results: everything recorded but these (shown elsewhere in the row).
SHOWN_ELSEWHERE = ("data", "answer", "question", "headline", "verdict", "period", "comparisons", "deciding")

# Human labels of recorded keys (units come from helpers.findings.format_value: rates and
# drawdowns in %, intervals as [low, high]); keys not listed are spelled out by :func:`label`.
LABELS = {
    "breakeven_borrow_fee": "break-even borrow fee (return = cash)",
    "breakeven_borrow_fee_ci": "break-even borrow fee, 95% CI",
    "breakeven_borrow_fee_pnl_zero": "borrow fee where mean P/L = 0 (ignores T-bill income)",
    "rehedges_per_year": "re-hedges per year",
    "mean_pnl": "mean P/L per window ($)",
    "mean_return_on_capital": "mean return on capital (a year)",
    "whole_history_excess_return": "whole-history return over cash (a year)",
    "edge_per_trade_bps": "gross edge per trade (bp)",
    "cost_per_trade_bps": "cost per trade (bp)",
    "sharpe_before_costs": "Sharpe before costs",
    "pnl_lstm": "P/L over cash, LSTM book ($)",
    "pnl_zrule": "P/L over cash, |z| book ($)",
    "sharpe_lstm": "Sharpe over cash, LSTM book",
    "sharpe_zrule": "Sharpe over cash, |z| book",
    "sharpe_ci": "Sharpe over cash, 95% CI",
    "f1_diff_vs_zrule_ci": "F1 gap LSTM - |z| rule, 95% CI",
    "auc_diff_vs_zrule_ci": "ROC AUC gap LSTM - |z| rule, 95% CI",
    "f1_diff_vs_logistic_ci": "F1 gap LSTM - logistic, 95% CI",
    "static_beta": "static beta to QQQ",
    "sharpe_static_hedge": "Sharpe, static hedge",
    "sharpe_dynamic_hedge": "Sharpe, dynamic hedge",
    "realized_beta_dynamic": "realized beta, dynamic hedge",
    "sharpe_diff_ci": "Sharpe gap, 95% CI",
    "alpha_annual": "alpha, unhedged (a year)",
    "alpha_ci": "alpha, unhedged, 95% CI",
    "alpha_hedged_annual": "alpha, hedged after costs (a year)",
    "alpha_hedged_ci": "alpha, hedged, 95% CI",
    "asset_volatility": "volatility by asset (a year)",
    "ic_cross_sectional": "IC across assets per date",
    "ic_time_series_mean": "IC through time, mean over assets",
    "performance": "performance",
    "sharpe_diff_vs_equal_weight_ci": "Sharpe gap vs equal weight, 95% CI",
    "sharpe_base": "Sharpe, base",
    "sharpe_dynamic": "Sharpe, overlay",
    "sharpe_matched_leverage": "Sharpe, matched leverage",
    "maxdd_dynamic": "max drawdown, overlay",
    "maxdd_diff_ci": "max drawdown gap, 95% CI",
    "ablation": "components",
    "deflated_sharpe_best_cell": "deflated Sharpe, best cell (chance its true Sharpe > 0)",
    "lstm_better_mostly_by_trading_less": "LSTM book's edge over the |z| book comes mostly from trading less",
    "psr_best_cell_vs_base": "probabilistic Sharpe, best cell vs base",
    "cells_beating_base": "cells beating the base",
    "leverage_at_cap_share": "share of days with leverage at its cap",
    "sharpe_diff_ci_best_cell_vs_base": "Sharpe gap best cell - base, 95% CI",
}
_WORDS = {"sharpe": "Sharpe", "ci": "95% CI", "pnl": "P/L", "maxdd": "max drawdown", "dd": "drawdown",
          "ic": "IC", "cagr": "CAGR", "auc": "ROC AUC", "f1": "F1", "lstm": "LSTM", "zrule": "|z| rule",
          "bps": "(bp)", "diff": "gap", "vs": "vs", "psr": "probabilistic Sharpe", "max_drawdown": "max drawdown",
          "qqq": "QQQ", "spy": "SPY"}


def label(key: str) -> str:
    """A recorded key for people: :data:`LABELS`, else its words spelled out (``max_drawdown`` ->
    ``max drawdown``, ``sharpe_ci`` -> ``Sharpe 95% CI``)."""
    if key in LABELS:
        return LABELS[key]
    if key in _WORDS:
        return _WORDS[key]
    return " ".join(_WORDS.get(w, w) for w in key.split("_") if w) or key


def _interval_dict(value) -> bool:
    return isinstance(value, dict) and {"low", "high"} <= value.keys() and value.keys() <= {"estimate", "low", "high"}


def _cell(key: str, value, parent: str = "") -> str:
    """A value for a table cell, formatted for people (``{estimate, low, high}`` as ``x [low, high]``)."""
    if _interval_dict(value):
        ci = format_value(key, [value.get("low"), value.get("high")], parent)
        return esc(f"{format_value(key, value['estimate'], parent)} {ci}" if "estimate" in value else ci)
    return esc(format_value(key, value, parent))


def _small_table(caption: str, head: list[str], rows: list[list[str]]) -> str:
    th = "".join(f"<th>{esc(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    caption = f"<caption>{esc(caption)}</caption>" if caption else ""
    return (f'<div class="kv"><table class="small">{caption}'
            f"{f'<thead><tr>{th}</tr></thead>' if head else ''}<tbody>{body}</tbody></table></div>")


def results_html(records: dict) -> str:
    """Key results with human labels: the plain numbers in one small table; results by the same
    names (pairs, assets, ...) together in one table, a row per result and a column per name; any
    other nested result in its own small table, a dict of dicts as rows x columns."""
    flat, nested, by_names = [], [], {}
    for key, value in records.items():
        if key in SHOWN_ELSEWHERE:
            continue
        if isinstance(value, dict) and value and not _interval_dict(value):
            inner = list(value.values())
            if all(isinstance(v, dict) and not _interval_dict(v) for v in inner):
                cols = list(dict.fromkeys(c for v in inner for c in v))
                rows = [[esc(str(k))] + [_cell(c, v.get(c), key) if c in v else "-" for c in cols]
                        for k, v in value.items()]
                nested.append(_small_table(label(key), [""] + [label(c) for c in cols], rows))
            else:
                by_names.setdefault(tuple(value), []).append(key)
        else:
            flat.append([esc(label(key)), _cell(key, value)])
    for names, keys in by_names.items():
        rows = [[esc(label(key))] + [_cell(str(n), records[key][n], key) for n in names] for key in keys]
        if len(keys) == 1 and len(names) <= 3:  # a short one: a name and a value per row
            rows = [[esc(str(n)), _cell(str(n), records[keys[0]][n], keys[0])] for n in names]
            nested.append(_small_table(label(keys[0]), [], rows))
        else:
            nested.append(_small_table("", [""] + [str(n) for n in names], rows))
    parts = ([_small_table("key results", [], flat)] if flat else []) + nested
    return f'<div class="results">{"".join(parts)}</div>' if parts else ""


def comparisons_html(records: dict) -> str:
    """The recorded comparisons as a small table (:func:`helpers.comparison.table`), or ""."""
    rows = records.get("comparisons")
    if not isinstance(rows, list) or not rows:
        return ""
    try:
        html_table = cmp.render([cmp.Comparison.from_dict(r) for r in rows], "html")
    except (TypeError, ValueError, KeyError):
        return ""
    return f'<div class="scroll">{html_table}</div>'


def answer_html(answer: str) -> str:
    """The full recorded answer (markdown: headline, table, caveats) as escaped HTML."""
    import mistune

    return mistune.create_markdown(escape=True, plugins=["table"])(str(answer))


def duration_html(meta: dict) -> str:
    """``12.3s``, or for a set the last runner reused: ``cached`` and when and how long it ran."""
    cache = meta.get("cache") or {}
    ran = f"{float(meta.get('duration') or 0):.1f}s"
    if cache.get("hit"):
        when = esc(str(meta.get("finished", ""))[:16].replace("T", " "))
        return f'<span class="cached">cached</span> <small>ran {ran}, {when}</small>'
    return f"<small>{ran}</small>"


def _set_id(meta: dict) -> str:
    return str(meta.get("set", meta.get("name", "")))


def index_row(meta: dict) -> str:
    """One report set as a ``<section class=set id=set>``: a thumbnail (click to enlarge) beside
    the title with its status and links, the question, the headline, data and parameters, the key
    results and comparisons as small tables, and the full answer behind a disclosure."""
    records = meta.get("records") or {}
    data = records.get("data") or {}
    kind, words = data_words(data)
    prov = (f'<span class="src {kind}">{esc(words)}</span>' + (
        f" · {len(data.get('tickers') or [])} tickers, {esc(str(data.get('first_date', '')))} to "
        f"{esc(str(data.get('last_date', '')))} · sha256 {esc(str(data.get('content_hash', ''))[:12])}"
        if data else ""))
    params = meta.get("parameters") or {}
    params_html = ", ".join(f"{esc(k)} = {esc(json.dumps(v))}" for k, v in params.items()) or "defaults"
    files = meta.get("files") or {}
    path = meta.get("path", "")
    labels = {"report": "report", "code": "with code", "notebook": "notebook", "results": "results (JSON)"}
    links = [f'<a href="{_href(path, files[role])}">{text}</a>' for role, text in labels.items() if role in files]
    links += [f'<a href="{_href(path, name)}">{esc(name)}</a>' for role, name in files.items()
              if role.startswith("output:")]
    target = files.get("report") or files.get("notebook")
    set_id = esc(_set_id(meta))
    thumb = ""
    if "thumbnail" in files:
        src = _href(path, files["thumbnail"])
        alt = f"headline figure of {esc(meta.get('name', ''))} (click to enlarge)"
        thumb = (f'<a class="enlarge" href="#zoom-{set_id}"><img class="thumb" src="{src}" alt="{alt}"></a>'
                 f'<a class="lightbox" id="zoom-{set_id}" href="#{set_id}"><img src="{src}" alt="{alt}"></a>')
    status = meta.get("status", "?")
    status_html = f'<span class="status {esc(status)}">{esc(status)}</span> {duration_html(meta)}'
    error = f'<p class="error">{esc(str(meta["error"])[:300])}</p>' if meta.get("error") else ""
    when = esc(str(meta.get("finished", ""))[:16].replace("T", " "))
    question = question_of(meta.get("notebook", ""), records)
    question_html = f'<p class="question">{esc(question)}</p>' if question else ""
    head = records.get("headline")
    headline = (f'<p class="headline">{esc(str(head))}</p>' if head else
                f'<p class="headline">{esc(headline_of(records))}</p>' if records.get("answer") else
                '<p class="noanswer">no answer recorded</p>' if status == "ok" else "")
    answer = records.get("answer")
    full = (f'<details class="answer"><summary>Full answer</summary>{answer_html(answer)}</details>'
            if answer else "")
    name = esc(meta.get("name", ""))
    name_html = f'<a href="{_href(path, target)}">{name}</a>' if target else name
    return (f'<section class="set {esc(kind)}" id="{set_id}"><div class="thumbcell">{thumb}</div>'
            f'<div class="body"><div class="title"><b>{name_html}</b> {status_html} '
            f'<span class="links">{" · ".join(links) or "-"}</span></div>{error}'
            f"{question_html}{headline}"
            f'<p class="prov">{prov} · parameters: {params_html}{f" · <small>{when}</small>" if when else ""}</p>'
            f"{results_html(records)}{comparisons_html(records)}{full}</div></section>")


def glance_html(sets: list[dict]) -> str:
    """One row per notebook (its default set, as the README's findings choose): question and headline."""
    best: dict[str, dict] = {}
    for meta in sets:
        nb = meta.get("notebook", "")
        rank = (meta.get("status") != "ok", *preference(meta))
        if nb not in best or rank < (best[nb].get("status") != "ok", *preference(best[nb])):
            best[nb] = meta
    rows = []
    for nb in sorted(best):
        meta = best[nb]
        records = meta.get("records") or {}
        head = records.get("headline") or (headline_of(records) if records.get("answer") else "")
        status = meta.get("status", "?")
        kind, _ = data_words(records.get("data") or {})
        rows.append(f'<tr><td><a href="#{esc(_set_id(meta))}">{esc(title_of(nb))}</a><br>'
                    f'<span class="status {esc(status)}">{esc(status)}</span> '
                    f'<small class="src {esc(kind)}">{esc(kind)}</small></td>'
                    f'<td class="question">{esc(question_of(nb, records))}</td>'
                    f'<td class="headline">{esc(head) or "-"}</td>'
                    f"<td>{esc(period_of(records))}</td></tr>")
    return ('<table class="glance"><colgroup><col class="nb"><col class="q"><col><col class="p"></colgroup><thead><tr><th>notebook</th><th>question</th><th>headline</th>'
            f"<th>period</th></tr></thead><tbody>{''.join(rows)}</tbody></table>")


# --------------------------------------------------------------------------- sweeps


def _number(v) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _interval(v) -> bool:
    return isinstance(v, list) and len(v) == 2 and all(_number(x) for x in v)


def numeric_results(records: dict) -> dict:
    """The records a sweep compares: numbers and intervals, top level and one level into small dicts."""
    out = {}
    for key, value in records.items():
        if key in ("data", "answer"):
            continue
        if _number(value) or _interval(value):
            out[key] = value
        elif isinstance(value, dict) and len(value) <= MAX_NESTED:
            out.update({f"{key}.{k}": v for k, v in value.items() if _number(v) or _interval(v)})
    return out


def effective_parameters(meta: dict) -> dict:
    """A set's parameters with the notebook's defaults filled in (``defaults`` of run.json)."""
    return {**(meta.get("defaults") or {}), **(meta.get("parameters") or {})}


def _source_of(meta: dict) -> str:
    data = (meta.get("records") or {}).get("data") or {}
    return str(data.get("source") or (meta.get("parameters") or {}).get("data_source") or "synthetic")


def sweeps(sets: list[dict]) -> list[dict]:
    """Groups of at least two ok sets of one notebook on one data source, with what varies.

    Each group: ``notebook``, ``source``, ``sets`` (run.json dicts), ``swept`` (the parameters
    whose effective values differ, in the notebook's order), ``rows`` (swept values per set),
    ``results`` (the numeric key results any of them recorded, in first-seen order).
    """
    groups: dict[tuple, list[dict]] = {}
    for meta in sets:
        if meta.get("status") == "ok":
            groups.setdefault((meta.get("notebook", ""), _source_of(meta)), []).append(meta)
    out = []
    for (notebook, source), members in groups.items():
        if len(members) < 2:
            continue
        params = [effective_parameters(m) for m in members]
        names = list(dict.fromkeys(k for p in params for k in p if k != "data_source"))
        swept = [k for k in names if len({json.dumps(p.get(k, "default"), sort_keys=True) for p in params}) > 1]
        if not swept:
            continue
        results = list(dict.fromkeys(k for m in members for k in numeric_results(m.get("records") or {})))
        rows = [{k: p.get(k, "default") for k in swept} for p in params]
        order = sorted(range(len(members)), key=lambda i: [(0, rows[i][k], "") if _number(rows[i][k])
                                                          else (1, 0, json.dumps(rows[i][k], sort_keys=True))
                                                          for k in swept])
        out.append({"notebook": notebook, "source": source, "swept": swept,
                    "sets": [members[i] for i in order], "rows": [rows[i] for i in order], "results": results})
    return out


@functools.lru_cache(maxsize=256)
def _plot(spec: str) -> str:
    """A small PNG plot as a ``data:`` URI, from a JSON spec (cached: the index is rebuilt often)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    import numpy as np

    s = json.loads(spec)
    fig, ax = plt.subplots(figsize=(3.2, 2.3), dpi=90)
    try:
        if s["kind"] == "heatmap":
            xs, ys, z = s["xs"], s["ys"], np.array(s["z"], dtype=float)
            im = ax.imshow(z, origin="lower", aspect="auto", cmap="viridis")
            ax.set_xticks(range(len(xs)), [str(x) for x in xs], fontsize=7)
            ax.set_yticks(range(len(ys)), [str(y) for y in ys], fontsize=7)
            lo, hi = np.nanmin(z), np.nanmax(z)
            for (i, j), v in np.ndenumerate(z):
                if np.isfinite(v):  # dark text on the light (high) end of viridis
                    light = hi > lo and (v - lo) / (hi - lo) > 0.6
                    ax.text(j, i, f"{v:.3g}", ha="center", va="center", fontsize=6, color="k" if light else "w")
            fig.colorbar(im, ax=ax).ax.tick_params(labelsize=6)
            ax.set_xlabel(s["x"], fontsize=7)
            ax.set_ylabel(s["y"], fontsize=7)
        else:
            ax.plot(s["xs"], s["ys"], marker="o", lw=1.2 if s["kind"] == "line" else 0)
            ax.set_xlabel(s["x"], fontsize=7)
            ax.tick_params(labelsize=7)
            ax.grid(alpha=0.3)
        ax.set_title(s["title"], fontsize=8)
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
    finally:
        plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def sweep_plots(group: dict) -> list[tuple[str, str]]:
    """(alt text, data URI) of each numeric key result against the numeric swept parameters."""
    numeric = [k for k in group["swept"] if all(_number(r[k]) for r in group["rows"])]
    plots = []
    for key in group["results"]:
        values = [numeric_results(m.get("records") or {}).get(key) for m in group["sets"]]
        if not all(v is None or _number(v) for v in values) or all(v is None for v in values):
            continue  # intervals are compared in the table
        if len(numeric) == 2:
            x, y = numeric
            xs, ys = sorted({r[x] for r in group["rows"]}), sorted({r[y] for r in group["rows"]})
            z = [[None] * len(xs) for _ in ys]
            for r, v in zip(group["rows"], values):
                z[ys.index(r[y])][xs.index(r[x])] = v
            specs = [{"kind": "heatmap", "x": x, "y": y, "xs": xs, "ys": ys, "z": z, "title": key}]
        else:
            specs = []
            for x in numeric:
                pts = sorted((r[x], v) for r, v in zip(group["rows"], values) if v is not None)
                specs.append({"kind": "line" if len(numeric) == 1 else "points", "x": x,
                              "xs": [p[0] for p in pts], "ys": [p[1] for p in pts], "title": key})
        for spec in specs:
            if len(plots) < MAX_PLOTS:
                alt = f"{key} against {spec['x']}" + (f" and {spec['y']}" if "y" in spec and spec["kind"] == "heatmap"
                                                      else "")
                plots.append((alt, _plot(json.dumps(spec, sort_keys=True))))
    return plots


def _result_label(key: str) -> str:
    """A sweep column's label: ``sharpe_diff_ci.vs_base`` -> ``Sharpe gap, 95% CI: vs_base``."""
    parent, _, child = key.partition(".")
    return f"{label(parent)}: {child}" if child else label(parent)


def sweep_html(group: dict) -> str:
    """A sweep's table (a row per parameter combination, a column per numeric key result) and plots."""
    nb = group["notebook"]
    _, words = data_words({"source": group["source"]})
    head = "".join(f'<th class="param">{esc(k)}</th>' for k in group["swept"])
    head += "".join(f'<th title="{esc(k)}">{esc(_result_label(k))}</th>' for k in group["results"])
    body = []
    for meta, row in zip(group["sets"], group["rows"]):
        res = numeric_results(meta.get("records") or {})
        cells = "".join(f'<td class="param">{esc(json.dumps(row[k]))}</td>' for k in group["swept"])
        cells += "".join(f"<td>{esc(format_value(k.split('.')[-1], res[k], k.split('.')[0]))}</td>" if k in res
                         else "<td>-</td>" for k in group["results"])
        set_id = esc(str(meta.get("set", meta.get("name", ""))))
        body.append(f'<tr><td><a href="#{set_id}">{esc(meta.get("name", ""))}</a></td>{cells}</tr>')
    plots = "".join(f'<figure><img class="sweep-plot" src="{uri}" alt="{esc(alt)}"></figure>'
                    for alt, uri in sweep_plots(group))
    return (f'<section class="sweep" id="sweep-{esc(nb)}-{esc(quote(group["source"], safe=""))}">'
            f"<h3>{esc(nb)}: {len(group['sets'])} runs, swept {esc(', '.join(group['swept']))}"
            f' <small class="src">{esc(words)}</small></h3>'
            f'<div class="scroll"><table class="sweep-table"><thead><tr><th>run</th>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table></div>"
            f'<div class="plots">{plots}</div></section>')


# --------------------------------------------------------------------------- the page


INDEX_STYLE = """
* { box-sizing: border-box; }
body { font-family: system-ui, sans-serif; margin: 1rem 1.5rem; color: #222; max-width: 100%;
       overflow-wrap: break-word; line-height: 1.35; }
h1 { margin: .2rem 0 .4rem; font-size: 1.5rem; } h2 { margin: 1.2rem 0 .5rem; font-size: 1.2rem; }
table { border-collapse: collapse; }
th, td { padding: .25rem .45rem; vertical-align: top; text-align: left; }
th { background: #f4f4f4; font-weight: 600; }
details summary { cursor: pointer; color: #1a5fb4; }
.scroll { overflow-x: auto; max-width: 100%; }
table.glance { width: 100%; table-layout: fixed; font-size: .92rem; }
table.glance td, table.glance th { border-bottom: 1px solid #ddd; }
table.glance col.nb { width: 12rem; } table.glance col.q { width: 30%; } table.glance col.p { width: 8.5rem; }
table.glance td.headline { font-weight: 600; }
table.glance td.question, .question { font-style: italic; color: #444; }
section.set { display: grid; grid-template-columns: 320px minmax(0, 1fr); gap: 1rem;
              border-top: 2px solid #ccc; padding: .8rem 0; }
.thumbcell img.thumb { width: 320px; max-width: 100%; border: 1px solid #ddd; cursor: zoom-in; display: block; }
a.lightbox { display: none; }
a.lightbox:target { display: flex; position: fixed; inset: 0; z-index: 10; background: rgba(0, 0, 0, .8);
                    align-items: center; justify-content: center; cursor: zoom-out; }
a.lightbox img { max-width: 95vw; max-height: 95vh; background: #fff; }
.title { font-size: 1.05rem; } .title .links { font-size: .9rem; margin-left: .6rem; }
.question { margin: .25rem 0; }
p.headline { font-size: 1.1rem; font-weight: 600; margin: .35rem 0; padding: .35rem .7rem;
            border-left: 4px solid #1a5fb4; background: #f3f7fc; }
.prov { font-size: .85rem; color: #444; margin: .3rem 0; overflow-wrap: anywhere; }
.error { color: #c62828; margin: .2rem 0; }
.results { display: flex; flex-wrap: wrap; gap: .4rem 1rem; align-items: flex-start; margin: .4rem 0; }
.kv { max-width: 100%; overflow-x: auto; }
table.small { font-size: .82rem; } table.small td, table.small th { border: 1px solid #e2e2e2; padding: .15rem .4rem; }
table.small caption { text-align: left; font-weight: 600; font-size: .82rem; padding: 0 0 .1rem;
                       white-space: nowrap; }
table.comparisons { font-size: .82rem; margin: .3rem 0; }
table.comparisons td, table.comparisons th { border: 1px solid #e2e2e2; padding: .15rem .4rem; }
details.answer { margin: .4rem 0; } details.answer > *:not(summary) { max-width: 60rem; }
details.answer table { font-size: .82rem; display: block; overflow-x: auto; }
details.answer td, details.answer th { border: 1px solid #e2e2e2; }
.noanswer { color: #888; font-style: italic; margin: 0; }
.status.ok { color: #1a7f37; font-weight: bold; } .status.failed, .status.unreadable { color: #c62828; font-weight: bold; }
.cached { color: #6a4c93; font-weight: bold; }
.src.simulated { color: #8a5300; font-weight: bold; } .src.real { color: #1a5fb4; font-weight: bold; }
section.sweep { margin: 1rem 0 2rem; }
table.sweep-table { font-size: .85rem; } table.sweep-table td, table.sweep-table th { border: 1px solid #ddd; }
th.param, td.param { background: #fbf7ec; }
.plots { display: flex; flex-wrap: wrap; gap: .5rem; } .plots figure { margin: 0; }
footer { margin-top: 2rem; color: #666; font-size: .85rem; } footer ul { columns: 3; }
"""


def index_html(sets: list[dict], env: dict | None = None) -> str:
    """The index page of report sets (each a run.json dict with its ``path``): one row per notebook
    at a glance (question and headline), then every set, then the sweeps."""
    rows = "".join(index_row(m) for m in sets) or "<p>No report sets yet.</p>"
    env_html = "".join(f"<li>{esc(k)} {esc(str(v))}</li>" for k, v in (env or {}).items())
    counts = {s: sum(m.get("status") == s for m in sets) for s in ("ok", "failed")}
    cached = sum(bool((m.get("cache") or {}).get("hit")) for m in sets)
    groups = sweeps(sets)
    sweep_part = ("<h2>Sweeps</h2>" + "".join(sweep_html(g) for g in groups)) if groups else ""
    glance = glance_html(sets) if sets else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Quant Notebooks: reports</title>
<style>{INDEX_STYLE}</style></head><body>
<h1>Quant Notebooks: reports</h1>
<p>{len(sets)} report set(s): {counts['ok']} ok ({cached} of them reused unchanged, "cached"), {counts['failed']} failed.
Numbers on the <span class="src simulated">simulated market</span> are not real prices;
<span class="src real">real prices</span> come from Yahoo Finance or a CSV folder.</p>
{glance}
<h2>Runs</h2>
<div class="runs">{rows}</div>
{sweep_part}
<footer><h3>Environment of the runner that wrote this page</h3><ul>{env_html}</ul></footer>
</body></html>
"""
