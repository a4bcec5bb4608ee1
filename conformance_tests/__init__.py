"""unireduce's conformance suite, installed as ``unireduce.conformance_tests``.

It checks a backend (unireduce's own or a third party's, registered through the
``unireduce.backends`` entry point) against the exact reference implementation:
``pytest --pyargs unireduce.conformance_tests --unireduce-backend NAME``.
"""
