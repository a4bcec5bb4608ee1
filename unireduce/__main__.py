"""``python -m unireduce``: the same as the ``unireduce`` console script."""

from __future__ import annotations

import sys

from .cli import main

sys.exit(main())
