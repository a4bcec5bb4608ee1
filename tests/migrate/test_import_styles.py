"""Every import style TensorFlow and Keras code uses: the call is recognised, rewritten, and the
import that became unused is removed. Expected lines written by hand."""

from __future__ import annotations

import pytest

from tests.migrate._harness import migrate_source, strip_helpers

# (import statement, call in the source, the call after --to torch)
FUNCTION_STYLES = [
    ("import tensorflow as tf", "tf.reduce_sum(x, 1)", "_tf_reduce_sum(x, 1)"),
    ("import tensorflow as tf", "tf.math.reduce_sum(x, 1)", "_tf_reduce_sum(x, 1)"),
    ("import tensorflow", "tensorflow.reduce_sum(x, 1)", "_tf_reduce_sum(x, 1)"),
    ("import tensorflow.math", "tensorflow.math.reduce_sum(x, 1)", "_tf_reduce_sum(x, 1)"),
    (
        "import tensorflow.compat.v1 as tf",
        "tf.reduce_sum(x, keep_dims=True)",
        "_tf_reduce_sum(x, keepdims=True)",
    ),
    ("import tensorflow.compat.v2 as tf", "tf.reduce_sum(x, 1)", "_tf_reduce_sum(x, 1)"),
    (
        "import tensorflow as tf",
        "tf.compat.v1.math.reduce_sum(x, reduction_indices=1)",
        "_tf_reduce_sum(x, axis=1)",
    ),
    ("from tensorflow import math as tfm", "tfm.reduce_sum(x, 1)", "_tf_reduce_sum(x, 1)"),
    ("from tensorflow import reduce_sum", "reduce_sum(x, 1)", "_tf_reduce_sum(x, 1)"),
    ("from tensorflow.math import reduce_sum as rs", "rs(x, 1)", "_tf_reduce_sum(x, 1)"),
    (
        "from tensorflow.compat import v1",
        "v1.reduce_sum(x, keep_dims=True)",
        "_tf_reduce_sum(x, keepdims=True)",
    ),
    (
        "from tensorflow.compat.v1 import math as m1",
        "m1.reduce_sum(x, reduction_indices=0)",
        "_tf_reduce_sum(x, axis=0)",
    ),
    (
        "from tensorflow.python.ops import math_ops",
        "math_ops.reduce_sum(x, 1)",
        "_tf_reduce_sum(x, 1)",
    ),
    ("import tensorflow as tf", "tf.cumsum(x, 1)", "_tf_cumsum(x, 1)"),
    ("from tensorflow import cumsum", "cumsum(x, 1)", "_tf_cumsum(x, 1)"),
    (
        "from tensorflow.math import cumsum as cs",
        "cs(x, 1, reverse=True)",
        "_tf_cumsum(x, 1, reverse=True)",
    ),
    ("import tensorflow.compat.v2 as tf2", "tf2.math.cumsum(x, 1)", "_tf_cumsum(x, 1)"),
]

METRIC_STYLES = [
    ("import tensorflow as tf", "tf.keras.metrics.Sum()"),
    ("import tensorflow as tf", "tf.metrics.Sum()"),
    ("import tensorflow as tf", "tf.compat.v1.keras.metrics.Sum()"),
    ("from tensorflow import keras", "keras.metrics.Sum()"),
    ("from tensorflow.keras import metrics", "metrics.Sum()"),
    ("from tensorflow.keras.metrics import Sum", "Sum()"),
    ("import keras", "keras.metrics.Sum()"),
    ("from keras import metrics as km", "km.Sum()"),
    ("from keras.metrics import Sum as KerasSum", "KerasSum()"),
    ("import tf_keras", "tf_keras.metrics.Sum()"),
]


@pytest.mark.parametrize(("imp", "call", "expected"), FUNCTION_STYLES)
def test_function_import_styles(imp, call, expected):
    result = migrate_source(f"{imp}\n\ny = {call}\n", to="torch")
    assert strip_helpers(result.code) == f"import torch\n\n\ny = {expected}\n"
    assert result.ok


@pytest.mark.parametrize(("imp", "call"), METRIC_STYLES)
def test_metric_import_styles(imp, call):
    result = migrate_source(f"{imp}\n\nm = {call}\n", to="torch")
    assert result.code == "import unireduce as ur\n\nm = ur.Sum()\n"
    assert [e.kind for e in result.entries] == ["metric"]


def test_import_inside_a_function():
    source = "def f(x):\n    import tensorflow as tf\n\n    return tf.reduce_sum(x, axis=0)\n"
    result = migrate_source(source, to="unireduce")
    assert result.code == (
        "import unireduce as ur\n"
        "\n"
        "def f(x):\n"
        "\n"
        '    return ur.reduce_sum(x, axis=0, semantics="tensorflow")\n'
    )


def test_partially_used_from_import_keeps_the_rest():
    """reduce_sum goes (the migration used it); exp is still used; cumsum was already unused
    before the migration: not the migration's to remove."""
    result = migrate_source(
        "from tensorflow.math import cumsum, exp, reduce_sum\n\ny = exp(reduce_sum(x))\n",
        to="unireduce",
    )
    assert result.code == (
        "from tensorflow.math import cumsum, exp\n"
        "import unireduce as ur\n"
        "\n"
        'y = exp(ur.reduce_sum(x, semantics="tensorflow"))\n'
    )


def test_two_aliases_of_one_module_are_both_removed():
    """libcst's RemoveImportsVisitor keys module imports by name: a second pass is needed."""
    result = migrate_source(
        "import tensorflow\nimport tensorflow as tf\n\ny = tf.reduce_sum(tensorflow.cumsum(x))\n",
        to="unireduce",
    )
    assert result.code == (
        "import unireduce as ur\n"
        "\n"
        'y = ur.reduce_sum(ur.cumsum(x, 0, semantics="tensorflow"), semantics="tensorflow")\n'
    )


def test_comments_above_a_removed_import_stay():
    result = migrate_source(
        '"""Doc."""\n\n# frameworks\nimport tensorflow as tf\nimport numpy as np\n\n'
        "y = tf.reduce_sum(np.ones(3))\n",
        to="unireduce",
    )
    assert result.code == (
        '"""Doc."""\n\n# frameworks\nimport numpy as np\nimport unireduce as ur\n\n'
        'y = ur.reduce_sum(np.ones(3), semantics="tensorflow")\n'
    )
