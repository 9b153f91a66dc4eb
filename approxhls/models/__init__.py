"""Datasets, quantization schemes, the model zoo and training.

Submodules import TensorFlow/QKeras only where they build or train models (``zoo``, ``training``,
``modelio``); ``datasets`` and ``schemes`` parsing stay light.
"""
