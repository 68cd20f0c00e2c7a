"""The batch runner: the notebooks executed with papermill into report sets (``python -m helpers.run``).

Modules, in the order a run passes through them:

- :mod:`~helpers.run.cli` the command line, its options and exit codes;
- :mod:`~helpers.run.parameters` the notebooks and their parameters (typed, parameter files);
- :mod:`~helpers.run.plan` the jobs: sweeps crossed, values checked, report set names;
- :mod:`~helpers.run.cache` incremental runs: what a result depends on, and whether a set holds;
- :mod:`~helpers.run.batch` cached sets kept, the rest run by workers and published one by one;
- :mod:`~helpers.run.workers` worker processes, stopped with their kernels on a signal;
- :mod:`~helpers.run.execute` one notebook into a staging folder, then its HTML and run.json;
- :mod:`~helpers.run.folder` the output folder: atomic publication, locks, the index;
- :mod:`~helpers.run.core` what they share (paths, Job, Result, UsageError, run.json).
"""
