"""Fixtures: ``fw`` is parametrized over every framework id, so a failure names the backend."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from collections.abc import Iterator

import pytest

from tests._frameworks import FRAMEWORKS, Framework, installed

FRAMEWORK_IDS = tuple(FRAMEWORKS)


def framework(fid: str) -> Framework:
    fw = FRAMEWORKS[fid]()
    if not installed(fw.module):
        pytest.skip(f"{fw.module} is not installed (install unireduce[all] to test {fid})")
    return fw


@pytest.fixture(params=FRAMEWORK_IDS)
def fw(request: pytest.FixtureRequest) -> Iterator[Framework]:
    f = framework(request.param)
    with f.active():
        yield f


@pytest.fixture
def fwk(request: pytest.FixtureRequest) -> Iterator[Framework]:
    """The framework named by indirect parametrization (``indirect=["fwk"]``)."""
    f = framework(request.param)
    with f.active():
        yield f


def pytest_report_header(config: pytest.Config) -> list[str]:
    lines = []
    for fid in FRAMEWORK_IDS:
        f = FRAMEWORKS[fid]()
        lines.append(f"{fid}: {'installed' if installed(f.module) else 'NOT installed (skipped)'}")
    lines.append("devices: CPU only on this machine; CUDA/TPU tests skip when the device is absent")
    return ["unireduce frameworks: " + "; ".join(lines)]
