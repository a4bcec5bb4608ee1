"""Every docstring example in ``unireduce/`` and ``backends/`` (installed as
``unireduce.backends``) runs and prints what it shows: one test per module, so a failure names
the module, and doctest's report (the example, what it expected, what it got) is the message.
Examples may end a line with ``...`` (doctest's ELLIPSIS, as under ``pytest --doctest-modules``)."""

from __future__ import annotations

import doctest
import importlib
import io
import pkgutil
from contextlib import redirect_stdout

import pytest

import unireduce
import unireduce.backends

# The backends' directory is installed as unireduce.backends (outside unireduce/'s path);
# __main__ would run the CLI.
_OURS = [(unireduce.__path__, "unireduce."), (unireduce.backends.__path__, "unireduce.backends.")]
MODULES = sorted(
    {m.name for path, prefix in _OURS for m in pkgutil.walk_packages(path, prefix)}
    - {"unireduce.__main__"}
)


def test_backends_are_walked() -> None:
    assert {"unireduce.backends.jax", "unireduce._exact._portable"} <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    out = io.StringIO()
    with redirect_stdout(out):
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)  # pytest's default
    report = out.getvalue()
    assert result.failed == 0, f"{name}: {result.failed} of {result.attempted} failed\n{report}"
