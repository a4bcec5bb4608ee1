"""The host kernels inside compiled JAX programs on CPU: XLA FFI handlers compiled by Numba.

Under ``jax.jit`` a CPU program's data is in host memory, but Python never sees it: the exact sum
ran the portable path, 4-11x ``jnp.sum`` for float32 data (docs/exact.md), where the host kernels
take about 1x. XLA's typed FFI (``jax.ffi``, api_version 1) calls a C function with a call frame
describing the operand and result buffers; here that function is a Numba ``cfunc`` reading the
frame by its C layout (``xla/ffi/api/c_api.h`` of jaxlib, 64-bit: the word offsets below) and
running :mod:`._host_kernels` on the buffers, with no copy and no Python.

XLA's CPU threads flush subnormals (DAZ/FTZ; measured inside a handler with jaxlib 0.10.2), which
would send every element down the kernels' slow integer path: a handler clears the two flags for
the call and restores them (MXCSR on x86-64, FPCR on AArch64; elsewhere the kernels detect the
flush and stay exact, only slower). Worker threads that Numba starts during the call inherit the
cleared mode.

One target per operation and output format, registered on first use: ``unireduce_<op>_<out>``
with ``op`` one of ``sum_rows`` (operand (..., M, K) of float32, or float64 for float64
results; result (..., M)), ``sum_cols`` ((..., K, M) to (..., M)) and ``cumsum_rows`` ((..., M,
K) to the same shape). Leading dimensions are a batch (``vmap_method="broadcast_all"``).

>>> import numpy as np
>>> from unireduce._exact import _host
>>> if _host.available():
...     import jax, jax.numpy as jnp
...     from unireduce._registry import backend_of
...     be = backend_of(jnp.zeros(1))
...     f = jax.jit(lambda x: run(be, x, "sum:float32:1:0", (1,)))
...     print(f(jnp.array([[0.1, 0.2, -0.3]], jnp.float32)).tolist())
... else:
...     print([-7.450580596923828e-09])
[-7.450580596923828e-09]
"""

from __future__ import annotations

import ctypes
import math
import platform
import threading
from typing import TYPE_CHECKING, Any

from ._formats import FORMATS

if TYPE_CHECKING:
    from unireduce._backend import Backend

__all__ = ["LAST_FLUSHED", "run", "target", "usable"]

# Word (8-byte) offsets into the structs of xla/ffi/api/c_api.h (jaxlib 0.10.2, XLA_FFI_API
# 0.3; the API grows only at the ends of its structs, whose sizes each struct carries).
_F_SIZE, _F_EXT, _F_API, _F_STAGE = 0, 1, 2, 4  # XLA_FFI_CallFrame
_F_NARGS, _F_ARGTYPES, _F_ARGS = 7, 8, 9  # .args: XLA_FFI_Args at word 5
_F_NRETS, _F_RETS = 12, 14  # .rets: XLA_FFI_Rets at word 10
_FRAME_WORDS = 15  # the words read here
_B_DTYPE, _B_DATA, _B_RANK, _B_DIMS = 2, 3, 4, 5  # XLA_FFI_Buffer
_A_MAJOR_MINOR, _A_ERROR_CREATE = 4, 6  # XLA_FFI_Api: api_version.{major,minor}; Error_Create
_EXT_TYPE, _EXT_METADATA = 1, 3  # XLA_FFI_Metadata_Extension: base.type; metadata
_METADATA = 1  # XLA_FFI_Extension_Metadata
_EXECUTE = 3  # XLA_FFI_ExecutionStage_EXECUTE
_ARG_BUFFER = 1  # XLA_FFI_ArgType_BUFFER
_API_MAJOR, _API_MINOR = 0, 3
_INVALID_ARGUMENT = 3  # XLA_FFI_Error_Code
_XLA_DTYPE = {"float32": 11, "float64": 12}  # XLA_FFI_DataType
_RESULT_DTYPE = {"float16": 10, "bfloat16": 16, "float32": 11, "float64": 12}

_MACHINE = platform.machine().lower()
_X86 = _MACHINE in ("x86_64", "amd64")
_ARM = _MACHINE in ("aarch64", "arm64")

# Read at run time through a pointer, so the flush test cannot be constant-folded.
_TINY = ctypes.c_double(5e-324)
#: Whether the last handler call's kernels saw subnormals flushed (1), or not (0); -1 before any
#: call. A diagnostic: with DAZ/FTZ cleared it stays 0 on x86-64 and AArch64.
LAST_FLUSHED = ctypes.c_int64(-1)
_MESSAGE = ctypes.create_string_buffer(
    b"unireduce: an XLA FFI call whose operand, result or call frame its handler does not expect"
    b" (a jaxlib with another FFI ABI?)"
)

_lock = threading.Lock()
_registered: dict[str, Any] = {}  # target name -> its ctypes function (kept alive)


def target(op: str, out: str) -> str:
    """The FFI target of ``op`` with results of format ``out``, registered with JAX on first use.

    >>> target("sum_rows", "float64")
    'unireduce_sum_rows_float64'
    """
    name = f"unireduce_{op}_{out}"
    with _lock:
        if name not in _registered:
            import jax

            # Start Numba's thread pool from this (Python) thread, so its workers do not
            # inherit the flush-to-zero mode of an XLA thread (the kernels would be exact, but
            # slower: each thread checks its own mode).
            _launch_threads()
            fn = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p)(_handler(op, out).address)
            jax.ffi.register_ffi_target(name, jax.ffi.pycapsule(fn), platform="cpu")
            _registered[name] = fn
    return name


def run(be: Backend, v: Any, spec: str, shape: tuple[int, ...]) -> Any:
    """The traced JAX array ``v``'s result of the :func:`unireduce._exact.run_host` spec
    ``spec`` (of shape ``shape``), as FFI calls in a program for the CPU: float16/bfloat16
    widened to float32 (exact), complex per component, the reduced axes made trailing (rows of
    the row-major layout) or, when they lead, read as columns with no transposed copy."""
    from . import component_spec, parse_spec

    op, out, red, kept, _ = parse_spec(spec, len(v.shape))
    part = component_spec(spec)
    if part is not None:
        return be.make_complex(run(be, be.real(v), part, shape), run(be, be.imag(v), part, shape))
    src = "float64" if out == "float64" else "float32"
    if be.dtype_name(v.dtype) != src:
        v = be.astype(v, be.native_dtype(src))  # exact: half values are float32 values
    nd = len(v.shape)
    if op == "cumsum":
        perm = (*kept, red[0])
        if perm == tuple(range(nd)):
            return _call(be, "cumsum_rows", out, v, shape)
        y = _call(be, "cumsum_rows", out, be.permute_dims(v, perm), tuple(shape[a] for a in perm))
        return be.permute_dims(y, tuple(perm.index(a) for a in range(nd)))
    m = math.prod(int(v.shape[a]) for a in kept)
    k = math.prod(int(v.shape[a]) for a in red)
    if red == tuple(range(len(red))) and kept:  # leading axes: columns
        y = _call(be, "sum_cols", out, be.reshape(v, (k, m)), (m,))
    else:
        perm = (*kept, *red)
        rows = v if perm == tuple(range(nd)) else be.permute_dims(v, perm)
        y = _call(be, "sum_rows", out, be.reshape(rows, (m, k)), (m,))
    return be.reshape(y, shape)


def _call(be: Backend, op: str, out: str, x: Any, shape: tuple[int, ...]) -> Any:
    import jax

    res = jax.ShapeDtypeStruct(shape, be.native_dtype(out))
    return jax.ffi.ffi_call(target(op, out), res, vmap_method="broadcast_all")(x)


def usable() -> bool:
    """Whether XLA's threads may run the kernels: not with Numba's ``workqueue`` threading layer,
    which aborts the process when two threads launch parallel kernels at once (Numba's docs:
    it is not thread-safe), as XLA does when it runs several devices' programs (``pmap`` over
    CPU devices). OpenMP and TBB are safe.

    >>> usable() in (True, False)
    True
    """
    import numba

    _launch_threads()
    return str(numba.threading_layer()) != "workqueue"


def _launch_threads() -> None:
    from numba.np.ufunc import parallel

    parallel._launch_threads()


def _handler(op: str, out: str) -> Any:
    """A Numba ``cfunc``: ``XLA_FFI_Error* handler(XLA_FFI_CallFrame*)`` for ``op``."""
    import numba as nb
    import numpy as np
    from numba import types

    from . import _host_kernels as hk

    fmt = FORMATS[out]
    p, emask, nbits = fmt.p, fmt.emask, fmt.nbits
    wide = out == "float64"
    xdt = nb.float64 if wide else nb.float32
    xit = nb.int64 if wide else nb.int32
    fb = (0x7FFFFFFFFFFFFFFF, 52, 1022, 2047) if wide else (0x7FFFFFFF, 23, 126, 255)
    in_code = _XLA_DTYPE["float64" if wide else "float32"]
    res_code = _RESULT_DTYPE[out]
    res_int = {64: nb.int64, 32: nb.uint32, 16: nb.uint16}[nbits]
    cum = op == "cumsum_rows"
    cols = op == "sum_cols"
    need_rank = 2 if cols else 1
    tiny = ctypes.addressof(_TINY)
    flushed = ctypes.addressof(LAST_FLUSHED)
    message = ctypes.addressof(_MESSAGE)
    ptr, get_mode, set_mode, call_ptr = _intrinsics()
    mode_bits = 0x8040 if _X86 else (1 << 24 if _ARM else 0)  # DAZ|FTZ; FZ

    @nb.njit
    def error(create: int) -> int:  # pragma: no cover - runs inside XLA
        a = np.empty(4, np.int64)  # XLA_FFI_Error_Create_Args
        a[0] = 32
        a[1] = 0
        a[2] = message
        a[3] = _INVALID_ARGUMENT
        return call_ptr(create, a.ctypes.data)

    # Not cached (Numba's cache=True): the handler bakes in this process's addresses of _TINY,
    # LAST_FLUSHED and _MESSAGE. Compiling the three float32 handlers took 3.2 s (the kernels
    # from Numba's cache).
    @nb.cfunc(types.int64(types.CPointer(types.int64)))
    def handler(frame: Any) -> int:  # pragma: no cover - runs inside XLA (tested through JAX)
        ext = frame[_F_EXT]
        if ext != 0 and (ptr(ext, nb.int32)[2 * _EXT_TYPE] == _METADATA):
            md = ptr(ptr(ext, nb.int64)[_EXT_METADATA], nb.int64)
            md[1] = 24  # api_version.struct_size
            md[2] = 0  # api_version.extension_start
            ver = ptr(ptr(ext, nb.int64)[_EXT_METADATA] + 24, nb.int32)
            ver[0] = _API_MAJOR
            ver[1] = _API_MINOR
            ptr(ptr(ext, nb.int64)[_EXT_METADATA] + 32, nb.uint32)[0] = 0  # traits
            return 0
        if frame[_F_STAGE] & 0xFFFFFFFF != _EXECUTE:
            return 0
        api = ptr(frame[_F_API], nb.int64)
        ok = frame[_F_SIZE] >= 8 * _FRAME_WORDS and (api[_A_MAJOR_MINOR] & 0xFFFFFFFF) == 0
        ok = ok and frame[_F_NARGS] == 1 and frame[_F_NRETS] == 1
        if not (ok and ptr(frame[_F_ARGTYPES], nb.int32)[0] == _ARG_BUFFER):
            return error(api[_A_ERROR_CREATE])
        b = ptr(ptr(frame[_F_ARGS], nb.int64)[0], nb.int64)
        r = ptr(ptr(frame[_F_RETS], nb.int64)[0], nb.int64)
        ok = (b[_B_DTYPE] & 0xFFFFFFFF) == in_code and (r[_B_DTYPE] & 0xFFFFFFFF) == res_code
        if not (ok and b[_B_RANK] >= need_rank):
            return error(api[_A_ERROR_CREATE])
        rank = b[_B_RANK]
        dims = ptr(b[_B_DIMS], nb.int64)
        lead = 1
        for i in range(rank - 2):
            lead *= dims[i]
        k = dims[rank - 1] if not cols else dims[rank - 2]
        m = dims[rank - 2] if not cols else dims[rank - 1]
        if rank == 1:
            k, m = dims[0], 1
        saved = get_mode()
        if mode_bits:
            set_mode(saved & ~mode_bits)
        slow = hk.flushes(ptr(tiny, nb.float64)[0])
        ptr(flushed, nb.int64)[0] = 1 if slow else 0
        nt = nb.get_num_threads()
        if cum:
            x = nb.carray(ptr(b[_B_DATA], xdt), (lead * m, k))
            y = nb.carray(ptr(r[_B_DATA], res_int), (lead * m, k))
            hk.cumsum_rows_k(x, y, p, emask, nbits, slow)
        elif cols:
            bits = np.empty(m, np.int64)
            for j in range(lead):
                x = nb.carray(ptr(b[_B_DATA] + j * k * m * (8 if wide else 4), xdt), (k, m))
                hk.sum_cols_k(x, bits, p, emask, nbits, slow, nt)
                y = nb.carray(ptr(r[_B_DATA] + j * m * (nbits // 8), res_int), m)
                for i in range(m):
                    y[i] = bits[i]
        else:
            x = nb.carray(ptr(b[_B_DATA], xdt), (lead * m, k))
            xi = nb.carray(ptr(b[_B_DATA], xit), (lead * m, k))
            if nbits == 64:
                hk.sum_rows_k(
                    x,
                    xi,
                    nb.carray(ptr(r[_B_DATA], nb.int64), lead * m),
                    p,
                    emask,
                    nbits,
                    slow,
                    nt,
                    fb,
                )
            else:
                bits = np.empty(lead * m, np.int64)
                hk.sum_rows_k(x, xi, bits, p, emask, nbits, slow, nt, fb)
                y = nb.carray(ptr(r[_B_DATA], res_int), lead * m)
                for i in range(lead * m):
                    y[i] = bits[i]
        if mode_bits:
            set_mode(saved)
        return 0

    return handler


_intrinsic_cache: list[Any] = []


def _intrinsics() -> Any:
    """Numba intrinsics: ``ptr(address, type)`` (a typed pointer), ``get_mode()``/``set_mode(v)``
    (the thread's floating-point control register: MXCSR, FPCR, else 0) and ``call_ptr(f, a)``
    (calls the C function at address ``f`` with one pointer argument, returns its pointer)."""
    if _intrinsic_cache:
        return _intrinsic_cache[0]
    from llvmlite import ir
    from numba import types
    from numba.core import cgutils
    from numba.core.extending import intrinsic

    i8p = ir.IntType(8).as_pointer()
    i32, i64 = ir.IntType(32), ir.IntType(64)

    @intrinsic
    def ptr(typingctx: Any, addr: Any, ty: Any) -> Any:
        sig = types.CPointer(ty.dtype)(addr, ty)

        def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
            return builder.inttoptr(args[0], context.get_value_type(signature.return_type))

        return sig, codegen

    @intrinsic
    def get_mode(typingctx: Any) -> Any:
        def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
            mod = builder.module
            if _X86:
                slot = cgutils.alloca_once(builder, i32)
                fn = cgutils.get_or_insert_function(
                    mod, ir.FunctionType(ir.VoidType(), [i8p]), "llvm.x86.sse.stmxcsr"
                )
                builder.call(fn, [builder.bitcast(slot, i8p)])
                return builder.zext(builder.load(slot), i64)
            if _ARM:
                fn = cgutils.get_or_insert_function(
                    mod, ir.FunctionType(i64, []), "llvm.aarch64.get.fpcr"
                )
                return builder.call(fn, [])
            return ir.Constant(i64, 0)

        return types.int64(), codegen

    @intrinsic
    def set_mode(typingctx: Any, v: Any) -> Any:
        def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
            mod = builder.module
            if _X86:
                slot = cgutils.alloca_once(builder, i32)
                builder.store(builder.trunc(args[0], i32), slot)
                fn = cgutils.get_or_insert_function(
                    mod, ir.FunctionType(ir.VoidType(), [i8p]), "llvm.x86.sse.ldmxcsr"
                )
                builder.call(fn, [builder.bitcast(slot, i8p)])
            elif _ARM:
                fn = cgutils.get_or_insert_function(
                    mod, ir.FunctionType(ir.VoidType(), [i64]), "llvm.aarch64.set.fpcr"
                )
                builder.call(fn, [args[0]])
            return context.get_dummy_value()

        return types.none(types.int64), codegen

    @intrinsic
    def call_ptr(typingctx: Any, f: Any, a: Any) -> Any:
        def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
            fnty = ir.FunctionType(i64, [i64])
            fn = builder.inttoptr(args[0], fnty.as_pointer())
            return builder.call(fn, [args[1]])

        return types.int64(types.int64, types.intp), codegen

    _intrinsic_cache.append((ptr, get_mode, set_mode, call_ptr))
    return _intrinsic_cache[0]
