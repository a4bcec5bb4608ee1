"""Write docs/semantics.md from the rule data in unireduce/_rules.py.

The page is generated, never edited by hand: every cell comes from the profiles (through
``ur.result_dtype``, which resolves exactly as the reductions do), so it cannot drift from the code.

    python docs/gen_semantics.py            # rewrite docs/semantics.md
    python docs/gen_semantics.py --check    # exit 1 if docs/semantics.md is stale

>>> "pytorch#29137" in render()
True
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import unireduce as ur
from unireduce._dtypes import ALL_DTYPES
from unireduce._rules import FUNCTIONS, PROFILES, SIXTY_FOUR_BIT, Profile

PAGE = Path(__file__).resolve().parent / "semantics.md"

_DEFAULT_AXIS = {
    "required_if_ndim_gt_1": "axis 0 for 1-D input; required otherwise",
    "flatten": "flattens the input first (result is 1-D)",
    "zero": "axis 0",
    "required": "required (always)",
}
_ZERO_D = {
    "error": "refused",
    "as_1d": "shape (1,)",
    "scalar": "shape ()",
}
_FUNCTION_INTRO = {
    "sum": "`ur.sum(x, axis=None, dtype=None, keepdims=False, semantics=...)`",
    "reduce_sum": "`ur.reduce_sum(x, axis=None, keepdims=False, name=None, semantics=...)` "
    '(default `semantics="tensorflow"`; no `dtype=`)',
    "cumulative_sum": "`ur.cumulative_sum(x, axis=None, dtype=None, include_initial=False, "
    "semantics=...)`",
    "cumsum": "`ur.cumsum(x, axis=None, dtype=None, exclusive=False, reverse=False, "
    "include_initial=False, semantics=...)`",
}


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    return [_row(header), _row(["---"] * len(header)), *(_row(r) for r in rows)]


def _dtype_cell(fn: str, prof: Profile, dtype: str) -> str:
    try:
        out = ur.result_dtype(fn, dtype, semantics=prof.name)
    except ur.DTypeError:
        if prof.refuse_64bit and dtype in SIXTY_FOUR_BIT:
            return "refused ²"
        return "refused"
    cell = out
    token = prof.dtype_table(fn)[dtype]
    if prof.default_int is None and token in ("default_int", "default_uint"):
        cell += " ¹"
    acc = prof.accumulator(fn).get(out)
    if acc is not None:
        cell += f" (adds in {acc})"
    return cell


def _dtype_section(fn: str) -> list[str]:
    names = list(PROFILES)
    lines = [f"## `{fn}`: output dtype by input dtype", "", _FUNCTION_INTRO[fn] + ".", ""]
    natives = [f"`{PROFILES[p].natives.get(fn, '')}`" for p in names]
    lines += _table(
        ["input", *[f"`{p}`" for p in names]],
        [["reproduces", *natives]]
        + [[f"`{d}`", *[_dtype_cell(fn, PROFILES[p], d) for p in names]] for d in ALL_DTYPES],
    )
    lines += [
        "",
        "¹ the backend's default integer: int64, int32 on JAX with x64 off (and the unsigned "
        "integer of that width). "
        "² JAX with x64 off would silently narrow 64-bit data to 32 bits (jax#18385); the profile "
        "refuses it, use `jax_x64`. "
        '"adds in": the accumulator the framework uses (unireduce casts the input to the output '
        "dtype, adds in the accumulator where the backend has it, and rounds once at the end).",
        "",
    ]
    return lines


def _yes(flag: bool) -> str:
    return "accepted" if flag else "refused"


def _axis_section() -> list[str]:
    names = list(PROFILES)
    profs = [PROFILES[p] for p in names]

    def zero_d_axis(p: Profile) -> str:
        forms = []
        if "int" in p.zero_d_axis:
            forms.append("`0`, `-1`")
        if "tuple" in p.zero_d_axis:
            forms.append("`(0,)`, `(-1,)`")
        return ", ".join(forms) + " and `None`, `()`" if forms else "only `None`, `()`"

    rows = [
        [
            "empty axis `()` or `[]`",
            *[
                "reduces every axis (pytorch#29137)" if p.empty_axis == "all" else "reduces nothing"
                for p in profs
            ],
        ],
        ["list of ints as axis", *[_yes(p.list_axis) for p in profs]],
        ["0-d integer array as axis", *["accepted" for _ in profs]],
        ["1-D integer array as axis", *[_yes(p.array_axis) for p in profs]],
        ["axis on a 0-d input (sum)", *[zero_d_axis(p) for p in profs]],
        ["`keepdims=True` with `axis=None`", *["every axis kept, length 1" for _ in profs]],
        ["`dtype=`", *[_yes(p.dtype_arg) for p in profs]],
        [
            "64-bit input or `dtype=`",
            *["refused (jax#18385)" if p.refuse_64bit else "accepted" for p in profs],
        ],
    ]
    return [
        "## Axes and arguments (`sum`, `reduce_sum`)",
        "",
        *_table(["", *[f"`{p}`" for p in names]], rows),
        "",
    ]


def _zero_d_cell(fn: str, p: Profile) -> str:
    along = _ZERO_D[p.zero_d(fn)]
    if p.default_axis(fn) == "flatten" and p.zero_d(fn) != "as_1d":
        return f"shape (1,) without axis (flattened); axis 0 or -1: {along}"
    return along


def _cumulative_section() -> list[str]:
    names = list(PROFILES)
    profs = [PROFILES[p] for p in names]
    rows = []
    for fn in ("cumsum", "cumulative_sum"):
        rows.append([f"`{fn}` without axis", *[_DEFAULT_AXIS[p.default_axis(fn)] for p in profs]])
        rows.append([f"`{fn}` of a 0-d input", *[_zero_d_cell(fn, p) for p in profs]])
        rows.append([f"`{fn}` axis as a 1-tuple", *[_yes(fn in p.one_tuple_axis) for p in profs]])
    return [
        "## Cumulative sums",
        "",
        *_table(["", *[f"`{p}`" for p in names]], rows),
        "",
        "`exclusive`, `reverse` (as `tf.math.cumsum` defines them) and `include_initial` (as the "
        "array API defines it) are unireduce keywords and work under every profile; "
        "`exclusive=True` with `include_initial=True` is refused.",
        "",
    ]


def _quirks_section() -> list[str]:
    lines = ["## What each profile reproduces", ""]
    for name, p in PROFILES.items():
        lines += [f"### `{name}`: {p.framework}", ""]
        lines += [f"- {q}" for q in p.quirks]
        if p.divergences:
            lines += ["", "Not reproduced, on purpose:", ""]
            lines += [f"- {d}" for d in p.divergences]
        lines.append("")
    return lines


def render() -> str:
    """The full text of docs/semantics.md."""
    lines = [
        "# Semantics profiles",
        "",
        "<!-- Generated by docs/gen_semantics.py from unireduce/_rules.py: do not edit by hand. "
        "Rewrite with `python docs/gen_semantics.py`. -->",
        "",
        "`semantics=` on `ur.sum`, `ur.reduce_sum`, `ur.cumulative_sum` and `ur.cumsum` picks "
        "whose rules unireduce applies, on whatever backend holds the data. "
        f"Profiles: {', '.join(f'`{p}`' for p in PROFILES)} (`ur.profiles()`); "
        "`ur.result_dtype(function, input_dtype, semantics=...)` answers the dtype tables below "
        "without computing anything.",
        "",
        "Integer results are exact, wrap-around included. Float results are within the native "
        "error bound of the exact sum for the accumulator shown, not bit-identical with the "
        "framework (summation order differs). A profile that needs a dtype the holding backend "
        "cannot represent (int64 on JAX with x64 off) raises `DTypeError` instead of narrowing. "
        "Every value was measured by running the framework; `tests/test_profiles_oracle.py` runs "
        "each framework as the oracle for its profile on every backend.",
        "",
    ]
    everything = [n for n, p in PROFILES.items() if p.empty_axis == "all"]
    if everything:
        lines += [
            f"> **Empty axis under {', '.join(f'`{n}`' for n in everything)}:** `axis=()` and "
            "`axis=[]` reduce *every* axis, as `torch.sum(x, dim=())` does (pytorch#29137, open "
            "since 2019); every other profile, and NumPy, TensorFlow and JAX, reduce nothing. "
            "A profile reproduces it on purpose, on every backend.",
            "",
        ]
    for fn in FUNCTIONS:
        lines += _dtype_section(fn)
    lines += _axis_section()
    lines += _cumulative_section()
    lines += _quirks_section()
    return "\n".join(lines).rstrip("\n") + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the page is stale")
    parser.add_argument("--output", type=Path, default=PAGE, help="the page to write or check")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        if current != text:
            print(
                f"{args.output} is stale: run `python docs/gen_semantics.py` and commit it",
                file=sys.stderr,
            )
            return 1
        return 0
    args.output.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
