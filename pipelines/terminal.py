"""Text for an operator's terminal: widths of mixed Japanese and Latin text, padding and wrapping.

A full-width character (漢字, かな, full-width digits) takes two columns of a terminal, so ``len`` is
not the width; tables and wrapped messages that must fit in :data:`WIDTH` columns use these helpers.
"""

from __future__ import annotations

import unicodedata

WIDTH = 100  # every CLI table and message fits in this many columns


def display_width(text: str) -> int:
    """Columns ``text`` takes on a terminal (East Asian wide and full-width characters count 2)."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def clip(text: str, width: int) -> str:
    """``text`` cut to ``width`` columns, ending in ``…`` when it was cut."""
    if display_width(text) <= width:
        return text
    out, used = [], 0
    for ch in text:
        w = display_width(ch)
        if used + w > width - 1:
            break
        out.append(ch)
        used += w
    return "".join(out) + "…"


def pad(text: str, width: int) -> str:
    """``text`` clipped to ``width`` columns and padded with spaces to exactly ``width``."""
    text = clip(text, width)
    return text + " " * (width - display_width(text))


def wrap(text: str, width: int = WIDTH, indent: str = "") -> list[str]:
    """Lines of at most ``width`` columns (``indent`` included); breaks at spaces where it can, inside
    a word (or Japanese text, which has no spaces) where it must."""
    room = max(width - display_width(indent), 10)
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        line, used = "", 0
        for word in paragraph.split(" "):
            w = display_width(word)
            gap = 1 if line else 0
            if used + gap + w <= room:
                line, used = line + (" " if gap else "") + word, used + gap + w
                continue
            if line and w <= room:
                lines.append(line)
                line, used = word, w
                continue
            for ch in (" " if line else "") + word:  # a word longer than a line: break it
                cw = display_width(ch)
                if used + cw > room:
                    lines.append(line)
                    line, used = "", 0
                    if ch == " ":
                        continue
                line, used = line + ch, used + cw
        lines.append(line)
    return [indent + line for line in lines]
