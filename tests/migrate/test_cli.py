"""The ``migrate`` subcommand: --diff, --write, --report, folders, encodings and exit codes."""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from unireduce.migrate import migrate_paths
from unireduce.migrate.cli import add_parser, run

TF_PROGRAM = (
    "import tensorflow as tf\n"
    "\n"
    "\n"
    "def lengths(mask):\n"
    "    return tf.reduce_sum(mask, axis=1)\n"
    "\n"
    "\n"
    "def keep(x, axes):\n"
    "    return tf.reduce_sum(x, axis=axes)\n"
)
UR_PROGRAM = (
    "import unireduce as ur\n"
    "\n"
    "\n"
    "def lengths(mask):\n"
    '    return ur.reduce_sum(mask, axis=1, semantics="tensorflow")\n'
    "\n"
    "\n"
    "def keep(x, axes):\n"
    '    return ur.reduce_sum(x, axis=axes, semantics="tensorflow")\n'
)
BROKEN = "import tensorflow as tf\n\ndef f(x:\n    return tf.reduce_sum(x)\n"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="unireduce")
    add_parser(p.add_subparsers(dest="command", required=True))
    return p


def cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    args = parser().parse_args(["migrate", *argv])
    status = args.func(args)
    out, err = capsys.readouterr()
    return status, out, err


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "model.py").write_text(TF_PROGRAM)
    (tmp_path / "pkg" / "clean.py").write_text("import numpy as np\n")
    (tmp_path / "pkg" / "notes.txt").write_text("tf.reduce_sum(x)\n")
    (tmp_path / "pkg" / ".hidden").mkdir()
    (tmp_path / "pkg" / ".hidden" / "skip.py").write_text(TF_PROGRAM)
    return tmp_path / "pkg"


def test_parser_wiring():
    args = parser().parse_args(["migrate", "a.py", "b", "--to", "unireduce", "--report", "r.json"])
    assert args.func is run
    assert (args.paths, args.to, args.diff, args.write, args.report) == (
        ["a.py", "b"],
        "unireduce",
        False,
        False,
        "r.json",
    )
    assert parser().parse_args(["migrate", "a.py"]).to == "torch"


def test_diff_and_write_exclude_each_other(capsys):
    with pytest.raises(SystemExit) as info:
        parser().parse_args(["migrate", "a.py", "--diff", "--write"])
    assert info.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_unknown_target_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as info:
        parser().parse_args(["migrate", "a.py", "--to", "jax"])
    assert info.value.code == 2


def test_default_mode_changes_nothing_and_says_what_would_change(project, capsys):
    status, out, err = cli([str(project)], capsys)
    assert status == 0
    assert out == ""
    assert (project / "model.py").read_text() == TF_PROGRAM
    assert "2 file(s), would change 1" in err
    assert "--diff to see the changes, --write to apply them" in err
    assert f"{project / 'model.py'}:9: runtime-axis:" in err


def test_diff_prints_a_unified_diff_and_changes_no_file(project, capsys):
    status, out, _ = cli([str(project), "--to", "unireduce", "--diff"], capsys)
    assert status == 0
    assert (project / "model.py").read_text() == TF_PROGRAM
    assert f"--- {project / 'model.py'}\n+++ {project / 'model.py'}\n" in out
    assert "-import tensorflow as tf\n+import unireduce as ur\n" in out
    assert '+    return ur.reduce_sum(x, axis=axes, semantics="tensorflow")\n' in out
    assert "skip.py" not in out and "clean.py" not in out


def test_write_rewrites_in_place_and_a_second_run_changes_nothing(project, capsys):
    status, _, err = cli([str(project), "--to", "unireduce", "--write"], capsys)
    assert status == 0
    assert (project / "model.py").read_text() == UR_PROGRAM
    assert (project / ".hidden" / "skip.py").read_text() == TF_PROGRAM
    assert "changed 1" in err
    status, _, err = cli([str(project), "--to", "unireduce", "--write"], capsys)
    assert status == 0
    assert (project / "model.py").read_text() == UR_PROGRAM
    assert "changed 0" in err


def test_report_is_json_with_every_entry(project, tmp_path, capsys):
    report = tmp_path / "report.json"
    status, _, _ = cli([str(project), "--report", str(report)], capsys)
    assert status == 0
    data = json.loads(report.read_text())
    assert data["tool"] == "unireduce migrate"
    assert (data["target"], data["mode"], data["exit_status"]) == ("torch", "check", 0)
    assert data["summary"]["files"] == 2
    assert data["summary"]["changed"] == 1
    assert data["summary"]["entries_by_kind"] == {"input-dtype": 2, "runtime-axis": 1}
    model = str(project / "model.py")
    assert {(f["file"], f["status"]) for f in data["files"]} == {
        (model, "changed"),
        (str(project / "clean.py"), "unchanged"),
    }
    assert [(e["file"], e["line"], e["kind"], e["severity"]) for e in data["entries"]] == [
        (model, 5, "input-dtype", "hazard"),
        (model, 9, "input-dtype", "hazard"),
        (model, 9, "runtime-axis", "hazard"),
    ]
    assert all(e["message"] and e["action"] for e in data["entries"])


def test_unparsable_file_is_left_untouched_and_fails(project, tmp_path, capsys):
    (project / "broken.py").write_text(BROKEN)
    report = tmp_path / "report.json"
    status, _, err = cli([str(project), "--write", "--report", str(report)], capsys)
    assert status == 1
    assert (project / "broken.py").read_text() == BROKEN
    assert f"{project / 'broken.py'}:3: parse-error: does not parse" in err
    assert (project / "model.py").read_text() != TF_PROGRAM  # the other files are migrated
    data = json.loads(report.read_text())
    assert data["exit_status"] == 1
    broken = [f for f in data["files"] if f["file"].endswith("broken.py")]
    assert broken == [{"file": str(project / "broken.py"), "status": "error", "entries": 1}]


def test_a_call_that_cannot_be_migrated_makes_the_exit_status_1(tmp_path, capsys):
    path = tmp_path / "m.py"
    path.write_text("import tensorflow as tf\n\ny = tf.reduce_sum(x, dtype=tf.int64)\n")
    status, _, err = cli([str(path)], capsys)
    assert status == 1
    assert f"{path}:3: not-migrated:" in err
    assert "1 could not be fully migrated" in err


def test_missing_path_exits_2(tmp_path, capsys):
    status, _, err = cli([str(tmp_path / "nope.py")], capsys)
    assert status == 2
    assert "nope.py: no such file or folder" in err


def test_encoding_and_newlines_are_preserved(tmp_path, capsys):
    path = tmp_path / "latin.py"
    source = (
        "# -*- coding: latin-1 -*-\r\nimport tensorflow as tf\r\n\r\n# café\r\n"
        "y = tf.reduce_sum(x)\r\n"
    )
    path.write_bytes(source.encode("latin-1"))
    status, _, _ = cli([str(path), "--to", "unireduce", "--write"], capsys)
    assert status == 0
    assert path.read_bytes() == (
        "# -*- coding: latin-1 -*-\r\nimport unireduce as ur\r\n\r\n# café\r\n"
        'y = ur.reduce_sum(x, semantics="tensorflow")\r\n'
    ).encode("latin-1")


def test_crlf_and_tab_indented_files_stay_consistent(tmp_path, capsys):
    path = tmp_path / "crlf.py"
    path.write_bytes(
        b"import tensorflow as tf\r\n\r\n\r\ndef f(x):\r\n\treturn tf.reduce_sum(x, [])\r\n"
    )
    status, _, _ = cli([str(path), "--write"], capsys)
    assert status == 0
    new = path.read_bytes()
    assert b"\r\n\r\ndef f(x):\r\n\treturn _tf_reduce_sum(x, [])\r\n" in new
    assert new.replace(b"\r\n", b"").count(b"\n") == 0  # no line ends with a bare LF
    namespace: dict = {}
    exec(compile(new, str(path), "exec"), namespace)
    import torch

    assert namespace["f"](torch.ones(2, 3)).shape == (2, 3)


def test_migrate_paths_refuses_write_with_diff(tmp_path):
    with pytest.raises(ValueError, match="exclude each other"):
        migrate_paths([tmp_path], write=True, diff=True)


def test_migrate_paths_streams(tmp_path):
    (tmp_path / "m.py").write_text(TF_PROGRAM)
    out, err = io.StringIO(), io.StringIO()
    assert migrate_paths([tmp_path], to="unireduce", diff=True, stdout=out, stderr=err) == 0
    assert "+import unireduce as ur" in out.getvalue()
    assert "runtime-axis" in err.getvalue()


def test_python_dash_m(tmp_path):
    path = tmp_path / "m.py"
    path.write_text(TF_PROGRAM)
    proc = subprocess.run(
        [sys.executable, "-m", "unireduce.migrate", str(path), "--to", "unireduce", "--write"],
        capture_output=True,
        text=True,
        cwd=Path(__file__).parents[2],
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert path.read_text() == UR_PROGRAM


def test_add_arguments_fits_a_registry_of_subcommand_modules(tmp_path, capsys):
    """The main CLI may create the subparser itself and call add_arguments(p), then run(args)."""
    from unireduce.migrate import cli as migrate_cli

    p = argparse.ArgumentParser(prog="unireduce")
    sub = p.add_subparsers(dest="command")
    migrate_cli.add_arguments(sub.add_parser("migrate"))
    (tmp_path / "m.py").write_text(TF_PROGRAM)
    args = p.parse_args(["migrate", str(tmp_path), "--to", "unireduce", "--write"])
    assert migrate_cli.run(args) == 0
    assert (tmp_path / "m.py").read_text() == UR_PROGRAM
