"""MetisVM's compiled tier: hot contracts as straight-line Python.

* ``translate``: a trace of EVM code -> the source of one Python function;
* ``program``: one code under one fork, traces compiled as execution reaches them;
* ``tiering``: when a code is compiled, and the bounded cache of programs;
* ``hot``: the hot codes a node saves at shutdown and compiles at start.
"""
