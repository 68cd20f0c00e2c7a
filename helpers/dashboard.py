"""The reports index as a research dashboard: one static, self-contained HTML page.

Each report set (a ``run.json`` dict, see :mod:`helpers.run`) becomes a row with its short
question (:data:`helpers.findings.QUESTIONS`), its computed answer, its key results formatted for
people (:func:`helpers.findings.format_value`), a thumbnail of its headline figure linking to the
report, its status and duration ("cached" when the runner reused it), parameters and data
provenance, said plainly: "simulated market, not real prices" or "real prices".

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

from helpers.findings import QUESTIONS, format_value
from helpers.source import DataSource

THUMB_WIDTH = 360      # pixels
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


def _value_html(key: str, value) -> str:
    text = format_value(key, value)
    if len(text) <= 160:
        return esc(text)
    return f"<details><summary>{esc(text[:110])}…</summary>{esc(text)}</details>"


def duration_html(meta: dict) -> str:
    """``12.3s``, or for a set the last runner reused: ``cached`` and when and how long it ran."""
    cache = meta.get("cache") or {}
    ran = f"{float(meta.get('duration') or 0):.1f}s"
    if cache.get("hit"):
        when = esc(str(meta.get("finished", ""))[:16].replace("T", " "))
        return f'<span class="cached">cached</span><br><small>ran {ran}, {when}</small>'
    return f"<small>{ran}</small>"


def index_row(meta: dict) -> str:
    """One report set as a ``<tbody id=set>``: thumbnail, run and question, status, parameters,
    data, key results and links, then the set's answer across the whole width."""
    records = meta.get("records") or {}
    data = records.get("data") or {}
    kind, words = data_words(data)
    prov = (f'<span class="src {kind}">{esc(words)}</span>' + (
        f"<br><small>{len(data.get('tickers') or [])} tickers, {esc(str(data.get('first_date', '')))} → "
        f"{esc(str(data.get('last_date', '')))}</small><br><small>sha256 "
        f"{esc(str(data.get('content_hash', ''))[:12])}</small>" if data else ""))
    answer = records.get("answer")
    answer_html = (f'<p class="answer">{esc(str(answer))}</p>' if answer
                   else '<p class="noanswer">no answer recorded</p>' if meta.get("status") == "ok" else "")
    keys = "".join(f"<li><b>{esc(k)}</b>: {_value_html(k, v)}</li>" for k, v in records.items()
                   if k not in ("data", "answer"))
    params = meta.get("parameters") or {}
    params_html = "".join(f"<li>{esc(k)} = {esc(json.dumps(v))}</li>" for k, v in params.items()) or "defaults"
    files = meta.get("files") or {}
    path = meta.get("path", "")
    labels = {"report": "report", "code": "with code", "notebook": "notebook", "results": "results (JSON)"}
    links = [f'<a href="{_href(path, files[role])}">{label}</a>' for role, label in labels.items() if role in files]
    links += [f'<a href="{_href(path, name)}">{esc(name)}</a>' for role, name in files.items()
              if role.startswith("output:")]
    target = files.get("report") or files.get("notebook")
    thumb = ""
    if "thumbnail" in files:
        img = f'<img class="thumb" src="{_href(path, files["thumbnail"])}" alt="headline figure of {esc(meta.get("name", ""))}">'
        thumb = f'<a href="{_href(path, target)}">{img}</a>' if target else img
    status = meta.get("status", "?")
    status_html = f'<span class="{esc(status)}">{esc(status)}</span>'
    if meta.get("error"):
        status_html += f"<br><small>{esc(str(meta['error'])[:300])}</small>"
    when = esc(str(meta.get("finished", ""))[:16].replace("T", " "))
    set_id = esc(str(meta.get("set", meta.get("name", ""))))
    question = QUESTIONS.get(meta.get("notebook", ""))
    question_html = f'<p class="question">{esc(question)}</p>' if question else ""
    name = esc(meta.get("name", ""))
    name_html = f'<a href="{_href(path, target)}">{name}</a>' if target else name
    answer_row = f'<tr class="answer-row"><td colspan="7">{answer_html}</td></tr>' if answer_html else ""
    return (f'<tbody class="set {esc(kind)}" id="{set_id}"><tr><td class="thumbcell">{thumb}</td>'
            f'<td class="run"><b>{name_html}</b>{question_html}<small>{when}</small></td>'
            f"<td>{status_html}<br>{duration_html(meta)}</td>"
            f"<td><ul>{params_html}</ul></td><td>{prov}</td><td><ul class=\"keys\">{keys}</ul></td>"
            f"<td>{' · '.join(links) or '-'}</td></tr>{answer_row}</tbody>")


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


def sweep_html(group: dict) -> str:
    """A sweep's table (a row per parameter combination, a column per numeric key result) and plots."""
    nb = group["notebook"]
    _, words = data_words({"source": group["source"]})
    head = "".join(f'<th class="param">{esc(k)}</th>' for k in group["swept"])
    head += "".join(f"<th>{esc(k)}</th>" for k in group["results"])
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
body { font-family: system-ui, sans-serif; margin: 2rem; color: #222; }
table { border-collapse: collapse; width: 100%; }
th, td { padding: .5rem; vertical-align: top; text-align: left; }
tbody.set { border-bottom: 2px solid #ccc; } tbody.set tr:first-child td { padding-bottom: .2rem; }
th { background: #f4f4f4; } ul { margin: 0; padding-left: 1rem; } small { white-space: nowrap; }
ul.keys { font-size: .9rem; max-width: 28rem; } details summary { cursor: pointer; }
tr.answer-row td { padding-top: 0; }
.question { margin: .2rem 0; font-style: italic; color: #444; max-width: 24rem; }
.answer { font-size: 1.05rem; line-height: 1.45; margin: 0; padding: .5rem .8rem; max-width: 75rem;
          border-left: 4px solid #1a5fb4; background: #f3f7fc; white-space: pre-wrap; }
.noanswer { color: #888; font-style: italic; margin: 0; }
img.thumb { width: 180px; border: 1px solid #ddd; } td.thumbcell { width: 182px; }
.ok { color: #1a7f37; font-weight: bold; } .failed, .unreadable { color: #c62828; font-weight: bold; }
.cached { color: #6a4c93; font-weight: bold; }
.src.simulated { color: #8a5300; font-weight: bold; } .src.real { color: #1a5fb4; font-weight: bold; }
section.sweep { margin: 1rem 0 2rem; } .scroll { overflow-x: auto; }
table.sweep-table { width: auto; font-size: .9rem; } table.sweep-table td, table.sweep-table th { border: 1px solid #ddd; }
th.param, td.param { background: #fbf7ec; }
.plots { display: flex; flex-wrap: wrap; gap: .5rem; } .plots figure { margin: 0; }
footer { margin-top: 2rem; color: #666; font-size: .85rem; } footer ul { columns: 3; }
"""


def index_html(sets: list[dict], env: dict | None = None) -> str:
    """The index page of report sets (each a run.json dict with its ``path``)."""
    rows = "".join(index_row(m) for m in sets) or '<tbody><tr><td colspan="7">No report sets yet.</td></tr></tbody>'
    env_html = "".join(f"<li>{esc(k)} {esc(str(v))}</li>" for k, v in (env or {}).items())
    counts = {s: sum(m.get("status") == s for m in sets) for s in ("ok", "failed")}
    cached = sum(bool((m.get("cache") or {}).get("hit")) for m in sets)
    groups = sweeps(sets)
    sweep_part = ("<h2>Sweeps</h2>" + "".join(sweep_html(g) for g in groups)) if groups else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Quant Notebooks: reports</title>
<style>{INDEX_STYLE}</style></head><body>
<h1>Quant Notebooks: reports</h1>
<p>{len(sets)} report set(s): {counts['ok']} ok ({cached} of them reused unchanged, "cached"), {counts['failed']} failed.
Numbers on the <span class="src simulated">simulated market</span> are not real prices;
<span class="src real">real prices</span> come from Yahoo Finance or a CSV folder.</p>
{sweep_part}
<h2>Runs</h2>
<table class="runs"><thead><tr><th>headline figure</th><th>run and question</th><th>status</th><th>parameters</th>
<th>data</th><th>key results (answer below)</th><th>links</th></tr></thead>
{rows}
</table>
<footer><h3>Environment of the runner that wrote this page</h3><ul>{env_html}</ul></footer>
</body></html>
"""
