"""Small notebooks and an HTML link collector for the runner's tests (not a test module)."""

from __future__ import annotations

import time
from html.parser import HTMLParser

import nbformat
import pytest

# A test never waits a fixed time for something to happen: it waits for a sign that it did (a file,
# a line, a process ending). This bound only keeps a broken run from hanging the suite; it is far
# beyond what the slowest loaded machine needs.
SAFETY_NET = 1800  # seconds


def wait_until(predicate, what: str, proc=None, limit: float = SAFETY_NET) -> None:
    """Poll ``predicate`` until it holds; fail at once if ``proc`` (a Popen) ends first, or after ``limit``."""
    deadline = time.monotonic() + limit
    while not predicate():
        if proc is not None and proc.poll() is not None:
            pytest.fail(f"the process ended (exit {proc.returncode}) before {what}")
        if time.monotonic() > deadline:
            pytest.fail(f"no sign of {what} after {limit} s (the safety net of a test that waits for a signal)")
        time.sleep(0.1)


def write_notebook(path, body: str = "print(1)", params: str = "x = 1\nname = 'a'\n"):
    """A two-cell notebook at ``path``: a cell tagged ``parameters`` holding ``params``, then ``body``."""
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell(params)
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [cell, nbformat.v4.new_code_cell(body)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path


class Links(HTMLParser):
    """Every ``<a href>`` of a page, in order: ``Links().feed(html)``, then ``.hrefs``."""

    def __init__(self):
        super().__init__()
        self.hrefs = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self.hrefs += [v for k, v in attrs if k == "href"]
