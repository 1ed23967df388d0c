"""juminzei: batch assessment and collection of the individual resident tax (個人住民税)."""

__version__ = "0.1.0"
