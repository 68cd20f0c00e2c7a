"""Small notebooks and an HTML link collector for the runner's tests (not a test module)."""

from __future__ import annotations

from html.parser import HTMLParser

import nbformat


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
