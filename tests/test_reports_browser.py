"""The main job's pages in a real browser: every link resolves, every image loads.

Runs the main job (all notebooks, simulated market) into reports/, then opens
reports/index.html and each report set's pages (reports/runs/<name>/) in headless Chromium (Debian's chromium + chromedriver,
installed by ``nox -s tests`` when missing) and saves screenshots under reports/screenshots/. The
index's headlines, questions and thumbnails are checked in their rows, the page is also opened
behind a web server, and a sweep (report sets written here, without kernels) must render as a
table and inline plots. Without kernels too: the index of five sets recorded as the notebooks
record them (tests/findings_fixtures.py) must fit a 1366x768 window (every headline within the
first two screens, nothing scrolling sideways), and a report's printed text must wrap.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

ROOT = Path(__file__).resolve().parent.parent
REPORTS = ROOT / "reports"
pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def reports() -> Path:
    env = {k: v for k, v in os.environ.items() if k != "QN_DATA_SOURCE"}
    done = subprocess.run([sys.executable, "-m", "helpers.run", "--data-source", "synthetic"], cwd=ROOT,
                          env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return REPORTS


@pytest.fixture(scope="module")
def browser():
    chromium, driver_path = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and driver_path):
        pytest.skip("chromium and chromedriver are not installed (Debian packages chromium, chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    profile = tempfile.mkdtemp(prefix="qn-chromium-")
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--window-size=1400,1000", f"--user-data-dir={profile}"):
        opts.add_argument(flag)
    driver = webdriver.Chrome(service=Service(driver_path), options=opts)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def check_page(driver, page: Path, shots: Path) -> list[str]:
    """Open a page; return its local link targets after checking its images loaded."""
    driver.get(page.as_uri())
    broken = driver.execute_script(
        "return Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src)")
    assert broken == [], f"{page.name}: images that did not load: {broken[:5]}"
    shots.mkdir(exist_ok=True)
    driver.save_screenshot(str(shots / f"{page.stem}.png"))
    hrefs = driver.execute_script("return Array.from(document.querySelectorAll('a[href]')).map(a => a.href)")
    targets = []
    for href in hrefs:
        url = urlparse(href)
        if url.scheme == "file":
            target = Path(unquote(url.path))
            assert target.exists(), f"{page.name}: broken link to {target.name}"
            targets.append(target)
    return targets


def test_index_and_every_report_render(reports, browser):
    shots = reports / "screenshots"
    index = reports / "index.html"
    assert index.exists()
    targets = check_page(browser, index, shots)
    sets = {m["set"]: m for m in json.loads((reports / "runs.json").read_text())}
    this_run = [nb.stem for nb in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))]
    assert set(this_run) <= set(sets), "the index lists every set of this run"
    for name in sets:                                  # and every other set in the folder
        assert browser.find_elements("id", name), f"index.html has no row for {name}"
    from helpers.findings import headline_of, question_of

    for name in this_run:                              # question and headline show in its row, as text
        records = sets[name]["records"]
        assert records.get("answer"), f"{name} recorded no answer"
        row = browser.find_element("css selector", f'section[id="{name}"]')
        shown = row.find_element("css selector", ".headline")
        assert shown.is_displayed() and shown.text.strip() == (records.get("headline") or headline_of(records)).strip()
        assert question_of(name, records) in row.text and "simulated market, not real prices" in row.text
        assert row.find_elements("css selector", "details.answer")   # the full answer behind a disclosure
        thumb = row.find_element("css selector", "a.enlarge > img.thumb")   # the headline figure, enlarged on a click
        assert browser.execute_script("return arguments[0].complete && arguments[0].naturalWidth", thumb) > 50
        link = row.find_element("css selector", ".title a").get_attribute("href")
        assert link.endswith(f"/{name}/{name}.html")
    html_pages = [t for t in targets if t.suffix == ".html"]
    assert any(t.suffix == ".ipynb" for t in targets)
    for page in html_pages:
        check_page(browser, page, shots)
        if page.parent.name in this_run and not page.name.endswith(".code.html"):
            body = browser.find_element("tag name", "body").text
            assert "Data: synthetic" in body, f"{page.name} does not show its data banner"
    assert {t.parent.name for t in html_pages} >= set(this_run)
    assert browser.execute_script("return document.images.length") > 0  # the last report has plots


def test_the_index_renders_behind_a_web_server(reports, browser):
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(reports))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        browser.get(f"http://127.0.0.1:{server.server_address[1]}/index.html")
        loaded = browser.execute_script(
            "return Array.from(document.images).map(i => i.complete && i.naturalWidth > 0)")
        assert loaded and all(loaded)
        assert browser.find_elements("css selector", "img.thumb")
    finally:
        server.shutdown()
        server.server_close()


def test_a_sweep_renders_as_a_table_and_plots(browser, tmp_path):
    """Report sets of a 2 x 2 sweep (no kernels: run.json written as the runner does), then the index."""
    from PIL import Image

    from helpers.files import atomic_write_text
    from helpers.run.core import Result, set_metadata
    from helpers.run.folder import ReportFolder

    with ReportFolder(tmp_path) as folder:
        for tv in (0.08, 0.1):
            for lm in (1.5, 2.0):
                params = {"target_vol": tv, "lev_max": lm}
                name = f"05_drawdown_aware_leverage__target_vol={tv}__lev_max={lm}"
                staging = folder.new_staging(name)
                Image.new("RGB", (360, 200), (40, 90, 160)).save(staging / "thumbnail.png")
                atomic_write_text(staging / f"{name}.html", "<p>report</p>")
                r = Result("05_drawdown_aware_leverage", name, params, "ok", 3.0,
                               files={"report": f"{name}.html", "thumbnail": "thumbnail.png"},
                               records={"answer": f"answer {tv} {lm}", "sharpe_dynamic": tv * 10 + lm,
                                        "maxdd_dynamic": -tv, "sharpe_diff_ci": {"vs_base": [-0.1, tv]},
                                        "data": {"source": "synthetic"}})
                atomic_write_text(staging / "run.json", json.dumps(set_metadata(r)))
                folder.publish(r, staging)
    check_page(browser, tmp_path / "index.html", tmp_path / "shots")
    table = browser.find_element("css selector", "section.sweep table.sweep-table")
    assert table.is_displayed()
    rows = table.find_elements("css selector", "tbody tr")
    assert len(rows) == 4 and "-8.0%" in rows[0].text                # maxdd for people, as a percentage
    heads = [th.text for th in table.find_elements("css selector", "thead th")]
    assert heads == ["run", "target_vol", "lev_max", "Sharpe, overlay", "max drawdown, overlay",
                     "Sharpe gap, 95% CI: vs_base"]                    # results under their labels
    plots = browser.find_elements("css selector", "section.sweep img.sweep-plot")
    assert len(plots) == 2                                            # a heatmap per numeric result
    assert all(p.is_displayed() and browser.execute_script("return arguments[0].naturalWidth", p) > 100
               for p in plots)
    rows[0].find_element("tag name", "a").click()                     # the table links to the run's row
    assert browser.execute_script("return location.hash").startswith("#05_drawdown_aware_leverage__target_vol=0.08")


def viewport(driver, width: int, height: int) -> None:
    """The page's viewport exactly ``width`` x ``height`` CSS pixels (a laptop screen)."""
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})


def publish_fixture_sets(out: Path) -> list[str]:
    """The five notebooks' sets, records as reporting.conclude leaves them, with a thumbnail each."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    from findings_fixtures import NOTEBOOKS, records

    from helpers.dashboard import thumbnail
    from helpers.files import atomic_write_text
    from helpers.run.core import Result, set_metadata
    from helpers.run.folder import ReportFolder

    fig, ax = plt.subplots(figsize=(10, 4.5), dpi=100)
    ax.plot(np.cumsum(np.random.default_rng(0).normal(size=300)))
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    png = thumbnail(buf.getvalue())
    with ReportFolder(out) as folder:
        for name in NOTEBOOKS:
            staging = folder.new_staging(name)
            (staging / "thumbnail.png").write_bytes(png)
            atomic_write_text(staging / f"{name}.html", "<p>report</p>")
            r = Result(name, name, {}, "ok", 30.0, files={"report": f"{name}.html", "thumbnail": "thumbnail.png"},
                       records=records(name))
            atomic_write_text(staging / "run.json", json.dumps(set_metadata(r)))
            folder.publish(r, staging)
    return list(NOTEBOOKS)


def test_the_index_fits_a_laptop_screen_with_every_headline_in_two_screens(browser, tmp_path):
    from findings_fixtures import records

    names = publish_fixture_sets(tmp_path)
    viewport(browser, 1366, 768)
    try:
        check_page(browser, tmp_path / "index.html", tmp_path / "shots")
        width, inner, height = browser.execute_script(
            "return [document.documentElement.scrollWidth, window.innerWidth, window.innerHeight]")
        assert inner == 1366 and width <= inner, f"the page scrolls sideways: {width} px in a {inner} px window"
        for name in names:
            cell = browser.find_element("xpath", "//table[@class='glance']//td[@class='headline']"
                                                 f"[normalize-space(.)={json.dumps(records(name)['headline'])}]")
            top = browser.execute_script("return arguments[0].getBoundingClientRect().top + window.scrollY", cell)
            assert cell.is_displayed() and top < 2 * height, f"{name}'s headline starts at {top} px"
        thumbs = browser.find_elements("css selector", "section.set img.thumb")
        assert len(thumbs) == 5 and all(t.size["width"] >= 240 for t in thumbs)
        thumbs[0].click()                                                  # click to enlarge ...
        big = browser.find_element("css selector", "a.lightbox:target img")
        assert big.is_displayed() and big.size["width"] > 2 * thumbs[0].size["width"]
        big.click()                                                        # ... and again to close
        assert not browser.find_elements("css selector", "a.lightbox:target")
        details = browser.find_element("css selector", "section.set details.answer")
        assert not details.find_element("tag name", "table").is_displayed()
        details.find_element("tag name", "summary").click()               # the full answer on demand
        assert details.find_element("tag name", "table").is_displayed()
        assert browser.execute_script("return document.documentElement.scrollWidth") <= inner
        browser.save_screenshot(str(tmp_path / "shots" / "index-1366.png"))
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def test_a_report_wraps_its_printed_text(browser, tmp_path):
    import nbformat

    from helpers.run.execute import render_html

    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("print(text)")
    long_line = "Answer. " + " ".join(f"borrowed cash pays the cash rate plus a spread {i};" for i in range(40))
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=long_line + "\n" + "x" * 400 + "\n")]
    nb.cells = [nbformat.v4.new_markdown_cell("# Report"), cell]
    page = tmp_path / "report.html"
    page.write_text(render_html(nb, exclude_input=True), encoding="utf-8")
    viewport(browser, 1366, 768)
    try:
        browser.get(page.as_uri())
        width, inner = browser.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]")
        assert width <= inner, f"the report scrolls sideways: {width} px in a {inner} px window"
        out = browser.find_element("css selector", ".jp-OutputArea-output pre")
        assert browser.execute_script("return arguments[0].scrollWidth <= arguments[0].clientWidth", out), \
            "printed text is cut at the right edge"
        assert "spread 39;" in out.text
        style = browser.execute_script("const s = getComputedStyle(arguments[0]); "
                                       "return [s.whiteSpace, s.wordBreak, s.overflowWrap]", out)
        assert style == ["pre-wrap", "normal", "anywhere"], f"printed text breaks words or does not wrap: {style}"
        lines = browser.execute_script(  # wrapped at spaces: no rendered line ends inside a word
            "const r = document.createRange(); r.selectNodeContents(arguments[0].firstChild || arguments[0]);"
            "return r.getClientRects().length", out)
        assert lines > 3
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
