"""``unireduce migrate``: rewrite TensorFlow reductions for PyTorch or unireduce, keeping results.

``tf.math.reduce_sum``, ``tf.math.cumsum`` and the Keras ``Sum`` metric are found under every
import style and rewritten with libcst (formatting and comments survive):

- ``to="torch"``: plain PyTorch that gives TensorFlow's results (dtype kept, integers wrapping,
  bool refused, ``axis=[]`` reducing nothing, exclusive/reverse scans spelled out);
- ``to="unireduce"``: ``ur.reduce_sum(..., semantics="tensorflow")`` and friends.

Importing this package imports neither TensorFlow, PyTorch nor JAX, nor libcst until
:func:`migrate_source` or :func:`migrate_paths` is first used. The guide is docs/migration.md.

>>> from unireduce.migrate import migrate_source
>>> print(migrate_source("import tensorflow as tf\\nt = tf.reduce_sum(x, axis=1, name='t')\\n",
...                      to="unireduce").code, end="")
import unireduce as ur
<BLANKLINE>
t = ur.reduce_sum(x, axis=1, name='t', semantics="tensorflow")
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._report import KINDS, TARGETS, MigrationResult, ReportEntry

if TYPE_CHECKING:
    from ._api import migrate_paths, migrate_source

__all__ = [
    "KINDS",
    "TARGETS",
    "MigrationResult",
    "ReportEntry",
    "migrate_paths",
    "migrate_source",
]


def __getattr__(name: str) -> Any:
    # migrate_source and migrate_paths need libcst: import it on first use only, so that the
    # main CLI can register the subcommand without it.
    if name in ("migrate_source", "migrate_paths"):
        try:
            from . import _api
        except ImportError as exc:
            raise ImportError(
                f"unireduce.migrate.{name} needs libcst ({exc}); "
                "install it with: pip install libcst"
            ) from exc
        return getattr(_api, name)
    raise AttributeError(f"module 'unireduce.migrate' has no attribute {name!r}")
