"""What the fixed-length record formats share: a field described by its bytes, and the check that a
record's fields cover it exactly.

Three families use it: the 年金特徴 exchange (500-byte records, :mod:`contracts.pension_exchange`), the
全銀協 files (120-byte records, :mod:`contracts.zengin`) and the payment files (:mod:`contracts.payments`). Each
describes its fields in YAML and keeps its own types and codes; the byte arithmetic, the tiling check and the
reading of the layout and code files (their names, the ``source``/``chosen`` origin of every code) are here, once.
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


# ------------------------------------------------------------------------ the layout files themselves
def display_name(path, base) -> str:
    """``path`` relative to the repository for a file of the real layout folder ``base``; the path itself for
    a copy (tests load copies)."""
    from pathlib import Path

    try:
        return Path(path).resolve().relative_to(Path(base).parent.parent).as_posix()
    except ValueError:
        return str(path)


def read_layout_yaml(path, name: str, error: type[Exception]) -> dict:
    """The mapping of a layout YAML file, or ``error`` naming it (``name``) and what is wrong."""
    from pathlib import Path

    import yaml

    path = Path(path)
    if not path.is_file():
        raise error(f"{name}: the file is missing")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as problem:
        raise error(f"{name}: not valid YAML ({problem})") from None
    if not isinstance(data, dict):
        raise error(f"{name}: not a mapping")
    return data


def origin(where: str, entry: dict, error: type[Exception]) -> str:
    """Where a code or a choice comes from: exactly one of ``source`` (public) or ``chosen`` (our reason)."""
    has_source, has_chosen = "source" in entry, "chosen" in entry
    if has_source == has_chosen:
        raise error(f"{where}: give exactly one of source (public) or chosen (our reason)")
    text = str(entry["source"] if has_source else entry["chosen"]).strip()
    if not text:
        raise error(f"{where}: its source or reason is empty")
    return f"public: {text}" if has_source else text


def check_code_lists(file: str, raw: dict, error: type[Exception], *, ascii_codes: bool) -> dict:
    """The ``code_lists`` of a codes file, each with ``name_ja`` and labelled codes of known origin; with
    ``ascii_codes`` every code must be quoted ASCII digits or letters, else any quoted text."""
    lists = raw.get("code_lists")
    if not isinstance(lists, dict) or not lists:
        raise error(f"{file}: missing code_lists")
    for name, spec in lists.items():
        where = f"{file}: code list {name!r}"
        if not isinstance(spec, dict) or "name_ja" not in spec or not isinstance(spec.get("codes"), dict):
            raise error(f"{where} needs name_ja and codes")
        if not spec["codes"]:
            raise error(f"{where} has no codes")
        for code, entry in spec["codes"].items():
            if ascii_codes and not (isinstance(code, str) and code.isascii() and code.isalnum()):
                raise error(f"{where}: code {code!r} must be quoted ASCII digits or letters")
            if not isinstance(code, str):
                raise error(f"{where}: code {code!r} must be quoted (a string)")
            if not isinstance(entry, dict) or "label" not in entry:
                raise error(f"{where}: code {code!r} needs a label")
            origin(f"{where}: code {code!r}", entry, error)
    return lists


# ------------------------------------------------------------------------------------------ the bytes
def line_end_of(data: bytes) -> bytes:
    """The record separator a file uses: CR LF, CR or LF (the first one found), or none (b"")."""
    first = min((i for i in (data.find(b"\r"), data.find(b"\n")) if i >= 0), default=-1)
    if first < 0:
        return b""
    return b"\r\n" if data.startswith(b"\r\n", first) else data[first:first + 1]


def split_on(text: str, line_end: bytes) -> tuple[list[str], bool]:
    """The records of ``text`` separated by ``line_end`` (not empty), and whether a separator follows the last."""
    lines = text.split(line_end.decode("latin-1"))
    final = len(lines) > 1 and lines[-1] == ""
    if final:
        lines.pop()
    return lines, final
