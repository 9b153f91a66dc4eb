"""The numpy-only half of approxhls: the IR of a converted network (``ir``) with one class per operation
(``ops``), the reference evaluator, the fast bit-exact emulator (``emulator``, its ``engines``, ``decompose``,
``lutkernel``), per-layer multiplier tables (``assignment``) and the C-simulation library loader (``csimlib``).

Nothing here imports TensorFlow or hls4ml: a converted project is evaluated with numpy and a C compiler only.
"""
