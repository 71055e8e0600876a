"""eacontrol: open, safety-first control of electroacupuncture stimulators."""

import logging

__version__ = "0.1.0"

# Logging belongs to the application (STYLE.md 10): the library only adds a NullHandler.
logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = ["__version__"]
