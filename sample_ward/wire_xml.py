"""e-Tax XML (RKO0010 / KOA020) as whole-column Polars string expressions, and the hostile XML bytes.

Structure, namespaces and item codes: contracts/layouts/etax_return.yaml (docs/sources.md F2.2). Every text
value is escaped with :func:`xml_text` before it enters the template; amounts are integers. The hostile
documents are constant byte strings: the generator writes them and never parses them.
"""

from __future__ import annotations

import polars as pl

NS_SHOTOKU = "http://xml.e-tax.nta.go.jp/XSD/shotoku"
NS_GENERAL = "http://xml.e-tax.nta.go.jp/XSD/general"
NS_KYOTSU = "http://xml.e-tax.nta.go.jp/XSD/kyotsu"
NS_OWN = "urn:juminzei:synthetic"
NS_WRONG = "http://xml.e-tax.nta.go.jp/XSD/shohi"  # the consumption-tax namespace: a plausible mistake
RKO0010_VR = "25.0.0"
KOA020_VR = "23.0"
XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'
ROOT_OPEN = f'<DATA xmlns="{NS_SHOTOKU}" xmlns:gen="{NS_GENERAL}" xmlns:jmz="{NS_OWN}" id="data0">'  # kyotsu: unused


def xml_text(expr: pl.Expr) -> pl.Expr:
    """Escape character data (& < > and the quote characters, so the value is safe in attributes too)."""
    return expr.str.replace_many(["&", "<", ">", '"', "'"], ["&amp;", "&lt;", "&gt;", "&quot;", "&apos;"])


def el(tag: str, value: pl.Expr, *, attrs: str = "") -> pl.Expr:
    """``<tag attrs>value</tag>``, or '' when value is null or empty."""
    text = value.cast(pl.String)
    return (
        pl.when(text.is_not_null() & (text != ""))
        .then(pl.concat_str([pl.lit(f"<{tag}{attrs}>"), text, pl.lit(f"</{tag}>")]))
        .otherwise(pl.lit(""))
    )


def amount_el(tag: str, value: pl.Expr, *, always: bool = False) -> pl.Expr:
    """Amount element; omitted when 0 unless ``always``."""
    text = pl.concat_str([pl.lit(f"<{tag}>"), value.fill_null(0).cast(pl.String), pl.lit(f"</{tag}>")])
    if always:
        return text
    return pl.when(value.fill_null(0) != 0).then(text).otherwise(pl.lit(""))


def group(tag: str, parts: list[pl.Expr], *, always: bool = False) -> pl.Expr:
    """``<tag>…</tag>`` around the concatenated parts; omitted when they are all empty unless ``always``."""
    inner = pl.concat_str(parts)
    wrapped = pl.concat_str([pl.lit(f"<{tag}>"), inner, pl.lit(f"</{tag}>")])
    if always:
        return wrapped
    return pl.when(inner != "").then(wrapped).otherwise(pl.lit(""))


def date_parts(tag: str, era: pl.Expr, yy: pl.Expr, mm: pl.Expr, dd: pl.Expr) -> pl.Expr:
    return pl.concat_str(
        [
            pl.lit(f'<{tag} ID="{tag}"><gen:era>'), era, pl.lit("</gen:era><gen:yy>"), yy.cast(pl.String),
            pl.lit("</gen:yy><gen:mm>"), mm.cast(pl.String), pl.lit("</gen:mm><gen:dd>"), dd.cast(pl.String),
            pl.lit(f"</gen:dd></{tag}>"),
        ]
    )


def it_text(tag: str, value: pl.Expr) -> pl.Expr:
    return el(tag, value, attrs=f' ID="{tag}"')


# --- hostile documents (bytes only; never parsed by the generator) ---------------------------------------
def hostile_xxe(nonce: int) -> bytes:
    """XXE: an internal DTD subset declaring an external entity, referenced in NOZEISHA_NM."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<!DOCTYPE DATA [\n  <!ENTITY xxe SYSTEM "file:///etc/passwd">\n]>\n'
        f'<DATA xmlns="{NS_SHOTOKU}" xmlns:gen="{NS_GENERAL}" id="data0">'
        f'<RKO0010 VR="{RKO0010_VR}" id="RKO0010"><CATALOG id="catalog0"/><CONTENTS id="contents0"><IT>'
        f'<NOZEISHA_ID ID="NOZEISHA_ID">{nonce:016d}</NOZEISHA_ID>'
        '<NOZEISHA_NM ID="NOZEISHA_NM">&xxe;</NOZEISHA_NM>'
        "</IT></CONTENTS></RKO0010></DATA>\n"
    ).encode("utf-8")


def hostile_billion_laughs(nonce: int) -> bytes:
    """Entity expansion ("billion laughs"): ten levels of ten-fold nested internal entities."""
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', "<!DOCTYPE DATA [", '  <!ENTITY lol0 "lol">']
    for level in range(1, 10):
        refs = "".join(f"&lol{level - 1};" for _ in range(10))
        lines.append(f'  <!ENTITY lol{level} "{refs}">')
    lines.append("]>")
    body = (
        f'<DATA xmlns="{NS_SHOTOKU}" xmlns:gen="{NS_GENERAL}" id="data0">'
        f'<RKO0010 VR="{RKO0010_VR}" id="RKO0010"><CATALOG id="catalog0"/><CONTENTS id="contents0"><IT>'
        f'<NOZEISHA_ID ID="NOZEISHA_ID">{nonce:016d}</NOZEISHA_ID>'
        '<NOZEISHA_NM ID="NOZEISHA_NM">&lol9;</NOZEISHA_NM>'
        "</IT></CONTENTS></RKO0010></DATA>"
    )
    return ("\n".join(lines) + "\n" + body + "\n").encode("utf-8")


def hostile_external_dtd(nonce: int) -> bytes:
    """A DOCTYPE pointing to an external DTD on the network (and a parameter entity using it)."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<!DOCTYPE DATA SYSTEM "http://dtd.example.invalid/etax/shotoku.dtd">\n'
        f'<DATA xmlns="{NS_SHOTOKU}" xmlns:gen="{NS_GENERAL}" id="data0">'
        f'<RKO0010 VR="{RKO0010_VR}" id="RKO0010"><CATALOG id="catalog0"/><CONTENTS id="contents0"><IT>'
        f'<NOZEISHA_ID ID="NOZEISHA_ID">{nonce:016d}</NOZEISHA_ID>'
        '<NOZEISHA_NM ID="NOZEISHA_NM">港　花子</NOZEISHA_NM>'
        "</IT></CONTENTS></RKO0010></DATA>\n"
    ).encode("utf-8")
