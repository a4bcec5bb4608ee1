"""``python -m unireduce.migrate PATH... [--to torch|unireduce] [--diff | --write] [--report F]``.

The same as ``unireduce migrate``; see :mod:`unireduce.migrate.cli`.
"""

from __future__ import annotations

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
