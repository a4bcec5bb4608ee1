"""The command line: ``unireduce`` and ``python -m unireduce``."""

from __future__ import annotations

import subprocess
import sys

import pytest

from unireduce.cli import main


def test_help_lists_subcommands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    assert "demo" in capsys.readouterr().out


def test_no_subcommand_prints_help_and_fails(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "usage: unireduce" in capsys.readouterr().out


def test_demo_on_numpy(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--framework", "numpy"]) == 0
    out = capsys.readouterr().out
    assert "## sum of uint8 [200, 100]" in out
    # NumPy's own cumsum flattens a matrix; unireduce asks for the axis.
    block = out.split("## cumsum of a 2x3 matrix, axis omitted")[1].split("##")[0]
    assert "float32 (6,)" in block and "AxisError" in block


def test_demo_shows_torch_divergences(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("torch")
    assert main(["demo", "--framework", "torch"]) == 0
    out = capsys.readouterr().out
    block = out.split("## sum of uint8 [200, 100]")[1].split("##")[0]
    # torch's native sum of uint8 is a signed int64; unireduce's is uint64 (array API).
    assert "*int64 () 300" in block and "uint64 () 300" in block
    block = out.split("## sum over axis=() of a 2x3 matrix")[1].split("##")[0]
    assert "*float32 () 15.0" in block  # torch dim=() reduces everything (pytorch#29137)


def test_python_dash_m() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "unireduce", "--version"], capture_output=True, text=True, check=True
    )
    assert out.stdout.startswith("unireduce ")
