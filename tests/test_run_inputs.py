"""The runner without kernels: parameter files, options, report names, the README's commands."""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path

import pytest
import yaml
from tiny_notebooks import write_notebook

from helpers.run import cli, parameters, plan

ROOT = Path(__file__).resolve().parent.parent


def notebook(path, params: str):
    return write_notebook(path, "print(1)", params)


@pytest.fixture
def nbdir(tmp_path):
    d = tmp_path / "nbs"
    d.mkdir()
    notebook(d / "01_ok.ipynb", "x = 1\nname = 'a'\nrate = 0.5\nflag = True\n")
    notebook(d / "05_other.ipynb", "data_source = None\nx = 1\nstart = '2020-01-01'\nend = None\n"
                                   "train_start = '2015-01-01'\ntrain_end = '2019-12-31'\n")
    return d


def main(nbdir, tmp_path, *args):
    return cli.main(["--notebook-dir", str(nbdir), "--output-dir", str(tmp_path / "r"), "--dry-run", *args])


def params_file(tmp_path, text: str) -> str:
    path = tmp_path / "p.yml"
    path.write_text(text)
    return str(path)


# --------------------------------------------------------------------------- parameter files


@pytest.mark.parametrize("text, message", [
    ('"05":\n  parametres: {x: 2}\n', "05: unknown key(s) 'parametres'. Valid keys: parameters, sweep"),
    ('"05":\n  parameters: [1, 2]\n', "05: parameters must be a mapping of name: value; got [1, 2]"),
    ('"05": 3\n', "05: expected a mapping with 'parameters' and/or 'sweep'; got 3"),
    ('"05":\n  sweep: {x: 3}\n', "05: sweep values must be non-empty lists; x is 3"),
    ('"05":\n  sweep: {x: [1, 2, 1]}\n', "05: sweep x lists 1 more than once"),
    ('"05":\n  sweep: {rate: [0.1, 0.10]}\n', "lists 0.1 more than once"),
    ('"05":\n  parameters: {x: 1}\n  sweep: {x: [2, 3]}\n', "x both fixed in parameters and swept"),
    ('"05": {parameters: {x: 2}}\n"05": {parameters: {x: 3}}\n', "found the key '05' twice"),
    ('5: {parameters: {x: 2}}\n"05": {parameters: {x: 3}}\n', "05_other is named twice (5, '05')"),
    ('"05":\n  parameters: {y: 2}\n', "05: 05_other: unknown parameter(s) y. Its parameters: data_source, x"),
    ('"05":\n  parameters: {x: 2.5}\n', "05: 05_other: parameter x expects int (default 1); got 2.5"),
    ('"05":\n  sweep: {x: [1, "two"]}\n', "parameter x expects int (default 1); got 'two'"),
    ('"05":\n  parameters: {data_source: "synthetic:abc"}\n', "the seed after 'synthetic:' must be a whole"),
    ('"05":\n  parameters: {start: "2024-01-01", end: "2023-06-01"}\n', "start 2024-01-01 is after end 2023-06-01"),
    ('"05":\n  parameters: {start: "2023-06-01", end: "2023-06-01"}\n', "start 2023-06-01 is the same day as end"),
    ('"05":\n  parameters: {start: 2023-06-01}\n', "quote the date"),
    ('"05":\n  parameters: {train_end: "2014-01-01"}\n', "train_start 2015-01-01 is after train_end 2014-01-01"),
    ('"09": {}\n', "names no selected notebook: 09. Use one of"),
    ("[1, 2]\n", "expected a mapping of notebook"),
])
def test_malformed_parameter_files_exit_2_naming_file_and_key(nbdir, tmp_path, capsys, text, message):
    path = params_file(tmp_path, text)
    assert main(nbdir, tmp_path, "--params-file", path) == 2
    err = capsys.readouterr().err
    assert message in err
    assert str(path) in err
    assert "Traceback" not in err
    assert not (tmp_path / "r").exists()


def test_ints_take_whole_floats_and_floats_take_ints(nbdir, tmp_path):
    spec = parameters.read_params_file(params_file(tmp_path, '"01": {parameters: {x: 2.0, rate: 1}}\n'))
    (job,) = plan.plan(parameters.select(["01"], nbdir), {}, spec)
    assert job.parameters == {"x": 2, "rate": 1.0}
    assert type(job.parameters["x"]) is int and type(job.parameters["rate"]) is float


def test_bool_is_not_a_number(nbdir, tmp_path, capsys):
    assert main(nbdir, tmp_path, "--only", "01", "-p", "x", "true") == 2
    assert "parameter x expects int" in capsys.readouterr().err
    assert main(nbdir, tmp_path, "--only", "01", "-p", "flag", "1") == 2
    assert "parameter flag expects bool" in capsys.readouterr().err


# --------------------------------------------------------------------------- options


def test_data_source_seed_is_validated(nbdir, tmp_path, capsys):
    assert main(nbdir, tmp_path, "--only", "05", "--data-source", "synthetic:abc") == 2
    err = capsys.readouterr().err
    assert "--data-source: Data source 'synthetic:abc': the seed after 'synthetic:'" in err and "Traceback" not in err
    assert main(nbdir, tmp_path, "--only", "05", "--data-source", "synthetic:07") == 0
    assert "05_other__data_source=synthetic-7__" in capsys.readouterr().out
    assert main(nbdir, tmp_path, "--only", "05", "--data-source", "/no/such/dir") == 2


def test_data_source_from_the_environment_is_validated_and_named(nbdir, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("QN_DATA_SOURCE", "synthetic:x")
    assert main(nbdir, tmp_path, "--only", "05") == 2
    assert "$QN_DATA_SOURCE" in capsys.readouterr().err
    monkeypatch.setenv("QN_DATA_SOURCE", "yfinance")
    assert main(nbdir, tmp_path, "--only", "05") == 0
    assert "05_other__data_source=yfinance: " in capsys.readouterr().out


def test_a_parameter_some_notebooks_lack_names_them_and_suggests_only(nbdir, tmp_path, capsys):
    assert main(nbdir, tmp_path, "-p", "name", "b") == 2
    err = capsys.readouterr().err
    assert "05_other has no parameter name (use --only 01" in err
    assert main(nbdir, tmp_path, "-p", "nosuch", "1") == 2
    assert "unknown parameter(s) nosuch" in capsys.readouterr().err


def test_start_after_end_on_the_command_line(nbdir, tmp_path, capsys):
    assert main(nbdir, tmp_path, "--only", "05", "-p", "end", "2019-01-01") == 2
    assert "05_other: start 2020-01-01 is after end 2019-01-01" in capsys.readouterr().err


@pytest.mark.parametrize("args, message", [
    (["-p", "start", "notadate"], "05_other: start='notadate' is not a date like 'YYYY-MM-DD'"),
    (["-p", "end", "2019-13-45"], "05_other: end='2019-13-45' is not a date like 'YYYY-MM-DD'"),
    (["-p", "end", "2020"], "05_other: end=2020 is not a date like 'YYYY-MM-DD' (got int)"),
    (["-p", "x", "1", "-p", "x", "2"], "-p x given more than once; give each parameter once"),
    (["--data-source", ""], "--data-source: data_source is empty; use 'synthetic', 'yfinance' or a directory"),
])
def test_bad_dates_a_repeated_parameter_and_an_empty_source_exit_2_at_planning(nbdir, tmp_path, capsys, args,
                                                                                 message):
    assert main(nbdir, tmp_path, "--only", "05", *args) == 2
    assert message in capsys.readouterr().err
    assert cli.main(["--notebook-dir", str(nbdir), "--output-dir", str(tmp_path / "r"), "--only", "05", *args]) == 2
    assert not (tmp_path / "r").exists()                                   # (a real run stops there too)


def test_an_empty_data_source_variable_means_unset(nbdir, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("QN_DATA_SOURCE", "")
    assert main(nbdir, tmp_path, "--only", "05") == 0
    assert "05_other: defaults" in capsys.readouterr().out


def unwritable_folders(tmp_path) -> list:
    """Output folders that cannot be made or written here, each with what the error names."""
    cases = []
    if Path("/sys/kernel").is_dir():
        cases.append((Path("/sys/x"), "--output-dir /sys/x: cannot create it in /sys"))
    if Path("/proc/self").is_dir():
        cases.append((Path("/proc/self"), "--output-dir /proc/self: cannot write in /proc/self"))
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    if not os.access(locked, os.W_OK):                                    # (root writes anyway)
        cases.append((locked / "r", f"--output-dir {locked / 'r'}: cannot create it in {locked}"))
    file = tmp_path / "a-file"
    file.write_text("")
    cases.append((file / "r", f"--output-dir {file / 'r'}: {file} is not a folder"))
    return cases


def test_an_output_folder_that_cannot_be_written_exits_2_naming_it(nbdir, tmp_path, capsys):
    for folder, message in unwritable_folders(tmp_path):
        for extra in (["--dry-run"], []):
            rc = cli.main(["--notebook-dir", str(nbdir), "--output-dir", str(folder), "--only", "01", *extra])
            err = capsys.readouterr().err
            assert rc == 2 and message in err and "Traceback" not in err, (folder, err)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file", "locked", "nbs"]   # nothing left behind


def test_help_documents_caching_checks_exit_codes_and_every_option(capsys):
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    for words in ("Caching. Runs are incremental", "sha256", "--dry-run says, with the same check",
                  "Exit status: 0 every run ok (or cached); 1 a notebook failed", "2 bad input",
                  "130 / 143 interrupted", "an output folder that cannot be created or written"):
        assert words in text, words
    parser = cli.build_parser()
    undocumented = [a.option_strings for a in parser._actions if not a.help or a.help == "==SUPPRESS=="]
    assert undocumented == []


def test_minus_p_and_a_swept_parameter_clash(nbdir, tmp_path, capsys):
    path = params_file(tmp_path, '"01": {sweep: {x: [2, 3]}}\n')
    assert main(nbdir, tmp_path, "--params-file", path, "-p", "x", "4", "--only", "01") == 2
    assert "x swept in the file and also set with -p" in capsys.readouterr().err


# --------------------------------------------------------------------------- report names


def names(nbdir, overrides=None, spec=None, only=("01",)):
    return [j.name for j in plan.plan(parameters.select(list(only), nbdir), overrides or {}, spec or {})]


def test_names_carry_every_non_default_parameter(nbdir):
    assert names(nbdir) == ["01_ok"]
    assert names(nbdir, {"x": 1}) == ["01_ok"]                 # the default is no change
    assert names(nbdir, {"x": 3}) == ["01_ok__x=3"]
    assert names(nbdir, {"rate": 0.25, "x": 3}) == ["01_ok__x=3__rate=0.25"]  # the cell's order
    assert names(nbdir, {"flag": False}) == ["01_ok__flag=false"]
    swept = names(nbdir, spec={"01": {"parameters": {"name": "b"}, "sweep": {"x": [1, 2]}}})
    assert swept == ["01_ok__name=b", "01_ok__x=2__name=b"]


def test_unsafe_and_long_values_become_safe_names_with_a_hash(nbdir):
    (a,) = names(nbdir, {"name": "a#b?c"})
    (b,) = names(nbdir, {"name": "a?b#c"})
    assert re.fullmatch(r"01_ok__name=a-b-c__[0-9a-f]{8}", a) and a != b
    (long,) = names(nbdir, {"name": "z" * 200})
    assert len(long) < 90 and re.search(r"__[0-9a-f]{8}$", long)
    (trap,) = names(nbdir, {"name": "x.failed"})
    assert not trap.endswith(".failed")
    for name in (a, b, long, trap):
        assert re.fullmatch(r"[A-Za-z0-9._=-]+", name)


def test_the_sweep_of_the_issue_gets_distinct_names(nbdir):
    spec = {"01": {"sweep": {"name": ["a#b?c", "a b", "../x"]}}}
    got = names(nbdir, spec=spec)
    assert len(set(got)) == 3 and all("/" not in n and "#" not in n and "?" not in n for n in got)


def test_runs_that_would_share_a_name_are_an_error(nbdir, tmp_path, capsys):
    path = params_file(tmp_path, '"05": {sweep: {data_source: [null, synthetic]}}\n')
    assert main(nbdir, tmp_path, "--params-file", path) == 2
    assert "would share a report" in capsys.readouterr().err


# --------------------------------------------------------------------------- the README


def readme_commands() -> list[list[str]]:
    """Every runner command in the README (code blocks and inline code), as helpers.run arguments."""
    text = (ROOT / "README.md").read_text()
    lines = [line for block in re.findall(r"```bash\n(.*?)```", text, re.S) for line in block.splitlines()]
    lines += re.findall(r"`([^`\n]*(?:nox -s reports|python -m helpers\.run)[^`\n]*)`", text)
    commands = []
    for line in lines:
        line = line.split("#")[0].strip()
        for prefix in ("nox -s reports", "python -m helpers.run"):
            if prefix in line:
                args = shlex.split(line.split(prefix, 1)[1])
                commands.append(args[1:] if args[:1] == ["--"] else args)
    return commands


def readme_sweep_file() -> str:
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```yaml\n(.*?)```", text, re.S)
    assert blocks, "the README shows a parameter file"
    return blocks[0]


def test_every_runner_command_in_the_readme_parses_and_plans(tmp_path, capsys):
    commands = readme_commands()
    assert len(commands) >= 8
    spec = tmp_path / "sweep.yml"
    spec.write_text(readme_sweep_file())
    csv_dir = tmp_path / "csv-folder"
    csv_dir.mkdir()
    for args in commands:
        args = [str(spec) if a == "sweep.yml" else str(csv_dir) if a in ("DIR", "../shared/market-data") else a
                for a in args]
        rc = cli.main([*args, "--output-dir", str(tmp_path / "r"), "--dry-run"])
        out = capsys.readouterr()
        assert rc == 0, f"README command {args}: {out.err}"
        assert "planned; nothing was run" in out.out


def test_readme_sweep_example_gives_one_report_per_value():
    spec = yaml.safe_load(readme_sweep_file())
    (key,) = spec
    jobs = plan.plan(parameters.select([str(key)]), {}, spec)
    values = next(iter(spec[key]["sweep"].values()))
    assert len(jobs) == len(values) and len({j.name for j in jobs}) == len(values)


def test_a_csv_folder_names_its_set_by_its_contents_not_its_path(nbdir, tmp_path):
    # the README's findings link to set names: the same data must give the same name on every machine
    nb = nbdir / "05_other.ipynb"
    a, b, c = (tmp_path / d / "market-data" for d in ("x", "y", "z"))
    for folder, price in ((a, "100"), (b, "100"), (c, "101")):
        folder.mkdir(parents=True)
        (folder / "SPY.csv").write_text(f"Date,Open,High,Low,Close,Adj Close,Volume\n2020-01-02,1,1,1,{price},1,1\n")
    name = {f: plan.report_name(nb, {"data_source": str(f)}) for f in (a, b, c)}
    assert name[a] == name[b] and name[a].startswith("05_other__data_source=market-data__")
    assert name[c] != name[a]                                    # other data in a same-named folder
