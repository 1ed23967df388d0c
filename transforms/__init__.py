"""Pure transformations (Polars expressions and frames in, out): no I/O, no clock, no globals."""
