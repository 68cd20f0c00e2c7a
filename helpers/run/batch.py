"""A batch of runs: cached sets kept, the rest executed by workers (or Dask) and published one by one."""

from __future__ import annotations

import argparse
import json
import os
import re
from pathlib import Path

from helpers.files import atomic_write_text
from helpers.run.cache import file_checksums
from helpers.run.core import FAILED, RUNS, Job, Result, now, pid_alive, set_metadata
from helpers.run.execute import execute, execute_in_place
from helpers.run.folder import ReportFolder
from helpers.run.workers import Workers


def run_sets(jobs: list[Job], args, folder: ReportFolder, env: dict, progress: bool,
             client=None) -> list[Result]:
    """Every job into a staging folder, each published as soon as it ends.

    Unless ``args.force``, a job whose published set was made from the same inputs is not run:
    the set is kept and marked "cached" (:meth:`ReportFolder.reuse`).
    """
    results: list[Result] = []
    if not args.force:
        reused, reasons = folder.reuse(jobs)
        for result in reused:
            _report_line(result)
        for job in jobs:
            if job.name in reasons:
                print(f"[run] {job.name}: {', '.join(reasons[job.name])}", flush=True)
        results += reused
        done = {r.name for r in reused}
        order = {job.name: i for i, job in enumerate(jobs)}
        rest = run_sets([j for j in jobs if j.name not in done], argparse.Namespace(**{**vars(args), "force": True}),
                        folder, env, progress, client) if len(done) < len(jobs) else []
        if client is not None and len(done) == len(jobs):
            client.close()
        return sorted(results + rest, key=lambda r: order[r.name])
    if client is not None:
        stagings = {job.name: folder.new_staging(job.name) for job in jobs}
        futures = {client.submit(execute, job, stagings[job.name], args.kernel, args.timeout, False, env,
                                 pure=False): job for job in jobs}
        try:
            from dask.distributed import as_completed as dask_completed

            for fut in dask_completed(futures):
                result = fut.result()
                folder.publish(result, stagings.pop(result.name))
                results.append(result)
                _report_line(result)
        finally:
            client.cancel(list(futures))
            for staging in stagings.values():
                folder.discard(staging)
            client.close()
        return results
    workers = Workers(args.jobs)
    pending = list(jobs)
    try:
        while pending or workers.running:
            while pending and workers.has_room():
                job = pending.pop(0)
                staging = folder.new_staging(job.name)
                workers.start(execute, (job, staging, args.kernel, args.timeout, progress and args.jobs == 1, env),
                              (job, staging))
            for code, (job, staging) in workers.finished():
                result = _read_result(job, staging, code)
                folder.publish(result, staging)
                results.append(result)
                _report_line(result)
    except BaseException:
        for _, staging in workers.stop_all():
            folder.discard(staging)
        raise
    order = {job.name: i for i, job in enumerate(jobs)}
    return sorted(results, key=lambda r: order[r.name])


def _read_result(job: Job, staging: Path, code: int | None) -> Result:
    """The run.json a worker wrote; when it died first, a failed Result with its partial notebook."""
    try:
        meta = json.loads((staging / "run.json").read_text())
        return Result(**{k: meta[k] for k in Result.__dataclass_fields__ if k in meta})
    except (OSError, ValueError, TypeError):  # the worker died (killed, out of memory)
        partial = staging / f"{job.name}.ipynb"
        for p in staging.iterdir():
            if p.is_file() and p != partial:
                p.unlink()
        result = Result(job.notebook.stem, job.name, job.parameters, "failed", 0.0, finished=now(),
                        error=f"the worker process ended with exit code {code} before describing its run")
        if partial.exists():  # papermill's last save, as the partial notebook
            partial.rename(staging / f"{job.name}{FAILED}.ipynb")
            result.files = {"notebook": f"{job.name}{FAILED}.ipynb"}
            result.report = f"{RUNS}/{result.set_name}/{result.files['notebook']}"
            result.checksums = file_checksums(staging, result.files)
        atomic_write_text(staging / "run.json", json.dumps(set_metadata(result), indent=2))
        return result


def _report_line(result: Result) -> None:
    """One line of progress as a run ends (or is found cached)."""
    where = result.html or result.report or "-"
    if result.cache.get("hit"):
        print(f"[cached] {result.name} (unchanged since its run of {result.duration:.1f}s) {where}", flush=True)
        return
    print(f"[{result.status}] {result.name} ({result.duration:.1f}s) {where}", flush=True)


def run_in_place(jobs: list[Job], args, progress: bool) -> list[Result]:
    """``--in-place``: each notebook re-executed by a worker; replaced only when every cell ran."""
    out_dir = args.output_dir.resolve()
    for stale in args.notebook_dir.glob(".*.running-*"):
        owner = re.search(r"-([0-9]+)\.(ipynb|json)$", stale.name)
        if owner and not pid_alive(int(owner.group(1))):
            stale.unlink(missing_ok=True)
    workers = Workers(args.jobs)
    pending, results = list(jobs), []
    try:
        while pending or workers.running:
            while pending and workers.has_room():
                job = pending.pop(0)
                tmp = job.notebook.with_name(f".{job.notebook.stem}.running-{len(pending)}-{os.getpid()}.ipynb")
                answer = tmp.with_suffix(".json")
                workers.start(execute_in_place, (job, tmp, out_dir, args.kernel, args.timeout,
                                           progress and args.jobs == 1, answer), (job, tmp, answer))
            for code, (job, tmp, answer) in workers.finished():
                try:
                    result = Result(**json.loads(answer.read_text()))
                except (OSError, ValueError, TypeError):
                    result = Result(job.notebook.stem, job.name, {}, "failed", 0.0,
                                    error=f"the worker process ended with exit code {code}")
                for p in (tmp, answer):
                    p.unlink(missing_ok=True)
                results.append(result)
                _report_line(result)
    except BaseException:
        for _job, tmp, answer in workers.stop_all():
            for p in (tmp, answer):
                p.unlink(missing_ok=True)
        raise
    return results


def summary_table(results: list[Result]) -> str:
    """The table the runner prints at its end: one row per run, then each failure's error."""
    rows = [("notebook", "parameters", "status", "seconds", "report")]
    for r in results:
        cached = r.cache.get("hit")
        rows.append((r.name, json.dumps(r.parameters) if r.parameters else "defaults",
                     "cached" if cached else r.status, "-" if cached else f"{r.duration:.1f}", r.html or r.report or "-"))
    rows = [(name, params if len(params) <= 60 else params[:57] + "...", *rest) for name, params, *rest in rows]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = ["  ".join([*(c.ljust(w) for c, w in zip(row, widths)), row[4]]) for row in rows]  # paths whole
    for r in results:
        if r.error:
            lines.append(f"FAILED {r.name}: {r.error}")
    return "\n".join(lines)
