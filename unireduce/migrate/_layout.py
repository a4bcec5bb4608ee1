"""Argument-list edits that keep a call's layout: commas, line breaks and comments.

libcst stores the separator after an argument in that argument's ``comma``; its
``whitespace_after`` holds the line break, the indentation of the next line and any comment at the
end of the line. Removing, inserting and appending arguments must move those pieces so that a
one-line call stays on one line and a one-argument-per-line call keeps that shape and its comments.

>>> import libcst as cst
>>> call = cst.parse_expression("f(x, name='s')")
>>> new = call.with_changes(args=remove_arg(call, list(call.args), 1))
>>> cst.Module([]).code_for_node(new)
'f(x)'
"""

from __future__ import annotations

import libcst as cst

__all__ = ["append_arg", "insert_arg", "keyword_arg", "positional", "remove_arg", "to_keyword"]

_NO_SPACE = cst.SimpleWhitespace("")
_EQUAL = cst.AssignEqual(whitespace_before=_NO_SPACE, whitespace_after=_NO_SPACE)


def keyword_arg(name: str, value: cst.BaseExpression) -> cst.Arg:
    """``name=value`` with no spaces around ``=`` (PEP 8).

    >>> cst.Module([]).code_for_node(keyword_arg("semantics", cst.SimpleString('"tensorflow"')))
    'semantics="tensorflow"'
    """
    return cst.Arg(value=value, keyword=cst.Name(name), equal=_EQUAL)


def to_keyword(arg: cst.Arg, name: str) -> cst.Arg:
    """The same argument passed as ``name=...`` (renamed when it already was a keyword)."""
    if arg.keyword is None:
        return arg.with_changes(keyword=cst.Name(name), equal=_EQUAL)
    return arg.with_changes(keyword=cst.Name(name))


def positional(arg: cst.Arg) -> cst.Arg:
    """The same argument passed positionally."""
    return arg.with_changes(keyword=None, equal=cst.MaybeSentinel.DEFAULT)


def _is_multiline(comma: cst.Comma | cst.MaybeSentinel) -> bool:
    return isinstance(comma, cst.Comma) and isinstance(
        comma.whitespace_after, cst.ParenthesizedWhitespace
    )


def _strip_comment(comma: cst.Comma) -> cst.Comma:
    ws = comma.whitespace_after
    if isinstance(ws, cst.ParenthesizedWhitespace):
        return comma.with_changes(
            whitespace_after=ws.with_changes(first_line=cst.TrailingWhitespace())
        )
    return comma


def _separator(call: cst.Call, args: list[cst.Arg], index: int) -> cst.Comma:
    """A comma, without comment, to put after ``args[index]`` when an argument follows it.

    It copies a separator already in the call (preferably the one after ``args[index]``), so a
    one-argument-per-line call stays so; with at most one argument it follows the layout after "(".
    """
    between = [i for i in range(len(args) - 1) if isinstance(args[i].comma, cst.Comma)]
    if between:
        i = index if index in between else between[-1]
        comma = args[i].comma
        assert isinstance(comma, cst.Comma)
        return _strip_comment(comma)
    inner = call.whitespace_before_args
    if args and _is_multiline(args[-1].comma) and isinstance(inner, cst.ParenthesizedWhitespace):
        return cst.Comma(whitespace_before=_NO_SPACE, whitespace_after=inner)
    return cst.Comma(whitespace_before=_NO_SPACE, whitespace_after=cst.SimpleWhitespace(" "))


def _merge_last(
    own: cst.Comma | cst.MaybeSentinel, last: cst.Comma | cst.MaybeSentinel
) -> cst.Comma | cst.MaybeSentinel:
    """The comma of an argument that becomes the last one, taking the old last one's ending."""
    if not isinstance(last, cst.Comma):
        return last  # no trailing comma
    if isinstance(own, cst.Comma) and isinstance(own.whitespace_after, cst.ParenthesizedWhitespace):
        lws = last.whitespace_after
        if isinstance(lws, cst.ParenthesizedWhitespace):  # keep own comment, dedent to ")"
            return own.with_changes(
                whitespace_after=own.whitespace_after.with_changes(
                    indent=lws.indent, last_line=lws.last_line
                )
            )
    return last


def remove_arg(call: cst.Call, args: list[cst.Arg], index: int) -> list[cst.Arg]:
    """``args`` without ``args[index]``, the previous argument taking over a trailing comma."""
    out = list(args)
    removed = out.pop(index)
    if index == len(out) and out:  # removed the last argument
        out[-1] = out[-1].with_changes(comma=_merge_last(out[-1].comma, removed.comma))
    return out


def insert_arg(call: cst.Call, args: list[cst.Arg], index: int, new: cst.Arg) -> list[cst.Arg]:
    """``args`` with ``new`` inserted before position ``index`` (``len(args)``: appended)."""
    if index >= len(args):
        return append_arg(call, args, new)
    sep = _separator(call, args, index - 1 if index > 0 else 0)
    out = list(args)
    out.insert(index, new.with_changes(comma=sep))
    return out


def append_arg(call: cst.Call, args: list[cst.Arg], new: cst.Arg) -> list[cst.Arg]:
    """``args`` with ``new`` appended; a trailing comma and one-per-line layout are kept."""
    if not args:
        return [new.with_changes(comma=cst.MaybeSentinel.DEFAULT)]
    out = list(args)
    last = out[-1]
    sep = _separator(call, out, len(out) - 1)
    own = last.comma
    sws = sep.whitespace_after
    if (
        isinstance(own, cst.Comma)
        and isinstance(own.whitespace_after, cst.ParenthesizedWhitespace)
        and isinstance(sws, cst.ParenthesizedWhitespace)
    ):
        # One argument per line: the old last argument keeps its comment and its line break now
        # indents like an argument; the new one takes the trailing comma that dedents to ")".
        kept = own.with_changes(
            whitespace_after=own.whitespace_after.with_changes(
                indent=sws.indent, last_line=sws.last_line
            )
        )
        out[-1] = last.with_changes(comma=kept)
        out.append(new.with_changes(comma=_strip_comment(own)))
        return out
    if isinstance(own, cst.Comma):  # "f(x, )": keep the trailing comma after the new argument
        out[-1] = last.with_changes(comma=sep)
        out.append(new.with_changes(comma=own))
        return out
    out[-1] = last.with_changes(comma=sep)
    out.append(new.with_changes(comma=cst.MaybeSentinel.DEFAULT))
    return out
