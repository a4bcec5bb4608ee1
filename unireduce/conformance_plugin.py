"""pytest plugin of unireduce's conformance suite (registered through the ``pytest11`` entry point).

Options (group "unireduce"):

``--unireduce-backend NAME``
    run the suite on this registered backend (repeatable). ``jax`` runs JAX twice, with
    ``jax_enable_x64`` off and on (test ids ``jax-...`` and ``jax_x64-...``); ``jax_x64`` alone
    runs only the latter.
``--unireduce-semantics PROFILE``
    only these profiles (repeatable; default: every profile).
``--unireduce-max-examples N``
    hypothesis examples per randomized test (default 100; a quarter of that under a compiler).
``--unireduce-xfails FILE``
    expected failures: one ``test-id-glob  # reason`` per line (``#`` lines and blank lines are
    ignored; ``*`` and ``?`` are the only wildcards, brackets are literal). The glob is matched
    against the test name (``test_random[torch-cpu-eager-numpy-sum]``), the ``file::name`` id and
    the full node id. An entry without a reason is an error; an entry that matches no collected
    test warns.

The module imports nothing but pytest and the standard library, and does nothing unless one of its
options is given, so installing unireduce leaves every other pytest run unchanged.

Run: ``pytest --pyargs unireduce.conformance_tests --unireduce-backend numpy``.
"""

from __future__ import annotations

import os
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import pytest

__all__ = ["UnireduceXfailWarning", "XfailEntry", "parse_xfails"]

_OPTIONS = (
    "unireduce_backend",
    "unireduce_semantics",
    "unireduce_max_examples",
    "unireduce_xfails",
)


class UnireduceXfailWarning(pytest.PytestWarning):
    """An expected-failure entry matched no collected test (a stale entry)."""


@dataclass
class XfailEntry:
    """One line of an expected-failures file."""

    pattern: str
    reason: str
    line: int
    matched: int = field(default=0)

    def matches(self, names: tuple[str, ...]) -> bool:
        # Only * and ? are wildcards: test ids contain [ and ], which fnmatch reads as classes.
        rx = re.escape(self.pattern).replace(r"\*", ".*").replace(r"\?", ".")
        return any(re.fullmatch(rx, n) for n in names)


def parse_xfails(text: str, source: str = "<xfails>") -> list[XfailEntry]:
    """Entries of an expected-failures file; :class:`pytest.UsageError` for one without reason.

    >>> [(e.pattern, e.reason) for e in parse_xfails("test_x[torch-*]  # pytorch#58734\\n# c\\n")]
    [('test_x[torch-*]', 'pytorch#58734')]
    """
    entries = []
    for no, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        pattern, sep, reason = line.partition("#")
        pattern, reason = pattern.strip(), reason.strip()
        if not sep or not reason:
            raise pytest.UsageError(
                f"{source}:{no}: expected failure {pattern!r} has no reason; write "
                "'<test-id-glob>  # <reason, e.g. the upstream issue>'"
            )
        if " " in pattern:
            raise pytest.UsageError(
                f"{source}:{no}: {pattern!r} is not one test-id glob (it contains a space)"
            )
        entries.append(XfailEntry(pattern, reason, no))
    return entries


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("unireduce", "unireduce conformance suite")
    group.addoption(
        "--unireduce-backend",
        action="append",
        metavar="NAME",
        help="run unireduce's conformance suite on this backend (repeatable; 'jax' covers "
        "jax_enable_x64 off and on, 'jax_x64' only on)",
    )
    group.addoption(
        "--unireduce-semantics",
        action="append",
        metavar="PROFILE",
        help="only these semantics profiles (repeatable; default: all)",
    )
    group.addoption(
        "--unireduce-max-examples",
        type=int,
        metavar="N",
        help="hypothesis examples per randomized conformance test (default 100)",
    )
    group.addoption(
        "--unireduce-xfails",
        metavar="FILE",
        help="expected failures, one 'test-id-glob  # reason' per line",
    )


def _active(config: pytest.Config) -> bool:
    return any(config.getoption(o, None) not in (None, []) for o in _OPTIONS)


_ENTRIES = pytest.StashKey[list[XfailEntry]]()


def pytest_configure(config: pytest.Config) -> None:
    if not _active(config):
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    n = config.getoption("unireduce_max_examples")
    if n is not None and n < 1:
        raise pytest.UsageError(f"--unireduce-max-examples={n}: give a positive number")
    names = config.getoption("unireduce_backend") or []
    if names:
        import unireduce as ur

        known = ur.registered_backends()
        unknown = [n for n in names if n not in known and n != "jax_x64"]
        if unknown:
            raise pytest.UsageError(
                f"--unireduce-backend {', '.join(unknown)}: not a registered backend; "
                f"registered: {', '.join(known)} (and jax_x64: JAX with jax_enable_x64 on)"
            )
    path = config.getoption("unireduce_xfails")
    entries: list[XfailEntry] = []
    if path:
        p = Path(path)
        if not p.is_file():
            raise pytest.UsageError(f"--unireduce-xfails: no such file {path!r}")
        entries = parse_xfails(p.read_text(encoding="utf-8"), str(p))
    config.stash[_ENTRIES] = entries


def pytest_report_header(config: pytest.Config) -> list[str] | None:
    if not _active(config):
        return None
    import unireduce as ur

    lines = [f"unireduce {ur.__version__}; profiles: {', '.join(ur.profiles())}"]
    for name in config.getoption("unireduce_backend") or []:
        base = "jax" if name == "jax_x64" else name
        try:
            be = ur.get_backend(base)
            devs = ", ".join(be.devices())
            caps = type(be).capabilities
            lines.append(
                f"  backend {name}: {be.version()} (devices: {devs}; declared: "
                f"{', '.join(caps.devices)}; jit: {', '.join(caps.jit) or 'none'}; flushes "
                f"subnormals on: {', '.join(caps.flushes_subnormals) or 'none'})"
            )
            if name == "jax":
                lines.append("  backend jax runs twice: jax_enable_x64 off (jax) and on (jax_x64)")
        except Exception as exc:  # shown, and the suite then fails on it
            lines.append(f"  backend {name}: NOT AVAILABLE ({type(exc).__name__}: {exc})")
    opts = {o: config.getoption(o) for o in _OPTIONS}
    lines.append("  options: " + ", ".join(f"--{k.replace('_', '-')}={v}" for k, v in opts.items()))
    return lines


def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    entries = config.stash.get(_ENTRIES, [])
    if not entries:
        return
    for item in items:
        short = f"{item.path.name}::{item.name}" if item.path is not None else item.name
        names = (item.name, short, item.nodeid)
        for entry in entries:
            if entry.matches(names):
                entry.matched += 1
                item.add_marker(pytest.mark.xfail(reason=entry.reason, strict=False))
                break
    for entry in entries:
        if not entry.matched:
            warnings.warn(
                UnireduceXfailWarning(
                    f"--unireduce-xfails line {entry.line}: {entry.pattern!r} matched no "
                    "collected test (stale entry?)"
                ),
                stacklevel=1,
            )
