"""Compile and load the C kernels of the LSTM trainer (``helpers/csrc/lstm_kernels.c``).

The shared library is built once per machine with the system C compiler (``$CC``, else ``cc``) into
``$QN_CACHE_DIR`` (default ``~/.cache/quant-notebooks``), named by a hash of the source, the flags
and the CPU, and written atomically. When no compiler works, or ``QN_C_KERNELS=0``, ``load()``
returns None and the trainer uses torch operations instead (same maths, about 1.3x slower).
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import os
import platform
import shutil
import subprocess
import tempfile
import warnings
from pathlib import Path

SOURCE = Path(__file__).parent / "csrc" / "lstm_kernels.c"
# -fno-trapping-math and -fno-math-errno let the compiler vectorize floorf and sqrt; no -ffast-math
FLAGS = ["-O3", "-march=native", "-fno-math-errno", "-fno-trapping-math", "-fPIC"]
VARIANTS = {"f32": ("float", "fast_exp"), "f64": ("double", "exp")}


def _cpu_id() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return line
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _library_path(compiler: str) -> Path:
    key = hashlib.sha256("\n".join([SOURCE.read_text(), compiler, *FLAGS, _cpu_id()]).encode()).hexdigest()[:16]
    cache = Path(os.environ.get("QN_CACHE_DIR", Path.home() / ".cache" / "quant-notebooks"))
    return cache / f"lstm_kernels-{key}{'.dll' if os.name == 'nt' else '.so'}"


def _build(compiler: str, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        objects = []
        for suffix, (real, exp) in VARIANTS.items():
            obj = Path(tmp) / f"{suffix}.o"
            subprocess.run([compiler, *FLAGS, f"-DREAL={real}", f"-DSUFFIX={suffix}", f"-DEXP={exp}",
                            "-c", str(SOURCE), "-o", str(obj)], check=True, capture_output=True, text=True)
            objects.append(str(obj))
        built = Path(tmp) / target.name
        subprocess.run([compiler, "-shared", *objects, "-o", str(built), "-lm"], check=True,
                       capture_output=True, text=True)
        os.replace(built, target)  # atomic: a concurrent process sees the old or the whole new file


def _declare(lib: ctypes.CDLL) -> ctypes.CDLL:
    ptr, i64 = ctypes.c_void_p, ctypes.c_int64
    for suffix, real in (("f32", ctypes.c_float), ("f64", ctypes.c_double)):
        getattr(lib, f"exp_array_{suffix}").argtypes = [ptr, ptr, i64]
        getattr(lib, f"lstm_forward_{suffix}").argtypes = [ptr, ptr, ptr, ptr, ptr, i64, i64]
        getattr(lib, f"lstm_backward_{suffix}").argtypes = [ptr] * 7 + [i64, i64]
        getattr(lib, f"adam_step_{suffix}").argtypes = [ptr] * 7 + [real, real, real, i64, i64]
    return lib


@functools.cache
def load() -> ctypes.CDLL | None:
    """The compiled kernels, building them on first use; None (with a warning) when that fails."""
    if os.environ.get("QN_C_KERNELS", "1") == "0":
        return None
    compiler = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if compiler is None:
        warnings.warn("no C compiler found: the LSTM trainer uses torch operations (about 1.3x slower)",
                      stacklevel=2)
        return None
    target = _library_path(compiler)
    try:
        if not target.exists():
            _build(compiler, target)
        return _declare(ctypes.CDLL(str(target)))
    except (OSError, subprocess.CalledProcessError) as err:
        detail = getattr(err, "stderr", "") or str(err)
        warnings.warn(f"could not build the LSTM C kernels with {compiler} ({detail.strip()[:300]}): "
                      "using torch operations (about 1.3x slower)", stacklevel=2)
        return None
