"""Report entries, migration results and the JSON report of ``unireduce migrate``.

Every hazard the migration meets is one :class:`ReportEntry`: where it is (file, line of the
*original* source), what it is (``kind``, one of :data:`KINDS`), what could go wrong
(``message``) and what the tool did about it (``action``). Entries whose kind has severity
``"error"`` mean a file, or a call in it, could not be migrated: the command then exits non-zero.

>>> from unireduce.migrate import ReportEntry
>>> e = ReportEntry("a.py", 3, "empty-axis", "axis=[] reduces nothing in TF", "kept by the helper")
>>> e.severity, e.format()
('hazard', 'a.py:3: empty-axis: axis=[] reduces nothing in TF -> kept by the helper')
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

__all__ = ["KINDS", "TARGETS", "MigrationResult", "ReportEntry", "build_report", "write_report"]

#: What ``--to`` accepts.
TARGETS: Final = ("torch", "unireduce")

#: kind -> (severity, one-line description). Severity is ``"error"`` (the file or a call in it
#: was not migrated: non-zero exit status), ``"hazard"`` (migrated, with a semantic trap handled
#: or not reproducible) or ``"info"`` (nothing to fix). docs/migration.md lists the same table.
KINDS: Final[dict[str, tuple[str, str]]] = {
    "input-dtype": (
        "hazard",
        "the input dtype is only known at run time: TF keeps it (integers wrap) and refuses bool",
    ),
    "empty-axis": ("hazard", "axis=[] or () reduces nothing in TF but everything in torch"),
    "runtime-axis": ("hazard", "the axis is only known at run time and may be empty"),
    "exclusive-reverse": ("hazard", "tf.math.cumsum exclusive/reverse, which torch.cumsum lacks"),
    "default-axis": ("info", "tf.math.cumsum without axis scans axis 0 (NumPy and JAX flatten)"),
    "half-precision": (
        "hazard",
        "TF accumulates float16 (and scans bfloat16) in that dtype; the order is not reproducible",
    ),
    "python-sequence-input": ("hazard", "a Python list or tuple is converted the TF way"),
    "dynamic-arguments": ("hazard", "*args or **kwargs: the arguments are only known at run time"),
    "reference": ("hazard", "a reduction referenced without being called"),
    "metric": ("hazard", "the Keras Sum metric becomes unireduce.Sum"),
    "keras-compile": ("hazard", "a Sum metric handed to Keras, which cannot use unireduce.Sum"),
    "out-of-scope": ("info", "other TensorFlow or Keras API, left as it is"),
    "not-migrated": ("error", "a call that could not be migrated; left unchanged and marked"),
    "parse-error": ("error", "the file does not parse; left untouched"),
    "io-error": ("error", "the file could not be read or written"),
    "internal-error": ("error", "the migration failed on this file; left untouched"),
}

#: The prefix of every comment the migration writes into code.
MARKER: Final = "# unireduce-migrate:"


@dataclass(frozen=True)
class ReportEntry:
    """One hazard or error met while migrating, located in the original source.

    >>> ReportEntry("m.py", 1, "parse-error", "invalid syntax", "file left untouched").severity
    'error'
    """

    file: str
    line: int
    kind: str
    message: str
    action: str

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"ReportEntry: unknown kind {self.kind!r}; allowed: {sorted(KINDS)}")

    @property
    def severity(self) -> str:
        """``"error"``, ``"hazard"`` or ``"info"``, from :data:`KINDS`."""
        return KINDS[self.kind][0]

    def to_dict(self) -> dict[str, Any]:
        """The entry as a JSON-ready dict (the fields plus ``severity``)."""
        return {
            "file": self.file,
            "line": self.line,
            "kind": self.kind,
            "severity": self.severity,
            "message": self.message,
            "action": self.action,
        }

    def format(self) -> str:
        """``file:line: kind: message -> action``, as compilers print diagnostics."""
        return f"{self.file}:{self.line}: {self.kind}: {self.message} -> {self.action}"


@dataclass
class MigrationResult:
    """The migrated source of one file (or string) and what was met on the way.

    ``code`` is the new source (equal to ``source`` when nothing changed or the source could not
    be parsed); ``entries`` the report entries in source order.

    >>> from unireduce.migrate import migrate_source
    >>> r = migrate_source("x = 1\\n")
    >>> r.changed, r.ok, r.entries
    (False, True, [])
    """

    source: str
    code: str
    entries: list[ReportEntry] = field(default_factory=list)
    filename: str = "<string>"
    target: str = "torch"

    @property
    def changed(self) -> bool:
        """Whether the migration changed the source."""
        return self.code != self.source

    @property
    def ok(self) -> bool:
        """True when no entry is an error (the whole file was migrated)."""
        return not any(e.severity == "error" for e in self.entries)


def build_report(
    results: Sequence[MigrationResult], *, target: str, mode: str, exit_status: int
) -> dict[str, Any]:
    """The JSON document written by ``--report FILE`` (its format is in docs/migration.md).

    >>> build_report([], target="torch", mode="check", exit_status=0)["summary"]["files"]
    0
    """
    entries = [e for r in results for e in r.entries]
    by_kind = Counter(e.kind for e in entries)
    by_severity = Counter(e.severity for e in entries)
    files = []
    for r in results:
        if r.ok:
            status = "changed" if r.changed else "unchanged"
        else:
            status = "partial" if r.changed else "error"
        files.append({"file": r.filename, "status": status, "entries": len(r.entries)})
    return {
        "tool": "unireduce migrate",
        "format_version": 1,
        "target": target,
        "mode": mode,
        "exit_status": exit_status,
        "summary": {
            "files": len(results),
            "changed": sum(1 for f in files if f["status"] in ("changed", "partial")),
            "failed": sum(1 for r in results if not r.ok),
            "entries_by_kind": dict(sorted(by_kind.items())),
            "entries_by_severity": dict(sorted(by_severity.items())),
        },
        "files": files,
        "entries": [e.to_dict() for e in entries],
    }


def write_report(path: str | Path, report: dict[str, Any]) -> None:
    """Write ``report`` as indented UTF-8 JSON to ``path``."""
    Path(path).write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", "utf-8")
