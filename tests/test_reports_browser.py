"""The main job's pages in a real browser: every link resolves, every image loads.

Runs the main job (all notebooks, simulated market) into reports/, then opens
reports/index.html and each report set's pages (reports/runs/<name>/) in headless Chromium (Debian's chromium + chromedriver,
installed by ``nox -s tests`` when missing) and saves screenshots under reports/screenshots/. The
index's answers, questions and thumbnails are checked in their rows, the page is also opened
behind a web server, and a sweep (report sets written here, without kernels) must render as a
table and inline plots.
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
    from helpers.findings import QUESTIONS

    for name in this_run:                              # the answer shows in its row, escaped as text
        answer = sets[name]["records"].get("answer")
        assert answer, f"{name} recorded no answer"
        shown = browser.find_element("css selector", f'tbody[id="{name}"] .answer')
        assert shown.is_displayed() and shown.text.strip() == answer.strip()
        row = browser.find_element("css selector", f'tbody[id="{name}"]')
        assert QUESTIONS[name] in row.text and "simulated market, not real prices" in row.text
        thumb = row.find_element("css selector", "a > img.thumb")   # the headline figure, linking to the report
        assert browser.execute_script("return arguments[0].complete && arguments[0].naturalWidth", thumb) > 50
        link = thumb.find_element("xpath", "..").get_attribute("href")
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
    assert heads == ["run", "target_vol", "lev_max", "sharpe_dynamic", "maxdd_dynamic", "sharpe_diff_ci.vs_base"]
    plots = browser.find_elements("css selector", "section.sweep img.sweep-plot")
    assert len(plots) == 2                                            # a heatmap per numeric result
    assert all(p.is_displayed() and browser.execute_script("return arguments[0].naturalWidth", p) > 100
               for p in plots)
    rows[0].find_element("tag name", "a").click()                     # the table links to the run's row
    assert browser.execute_script("return location.hash").startswith("#05_drawdown_aware_leverage__target_vol=0.08")
