"""Exceptions with messages that name the thing at fault and what to do about it."""


class ApproxHLSError(Exception):
    """Base class of every error approxhls raises on purpose (the CLI prints these without a traceback)."""


class DatasetError(ApproxHLSError):
    """A dataset is missing, malformed or inconsistent."""


class ModelError(ApproxHLSError):
    """A Keras model cannot be read, built or converted."""


class UnsupportedLayerError(ModelError):
    """A layer type that approxhls cannot convert bit-exactly."""


class InvalidNameError(ApproxHLSError):
    """A user-given name or path that would break generated C++ or Tcl."""


class ToolMissingError(ApproxHLSError):
    """An external tool (g++, yosys, vivado, ...) is not installed."""


class ProjectError(ApproxHLSError):
    """A converted project directory is missing files or is inconsistent."""


class ToolTimeoutError(ApproxHLSError):
    """An external tool ran past its deadline and was stopped."""
