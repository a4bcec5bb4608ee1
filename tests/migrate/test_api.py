"""The Python API: results and entries, idempotence, parse errors, and a light import."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.migrate._harness import CORPUS
from unireduce.migrate import KINDS, MigrationResult, ReportEntry, migrate_source


def test_result_and_entries():
    result = migrate_source(
        "import tensorflow as tf\n\ny = tf.reduce_sum(x, [])\n", to="torch", filename="m.py"
    )
    assert isinstance(result, MigrationResult)
    assert result.changed and result.ok
    assert result.filename == "m.py" and result.target == "torch"
    entry = result.entries[-1]
    assert isinstance(entry, ReportEntry)
    assert (entry.file, entry.line, entry.kind, entry.severity) == (
        "m.py",
        3,
        "empty-axis",
        "hazard",
    )
    assert "pytorch#29137" in entry.message
    assert entry.action == "_tf_reduce_sum returns the input unreduced, as TF does"
    assert entry.to_dict()["severity"] == "hazard"


def test_every_kind_has_a_severity_and_a_description():
    assert {sev for sev, _ in KINDS.values()} == {"error", "hazard", "info"}
    assert all(desc for _, desc in KINDS.values())
    with pytest.raises(ValueError, match="unknown kind"):
        ReportEntry("f", 1, "no-such-kind", "m", "a")


def test_unparsable_source_comes_back_unchanged_with_its_line():
    source = "import tensorflow as tf\n\n\ndef f(x:\n    return tf.reduce_sum(x)\n"
    result = migrate_source(source, filename="bad.py")
    assert result.code == source and not result.changed and not result.ok
    (entry,) = result.entries
    assert (entry.file, entry.line, entry.kind) == ("bad.py", 4, "parse-error")
    assert "'(' was never closed" in entry.message


def test_nothing_to_migrate_changes_nothing():
    source = "import numpy as np\n\n\ndef f(x):  # a comment\n    return np.sum(x)\n"
    for target in ("torch", "unireduce"):
        result = migrate_source(source, to=target)
        assert result.code == source and result.entries == []


@pytest.mark.parametrize("target", ["torch", "unireduce"])
@pytest.mark.parametrize("program", [p.stem for p in CORPUS])
def test_idempotent(program, target):
    source = (Path(CORPUS[0]).parent / f"{program}.py").read_text("utf-8")
    once = migrate_source(source, to=target)
    assert once.changed
    twice = migrate_source(once.code, to=target)
    assert twice.code == once.code
    # only what could not be migrated the first time is reported again
    assert [(e.kind, e.message) for e in twice.entries if e.kind != "out-of-scope"] == [
        (e.kind, e.message) for e in once.entries if e.kind == "not-migrated"
    ]


def test_torch_then_unireduce_changes_nothing_more():
    source = (Path(CORPUS[0]).parent / "scans.py").read_text("utf-8")
    torch_code = migrate_source(source, to="torch").code
    assert migrate_source(torch_code, to="unireduce").code == torch_code


def test_importing_the_package_imports_no_framework():
    code = (
        "import sys, unireduce.migrate, unireduce.migrate.cli\n"
        "print(sorted(m for m in ('tensorflow', 'torch', 'jax', 'keras') if m in sys.modules))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).parents[2],
    )
    assert proc.stdout.strip() == "[]"


def test_the_subcommand_registers_without_libcst_and_says_what_is_missing():
    code = (
        "import sys, argparse\n"
        "sys.modules['libcst'] = None\n"
        "from unireduce.migrate.cli import add_parser\n"
        "p = argparse.ArgumentParser()\n"
        "add_parser(p.add_subparsers())\n"
        "args = p.parse_args(['migrate', 'x.py'])\n"
        "sys.exit(args.func(args))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).parents[2],
    )
    assert proc.returncode == 2
    assert "pip install libcst" in proc.stderr


@pytest.mark.parametrize(
    "module",
    [
        "unireduce.migrate",
        "unireduce.migrate._api",
        "unireduce.migrate._codemod",
        "unireduce.migrate._helpers",
        "unireduce.migrate._layout",
        "unireduce.migrate._report",
        "unireduce.migrate.cli",
    ],
)
def test_docstring_examples_run(module):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0
    assert result.failed == 0
