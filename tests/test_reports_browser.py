"""The main job's pages in a real browser: every link resolves, every image loads.

Runs the main job (all notebooks, simulated market) into reports/, then opens
reports/index.html and each report set's pages (reports/runs/<name>/) in headless Chromium (Debian's chromium + chromedriver,
installed by ``nox -s tests`` when missing) and saves screenshots under reports/screenshots/.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
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
    for name in this_run:                              # the answer shows in its row, escaped as text
        answer = sets[name]["records"].get("answer")
        if answer:
            shown = browser.find_element("css selector", f'tbody[id="{name}"] .answer')
            assert shown.is_displayed() and shown.text.strip() == answer.strip()
    html_pages = [t for t in targets if t.suffix == ".html"]
    assert any(t.suffix == ".ipynb" for t in targets)
    for page in html_pages:
        check_page(browser, page, shots)
        if page.parent.name in this_run and not page.name.endswith(".code.html"):
            body = browser.find_element("tag name", "body").text
            assert "Data: synthetic" in body, f"{page.name} does not show its data banner"
    assert {t.parent.name for t in html_pages} >= set(this_run)
    assert browser.execute_script("return document.images.length") > 0  # the last report has plots
