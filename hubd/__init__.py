"""hubd: the daemon of a home sensor hub for a person living alone."""
from .kernel_cache import use_versioned_cache as _use_versioned_cache

__version__ = "0.1.0"
_use_versioned_cache()
