"""Packaging: the wheel installs the three import packages, ``py.typed`` and the console script."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "build",
            "--wheel",
            "--no-isolation",
            "--outdir",
            str(out),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (whl,) = out.glob("unireduce-*.whl")
    return whl


def test_wheel_contents(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for required in (
        "unireduce/__init__.py",
        "unireduce/py.typed",
        "unireduce/backends/__init__.py",
        "unireduce/backends/torch.py",
        "unireduce/backends/numpy.py",
        "unireduce/conformance_tests/__init__.py",
    ):
        assert required in names, required
    # Every package of the source tree is in the wheel (the package list in pyproject is explicit).
    for init in sorted((ROOT / "unireduce").rglob("__init__.py")):
        rel = init.relative_to(ROOT).as_posix()
        assert rel in names, f"{rel} is missing from the wheel: list its package in pyproject.toml"
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "[unireduce.backends]" in text and "unireduce = unireduce.cli:main" in text


@pytest.mark.slow
def test_wheel_installs_in_a_fresh_venv(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = venv / "bin" / "python"
    subprocess.run(  # the wheel and its two required dependencies, nothing from the checkout
        [str(py), "-m", "pip", "install", "-q", str(wheel)],
        check=True,
        timeout=300,
        env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
    )
    code = (
        "import unireduce, unireduce.backends.torch, unireduce.conformance_tests, sys;"
        "assert 'site-packages' in unireduce.__file__, unireduce.__file__;"
        "assert 'torch' not in sys.modules;"
        "print(unireduce.__file__)"
    )
    out = subprocess.run(
        [str(py), "-c", code], check=True, capture_output=True, text=True, cwd=tmp_path
    )
    assert str(venv) in out.stdout
    demo = subprocess.run(
        [str(venv / "bin" / "unireduce"), "--version"], check=True, capture_output=True, text=True
    )
    assert demo.stdout.startswith("unireduce ")
