"""PC Patrol helpcenter assistant."""

__version__ = "0.1.0"
