"""File helpers (helpers.files): atomic writes, file modes, content hashes."""

from __future__ import annotations

import os

import pandas as pd
import pytest

from helpers.files import atomic_write, atomic_write_text, content_hash, file_mode, hash_files


def test_atomic_write_replaces_whole_and_leaves_nothing_on_failure(tmp_path):
    path = tmp_path / "sub" / "out.txt"
    atomic_write_text(path, "old")
    assert path.read_text() == "old"

    def fails(tmp):
        tmp.write_text("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        atomic_write(path, fails)
    assert path.read_text() == "old"                      # the old file, whole
    assert sorted(p.name for p in path.parent.iterdir()) == ["out.txt"]  # no temporary left


def test_new_files_get_the_umask_mode(tmp_path):
    old = os.umask(0o027)
    try:
        atomic_write_text(tmp_path / "a.txt", "x")
        assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o640 == file_mode()
    finally:
        os.umask(old)


def test_hash_files_follows_names_and_contents(tmp_path):
    (tmp_path / "a.csv").write_text("1")
    first = hash_files(tmp_path.iterdir(), tmp_path)
    assert hash_files(tmp_path.iterdir(), tmp_path) == first
    (tmp_path / "a.csv").write_text("2")
    assert hash_files(tmp_path.iterdir(), tmp_path) != first
    (tmp_path / "a.csv").rename(tmp_path / "b.csv")
    assert hash_files(tmp_path.iterdir(), tmp_path) not in (first, hash_files([], tmp_path))


def test_content_hash_ignores_noise_below_six_significant_digits():
    idx = pd.bdate_range("2024-01-01", periods=3)
    a = pd.DataFrame({"SPY": [100.0, 101.0, 102.0]}, index=idx)
    assert content_hash(a) == content_hash(a + 1e-9)
    assert content_hash(a) != content_hash(a * 1.001)
    assert content_hash(a) != content_hash(a.rename(columns={"SPY": "QQQ"}))
