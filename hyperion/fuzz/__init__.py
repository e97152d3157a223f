"""Differential fuzzers: the same random inputs through independent implementations.

* ``vm``: MetisVM's interpreter against its compiled tier (and pyrevm).
"""
