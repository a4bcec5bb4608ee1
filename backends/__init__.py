"""unireduce's adapters, one module per framework (installed as ``unireduce.backends``).

Every module defines one :class:`unireduce.Backend` subclass with the same method names, so two
adapters can be read side by side. No module imports its framework at import time: the registry
instantiates an adapter only once the framework is in ``sys.modules``.
"""
