"""Every deliberately broken input gets one clear InputError, and `bayescap check` exits 2 without a traceback.

The cases (file, what is wrong, the place and the expectation the message must
name) are defined once in ``tests/fixtures/bad/make_bad_fixtures.py``; the same
table writes the fixture files and ``docs/input_errors.md``.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bayescap.errors import InputError
from bayescap.inputs.bundle import read_inputs

REPO = Path(__file__).resolve().parents[1]
BAD = REPO / "tests" / "fixtures" / "bad"


def _load_cases():
    spec = importlib.util.spec_from_file_location("make_bad_fixtures", BAD / "make_bad_fixtures.py")
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    sys.modules["make_bad_fixtures"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


FIX = _load_cases()
CASES = FIX.CASES
IDS = [c.name for c in CASES]
OPTION = {"traffic": "--traffic", "intraday": "--intraday", "loadtest": "--loadtest", "prices": "--prices",
          "scenario": "--scenario"}


def _argv(case) -> list[str]:
    files = FIX.companions(case, BAD)
    argv = ["check"]
    for kind, path in files.items():
        argv += [OPTION[kind], str(path)]
    return argv


def test_enough_distinct_cases():
    """The issue asks for at least 40 distinct bad inputs across the four file kinds."""
    assert len(set(IDS)) == len(IDS) >= 40
    kinds = {c.kind for c in CASES}
    assert {"traffic", "loadtest", "prices", "scenario"} <= kinds
    assert len({(c.kind, c.content) for c in CASES}) == len(CASES)


def test_fixture_files_match_table():
    """The files on disk are the ones the table describes (regenerate with make_bad_fixtures.py)."""
    for case in CASES:
        assert (BAD / case.name).read_bytes() == case.content, case.name
    for name, text in FIX.VALID_FILES.items():
        assert (BAD / "valid" / name).read_text(encoding="utf-8") == text, name


def test_valid_companions_pass():
    """The baseline every bad file is swapped into is itself valid (so each failure is the bad file's)."""
    inputs = read_inputs(**FIX.companions())
    assert len(inputs.scenarios) == 2
    assert inputs.traffic.attrs["event_types"] == ["sale"]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_bad_input_message(case):
    with pytest.raises(InputError) as info:
        read_inputs(**FIX.companions(case, BAD))
    exc = info.value
    msg = str(exc)
    assert exc.path is not None and Path(exc.path).name == case.name, msg
    assert case.name in msg
    assert case.where in msg, msg
    assert case.expected in msg, msg
    assert "\n" not in msg


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_check_cli_in_process(case, monkeypatch, capsys):
    """`bayescap check` through the real ``cli.main`` (only the check command registered, for speed)."""
    import bayescap.cli as cli

    monkeypatch.setattr(cli, "COMMANDS", ("check",))
    code = cli.main(_argv(case))
    out, err = capsys.readouterr()
    assert code == 2
    assert "Traceback" not in err + out
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert case.name in lines[0]
    assert not out.strip().endswith("ready for `bayescap forecast`")


SUBPROCESS_CASES = [
    "traffic_thousands_quoted.csv",
    "traffic_latin1.csv",
    "intraday_timezone.csv",
    "loadtest_n_zero.csv",
    "prices_duplicate.csv",
    "scenario_misspelt_top.toml",
]


@pytest.mark.parametrize("name", SUBPROCESS_CASES)
def test_check_cli_subprocess(name):
    """The same through a real `python -m bayescap check` process: exit 2, file named, no traceback."""
    case = next(c for c in CASES if c.name == name)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [sys.executable, "-m", "bayescap", *_argv(case)],
        capture_output=True, text=True, cwd=REPO, env=env, timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert name in proc.stderr
    assert case.expected in proc.stderr


def test_check_cli_subprocess_valid_and_no_pymc():
    """On valid inputs check exits 0 with a summary, and the check command never imports PyMC."""
    code = (
        "import sys, bayescap.cli as cli; cli.COMMANDS = ('check',); "
        f"rc = cli.main({_argv(None)!r}); "
        "assert 'pymc' not in sys.modules and 'pytensor' not in sys.modules, 'pymc imported'; sys.exit(rc)"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "event type 'sale': 12 days" in proc.stdout
    assert "scenario  bigger-sales" in proc.stdout
    assert "ok: 2 scenario(s)" in proc.stdout


def test_missing_file_and_directory(tmp_path, capsys, monkeypatch):
    import bayescap.cli as cli

    monkeypatch.setattr(cli, "COMMANDS", ("check",))
    files = FIX.companions()
    files["traffic"] = tmp_path / "nope.csv"
    with pytest.raises(InputError, match="nope.csv: file not found"):
        read_inputs(**files)
    files["traffic"] = tmp_path
    with pytest.raises(InputError, match="is a directory"):
        read_inputs(**files)
    files = FIX.companions()
    argv = ["check", "--scenario", str(tmp_path / "missing.toml")]
    for kind in ("traffic", "loadtest", "prices"):
        argv += [OPTION[kind], str(files[kind])]
    assert cli.main(argv) == 2
    assert "missing.toml: file not found (expected a scenario TOML)" in capsys.readouterr().err


def test_docs_table_lists_every_case():
    """docs/input_errors.md is generated from the same table: every case, and the count, appear in it."""
    docs = (REPO / "docs" / "input_errors.md").read_text(encoding="utf-8")
    assert f"**{len(CASES)} distinct bad inputs**" in docs
    for case in CASES:
        assert f"`test_bad_input_message[{case.name}]`" in docs, case.name


def test_unknown_key_with_a_control_character_stays_on_one_line(tmp_path):
    """A key holding a newline (found by the property test) is shown escaped: the message stays one line."""
    from bayescap.inputs.scenario import read_scenarios

    text = '"bad\\nkey" = 1\n' + FIX.companions()["scenario"].read_text(encoding="utf-8")  # a top-level key
    path = tmp_path / "s.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as info:
        read_scenarios(path)
    message = str(info.value)
    assert "\n" not in message and "'bad\\nkey'" in message and "s.toml" in message
