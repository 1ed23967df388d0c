"""What the fixed-length record formats share: a field described by its bytes, and the check that a
record's fields cover it exactly.

Two families use it: the 年金特徴 exchange (500-byte records, :mod:`contracts.pension_exchange`) and the
全銀協 files (120-byte records, :mod:`contracts.zengin`). Each describes its fields in YAML and keeps its own
types and codes; the byte arithmetic and the tiling check are here, once.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FixedField:
    """One field of a fixed-length record: its id (English snake_case), 項目名, first byte (1-based),
    length in bytes, type and padding, the layout file that describes it, and what it may hold."""

    id: str
    name_ja: str  # 項目名
    start: int  # 1-based byte
    length: int
    type: str
    pad: str
    file: str  # the layout file that describes it, for messages
    fixed: str | None = None  # the only value it may hold (then not a column)
    codes: str | None = None  # the code list its value belongs to
    code_values: tuple[tuple[str, str], ...] = ()  # (code, label) of that list
    nullable: bool = False
    description: str = ""

    @property
    def end(self) -> int:
        """Last byte (1-based, inclusive)."""
        return self.start + self.length - 1

    @property
    def offset(self) -> int:
        """First byte, 0-based."""
        return self.start - 1

    @property
    def title(self) -> str:
        """``生年月日 (birth_date)``: how messages name a field."""
        return f"{self.name_ja} ({self.id})"

    @property
    def allowed(self) -> frozenset[str]:
        return frozenset(code for code, _ in self.code_values)


def tiling_problem(fields: list[FixedField] | tuple[FixedField, ...], length: int, record: str
                   ) -> tuple[FixedField | None, str] | None:
    """Why ``fields`` (in order) do not cover bytes 1..``length`` of ``record`` (e.g. "data record") exactly
    once — a gap, an overlap or a wrong end — as (the field at fault, or None for an empty record; the
    words, which name it); None when they do."""
    previous: FixedField | None = None
    for f in fields:
        expected = 1 if previous is None else previous.end + 1
        if f.start > expected:
            span = f"byte {expected} is" if f.start - 1 == expected else f"bytes {expected}–{f.start - 1} are"
            return f, f"field {f.title} starts at byte {f.start}, but {span} described by no field of the {record}"
        if f.start < expected and previous is not None:
            return f, (f"field {f.title} starts at byte {f.start}, inside {previous.title} "
                       f"(bytes {previous.start}–{previous.end}): fields of the {record} overlap")
        previous = f
    end = previous.end if previous else 0
    if end != length:
        last = f"its last field {previous.title} ends" if previous else "its fields end"
        return previous, f"{last} at byte {end}; the {record} is {length} bytes"
    return None


__all__ = ["FixedField", "tiling_problem"]
