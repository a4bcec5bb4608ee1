"""Each ``--to unireduce`` rewrite rule, with the expected text written by hand: the fewest edits
that give ``semantics="tensorflow"`` calls, ``import unireduce as ur`` added once."""

from __future__ import annotations

import pytest

from tests.migrate._harness import migrate_source


def ur_migration(source: str) -> tuple[str, list[tuple[int, str]]]:
    result = migrate_source(source, to="unireduce")
    return result.code, [(e.line, e.kind) for e in result.entries]


def test_reduce_sum_keeps_its_arguments_and_gains_semantics():
    code, entries = ur_migration(
        "import tensorflow as tf\n"
        "\n"
        "a = tf.reduce_sum(x)\n"
        "b = tf.math.reduce_sum(x, 1, True, 'rows')\n"
        "c = tf.reduce_sum(input_tensor=x, axis=[], keepdims=False, name='c')\n"
    )
    assert code == (
        "import unireduce as ur\n"
        "\n"
        'a = ur.reduce_sum(x, semantics="tensorflow")\n'
        "b = ur.reduce_sum(x, 1, True, 'rows', semantics=\"tensorflow\")\n"
        "c = ur.reduce_sum(input_tensor=x, axis=[], keepdims=False, name='c', "
        'semantics="tensorflow")\n'
    )
    assert entries == [
        (3, "input-dtype"),
        (4, "input-dtype"),
        (5, "input-dtype"),
        (5, "empty-axis"),
    ]


def test_tf1_keywords_are_renamed():
    code, _ = ur_migration(
        "import tensorflow.compat.v1 as tf\n"
        "\n"
        "a = tf.reduce_sum(x, reduction_indices=[1], keep_dims=True, name='a')\n"
    )
    assert code == (
        "import unireduce as ur\n"
        "\n"
        "a = ur.reduce_sum(x, axis=[1], keepdims=True, name='a', semantics=\"tensorflow\")\n"
    )


def test_tf1_keepdims_none_becomes_false():
    """TF reads keepdims=None (TF1's default) as False; ur.reduce_sum takes a bool."""
    code, _ = ur_migration(
        "import tensorflow.compat.v1 as tf\n"
        "\n"
        "a = tf.reduce_sum(x, 1, None)\n"
        "b = tf.reduce_sum(x, axis=None, keep_dims=None)\n"
    )
    assert code == (
        "import unireduce as ur\n"
        "\n"
        'a = ur.reduce_sum(x, 1, False, semantics="tensorflow")\n'
        'b = ur.reduce_sum(x, axis=None, keepdims=False, semantics="tensorflow")\n'
    )


def test_cumsum_gets_an_explicit_axis_and_keyword_options():
    code, entries = ur_migration(
        "import tensorflow as tf\n"
        "\n"
        "a = tf.cumsum(x)\n"
        "b = tf.math.cumsum(x, 1, True, True, 'scan')\n"
        "c = tf.math.cumsum(x=ids, axis=-1, exclusive=True)\n"
        "d = tf.math.cumsum(x, reverse=flag, name='d')\n"
    )
    assert code == (
        "import unireduce as ur\n"
        "\n"
        'a = ur.cumsum(x, 0, semantics="tensorflow")\n'
        'b = ur.cumsum(x, 1, exclusive=True, reverse=True, semantics="tensorflow")\n'
        'c = ur.cumsum(ids, axis=-1, exclusive=True, semantics="tensorflow")\n'
        'd = ur.cumsum(x, 0, reverse=flag, semantics="tensorflow")\n'
    )
    assert entries == [
        (3, "input-dtype"),
        (3, "default-axis"),
        (4, "input-dtype"),
        (4, "exclusive-reverse"),
        (5, "input-dtype"),
        (5, "exclusive-reverse"),
        (6, "input-dtype"),
        (6, "default-axis"),
        (6, "exclusive-reverse"),
    ]


def test_x_given_by_keyword_after_other_arguments_moves_first():
    code, _ = ur_migration("import tensorflow as tf\n\ny = tf.math.cumsum(axis=1, x=ids)\n")
    assert code == 'import unireduce as ur\n\ny = ur.cumsum(ids, axis=1, semantics="tensorflow")\n'


def test_one_argument_per_line_layout_is_kept():
    code, _ = ur_migration(
        "import tensorflow as tf\n"
        "\n"
        "total = tf.reduce_sum(\n"
        "    values * mask,  # masked\n"
        "    axis=-1,\n"
        ")\n"
    )
    assert code == (
        "import unireduce as ur\n"
        "\n"
        "total = ur.reduce_sum(\n"
        "    values * mask,  # masked\n"
        "    axis=-1,\n"
        '    semantics="tensorflow",\n'
        ")\n"
    )


def test_sum_metric_keeps_its_dtype_argument():
    code, entries = ur_migration(
        "import tensorflow as tf\n\nm = tf.keras.metrics.Sum(name='tokens', dtype=tf.int32)\n"
    )
    assert code == (
        "import tensorflow as tf\n"
        "import unireduce as ur\n"
        "\n"
        "m = ur.Sum(name='tokens', dtype=tf.int32)\n"
    )
    assert entries == [(3, "metric"), (3, "out-of-scope")]


def test_unireduce_import_is_not_duplicated():
    code, _ = ur_migration(
        "import tensorflow as tf\nimport unireduce as ur\n\ny = tf.reduce_sum(x)\n"
    )
    assert code == 'import unireduce as ur\n\ny = ur.reduce_sum(x, semantics="tensorflow")\n'


def test_references_keep_tensorflow_signatures():
    code, entries = ur_migration(
        "import tensorflow as tf\n\nf = tf.reduce_sum\ng = tf.math.cumsum\n"
    )
    assert code == (
        "import functools\n"
        "import unireduce as ur\n"
        "\n"
        'f = functools.partial(ur.reduce_sum, semantics="tensorflow")\n'
        "g = (lambda x, axis=0, exclusive=False, reverse=False, name=None: ur.cumsum(x, axis, "
        'exclusive=exclusive, reverse=reverse, semantics="tensorflow"))\n'
    )
    assert entries == [(3, "reference"), (4, "reference")]


def test_python_list_input_is_left_for_the_user():
    source = "import tensorflow as tf\n\ny = tf.reduce_sum([a, b])\n"
    result = migrate_source(source, to="unireduce")
    assert result.code == (
        "import tensorflow as tf\n"
        "\n"
        "# unireduce-migrate: could not migrate tf.math.reduce_sum of a Python list; "
        "see the report\n"
        "y = tf.reduce_sum([a, b])\n"
    )
    assert [e.kind for e in result.entries] == ["not-migrated"]


def test_half_precision_comment_names_the_order_only():
    code, entries = ur_migration(
        "import tensorflow as tf\n\ny = tf.reduce_sum(tf.cast(x, tf.float16))\n"
    )
    assert code == (
        "import tensorflow as tf\n"
        "import unireduce as ur\n"
        "\n"
        "# unireduce-migrate: float16 input? TF sums it in float16, ur too, in another order "
        "(see report)\n"
        'y = ur.reduce_sum(tf.cast(x, tf.float16), semantics="tensorflow")\n'
    )
    assert (3, "half-precision") in entries


@pytest.mark.parametrize("target", ["torch", "unireduce"])
def test_unknown_target_is_refused(target):
    from unireduce import UnireduceError

    with pytest.raises(ValueError, match="allowed: torch, unireduce") as info:
        migrate_source("x = 1\n", to=target.upper())
    assert isinstance(info.value, UnireduceError)
