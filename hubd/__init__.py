"""hubd: the daemon of a home sensor hub for a person living alone."""
__version__ = "0.1.0"
