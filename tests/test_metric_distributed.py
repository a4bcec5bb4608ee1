"""``ur.Sum`` across processes and devices, for real: torch.distributed (2 ``gloo`` processes on
localhost), JAX (4 host devices under ``pmap`` and ``shard_map``) and Dask (``LocalCluster`` with
thread and process workers). Each runs in a subprocess with a timeout, so a hang fails the test
instead of the suite. The synced result must equal, bit for bit, one process on all the data, and
that must equal the exact weighted total (``Fraction``\\ s, rounded by ``_exactmath``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from unireduce._exactmath import round_exact

ROOT = Path(__file__).resolve().parents[1]

# The shared data: rows of float32 values over a wide exponent range, so that the order of
# float32 additions changes the answer, and per-row weights.
DATA = """
import numpy as np

def data():
    rng = np.random.default_rng(2026)
    v = rng.standard_normal((8, 64)) * np.exp2(rng.integers(-40, 40, (8, 64)))
    v = v.astype(np.float32)
    v[0, :4] = [3e38, -3e38, 1e-45, 2e-45]  # products overflow float32; subnormals
    w = rng.standard_normal((8, 64)).astype(np.float32)
    w[0, :2] = [2.0, 2.0]
    return v, w
"""


def _data() -> tuple[np.ndarray, np.ndarray]:
    ns: dict[str, Any] = {}
    exec(DATA, ns)  # the same definition the subprocesses run
    v, w = ns["data"]()
    return v, w


def _want_bits() -> str:
    """The exact weighted total of the data, rounded to float32, as hex bits."""
    v, w = _data()
    total = sum(
        (
            Fraction(float(a)) * Fraction(float(b))
            for a, b in zip(v.ravel(), w.ravel(), strict=True)
        ),
        Fraction(0),
    )
    e = total.denominator.bit_length() - 1
    r = np.asarray(round_exact(total.numerator, -e, "float32"))
    return format(int(r.view(np.uint32)), "08x")


def _naive_bits() -> str:
    """What float32 accumulation row by row gives (to show the data is order-sensitive)."""
    v, w = _data()
    acc = np.float32(0)
    with np.errstate(over="ignore", invalid="ignore"):  # 3e38·2 overflows: inf - inf = NaN
        for i in range(v.shape[0]):
            acc = np.float32(acc + np.sum(v[i] * w[i], dtype=np.float32))
    return format(int(np.asarray(acc).view(np.uint32)), "08x")


def _run(script: str, timeout: float, extra_env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run ``DATA`` + ``script`` as a file in a fresh interpreter; its last JSON line."""
    import tempfile

    env = dict(os.environ)
    env.update(TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=str(ROOT), **(extra_env or {}))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "script.py"  # a file: spawned children re-import it by path
        path.write_text(textwrap.dedent(DATA) + textwrap.dedent(script))
        try:
            proc = subprocess.run(
                [sys.executable, str(path)],
                capture_output=True,
                text=True,
                timeout=timeout,
                env=env,
                cwd=str(ROOT),
            )
        except subprocess.TimeoutExpired as exc:
            pytest.fail(f"subprocess timed out after {timeout}s; stderr:\n{exc.stderr!r}")
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    assert proc.returncode == 0 and lines, f"rc={proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    out: dict[str, Any] = json.loads(lines[-1])
    return out


def test_single_process_reference() -> None:
    """The synced results below are compared with this: the exact, not the naive, total."""
    import unireduce as ur

    v, w = _data()
    m = ur.Sum()
    for i in range(8):
        m.update_state(v[i], w[i])
    got = format(int(np.asarray(m.result()).view(np.uint32)), "08x")
    assert got == _want_bits()
    assert _naive_bits() != _want_bits()  # float32 accumulation would not do


TORCH_SCRIPT = """
import datetime, json, os, socket, sys, tempfile
import numpy as np
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import unireduce as ur

def bits(r):
    return format(int(np.asarray(r, dtype=np.float32).view(np.uint32)), "08x")

def worker(rank, world, port, outdir):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group(
        "gloo", rank=rank, world_size=world, timeout=datetime.timedelta(seconds=60)
    )
    v, w = data()
    rows = range(rank, 8, world)
    t = ur.Sum(backend="torch")
    n = ur.Sum(backend="numpy")
    idle = ur.Sum(backend="torch")  # a rank without data still joins the all-reduce
    for i in rows:
        t.update_state(torch.from_numpy(v[i]), torch.from_numpy(w[i]))
        n.update_state(v[i], w[i])
        if rank == 0:
            idle.update_state(torch.from_numpy(v[i]), torch.from_numpy(w[i]))
    r_t = t.sync().result()
    r_n = n.sync().result()
    r_i = idle.sync().result()
    s = ur.Sum.sync(ur.Sum.update(ur.Sum.init(backend="torch"),
                                  torch.from_numpy(v[rank]), torch.from_numpy(w[rank])))
    res = dict(torch=bits(r_t.numpy()), numpy=bits(r_n), idle=bits(r_i.numpy()),
               functional=bits(ur.Sum.result(s).numpy()), type=type(r_t).__name__)
    with open(os.path.join(outdir, f"{rank}.json"), "w") as f:
        json.dump(res, f)
    dist.barrier()
    dist.destroy_process_group()

if __name__ == "__main__":
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    outdir = tempfile.mkdtemp()
    mp.spawn(worker, args=(2, port, outdir), nprocs=2, join=True)
    ranks = [json.load(open(os.path.join(outdir, f"{r}.json"))) for r in range(2)]
    # reference for the functional form: rows 0 and 1 only
    v, w = data()
    m = ur.Sum()
    m.update_state(v[:2], w[:2])
    idle_ref = ur.Sum()
    for i in range(0, 8, 2):
        idle_ref.update_state(v[i], w[i])
    print(json.dumps(dict(ranks=ranks, rows01=bits(m.result()), even=bits(idle_ref.result()))))
"""


def test_torch_distributed_gloo_two_processes() -> None:
    pytest.importorskip("torch")
    out = _run(TORCH_SCRIPT, timeout=180, extra_env={"GLOO_SOCKET_IFNAME": "lo"})
    want = _want_bits()
    for rank in out["ranks"]:
        assert rank["type"] == "Tensor"
        assert rank["torch"] == want and rank["numpy"] == want
        assert rank["idle"] == out["even"]
        assert rank["functional"] == out["rows01"]


JAX_SCRIPT = """
import json
import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, PartitionSpec as P
import unireduce as ur

def bits(r):
    return format(int(np.asarray(r).view(np.uint32)), "08x")

out = {"devices": len(jax.devices())}
for x64 in (False, True):
    jax.config.update("jax_enable_x64", x64)
    v, w = data()
    v4, w4 = jnp.asarray(v.reshape(4, 2, 64)), jnp.asarray(w.reshape(4, 2, 64))

    functional = jax.pmap(
        lambda v, w: ur.Sum.result(
            ur.Sum.sync(ur.Sum.update(ur.Sum.init(backend="jax"), v, w), axis_name="i")
        ),
        axis_name="i",
    )

    def obj(v, w):
        m = ur.Sum(backend="jax")
        m.update_state(v, w)
        return m.sync(axis_name="i").result()

    mesh = Mesh(np.array(jax.devices()), ("d",))

    def shard(v, w):
        s = ur.Sum.update(ur.Sum.init(backend="jax"), v, w)
        return ur.Sum.result(ur.Sum.sync(s, axis_name="d"))[None]

    sm = jax.jit(jax.shard_map(shard, mesh=mesh, in_specs=(P("d"), P("d")), out_specs=P("d")))
    single = ur.Sum()
    single.update_state(jnp.asarray(v), jnp.asarray(w))
    out[str(x64)] = dict(
        pmap=[bits(r) for r in functional(v4, w4)],
        pmap_object=[bits(r) for r in jax.pmap(obj, axis_name="i")(v4, w4)],
        shard_map=[bits(r) for r in sm(jnp.asarray(v), jnp.asarray(w))],
        single=bits(single.result()),
    )
print(json.dumps(out))
"""


def test_jax_devices_pmap_and_shard_map() -> None:
    pytest.importorskip("jax")
    out = _run(
        JAX_SCRIPT,
        timeout=240,
        extra_env={"XLA_FLAGS": "--xla_force_host_platform_device_count=4", "JAX_PLATFORMS": "cpu"},
    )
    assert out["devices"] == 4
    want = _want_bits()
    for x64 in ("False", "True"):
        res = out[x64]
        assert res["single"] == want
        assert res["pmap"] == [want] * 4
        assert res["pmap_object"] == [want] * 4
        assert res["shard_map"] == [want] * 4


DASK_SCRIPT = """
import json, sys
import dask.array as da
import numpy as np
from dask.distributed import Client, LocalCluster
import unireduce as ur

def bits(r):
    return format(int(np.asarray(r).view(np.uint32)), "08x")

def partial_state(v, w):
    return ur.Sum.update(ur.Sum.init(), v, w)

if __name__ == "__main__":
    processes = sys.argv[-1] == "processes"  # the test substitutes its mode
    v, w = data()
    out = {}
    host = "127.0.0.1" if processes else None  # thread workers talk in-process
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=processes,
                      host=host, dashboard_address=None) as cluster, Client(cluster) as c:
        out["workers"] = len(c.scheduler_info()["workers"])
        res = []
        for chunks in ((3, 64), (8, 7), (1, 1)):
            m = ur.Sum()
            m.update_state(da.from_array(v, chunks=chunks), da.from_array(w, chunks=chunks))
            res.append(bits(m.result()))
        out["dask_array"] = res
        futures = c.map(partial_state, list(v), list(w))
        m = ur.Sum()
        m.merge_state(c.gather(futures))
        out["client_map"] = bits(m.result())
        tree = futures
        while len(tree) > 1:
            tree = [c.submit(ur.Sum.merge, a, b) for a, b in zip(tree[::2], tree[1::2])]
        out["tree"] = bits(ur.Sum.result(tree[0].result()))
        bad = ur.Sum()
        try:
            bad.update_state(da.from_array(v, chunks=(3, 64)), da.from_array(w[:, :3]))
        except ur.UnireduceValueError:
            out["bad_raised"] = bad.state is None
    print(json.dumps(out))
"""


@pytest.mark.parametrize("mode", ["threads", "processes"])
def test_dask_local_cluster(mode: str) -> None:
    pytest.importorskip("dask.distributed")
    out = _run(DASK_SCRIPT.replace("sys.argv[-1]", repr(mode)), timeout=180)
    want = _want_bits()
    assert out["workers"] == 2
    assert out["dask_array"] == [want] * 3
    assert out["client_map"] == want and out["tree"] == want
    assert out["bad_raised"] is True
