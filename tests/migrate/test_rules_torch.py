"""Each ``--to torch`` rewrite rule on a small program, with the expected text written by hand.

The helper functions the migration writes are stripped before comparing (``strip_helpers``) and
checked by name; their behaviour is proved against TensorFlow in test_helpers_exec.py.
"""

from __future__ import annotations

import pytest

from tests.migrate._harness import helper_names, migrate_source, strip_helpers


def torch_migration(source: str) -> tuple[str, list[str], list[tuple[int, str]]]:
    result = migrate_source(source, to="torch")
    return (
        strip_helpers(result.code),
        helper_names(result.code),
        [(e.line, e.kind) for e in result.entries],
    )


REDUCE_HELPERS = ["_tf_to_tensor", "_tf_reduce_sum"]
CUMSUM_HELPERS = ["_tf_to_tensor", "_tf_cumsum"]


def test_positional_and_keyword_arguments_are_kept():
    code, helpers, entries = torch_migration(
        "import tensorflow as tf\n"
        "\n"
        "a = tf.reduce_sum(x, 1, True)\n"
        "b = tf.reduce_sum(input_tensor=x, axis=[0, 1], keepdims=False)\n"
    )
    assert code == (
        "import torch\n"
        "\n"
        "\n"
        "a = _tf_reduce_sum(x, 1, True)\n"
        "b = _tf_reduce_sum(input_tensor=x, axis=[0, 1], keepdims=False)\n"
    )
    assert helpers == REDUCE_HELPERS
    assert entries == [(3, "input-dtype"), (4, "input-dtype")]


def test_name_is_dropped_positional_or_keyword():
    code, _, _ = torch_migration(
        "import tensorflow as tf\n"
        "\n"
        "a = tf.reduce_sum(x, 1, False, 'total')\n"
        "b = tf.reduce_sum(x, axis=1, name='total')\n"
        "c = tf.math.cumsum(x, 1, True, False, 'scan')\n"
    )
    assert code == (
        "import torch\n"
        "\n"
        "\n"
        "a = _tf_reduce_sum(x, 1, False)\n"
        "b = _tf_reduce_sum(x, axis=1)\n"
        "c = _tf_cumsum(x, 1, True, False)\n"
    )


def test_tf1_keywords_are_renamed():
    code, _, _ = torch_migration(
        "import tensorflow.compat.v1 as tf\n"
        "\n"
        "a = tf.reduce_sum(x, reduction_indices=[1], keep_dims=True)\n"
        "b = tf.reduce_sum(x, None, None, 'n', 1)\n"  # axis=None: TF1 takes reduction_indices
    )
    assert code == (
        "import torch\n"
        "\n"
        "\n"
        "a = _tf_reduce_sum(x, axis=[1], keepdims=True)\n"
        "b = _tf_reduce_sum(x, keepdims=None, axis=1)\n"
    )


def test_formatting_and_comments_survive():
    source = (
        "import tensorflow as tf\n"
        "\n"
        "\n"
        "def loss(values, mask):\n"
        "    # the numerator\n"
        "    total = tf.reduce_sum(\n"
        "        values * mask,  # masked\n"
        "        axis=-1,  # last axis\n"
        "        name='total',\n"
        "    )\n"
        "    return total  # done\n"
    )
    code, _, _ = torch_migration(source)
    assert code == (
        "import torch\n"
        "\n"
        "\n"
        "def loss(values, mask):\n"
        "    # the numerator\n"
        "    total = _tf_reduce_sum(\n"
        "        values * mask,  # masked\n"
        "        axis=-1,  # last axis\n"
        "    )\n"
        "    return total  # done\n"
    )


def test_cumsum_default_axis_exclusive_and_reverse():
    code, helpers, entries = torch_migration(
        "import tensorflow as tf\n"
        "\n"
        "a = tf.cumsum(x)\n"
        "b = tf.math.cumsum(x, axis=1, exclusive=True, reverse=True)\n"
        "c = tf.math.cumsum(x, -1, exclusive=flag)\n"
    )
    assert code == (
        "import torch\n"
        "\n"
        "\n"
        "a = _tf_cumsum(x)\n"
        "b = _tf_cumsum(x, axis=1, exclusive=True, reverse=True)\n"
        "c = _tf_cumsum(x, -1, exclusive=flag)\n"
    )
    assert helpers == CUMSUM_HELPERS
    assert entries == [
        (3, "input-dtype"),
        (3, "default-axis"),
        (4, "input-dtype"),
        (4, "exclusive-reverse"),
        (5, "input-dtype"),
        (5, "exclusive-reverse"),
    ]


def test_empty_and_runtime_axes_are_reported():
    _, _, entries = torch_migration(
        "import tensorflow as tf\n"
        "\n"
        "a = tf.reduce_sum(x, axis=[])\n"
        "b = tf.reduce_sum(x, ())\n"
        "c = tf.reduce_sum(x, axis=axes)\n"
        "d = tf.reduce_sum(x, axis=[0, -1])\n"
        "e = tf.reduce_sum(x, axis=None)\n"
    )
    assert [e for e in entries if e[1] != "input-dtype"] == [
        (3, "empty-axis"),
        (4, "empty-axis"),
        (5, "runtime-axis"),
    ]


def test_nested_calls_are_both_migrated():
    code, helpers, _ = torch_migration(
        "import tensorflow as tf\n\ny = tf.reduce_sum(tf.math.cumsum(x, axis=1), axis=[])\n"
    )
    assert code == "import torch\n\n\ny = _tf_reduce_sum(_tf_cumsum(x, axis=1), axis=[])\n"
    assert helpers == ["_tf_to_tensor", "_tf_reduce_sum", "_tf_cumsum"]


def test_tensorflow_import_kept_while_still_used_and_torch_imported_once():
    code, _, entries = torch_migration(
        "import numpy as np\n"
        "import tensorflow as tf\n"
        "import torch\n"
        "\n"
        "y = tf.reduce_sum(tf.exp(x))\n"
    )
    assert code == (
        "import numpy as np\n"
        "import tensorflow as tf\n"
        "import torch\n"
        "\n"
        "\n"
        "y = _tf_reduce_sum(tf.exp(x))\n"
    )
    assert (5, "out-of-scope") in entries


def test_helpers_go_after_the_imports_once_and_before_module_code():
    result = migrate_source(
        '"""Doc."""\n'
        "\n"
        "from __future__ import annotations\n"
        "\n"
        "import tensorflow as tf\n"
        "\n"
        "TOTAL = tf.reduce_sum(DATA)\n"
        "AGAIN = tf.reduce_sum(DATA)\n",
        to="torch",
    )
    lines = result.code.splitlines()
    assert lines[:5] == ['"""Doc."""', "", "from __future__ import annotations", "", "import torch"]
    assert result.code.count("def _tf_reduce_sum(") == 1
    assert lines.index("def _tf_to_tensor(value):") < lines.index("TOTAL = _tf_reduce_sum(DATA)")
    # running the module defines TOTAL: the helpers exist before module-level code uses them
    import numpy as np
    import torch

    namespace = {"DATA": torch.from_numpy(np.array([2**31 - 1, 1], dtype=np.int32))}
    exec(compile(result.code, "<m>", "exec"), namespace)
    assert namespace["TOTAL"].dtype == torch.int32
    assert int(namespace["TOTAL"]) == -(2**31)


def test_existing_helpers_are_reused_not_duplicated():
    first = migrate_source("import tensorflow as tf\n\na = tf.reduce_sum(x)\n", to="torch").code
    second = migrate_source(first + "import tensorflow as tf\nb = tf.reduce_sum(y)\n", to="torch")
    assert second.code.count("def _tf_reduce_sum(") == 1
    assert second.code.count("def _tf_to_tensor(") == 1
    assert "b = _tf_reduce_sum(y)" in second.code


def test_sum_metric_becomes_unireduce_sum_with_canonical_dtype():
    code, helpers, entries = torch_migration(
        "import tensorflow as tf\n"
        "\n"
        "m = tf.keras.metrics.Sum(name='tokens', dtype=tf.int32)\n"
        "n = tf.keras.metrics.Sum('loss', tf.float64)\n"
        "o = tf.keras.metrics.Sum(dtype='float32')\n"
    )
    assert code == (
        "import unireduce as ur\n"
        "\n"
        "m = ur.Sum(name='tokens', dtype=\"int32\")\n"
        "n = ur.Sum('loss', \"float64\")\n"
        "o = ur.Sum(dtype='float32')\n"
    )
    assert helpers == []
    assert entries == [(3, "metric"), (4, "metric"), (5, "metric")]


def test_sum_metric_given_to_keras_compile_is_reported():
    _, _, entries = torch_migration(
        "import tensorflow as tf\n"
        "\n"
        "model.compile(optimizer='adam', metrics=[tf.keras.metrics.Sum()])\n"
    )
    assert entries == [(3, "metric"), (3, "keras-compile")]


def test_references_become_the_helper():
    code, helpers, entries = torch_migration(
        "import tensorflow as tf\n\nreducers = {'sum': tf.reduce_sum, 'scan': tf.math.cumsum}\n"
    )
    assert code == "import torch\n\n\nreducers = {'sum': _tf_reduce_sum, 'scan': _tf_cumsum}\n"
    assert helpers == ["_tf_to_tensor", "_tf_reduce_sum", "_tf_cumsum"]
    assert entries == [(3, "reference"), (3, "reference")]


def test_star_arguments_are_passed_through():
    code, _, entries = torch_migration(
        "import tensorflow as tf\n\ny = tf.reduce_sum(*args, **kwargs)\n"
    )
    assert code == "import torch\n\n\ny = _tf_reduce_sum(*args, **kwargs)\n"
    assert (3, "dynamic-arguments") in entries


def test_python_list_input_is_reported():
    _, _, entries = torch_migration(
        "import tensorflow as tf\n\ny = tf.reduce_sum([loss_a, loss_b])\n"
    )
    assert (3, "python-sequence-input") in entries


def test_a_shadowing_name_is_not_tensorflow():
    source = "def f(tf, x):\n    return tf.reduce_sum(x)\n"
    result = migrate_source(source, to="torch")
    assert result.code == source
    assert result.entries == []


@pytest.mark.parametrize(
    ("call", "why"),
    [
        ("tf.reduce_sum(x, dtype=tf.int64)", "no parameter 'dtype'"),
        ("tf.reduce_sum(x, 0, False, 'n', 1)", "more positional arguments"),
        ("tf.compat.v1.reduce_sum(x, axis=0, reduction_indices=0)", "both 'axis'"),
        ("tf.math.cumsum(x, axis=0, axis=1)", "given twice"),
    ],
)
def test_calls_tensorflow_would_refuse_are_left_and_marked(call, why):
    source = f"import tensorflow as tf\n\ny = {call}\n"
    result = migrate_source(source, to="torch")
    assert result.code == (
        "import tensorflow as tf\n"
        "\n"
        f"# unireduce-migrate: could not migrate {call.split('(')[0]}(...): "
        f"{result.entries[0].message.split(': ', 1)[1].split('; ')[0]}\n"
        f"y = {call}\n"
    )
    assert [e.kind for e in result.entries if e.severity == "error"] == ["not-migrated"]
    assert result.entries[0].kind == "not-migrated" and why in result.entries[0].message
    assert not result.ok


def test_subclassing_the_metric_is_not_migrated():
    source = "import tensorflow as tf\n\n\nclass Total(tf.keras.metrics.Sum):\n    pass\n"
    result = migrate_source(source, to="torch")
    assert [e.kind for e in result.entries] == ["not-migrated"]
    assert "tf.keras.metrics.Sum" in result.code and "ur.Sum" not in result.code
    assert "# unireduce-migrate: could not migrate tf.keras.metrics.Sum (subclassed)" in result.code


def test_star_import_is_reported_as_not_migrated():
    result = migrate_source("from tensorflow import *\n\ny = reduce_sum(x)\n", to="torch")
    assert result.code == "from tensorflow import *\n\ny = reduce_sum(x)\n"
    assert [(e.line, e.kind) for e in result.entries] == [(1, "not-migrated")]


def test_half_precision_files_get_a_marked_comment_once():
    source = (
        "import tensorflow as tf\n"
        "\n"
        "\n"
        "def energy(h):  # h: float16 activations\n"
        "    if tf.reduce_sum(h) > 0:\n"
        "        return tf.reduce_sum(h * h, axis=-1)\n"
        "    return tf.math.cumsum(h)\n"
    )
    code, _, entries = torch_migration(source)
    assert code == (
        "import torch\n"
        "\n"
        "\n"
        "def energy(h):  # h: float16 activations\n"
        "    # unireduce-migrate: float16 input? TF sums it in float16, torch in float32 (see "
        "report)\n"
        "    if _tf_reduce_sum(h) > 0:\n"
        "        # unireduce-migrate: float16 input? TF sums it in float16, torch in float32 (see "
        "report)\n"
        "        return _tf_reduce_sum(h * h, axis=-1)\n"
        "    # unireduce-migrate: float16 input? TF scans it in float16, torch in float32 (see "
        "report)\n"
        "    return _tf_cumsum(h)\n"
    )
    assert [line for line, kind in entries if kind == "half-precision"] == [5, 6, 7]


def test_bfloat16_marks_cumsum_only():
    """TF widens bfloat16 sums to float32 (as torch does) but scans bfloat16 in bfloat16."""
    _, _, entries = torch_migration(
        "import tensorflow as tf\n"
        "\n"
        "x = tf.cast(y, tf.bfloat16)\n"
        "a = tf.reduce_sum(x)\n"
        "b = tf.math.cumsum(x)\n"
    )
    assert [line for line, kind in entries if kind == "half-precision"] == [5]


def test_no_half_precision_mention_no_comment():
    code, _, entries = torch_migration("import tensorflow as tf\n\ny = tf.reduce_sum(x)\n")
    assert "unireduce-migrate" not in code
    assert "half-precision" not in [kind for _, kind in entries]
