"""Batch runner: execute the notebooks with papermill into reports/ and render HTML.

    python -m helpers.run                          # every notebook, default parameters
    python -m helpers.run --only 01 02 04 -p seed 7
    python -m helpers.run --data-source ../shared/market-data
    python -m helpers.run --params-file sweep.yml --jobs 2
    python -m helpers.run --dry-run ...            # check the input, print the plan, run nothing
    python -m helpers.run --force                  # re-run even the up-to-date ("cached") reports
    python -m helpers.run --in-place               # refresh the committed notebooks' outputs

A parameter file maps a notebook (its number or name) to fixed `parameters` and an optional
`sweep` whose lists are crossed, one report per combination:

    "05":
      parameters: {start: "2012-01-01"}
      sweep: {target_vol: [0.08, 0.10, 0.12]}

Report sets. Every run is a report set, reports/runs/<name>/: the executed notebook, its HTML
with and without code, the key results it recorded (<name>.json) and run.json (status,
parameters, times, environment, inputs, the sha256 of every file). <name> is the notebook's
stem plus every parameter that differs from the notebook's default, made safe for file names
and URLs (a hash is added when the readable part is shortened or had to be changed). A set is
written into a staging folder and published with one atomic step (runs/<name> is a symlink
swapped to the new folder), so a reader or a crash sees either the old set or the new one,
whole. A run that fails publishes runs/<name>.failed/ (the partial notebook) and keeps the
earlier good set; a later good run removes it. reports/index.html and reports/runs.json list
every set in the folder and are rebuilt under a lock after each publication, so several
runners can share one output folder. A notebook with an `output_dir` parameter that was not
given one writes its side outputs into its own set.

Caching. Runs are incremental: a run whose published set was made from the same notebook
source, parameters, data (the seed and catalogue of the simulated market, every file of a CSV
folder, the yfinance cache files), helper source (the helpers modules the notebook imports,
transitively, and the C kernels when it uses them) and pins (constraints.txt) is not run
again, provided every file of the set is still there with the sha256 its run recorded; its set
is kept and marked "cached". Otherwise the runner prints why it runs ("[run] <name>: ...").
--force runs it anyway; --dry-run says, with the same check, which runs would be cached.

Checks before anything runs (exit 2, naming the bad input): notebooks, parameter names and
types, a parameter given twice, date parameters (dates; start before end), the data source,
the parameter file, and an output folder that cannot be created or written. A date outside
the data is reported by the notebook, naming the parameter, the date and the data's range.

Exit status: 0 every run ok (or cached); 1 a notebook failed (the others still run); 2 bad
input, before any notebook starts; 130 / 143 interrupted by SIGINT / SIGTERM (unfinished runs
are stopped with their kernels and leave nothing behind).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path

from helpers.run.batch import run_in_place, run_sets, summary_table
from helpers.run.cache import run_inputs, why_run
from helpers.run.core import DEFAULT_TIMEOUT, NOTEBOOK_DIR, REPORT_DIR, RUNS, Job, UsageError
from helpers.run.execute import extra_environ
from helpers.run.folder import ReportFolder, check_writable, published_meta
from helpers.run.parameters import notebook_parameters, parse_value, read_params_file, select
from helpers.run.plan import check_data_source, plan
from helpers.run.workers import default_jobs


def connect(address: str):
    """A dask.distributed Client for ``address``; UsageError when missing or not answering."""
    try:
        from dask.distributed import Client
    except ImportError as exc:
        raise UsageError("--scheduler needs dask.distributed: pip install -e '.[dask]'") from exc
    try:
        return Client(address, timeout=10)
    except (OSError, TimeoutError) as exc:
        raise UsageError(f"Dask scheduler at {address} does not answer: {exc}") from exc


def _jobs(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expects a whole number of notebooks; got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1; got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The command line's options."""
    intro, _, details = __doc__.partition("\n\nReport sets.")
    p = argparse.ArgumentParser(prog="python -m helpers.run", description=intro,
                                epilog="Report sets." + details, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--only", nargs="+", metavar="NB", help="notebooks by number (01) or name (default: all)")
    p.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                   help="a parameter for every selected notebook, typed like papermill's -p; repeat -p "
                   "for other parameters (each once)")
    p.add_argument("--params-file", type=Path, metavar="FILE",
                   help="YAML file of per-notebook parameters and sweeps (see above)")
    p.add_argument("--data-source", metavar="SOURCE", help="'synthetic', 'synthetic:SEED', 'yfinance' or a directory of "
                   "TICKER.csv files (default: $QN_DATA_SOURCE, else synthetic)")
    p.add_argument("--refresh-data", action="store_true",
                   help="download yfinance prices again even when cached (once per ticker per run)")
    p.add_argument("--jobs", type=_jobs, default=None, metavar="N",
                   help="notebooks run at once, each in its own worker process and kernel with one "
                   "BLAS/OpenMP/torch thread (results equal a serial run's); default: as many as the "
                   "cores and the free memory (about 3 GB each) allow")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="run on a Dask cluster (e.g. tcp://127.0.0.1:8786); needs the 'dask' extra")
    p.add_argument("--timeout", type=int, default=DEFAULT_TIMEOUT, metavar="SECONDS",
                   help=f"seconds allowed per cell (default: {DEFAULT_TIMEOUT})")
    p.add_argument("--kernel", default="python3", help="Jupyter kernel name (default: python3)")
    p.add_argument("--output-dir", type=Path, default=REPORT_DIR, metavar="DIR",
                   help="folder of the report sets and the index, created if missing (default: reports/); "
                   "with --in-place, where a notebook that failed is kept")
    p.add_argument("--notebook-dir", type=Path, default=NOTEBOOK_DIR, metavar="DIR",
                   help="folder of the NN_name.ipynb notebooks (default: notebooks/)")
    p.add_argument("--dry-run", action="store_true", help="check the input and print the runs; run nothing")
    p.add_argument("--force", action="store_true",
                   help="run every selected notebook, even those whose report is up to date (not 'cached')")
    p.add_argument("--in-place", action="store_true",
                   help="re-execute the committed notebooks in place with defaults (nox -s refresh)")
    return p


def prepare(args) -> list[Job]:
    """The jobs the arguments ask for; UsageError on any bad input."""
    notebooks = select(args.only, args.notebook_dir)
    if not notebooks:
        raise UsageError(f"No notebooks found in {args.notebook_dir}")
    if args.in_place and (args.parameter or args.params_file or args.data_source is not None):
        raise UsageError("--in-place refreshes the committed defaults: it takes no parameters")
    if args.in_place and args.scheduler:
        raise UsageError("--in-place runs locally: it takes no --scheduler")
    if args.timeout < 1:
        raise UsageError("--timeout must be at least 1 second")
    names = [name for name, _ in args.parameter]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise UsageError(f"-p {', '.join(twice)} given more than once; give each parameter once "
                         f"(a --params-file sweep runs several values)")
    overrides = {name: parse_value(value) for name, value in args.parameter}
    source = args.data_source
    if source is None and not args.in_place:
        source = os.environ.get("QN_DATA_SOURCE") or None  # (set but empty: unset)
    if source is not None:
        where = "--data-source" if args.data_source is not None else "$QN_DATA_SOURCE"
        if "data_source" in overrides:
            raise UsageError(f"{where} and -p data_source both given; use one")
        resolved = check_data_source(source, where)
        if args.data_source is not None or all("data_source" in notebook_parameters(nb) for nb in notebooks):
            overrides["data_source"] = resolved
    check_writable(args.output_dir)
    file_params = read_params_file(args.params_file) if args.params_file else {}
    return plan(notebooks, overrides, file_params, str(args.params_file) if args.params_file else "command line")


def _on_sigterm(signum, frame):
    raise KeyboardInterrupt(signum)


def main(argv: list[str] | None = None) -> int:
    """The command line (see the module's documentation); returns the exit status."""
    args = build_parser().parse_args(argv)
    ci = bool(os.environ.get("CI"))
    progress = sys.stderr.isatty() and not ci
    client = None
    try:
        jobs = prepare(args)
        if args.scheduler and not args.dry_run and not args.in_place:
            client = connect(args.scheduler)  # fails here, with exit 2, when it does not answer
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not args.in_place:
        for job in jobs:
            try:
                job.inputs = run_inputs(job, args.kernel, args.refresh_data)
            except (OSError, ValueError) as exc:  # unreadable data files: run, and let the notebook say why
                print(f"note: {job.name} cannot be cached: {exc}", file=sys.stderr)
    if args.dry_run:
        for job in jobs:
            why = ["--force"] if args.force else [] if args.in_place else why_run(
                published_meta(args.output_dir, job.name), job.inputs, args.output_dir / RUNS / job.name)
            state = "in place" if args.in_place else f"run: {', '.join(why)}" if why else "cached, not run"
            print(f"{job.name}: {json.dumps(job.parameters) if job.parameters else 'defaults'} ({state})")
        print(f"{len(jobs)} run(s) planned; nothing was run (--dry-run)")
        return 0
    out_dir = args.output_dir.resolve()
    env = {"QN_REFRESH_DATA": f"{time.time():.0f}"} if args.refresh_data else {}
    args.jobs = args.jobs or default_jobs(len(jobs))
    print(f"Running {len(jobs)} notebook(s), {args.jobs} at a time, into "
          f"{'notebooks/ (in place)' if args.in_place else out_dir}", flush=True)
    previous = signal.signal(signal.SIGTERM, _on_sigterm) if threading.current_thread() is threading.main_thread() else None
    try:
        if args.in_place:
            with extra_environ(env):
                results = run_in_place(jobs, args, progress)
        else:
            with ReportFolder(out_dir) as folder:
                results = run_sets(jobs, args, folder, env, progress, client)
    except KeyboardInterrupt as exc:
        sig = exc.args[0] if exc.args and isinstance(exc.args[0], int) else signal.SIGINT
        name = signal.Signals(sig).name
        print(f"\ninterrupted ({name}): runs that had not finished were stopped and nothing of them "
              f"was published; earlier reports are unchanged.", file=sys.stderr, flush=True)
        return 128 + int(sig)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    print(summary_table(results))
    if not args.in_place:
        print(f"Index of every report set: {out_dir / 'index.html'}")
    return 1 if any(r.status != "ok" for r in results) else 0

