"""Contracts at the stage boundaries: Pandera models (``contracts/<stage>.py``) and the input file
layouts as data (``contracts/layouts/<format>.yaml``, one per wire format, each field with its position,
English id, official Japanese 項目名, type, width, required flag, allowed codes and source)."""
