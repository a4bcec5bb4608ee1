"""The libcst transformer behind ``unireduce migrate``.

It finds ``tf.math.reduce_sum``, ``tf.math.cumsum`` and the Keras ``Sum`` metric under any import
style (through libcst's qualified-name resolution, so aliases, ``from`` imports and shadowing are
handled) and rewrites each call with the smallest edit that keeps TensorFlow's results:

- ``--to torch``: calls go to plain-PyTorch helpers written into the module (see ``_helpers``);
  the metric becomes ``ur.Sum``.
- ``--to unireduce``: ``ur.reduce_sum(..., semantics="tensorflow")``, ``ur.cumsum(x, axis, ...,
  semantics="tensorflow")`` and ``ur.Sum``.

Everything else (formatting, comments, other code) is left as it is. Each hazard met becomes a
:class:`~unireduce.migrate.ReportEntry`; see docs/migration.md for the full list.

>>> from unireduce.migrate._codemod import migrate_module_source
>>> code, entries = migrate_module_source(
...     "import tensorflow as tf\\nn = tf.reduce_sum(mask, 1)\\n", to="unireduce"
... )
>>> print(code, end="")
import unireduce as ur
<BLANKLINE>
n = ur.reduce_sum(mask, 1, semantics="tensorflow")
>>> sorted({e.kind for e in entries})
['input-dtype']
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final, cast

import libcst as cst
from libcst.codemod import CodemodContext, VisitorBasedCodemodCommand
from libcst.codemod.visitors import AddImportsVisitor, RemoveImportsVisitor
from libcst.metadata import (
    ParentNodeProvider,
    PositionProvider,
    QualifiedName,
    QualifiedNameProvider,
    QualifiedNameSource,
)

from unireduce._dtypes import ALL_DTYPES
from unireduce._errors import UnireduceValueError

from ._helpers import HELPERS, helper_closure
from ._layout import append_arg, insert_arg, keyword_arg, positional, remove_arg, to_keyword
from ._report import MARKER, TARGETS, ReportEntry

__all__ = ["TARGETS", "migrate_module_source"]

_PREFIXES: Final = ("tensorflow.", "tensorflow.compat.v1.", "tensorflow.compat.v2.")
_FUNCTIONS: Final[dict[str, tuple[str, bool]]] = {
    **{
        f"{p}{m}{f}": (f, p == "tensorflow.compat.v1.")
        for p in _PREFIXES
        for m in ("", "math.")
        for f in ("reduce_sum", "cumsum")
    },
    "tensorflow.python.ops.math_ops.reduce_sum": ("reduce_sum", False),
    "tensorflow.python.ops.math_ops.cumsum": ("cumsum", False),
}
_SUM_METRICS: Final = frozenset(
    {
        "tensorflow.keras.metrics.Sum",
        "tensorflow.metrics.Sum",
        "tensorflow.compat.v1.keras.metrics.Sum",
        "tensorflow.compat.v2.keras.metrics.Sum",
        "tensorflow.compat.v2.metrics.Sum",
        "keras.metrics.Sum",
        "keras.src.metrics.Sum",
        "keras.src.metrics.reduction_metrics.Sum",
        "tf_keras.metrics.Sum",
    }
)
_FRAMEWORK_ROOTS: Final = ("tensorflow", "keras", "tf_keras")

_PARAMS: Final[dict[tuple[str, bool], tuple[str, ...]]] = {
    ("reduce_sum", False): ("input_tensor", "axis", "keepdims", "name"),
    ("reduce_sum", True): (
        "input_tensor",
        "axis",
        "keepdims",
        "name",
        "reduction_indices",
        "keep_dims",
    ),
    ("cumsum", False): ("x", "axis", "exclusive", "reverse", "name"),
    ("cumsum", True): ("x", "axis", "exclusive", "reverse", "name"),
    ("Sum", False): ("name", "dtype"),
}
_V1_RENAMES: Final = {"reduction_indices": "axis", "keep_dims": "keepdims"}

_TF_DTYPES: Final = {
    **{n: n for n in ALL_DTYPES},
    "half": "float16",
    "double": "float64",
}

# A file "uses half precision" when it names it anywhere, comments included.
_F16_RE: Final = re.compile(r"(?<![A-Za-z0-9])(?:float16|fp16)(?![A-Za-z0-9])|\.half\b")
_BF16_RE: Final = re.compile(r"(?<![A-Za-z0-9])(?:bfloat16|bf16)(?![A-Za-z0-9])")

_TF_NAME = {"reduce_sum": "tf.math.reduce_sum", "cumsum": "tf.math.cumsum", "Sum": "Sum"}
_UR_SEMANTICS = 'semantics="tensorflow"'


def _code(node: cst.CSTNode) -> str:
    return cst.Module([]).code_for_node(node)


def _int_literal(node: cst.BaseExpression) -> bool:
    if isinstance(node, cst.Integer):
        return True
    return (
        isinstance(node, cst.UnaryOperation)
        and isinstance(node.operator, cst.Minus)
        and isinstance(node.expression, cst.Integer)
    )


def _axis_form(node: cst.BaseExpression | None) -> str:
    """``"none"`` (all axes), ``"static"``, ``"empty"`` or ``"runtime"``."""
    if node is None or (isinstance(node, cst.Name) and node.value == "None"):
        return "none"
    if _int_literal(node):
        return "static"
    if isinstance(node, (cst.List, cst.Tuple)):
        if not node.elements:
            return "empty"
        if all(isinstance(e, cst.Element) and _int_literal(e.value) for e in node.elements):
            return "static"
    return "runtime"


def _is_false(node: cst.BaseExpression | None) -> bool:
    return node is None or (isinstance(node, cst.Name) and node.value == "False")


def _is_none(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Name) and node.value == "None"


def _is_true(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Name) and node.value == "True"


def _root_name(node: cst.BaseExpression) -> str | None:
    while isinstance(node, cst.Attribute):
        node = node.value
    return node.value if isinstance(node, cst.Name) else None


class _Migrator(VisitorBasedCodemodCommand):
    """Rewrites the calls; collects report entries and the helpers and imports they need."""

    METADATA_DEPENDENCIES = (QualifiedNameProvider, PositionProvider, ParentNodeProvider)

    def __init__(self, context: CodemodContext, *, to: str, filename: str, source: str) -> None:
        super().__init__(context)
        self.to = to
        self.filename = filename
        self.f16 = bool(_F16_RE.search(source))
        self.bf16 = bool(_BF16_RE.search(source))
        self.entries: list[tuple[int, int, ReportEntry]] = []
        self.out_of_scope: dict[tuple[int, str], ReportEntry] = {}
        self._oos_nodes: dict[int, tuple[int, str]] = {}
        self.helpers: set[str] = set()
        self.need_ur = False
        self.roots: set[str] = set()
        self.imports: dict[str, list[tuple[str, str | None, str | None]]] = {}
        self.import_depth = 0
        self.statements: list[list[str]] = []
        self.order = 0

    # -- bookkeeping ---------------------------------------------------------------------------

    def _line(self, node: cst.CSTNode) -> int:
        return self.get_metadata(PositionProvider, node).start.line

    def _report(self, node: cst.CSTNode, kind: str, message: str, action: str) -> None:
        self.order += 1
        entry = ReportEntry(self.filename, self._line(node), kind, message, action)
        self.entries.append((entry.line, self.order, entry))

    def _comment(self, text: str) -> None:
        if self.statements:
            self.statements[-1].append(f"{MARKER} {text}")

    def _qualified(self, node: cst.CSTNode) -> set[QualifiedName]:
        return set(self.get_metadata(QualifiedNameProvider, node, set()))

    def _classify(self, node: cst.CSTNode) -> tuple[str, bool] | None:
        """``(kind, is_tf1)`` for a reference to one of the migrated APIs, else None."""
        found: set[tuple[str, bool]] = set()
        for q in self._qualified(node):
            if q.source != QualifiedNameSource.IMPORT:
                continue
            if q.name in _FUNCTIONS:
                found.add(_FUNCTIONS[q.name])
            elif q.name in _SUM_METRICS:
                found.add(("Sum", False))
        kinds = {k for k, _ in found}
        if len(kinds) != 1:
            return None
        (kind,) = kinds
        return kind, any(v1 for _, v1 in found)

    def _use_root(self, func: cst.BaseExpression) -> None:
        root = _root_name(func)
        if root is not None:
            self.roots.add(root)

    def _parent(self, node: cst.CSTNode) -> cst.CSTNode | None:
        return self.get_metadata(ParentNodeProvider, node, None)

    # -- statements (where marked comments go) -------------------------------------------------

    def _push(self) -> None:
        self.statements.append([])

    def _pop(self, updated: cst.CSTNodeT) -> cst.CSTNodeT:
        comments = self.statements.pop()
        leading = getattr(updated, "leading_lines", None)
        if not comments or leading is None:
            return updated
        have = {line.comment.value for line in leading if line.comment is not None}
        new = [
            cst.EmptyLine(comment=cst.Comment(c)) for c in dict.fromkeys(comments) if c not in have
        ]
        return updated.with_changes(leading_lines=[*leading, *new])

    def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> None:
        self._push()

    def leave_SimpleStatementLine(
        self, original_node: cst.SimpleStatementLine, updated_node: cst.SimpleStatementLine
    ) -> cst.SimpleStatementLine:
        return self._pop(updated_node)

    def on_visit(self, node: cst.CSTNode) -> bool:
        if isinstance(node, cst.BaseCompoundStatement):
            self._push()
        return super().on_visit(node)

    def on_leave(
        self, original_node: cst.CSTNodeT, updated_node: cst.CSTNodeT
    ) -> cst.CSTNodeT | cst.RemovalSentinel:
        result = super().on_leave(original_node, updated_node)
        if isinstance(original_node, cst.BaseCompoundStatement) and isinstance(
            result, cst.BaseCompoundStatement
        ):
            return cast("cst.CSTNodeT", self._pop(result))
        if isinstance(original_node, cst.BaseCompoundStatement):
            self.statements.pop()
        return result

    # -- imports -------------------------------------------------------------------------------

    def visit_Import(self, node: cst.Import) -> bool:
        for alias in node.names:
            module = _code(alias.name)
            asname = alias.evaluated_alias
            bound = asname if asname is not None else module.split(".")[0]
            self.imports.setdefault(bound, []).append((module, None, asname))
        self.import_depth += 1
        return False

    def leave_Import(self, original_node: cst.Import, updated_node: cst.Import) -> cst.Import:
        self.import_depth -= 1
        return updated_node

    def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
        self.import_depth += 1
        if node.module is None or node.relative:
            return False
        module = _code(node.module)
        if isinstance(node.names, cst.ImportStar):
            if module.split(".")[0] in _FRAMEWORK_ROOTS:
                self._report(
                    node,
                    "not-migrated",
                    f"'from {module} import *': the names it binds cannot be resolved, so calls "
                    "to reduce_sum, cumsum or Sum through it are not recognised",
                    "left unchanged; import the names explicitly and run again",
                )
            return False
        for alias in node.names:
            obj = _code(alias.name)
            asname = alias.evaluated_alias
            self.imports.setdefault(asname or obj, []).append((module, obj, asname))
        return False

    def leave_ImportFrom(
        self, original_node: cst.ImportFrom, updated_node: cst.ImportFrom
    ) -> cst.ImportFrom:
        self.import_depth -= 1
        return updated_node

    # -- other TensorFlow API (reported, not changed) ------------------------------------------

    def _check_out_of_scope(self, node: cst.Name | cst.Attribute) -> None:
        if self.import_depth:
            return
        parent = self._parent(node)
        if isinstance(parent, cst.Attribute) and (parent.value is node or parent.attr is node):
            return
        if isinstance(parent, (cst.Arg, cst.Param)) and getattr(parent, "keyword", None) is node:
            return
        if self._classify(node) is not None:
            return
        for q in self._qualified(node):
            if q.source == QualifiedNameSource.IMPORT and q.name.split(".")[0] in _FRAMEWORK_ROOTS:
                key = (self._line(node), q.name)
                if key not in self.out_of_scope:
                    self.out_of_scope[key] = ReportEntry(
                        self.filename,
                        key[0],
                        "out-of-scope",
                        f"{_code(node)} ({q.name}) is not a reduction unireduce migrates",
                        "left as it is",
                    )
                    self._oos_nodes[id(node)] = key
                return

    def visit_Attribute(self, node: cst.Attribute) -> None:
        self._check_out_of_scope(node)

    def visit_Name(self, node: cst.Name) -> None:
        self._check_out_of_scope(node)

    def _not_out_of_scope(self, node: cst.CSTNode) -> None:
        key = self._oos_nodes.pop(id(node), None)
        if key is not None:
            self.out_of_scope.pop(key, None)

    # -- references that are not calls ---------------------------------------------------------

    def _reference(
        self, original: cst.Name | cst.Attribute, updated: cst.BaseExpression
    ) -> cst.BaseExpression:
        if self.import_depth:
            return updated
        parent = self._parent(original)
        if isinstance(parent, cst.Call) and parent.func is original:
            return updated
        if isinstance(parent, cst.Attribute) and parent.attr is original:
            return updated
        if (
            isinstance(parent, (cst.Arg, cst.Param))
            and getattr(parent, "keyword", None) is original
        ):
            return updated
        found = self._classify(original)
        if found is None:
            return updated
        kind, v1 = found
        text = _code(original)
        grand = self._parent(parent) if parent is not None else None
        if isinstance(parent, (cst.AssignTarget, cst.AnnAssign, cst.Del)) or (
            isinstance(grand, cst.ClassDef) and parent in grand.bases
        ):
            what = "subclassed" if isinstance(grand, cst.ClassDef) else "assigned to"
            self._report(
                original,
                "not-migrated",
                f"{text} is {what}; only calls and plain references are migrated",
                "left unchanged; migrate this use by hand",
            )
            self._comment(f"could not migrate {text} ({what}); see the report")
            return updated
        self._use_root(original)
        new: str
        if kind == "Sum":
            self.need_ur = True
            new = "ur.Sum"
            note = "ur.Sum has Keras' update_state/result/reset_state API, not Keras internals"
        elif self.to == "torch":
            new = f"_tf_{kind}"
            self.helpers.add(new)
            note = f"{new} takes tf.math.{kind}'s TF 2 parameters"
        else:
            self.need_ur = True
            if kind == "reduce_sum":  # same parameters as tf.math.reduce_sum
                AddImportsVisitor.add_needed_import(self.context, "functools")
                new = f"functools.partial(ur.reduce_sum, {_UR_SEMANTICS})"
            else:
                new = (
                    "lambda x, axis=0, exclusive=False, reverse=False, name=None: ur.cumsum("
                    f"x, axis, exclusive=exclusive, reverse=reverse, {_UR_SEMANTICS})"
                )
            note = (
                "it takes tf.math.reduce_sum's TF 2 parameters"
                if kind == "reduce_sum"
                else "a lambda with tf.math.cumsum's parameters calls ur.cumsum"
            )
        if v1:
            note += " (TF1's keep_dims/reduction_indices keywords are not accepted)"
        self._report(
            original,
            "reference",
            f"{text} is used as a value, not called: its callers' arguments are unknown",
            f"replaced by {new.split(':')[0] if new.startswith('lambda') else new}; {note}",
        )
        expr = cst.parse_expression(new)
        if isinstance(expr, cst.Lambda):
            expr = expr.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
        return expr

    def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.BaseExpression:
        return self._reference(original_node, updated_node)

    def leave_Attribute(
        self, original_node: cst.Attribute, updated_node: cst.Attribute
    ) -> cst.BaseExpression:
        return self._reference(original_node, updated_node)

    # -- calls ---------------------------------------------------------------------------------

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        if not isinstance(original_node.func, (cst.Name, cst.Attribute)):
            return updated_node  # e.g. Sum()(values): the inner call is the one migrated
        found = self._classify(original_node.func)
        if found is None:
            return updated_node
        kind, v1 = found
        params = _PARAMS[(kind, v1 if kind == "reduce_sum" else False)]
        names = self._bind(original_node, params, kind)
        if names is None:
            return updated_node
        if kind == "Sum":
            return self._sum(original_node, updated_node, names)
        return self._reduction(original_node, updated_node, kind, v1, names)

    def _bind(self, call: cst.Call, params: Sequence[str], kind: str) -> list[str] | None:
        """The parameter each argument binds to (``"*"``/``"**"`` for unpacking), or None."""
        names: list[str] = []
        position = 0
        error = None
        for arg in call.args:
            if arg.star:
                names.append(arg.star)
                continue
            if arg.keyword is None:
                if "*" in names:
                    names.append("?")
                    continue
                if position >= len(params):
                    error = f"more positional arguments than {_TF_NAME[kind]} takes"
                    break
                name = params[position]
                position += 1
            else:
                name = arg.keyword.value
                if name not in params:
                    error = f"{_TF_NAME[kind]} has no parameter {name!r}"
                    break
            if name in names:
                error = f"argument {name!r} given twice"
                break
            names.append(name)
        if error is None:
            values = {n: a.value for n, a in zip(names, call.args, strict=True)}
            for a, b in (("axis", "reduction_indices"), ("keepdims", "keep_dims")):
                if a in names and b in names:
                    if _is_none(values[a]):  # TF1 accepts the pair when one is None
                        names[names.index(a)] = "-"
                    elif _is_none(values[b]):
                        names[names.index(b)] = "-"
                    else:
                        error = f"both {a!r} and {b!r} given (TF raises ValueError)"
        if error is not None:
            self._report(
                call,
                "not-migrated",
                f"{_code(call.func)}(...): {error}; TensorFlow itself would refuse this call",
                "left unchanged",
            )
            self._comment(f"could not migrate {_code(call.func)}(...): {error}")
            return None
        return names

    def _reduction(
        self,
        original: cst.Call,
        updated: cst.Call,
        kind: str,
        v1: bool,
        names: list[str],
    ) -> cst.BaseExpression:
        tf_name = _TF_NAME[kind]
        by_name = {n: a.value for n, a in zip(names, original.args, strict=True)}
        dynamic = any(n in ("*", "**", "?") for n in names)
        first = "input_tensor" if kind == "reduce_sum" else "x"
        data = by_name.get(first)

        if isinstance(data, (cst.List, cst.Tuple)) and self.to == "unireduce":
            self._report(
                original,
                "not-migrated",
                f"{tf_name} of a Python {type(data).__name__.lower()}: TF converts it to a tensor "
                "(stacking the tensors in it); ur functions take arrays only",
                "left unchanged; stack the values with your framework first",
            )
            self._comment(f"could not migrate {tf_name} of a Python list; see the report")
            return updated

        self._use_root(original.func)
        args = list(updated.args)
        if not dynamic:
            args = self._rearrange(updated, args, kind, names)
        else:
            self._report(
                original,
                "dynamic-arguments",
                f"{tf_name} called with *args/**kwargs: which argument is which is only known "
                "at run time",
                "arguments passed through unchanged"
                + ("; TF1's keep_dims/reduction_indices would be refused" if v1 else "")
                + (
                    "; ur.cumsum takes exclusive/reverse by keyword only"
                    if kind == "cumsum" and self.to == "unireduce"
                    else ""
                ),
            )

        # -- the function
        if self.to == "torch":
            helper = f"_tf_{kind}"
            self.helpers.add(helper)
            func: cst.BaseExpression = cst.Name(helper)
        else:
            self.need_ur = True
            func = cst.parse_expression(f"ur.{kind}")
            args = append_arg(
                updated, args, keyword_arg("semantics", cst.SimpleString('"tensorflow"'))
            )

        self._hazards(original, kind, by_name, dynamic)
        return updated.with_changes(func=func, args=args)

    def _rearrange(
        self, call: cst.Call, args: list[cst.Arg], kind: str, names: list[str]
    ) -> list[cst.Arg]:
        """Drop ``name`` where the target has none, rename TF1 keywords, make keywords of the
        positional arguments that can no longer stay positional, and (``ur.cumsum``) put ``x``
        first and write the axis."""
        drop = {"name", "-"} if (self.to == "torch" or kind == "cumsum") else {"-"}
        forced = (
            {"exclusive", "reverse"} if (kind == "cumsum" and self.to == "unireduce") else set()
        )
        dropped_positional = False
        marked: list[int] = []
        for i, (n, a) in enumerate(zip(names, args, strict=True)):
            if n in drop:
                marked.append(i)
                dropped_positional = dropped_positional or a.keyword is None
                continue
            new_name = _V1_RENAMES.get(n, n)
            if new_name == "keepdims" and self.to == "unireduce" and _is_none(a.value):
                # TF reads keepdims=None (TF1's default) as False; ur.reduce_sum wants a bool
                a = args[i] = a.with_changes(value=cst.Name("False"))
            if a.keyword is not None or dropped_positional or n in forced or new_name != n:
                args[i] = to_keyword(a, new_name)
        kept = [_V1_RENAMES.get(n, n) for n in names if n not in drop]
        for i in reversed(marked):
            args = remove_arg(call, args, i)
        if kind == "cumsum" and self.to == "unireduce":
            if "x" in kept and kept[0] != "x":  # ur.cumsum's x is positional-only
                i = kept.index("x")
                x_arg = positional(args[i])
                args = insert_arg(call, remove_arg(call, args, i), 0, x_arg)
                kept.insert(0, kept.pop(i))
            elif kept and kept[0] == "x":
                args[0] = positional(args[0])
            if "axis" not in kept:
                args = insert_arg(call, args, 1, cst.Arg(cst.Integer("0")))
        return args

    def _hazards(
        self,
        call: cst.Call,
        kind: str,
        by_name: dict[str, cst.BaseExpression],
        dynamic: bool,
    ) -> None:
        torch = self.to == "torch"
        tf_name = _TF_NAME[kind]
        target = f"_tf_{kind}" if torch else f"ur.{kind}(semantics='tensorflow')"
        self._report(
            call,
            "input-dtype",
            f"{tf_name}: the input dtype is only known at run time; TF keeps it (int32 stays "
            "int32 and wraps on overflow; torch would give int64) and refuses bool",
            f"{target} keeps the input dtype"
            + (
                " (uint16/32/64 through int64) and raises TypeError for bool"
                if torch
                else " and refuses bool, as TF does"
            ),
        )
        data = by_name.get("input_tensor" if kind == "reduce_sum" else "x")
        if isinstance(data, (cst.List, cst.Tuple)):
            self._report(
                call,
                "python-sequence-input",
                f"{tf_name} of a Python {type(data).__name__.lower()}: TF stacks the tensors in "
                "it and makes int32 from Python ints (torch.as_tensor: int64, no gradient)",
                "_tf_to_tensor converts it the way TF does",
            )
        if kind == "reduce_sum" and not dynamic:
            axis = by_name.get("axis", by_name.get("reduction_indices"))
            form = _axis_form(axis)
            if form == "empty":
                self._report(
                    call,
                    "empty-axis",
                    f"axis={_code(axis) if axis is not None else ''}: TF reduces nothing; torch's "
                    "dim=() or dim=[] reduces every axis (pytorch#29137)",
                    f"{target} returns the input unreduced, as TF does",
                )
            elif form == "runtime":
                assert axis is not None
                self._report(
                    call,
                    "runtime-axis",
                    f"axis={_code(axis)} is only known at run time; if it is empty TF reduces "
                    "nothing while torch.sum(dim=()) reduces everything (pytorch#29137)",
                    f"{target} checks at run time and returns the input unreduced when it is empty",
                )
        if kind == "cumsum" and not dynamic:
            if "axis" not in by_name:
                self._report(
                    call,
                    "default-axis",
                    "tf.math.cumsum without axis scans axis 0 (np.cumsum and jnp.cumsum flatten; "
                    "torch.cumsum requires dim)",
                    "_tf_cumsum scans axis 0 by default" if torch else "axis 0 written explicitly",
                )
            flags = [f for f in ("exclusive", "reverse") if not _is_false(by_name.get(f))]
            if flags:
                static = all(_is_true(by_name[f]) for f in flags)
                shown = ", ".join(
                    f"{f}={_code(by_name[f])}"
                    + ("" if _is_true(by_name[f]) else " (known only at run time)")
                    for f in flags
                )
                self._report(
                    call,
                    "exclusive-reverse",
                    f"{shown}: torch.cumsum has neither option",
                    (
                        "_tf_cumsum spells them out with flip, narrow and cat"
                        + ("" if static else ", deciding at run time")
                    )
                    if torch
                    else "passed to ur.cumsum as keywords",
                )
        half = ["float16"] if self.f16 else []
        if kind == "cumsum" and self.bf16:
            half.append("bfloat16")
        if half:
            dtypes = "/".join(half)
            what = "sums" if kind == "reduce_sum" else "scans"
            width = "torch in float32" if torch else "ur too, in another order"
            self._report(
                call,
                "half-precision",
                f"this file uses {dtypes}: TF accumulates {dtypes} {what} in {dtypes} (a float16 "
                "sum can overflow to inf, e.g. [65504, 65504, -65504]); the order of its additions "
                "cannot be reproduced",
                "marked with a comment; suggested fix: keep torch's more accurate float32 "
                "accumulation, or call ur."
                f"{kind}(..., semantics='tensorflow') for TF's accumulator width, or "
                "precision='exact' for a correctly rounded, reproducible result"
                if torch
                else "marked with a comment; suggested fix: precision='exact' for a correctly "
                "rounded, reproducible result",
            )
            self._comment(f"{dtypes} input? TF {what[:-1]}s it in {dtypes}, {width} (see report)")

    def _sum(self, original: cst.Call, updated: cst.Call, names: list[str]) -> cst.BaseExpression:
        self._use_root(original.func)
        self.need_ur = True
        args = list(updated.args)
        translated = ""
        if self.to == "torch" and "dtype" in names:
            i = names.index("dtype")
            dtype_node = original.args[i].value
            for q in self._qualified(dtype_node):
                base = q.name.rsplit(".", 1)
                if (
                    q.source == QualifiedNameSource.IMPORT
                    and base[0] in ("tensorflow", "tensorflow.dtypes")
                    and len(base) == 2
                    and base[1] in _TF_DTYPES
                ):
                    canonical = _TF_DTYPES[base[1]]
                    args[i] = args[i].with_changes(value=cst.SimpleString(f'"{canonical}"'))
                    translated = f'; dtype {_code(dtype_node)} written as "{canonical}"'
                    self._not_out_of_scope_tree(dtype_node)
                    break
        self._report(
            original,
            "metric",
            f"{_code(original.func)} becomes unireduce.Sum: same update_state(values, "
            "sample_weight)/result()/reset_state() API; Keras keeps a float32 running total while "
            "ur.Sum accumulates exactly by default (results agree within Keras' rounding)",
            "replaced by ur.Sum (pass precision='native' to accumulate like Keras)" + translated,
        )
        node: cst.CSTNode | None = original
        while node is not None:
            node = self._parent(node)
            if isinstance(node, cst.Call):
                func = node.func
                attr = func.attr.value if isinstance(func, cst.Attribute) else None
                if attr == "compile" or (isinstance(func, cst.Name) and func.value == "compile"):
                    self._report(
                        original,
                        "keras-compile",
                        "a Sum metric is passed to Keras' compile(); Keras cannot drive "
                        "unireduce.Sum",
                        "replaced anyway; update the metric in your own training loop",
                    )
                    break
        return updated.with_changes(func=cst.parse_expression("ur.Sum"), args=args)

    def _not_out_of_scope_tree(self, node: cst.CSTNode) -> None:
        self._not_out_of_scope(node)
        for child in node.children:
            self._not_out_of_scope_tree(child)

    # -- the module ----------------------------------------------------------------------------

    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:
        module = updated_node
        if self.helpers:
            AddImportsVisitor.add_needed_import(self.context, "torch")
            module = _insert_helpers(module, self.helpers)
        if self.need_ur:
            AddImportsVisitor.add_needed_import(self.context, "unireduce", asname="ur")
        return module

    def removals(self) -> list[tuple[str, str | None, str | None]]:
        """The framework imports a migrated call went through (removed later if unused)."""
        return list(
            dict.fromkeys(
                imp
                for root in sorted(self.roots)
                for imp in self.imports.get(root, [])
                if imp[0].split(".")[0] in _FRAMEWORK_ROOTS
            )
        )

    def sorted_entries(self) -> list[ReportEntry]:
        """Every entry, the out-of-scope ones included, in source order."""
        out = [(e.line, self.order + i + 1, e) for i, e in enumerate(self.out_of_scope.values())]
        return [e for _, _, e in sorted([*self.entries, *out], key=lambda t: (t[0], t[1]))]


def _is_import_line(stmt: cst.CSTNode) -> bool:
    return isinstance(stmt, cst.SimpleStatementLine) and all(
        isinstance(s, (cst.Import, cst.ImportFrom)) for s in stmt.body
    )


def _is_docstring(stmt: cst.CSTNode) -> bool:
    return (
        isinstance(stmt, cst.SimpleStatementLine)
        and len(stmt.body) == 1
        and isinstance(stmt.body[0], cst.Expr)
        and isinstance(stmt.body[0].value, (cst.SimpleString, cst.ConcatenatedString))
    )


def _insert_helpers(module: cst.Module, wanted: set[str]) -> cst.Module:
    """Add the helpers (and those they call) after the imports at the top of ``module``."""
    defined = {s.name.value for s in module.body if isinstance(s, cst.FunctionDef)}
    names = [n for n in helper_closure(wanted) if n not in defined]
    if not names:
        return module
    body = list(module.body)
    at = 0
    for i, stmt in enumerate(body):
        if _is_import_line(stmt) or (i == 0 and _is_docstring(stmt)):
            at = i + 1
        else:
            break
    blank = [cst.EmptyLine(), cst.EmptyLine()]
    new: list[cst.BaseStatement] = []
    newline = module.default_newline
    for n in names:  # in the module's own newline (the docstrings would otherwise mix them)
        fn = cst.parse_statement(
            HELPERS[n][0].replace("\n", newline), config=module.config_for_parsing
        )
        new.append(fn.with_changes(leading_lines=blank))
    if at < len(body):
        nxt = body[at]
        lead = list(getattr(nxt, "leading_lines", []))
        blanks = 0
        for line in lead:
            if line.comment is not None:
                break
            blanks += 1
        if blanks < 2:
            body[at] = nxt.with_changes(leading_lines=[cst.EmptyLine()] * (2 - blanks) + lead)
    return module.with_changes(body=[*body[:at], *new, *body[at:]])


def _cap_blank_lines(lines: Sequence[cst.EmptyLine]) -> list[cst.EmptyLine]:
    out: list[cst.EmptyLine] = []
    run = 0
    for line in lines:
        run = run + 1 if line.comment is None else 0
        if run <= 2:
            out.append(line)
    return out


def _carry_leading_lines(before: cst.Module, after: cst.Module) -> cst.Module:
    """Give the comments and blank lines of removed top-level imports to the next statement
    (RemoveImportsVisitor drops them, e.g. the blank line after a module docstring)."""
    old, new = list(before.body), list(after.body)
    out: list[cst.BaseStatement] = []
    pending: list[cst.EmptyLine] = []
    j = 0
    for i, o in enumerate(old):
        kept = j < len(new) and (
            new[j].deep_equals(o)
            or (
                _is_import_line(o)
                and _is_import_line(new[j])
                and not any(new[j].deep_equals(later) for later in old[i + 1 :])
            )
        )
        if not kept:
            pending.extend(getattr(o, "leading_lines", ()))
            continue
        stmt = new[j]
        j += 1
        if pending:
            lead = _cap_blank_lines([*pending, *getattr(stmt, "leading_lines", ())])
            stmt = stmt.with_changes(leading_lines=lead)
            pending = []
        out.append(stmt)
    out.extend(new[j:])
    return after.with_changes(body=out)


def _remove_unused_imports(
    module: cst.Module, removals: Sequence[tuple[str, str | None, str | None]]
) -> cst.Module:
    """Remove the given imports where nothing uses them any more.

    RemoveImportsVisitor keys ``import m`` removals by module, so ``import tensorflow`` and
    ``import tensorflow as tf`` must go in separate passes.
    """
    batches: list[list[tuple[str, str | None, str | None]]] = []
    for imp in removals:
        for batch in batches:
            if imp[1] is not None or all(b[0] != imp[0] or b[1] is not None for b in batch):
                batch.append(imp)
                break
        else:
            batches.append([imp])
    for batch in batches:
        visitor = RemoveImportsVisitor(CodemodContext(), batch)
        module = _carry_leading_lines(module, visitor.transform_module(module))
    return module


def migrate_module_source(
    code: str, *, to: str = "torch", filename: str = "<string>"
) -> tuple[str, list[ReportEntry]]:
    """Migrate one module's source; raises ``libcst.ParserSyntaxError`` if it does not parse.

    >>> migrate_module_source("import math\\n")
    ('import math\\n', [])
    """
    if to not in TARGETS:
        raise UnireduceValueError(
            f"migrate: to={to!r} is not a target; allowed: {', '.join(TARGETS)}"
        )
    module = cst.parse_module(code)
    context = CodemodContext(filename=filename)
    migrator = _Migrator(context, to=to, filename=filename, source=code)
    new = migrator.transform_module(module)
    new = _remove_unused_imports(new, migrator.removals())
    return new.code, migrator.sorted_entries()
