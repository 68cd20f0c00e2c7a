"""Small file helpers shared by the data layer, the notebooks' side outputs and the runner.

Writing a file atomically (a reader sees the old file or the new one, whole, never half of
it), the mode a new file gets, and content hashes of files and of price frames.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import threading
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

_UMASK_LOCK = threading.Lock()


def file_mode(executable: bool = False) -> int:
    """The mode a plain ``open()`` would give a new file: 0666 (0777) less the umask.

    ``tempfile.mkstemp`` creates 0600 files; files renamed into place get this mode instead, so
    reports and caches are readable by others exactly when the umask allows it.
    """
    with _UMASK_LOCK:
        umask = os.umask(0o022)
        os.umask(umask)
    return (0o777 if executable else 0o666) & ~umask


def atomic_write(path: Path, write) -> None:
    """Call ``write(tmp_path)`` on a temporary file beside ``path``, then rename it into place.

    Readers never see a half-written file; on failure the temporary file is removed and an
    existing ``path`` is left as it was. The file gets the umask's usual mode (0644 under the
    common umask 022), not ``mkstemp``'s 0600.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, file_mode())
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def atomic_write_text(path: Path, text: str) -> None:
    """Write a text file atomically (see :func:`atomic_write`)."""
    atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def hash_files(paths: Iterable[Path], root: Path) -> str:
    """SHA-256 over the files' paths (relative to ``root``) and contents, in sorted order.

    Directories, missing paths and anything under ``__pycache__`` are skipped.
    """
    h = hashlib.sha256()
    for path in sorted(set(paths)):
        if path.is_file() and "__pycache__" not in path.parts:
            h.update(str(path.relative_to(root)).encode() + b"\0")
            h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()


def content_hash(frame: pd.DataFrame) -> str:
    """SHA-256 of a dated frame's values (rounded to 6 significant digits), index and columns."""
    h = hashlib.sha256()
    h.update("|".join(map(str, frame.columns)).encode())
    h.update(np.asarray(frame.index.strftime("%Y-%m-%d")).astype(str).tobytes())
    values = np.asarray(frame.to_numpy(dtype=float))
    h.update(np.char.mod("%.6g", values).tobytes())
    return h.hexdigest()
