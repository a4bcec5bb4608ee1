"""The conformance suite as a user runs it: the pytest plugin, a third-party backend, xfails.

The end-to-end tests install a toy backend package (numpy arrays wrapped in a class, declared
under the ``unireduce.backends`` entry-point group) with pip into a temporary directory and run
``python -m pytest --pyargs unireduce.conformance_tests`` from outside the repository.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import unireduce as ur
from unireduce.conformance_plugin import parse_xfails

TOY = '''
"""A toy third-party backend: NumPy arrays in a wrapper class, through an array-API namespace."""
from __future__ import annotations

import array_api_compat.numpy as _np_xp
import numpy as np

from unireduce.backends.array_api import ArrayAPIBackend


class ToyArray:
    __slots__ = ("_a",)

    def __init__(self, a):
        self._a = np.asarray(a)

    dtype = property(lambda self: self._a.dtype)
    shape = property(lambda self: self._a.shape)
    ndim = property(lambda self: self._a.ndim)
    size = property(lambda self: self._a.size)
    device = "cpu"

    def __array_namespace__(self, api_version=None):
        return XP if type(self) is ToyArray else WRONG_XP

    def __dlpack__(self, **kwargs):
        return self._a.__dlpack__(**kwargs)

    def __dlpack_device__(self):
        return self._a.__dlpack_device__()

    def __getitem__(self, key):
        return type(self)(self._a[_unwrap(key)])

    def __repr__(self):
        return f"ToyArray({self._a!r})"

    # The array API's Python operators (exact mode's portable path and ur.Sum use them).
    for _op in (
        "add radd sub rsub mul rmul floordiv rfloordiv truediv rtruediv mod pow and rand or "
        "ror xor rxor lshift rlshift rshift rrshift lt le gt ge eq ne neg pos abs invert"
    ).split():
        def _method(self, *other, _name=f"__{_op}__"):
            out = getattr(self._a, _name)(*_unwrap(other))
            return type(self)(out) if out is not NotImplemented else out

        locals()[f"__{_op}__"] = _method
    del _op, _method
    __hash__ = None

    def __bool__(self):
        return bool(self._a)

    def __int__(self):
        return int(self._a)

    def __float__(self):
        return float(self._a)

    def __index__(self):
        return self._a.__index__()


def _unwrap(v):
    if isinstance(v, ToyArray):
        return v._a
    if isinstance(v, (list, tuple)):
        return type(v)(_unwrap(i) for i in v)
    return v


class WrongArray(ToyArray):
    """The arrays of the wrong backend (each backend needs its own array type)."""

    __slots__ = ()


class _Namespace:
    """array-api-compat's NumPy namespace, taking and returning ``cls`` arrays."""

    def __init__(self, cls):
        self.cls = cls

    def __getattr__(self, name):
        obj = getattr(_np_xp, name)
        if isinstance(obj, type) or not callable(obj) or name.startswith("__array_namespace"):
            return obj

        def call(*args, **kwargs):
            kwargs = {k: _unwrap(v) for k, v in kwargs.items()}
            out = obj(*_unwrap(args), **kwargs)
            return self.cls(out) if isinstance(out, (np.ndarray, np.generic)) else out

        return call


XP = _Namespace(ToyArray)
WRONG_XP = _Namespace(WrongArray)


class ToyBackend(ArrayAPIBackend):
    name = "toy"
    modules = ("toy_backend",)

    def namespace(self):
        return XP

    def is_array(self, x):
        return type(x) is ToyArray


class ToyWrongBackend(ToyBackend):
    """Sums without promoting: an int8 sum comes back int8 whatever dtype was asked for."""

    name = "toywrong"

    def namespace(self):
        return WRONG_XP

    def is_array(self, x):
        return type(x) is WrongArray

    def sum(self, x, axes, keepdims, dtype, name=None):
        return self.xp.sum(x, axis=axes, dtype=x.dtype, keepdims=keepdims)
'''

PYPROJECT = """
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "toy-backend"
version = "0.1"

[project.entry-points."unireduce.backends"]
toy = "toy_backend:ToyBackend"
toywrong = "toy_backend:ToyWrongBackend"

[tool.setuptools]
py-modules = ["toy_backend"]
"""


@pytest.fixture(scope="module")
def toy_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The toy backend package, pip-installed into a directory of its own."""
    root = tmp_path_factory.mktemp("toy")
    src = root / "src"
    src.mkdir()
    (src / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    (src / "toy_backend.py").write_text(TOY, encoding="utf-8")
    site = root / "site"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--target",
            str(site),
            str(src),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
    )
    assert result.returncode == 0, result.stderr
    return site


def _pytest(
    cwd: Path, *args: str, site: Path | None = None, timeout: int = 600
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    env.pop("PYTEST_ADDOPTS", None)
    if site is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(site), env.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=timeout,
    )


SUITE = ("--pyargs", "unireduce.conformance_tests")


# ------------------------------------------------------------------------------------------
# a third-party backend, from outside the repository


def test_the_shipped_suite_passes_on_a_toy_third_party_backend(
    toy_site: Path, tmp_path: Path
) -> None:
    result = _pytest(
        tmp_path,
        *SUITE,
        "--unireduce-backend",
        "toy",
        "--unireduce-max-examples",
        "5",
        "--unireduce-semantics",
        "array_api",
        "-q",
        site=toy_site,
    )
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-4000:]
    assert " passed" in out and "failed" not in out
    assert str(Path(__file__).resolve().parents[1]) not in str(tmp_path)


def test_a_wrong_backend_fails_with_the_uniform_message(toy_site: Path, tmp_path: Path) -> None:
    result = _pytest(
        tmp_path,
        *SUITE,
        "--unireduce-backend",
        "toywrong",
        "--unireduce-semantics",
        "array_api",
        "-k",
        "test_curated and -sum-int_edge",
        site=toy_site,
    )
    out = result.stdout
    assert result.returncode == 1, out[-4000:]
    # e.g. "out.dtype=int8, but should be int64 [sum(x, axis=0, semantics='array_api')]
    #       backend=toywrong device=cpu mode=eager", then Python that reproduces it.
    assert "out.dtype=int8, but should be int64 [sum(x, axis=0, semantics='array_api')] " in out
    assert "backend=toywrong device=cpu mode=eager" in out
    assert "# reproduce:" in out and "x_np = np.frombuffer(bytes.fromhex(" in out
    assert "out = ur.sum(x, axis=0, semantics='array_api')" in out


def test_the_reproduction_snippet_runs_and_shows_the_failure(
    toy_site: Path, tmp_path: Path
) -> None:
    result = _pytest(
        tmp_path,
        *SUITE,
        "--unireduce-backend",
        "toywrong",
        "--unireduce-semantics",
        "array_api",
        "-k",
        "test_curated and -sum-int_edge",
        site=toy_site,
    )
    lines = result.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == "# reproduce:")
    snippet = []
    for line in lines[start + 1 :]:
        line = line[1:] if line.startswith("E ") else line  # pytest's marker of the message
        if not line.strip():
            break
        snippet.append(line)
    code = textwrap.dedent("\n".join(snippet)) + "\nprint(out.dtype, expected.dtype)\n"
    env = {**os.environ, "PYTHONPATH": str(toy_site)}
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, env=env
    )
    assert run.returncode == 0, run.stderr
    # The snippet shows the very dtypes the message names.
    message = lines[start - 1]
    got, should = message.split("out.dtype=")[1].split(" [")[0].split(", but should be ")
    assert run.stdout.split() == [got, should]
    assert got != should


def test_expected_failures_file_turns_failures_into_xfails(toy_site: Path, tmp_path: Path) -> None:
    xfails = tmp_path / "xfails.txt"
    xfails.write_text(
        "# toywrong does not promote\n"
        "test_curated[toywrong-cpu-eager-array_api-sum-*]  # toy backend bug, kept for the test\n",
        encoding="utf-8",
    )
    result = _pytest(
        tmp_path,
        *SUITE,
        "--unireduce-backend",
        "toywrong",
        "--unireduce-semantics",
        "array_api",
        "--unireduce-xfails",
        str(xfails),
        "-k",
        "test_curated and -sum-int_edge",
        "-rx",
        site=toy_site,
    )
    assert result.returncode == 0, result.stdout[-4000:]
    assert "1 xfailed" in result.stdout
    assert "toy backend bug, kept for the test" in result.stdout


# ------------------------------------------------------------------------------------------
# options, xfails file, inertness


def test_an_expected_failure_without_reason_is_an_error(tmp_path: Path) -> None:
    xfails = tmp_path / "xfails.txt"
    xfails.write_text("test_random[numpy-*]\n", encoding="utf-8")
    result = _pytest(
        tmp_path, *SUITE, "--unireduce-backend", "numpy", "--unireduce-xfails", str(xfails)
    )
    assert result.returncode == pytest.ExitCode.USAGE_ERROR
    assert "xfails.txt:1: expected failure 'test_random[numpy-*]' has no reason" in result.stderr


def test_an_unmatched_expected_failure_warns(tmp_path: Path) -> None:
    xfails = tmp_path / "xfails.txt"
    xfails.write_text("test_nothing_like_this*  # stale\n", encoding="utf-8")
    result = _pytest(
        tmp_path,
        *SUITE,
        "--unireduce-backend",
        "numpy",
        "--unireduce-semantics",
        "array_api",
        "--unireduce-xfails",
        str(xfails),
        "-k",
        "test_curated and -sum-zero_d",
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert "UnireduceXfailWarning" in result.stdout
    assert "'test_nothing_like_this*' matched no collected test" in result.stdout


@pytest.mark.parametrize(
    "text, expected",
    [
        ("", []),
        ("# only a comment\n\n", []),
        ("test_a[x-*]  # pytorch#58734\n", [("test_a[x-*]", "pytorch#58734", 1)]),
        ("\n  t::test_b   #  two words \n", [("t::test_b", "two words", 2)]),
    ],
)
def test_parse_xfails(text: str, expected: list[tuple[str, str, int]]) -> None:
    assert [(e.pattern, e.reason, e.line) for e in parse_xfails(text)] == expected


@pytest.mark.parametrize("text", ["test_a\n", "test_a  #\n", "test_a #   \n", "a b  # r\n"])
def test_parse_xfails_refuses_entries_without_one_glob_and_a_reason(text: str) -> None:
    with pytest.raises(pytest.UsageError, match="<xfails>:1"):
        parse_xfails(text)


def test_the_plugin_is_inert_without_its_options(tmp_path: Path) -> None:
    (tmp_path / "test_plain.py").write_text(
        textwrap.dedent(
            """
            import sys

            def test_plain():
                # The plugin imported nothing heavy and loaded no hypothesis profile.
                assert "hypothesis" not in sys.modules
                assert "numpy" not in sys.modules
            """
        ),
        encoding="utf-8",
    )
    result = _pytest(tmp_path, "-q", "test_plain.py")
    assert result.returncode == 0, result.stdout
    assert "unireduce" not in result.stdout
    help_text = _pytest(tmp_path, "--help").stdout
    for option in (
        "--unireduce-backend",
        "--unireduce-xfails",
        "--unireduce-max-examples",
        "--unireduce-semantics",
    ):
        assert option in help_text


def test_the_suite_without_a_backend_skips_with_the_reason(tmp_path: Path) -> None:
    result = _pytest(tmp_path, *SUITE, "-q", "-rs")
    assert result.returncode == 0, result.stdout[-3000:]
    assert "failed" not in result.stdout
    assert "got empty parameter set" in result.stdout


def test_report_header_lists_backend_versions_and_options(tmp_path: Path) -> None:
    import numpy as np

    import unireduce as ur

    result = _pytest(
        tmp_path,
        *SUITE,
        "--unireduce-backend",
        "numpy",
        "--unireduce-max-examples",
        "3",
        "--co",
        "-q",
    )
    assert result.returncode == 0, result.stdout[-3000:]
    header = _pytest(
        tmp_path, *SUITE, "--unireduce-backend", "numpy", "--unireduce-max-examples", "3", "--co"
    ).stdout
    assert f"unireduce {ur.__version__}" in header
    assert f"backend numpy: {np.__version__} (devices: cpu" in header
    assert "--unireduce-max-examples=3" in header
    ids = result.stdout.splitlines()
    assert any("test_random[numpy-cpu-eager-array_api-sum]" in i for i in ids)
    # Profile-dependent curated cases run under every profile, the others under array_api and
    # the backend's own profile only.
    assert any("test_curated[numpy-cpu-eager-torch-cumsum-int_edge]" in i for i in ids)
    assert any("test_curated[numpy-cpu-eager-numpy-cumsum-special_values]" in i for i in ids)
    assert not any("test_curated[numpy-cpu-eager-torch-cumsum-special_values]" in i for i in ids)


def test_the_plugin_is_registered_through_the_pytest11_entry_point() -> None:
    import importlib.metadata

    eps = importlib.metadata.entry_points(group="pytest11")
    assert any(ep.name == "unireduce" and ep.value == "unireduce.conformance_plugin" for ep in eps)


def test_an_unknown_backend_is_a_usage_error(tmp_path: Path) -> None:
    result = _pytest(tmp_path, *SUITE, "--unireduce-backend", "nosuchlib")
    assert result.returncode == pytest.ExitCode.USAGE_ERROR
    assert "--unireduce-backend nosuchlib: not a registered backend; registered: " in result.stderr


# ------------------------------------------------------------------------------------------
# exact mode: bit for bit, in process


def _numpy_target() -> Any:
    from unireduce.conformance_tests._targets import Target

    return Target("numpy", "numpy", "cpu", "eager")


def _one_ulp_up(monkeypatch: pytest.MonkeyPatch) -> None:
    real = ur.sum
    monkeypatch.setattr(ur, "sum", lambda *a, **k: np.nextafter(real(*a, **k), np.inf))


@pytest.mark.parametrize("precision", ["native", "exact"])
def test_exact_mode_is_checked_to_the_bit(monkeypatch: pytest.MonkeyPatch, precision: str) -> None:
    # A float32 sum one ulp off is within the native bound of 6 additions, not exact.
    from unireduce.conformance_tests._cases import Case
    from unireduce.conformance_tests._checks import check_case

    x = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7], dtype=np.float32)
    case = Case("sum", x, kwargs={"axis": 0, "precision": precision})
    assert check_case(case, _numpy_target()) is None
    _one_ulp_up(monkeypatch)
    message = check_case(case, _numpy_target())
    if precision == "native":
        assert message is None
    else:
        assert message is not None and "exactly (1 wrong)" in message
        assert "precision='exact'" in message  # in the call and in the reproduction


def test_exact_mode_checks_the_sign_of_zero(monkeypatch: pytest.MonkeyPatch) -> None:
    from unireduce.conformance_tests._cases import Case
    from unireduce.conformance_tests._checks import check_case

    real = ur.sum
    monkeypatch.setattr(ur, "sum", lambda *a, **k: np.abs(real(*a, **k)))  # -0.0 -> +0.0
    x = np.array([-0.0, -0.0], dtype=np.float64)
    assert check_case(Case("sum", x, kwargs={"precision": "native"}), _numpy_target()) is None
    message = check_case(Case("sum", x, kwargs={"precision": "exact"}), _numpy_target())
    assert message is not None and message.startswith("out[()]=0.0, but should be -0.0 exactly")


def test_exact_overflow_may_surface_as_the_compilers_error() -> None:
    from unireduce.conformance_tests._checks import _same_error
    from unireduce.conformance_tests._targets import Target

    expected = ur.IntegerOverflowError("sum: ... does not fit")
    jitted = Target("jax", "jax", "cpu:0", "jax.jit")
    carried = RuntimeError("INTERNAL: CpuCallback error: IntegerOverflowError: sum: ...")
    assert _same_error(carried, expected, jitted)
    assert not _same_error(RuntimeError("INTERNAL: something else"), expected, jitted)
    assert not _same_error(carried, expected, _numpy_target())  # eagerly: the class itself
    assert not _same_error(carried, ur.AxisError("sum: axis 3"), jitted)  # overflow only


def test_make_complex_without_a_host_view_is_a_clear_error() -> None:
    # The array-API default assembles complex results in NumPy through DLPack; arrays NumPy
    # cannot read get a unireduce error (also a TypeError) that says what to do.
    be = ur.get_backend("array_api_strict")
    with pytest.raises(ur.UnireduceTypeError, match="make_complex"):
        be.make_complex(object(), object())
    xp = be.xp
    z = be.make_complex(xp.asarray([float("inf"), -0.0]), xp.asarray([-0.0, float("nan")]))
    got = np.from_dlpack(z)
    assert got.dtype == np.complex128
    assert np.signbit(got.real).tolist() == [False, True] and np.isinf(got.real[0])
    assert np.signbit(got.imag[0]) and np.isnan(got.imag[1])
