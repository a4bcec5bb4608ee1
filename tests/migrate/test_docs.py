"""docs/migration.md stays true: its examples are the tool's output, every report kind is listed."""

from __future__ import annotations

import re
from pathlib import Path

from tests.migrate._harness import migrate_source, strip_helpers
from unireduce.migrate import KINDS

GUIDE = Path(__file__).parents[2] / "docs" / "migration.md"
PLACEHOLDER = "# def _tf_to_tensor(...), def _tf_reduce_sum(...), def _tf_cumsum(...) go here\n\n\n"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", GUIDE.read_text("utf-8"), flags=re.DOTALL)


def test_before_and_after_examples_are_the_tool_output():
    blocks = [b for b in python_blocks() if "def masked_mean" in b]
    before, after_torch, after_unireduce = blocks
    torch_result = migrate_source(before, to="torch")
    assert strip_helpers(torch_result.code) == after_torch.replace(PLACEHOLDER, "")
    assert migrate_source(before, to="unireduce").code == after_unireduce


def test_the_reported_lines_shown_are_real():
    text = GUIDE.read_text("utf-8")
    before = next(b for b in python_blocks() if "def masked_mean" in b)
    entries = migrate_source(before, to="torch", filename="example.py").entries
    shown = re.findall(r"^(example\.py:\d+: .*)$", text, flags=re.MULTILINE)
    assert shown
    assert set(shown) <= {e.format() for e in entries}


def test_every_report_kind_is_documented():
    text = GUIDE.read_text("utf-8")
    missing = [k for k in KINDS if f"`{k}`" not in text]
    assert missing == []
