"""Parse XML we did not write (e-Tax 確定申告 ``.xtx`` files and the like) without trusting it.

Landing files come from outside the ward. XML lets a document ask its parser to read local files
(XXE: ``<!ENTITY x SYSTEM "file:///etc/passwd">``), fetch URLs (an external DTD), or expand a few
bytes into gigabytes (nested entities, "billion laughs"). None of that is legitimate in e-Tax data,
which never carries a DTD, so :func:`parse_untrusted_xml` refuses such documents *before* parsing
and then parses with a locked-down lxml parser as a second line of defence:

1. size: more than ``max_bytes`` bytes → ``xml_too_large``;
2. encoding: only UTF-8 (the e-Tax encoding; the default without a declaration; a UTF-8 BOM is
   accepted) and Shift_JIS (with its aliases, decoded as Windows-31J/CP932, the superset real files
   use). Any other declared encoding, a UTF-16/UTF-32 byte-order mark or a NUL character →
   ``xml_encoding_forbidden``; bytes that are not valid text in the encoding → ``xml_malformed``.
   The text is decoded here, checked, and handed to the parser as UTF-8 with its encoding forced,
   so the checks below see exactly the characters the parser sees;
3. ``<!ENTITY`` anywhere → ``xml_entity_forbidden`` (a reference to an undeclared entity, i.e. any
   but the five predefined ones and character references, is reported by the parser with the same
   code);
4. ``<!DOCTYPE`` anywhere (an internal subset or an external DTD) → ``xml_doctype_forbidden``:
   rejected, not ignored;
5. the parser (``resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
   huge_tree=False, remove_pis=True``): not well-formed → ``xml_malformed``; libxml2's resource
   limits (e.g. elements nested deeper than 256 levels) → ``xml_too_large``.

Every refusal raises :class:`UnsafeXmlError` whose message is one sentence naming the file and
the reason, and never quotes the document's content (which may hold personal data).

``UnsafeXmlError`` derives from :class:`contracts.errors.JuminzeiError` so the CLI and the DAG log
print it like every other operator error; ``contracts.errors`` sits below this layer and imports
nothing but the standard library, so this module stays free of I/O and of Airflow.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from lxml import etree

from contracts.errors import JuminzeiError

DEFAULT_MAX_BYTES = 2_000_000

REASON_CODES: tuple[str, ...] = (
    "xml_too_large",
    "xml_doctype_forbidden",
    "xml_malformed",
    "xml_entity_forbidden",
    "xml_encoding_forbidden",
)

# Declared encoding name (lower case) → Python codec used to decode the document.
_ALLOWED_ENCODINGS: dict[str, str] = {
    "utf-8": "utf-8",
    "utf8": "utf-8",
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "sjis": "cp932",
    "x-sjis": "cp932",
    "ms_kanji": "cp932",
    "windows-31j": "cp932",
    "cp932": "cp932",
}
_UTF8_BOM = b"\xef\xbb\xbf"
_FOREIGN_BOMS = (b"\x00\x00\xfe\xff", b"\xff\xfe\x00\x00", b"\xfe\xff", b"\xff\xfe")

# The XML declaration is ASCII and must open the document (XML 1.0 §2.8).
_DECLARATION = re.compile(rb"\A<\?xml\s[^>]*?\?>")
_DECLARED_ENCODING = re.compile(rb"""\sencoding\s*=\s*["']([^"']*)["']""")
_DOCTYPE = re.compile(r"<!\s*DOCTYPE", re.IGNORECASE)
_ENTITY_DECLARATION = re.compile(r"<!\s*ENTITY", re.IGNORECASE)


class UnsafeXmlError(JuminzeiError):
    """An untrusted XML document was refused; ``reason_code`` is one of :data:`REASON_CODES`."""

    def __init__(self, source_name: str, reason_code: str, message: str) -> None:
        if reason_code not in REASON_CODES:
            raise ValueError(f"Unknown XML reason code {reason_code!r}; expected one of {REASON_CODES}.")
        self.source_name = source_name
        self.reason_code = reason_code
        self.message = message
        super().__init__(message)

    def __str__(self) -> str:
        return self.message


def _parser() -> etree.XMLParser:
    # A new parser per document: lxml parsers are not thread-safe and keep an error log.
    return etree.XMLParser(
        encoding="utf-8",  # we hand over UTF-8 we decoded ourselves; never let the document choose
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_pis=True,
    )


def _decode(data: bytes, source_name: str) -> str:
    """The document as text, without its XML declaration; refuses encodings we do not accept."""
    if data.startswith(_FOREIGN_BOMS):
        raise UnsafeXmlError(
            source_name, "xml_encoding_forbidden",
            f"XML file {source_name} is encoded in UTF-16 or UTF-32; expected UTF-8 or Shift_JIS.",
        )
    body = data[len(_UTF8_BOM):] if data.startswith(_UTF8_BOM) else data
    codec = "utf-8"
    declaration = _DECLARATION.match(body)
    if declaration is not None:
        declared = _DECLARED_ENCODING.search(declaration.group(0))
        if declared is not None:
            name = declared.group(1).decode("ascii", "replace").strip()
            codec = _ALLOWED_ENCODINGS.get(name.lower(), "")
            if not codec or (data.startswith(_UTF8_BOM) and codec != "utf-8"):
                raise UnsafeXmlError(
                    source_name, "xml_encoding_forbidden",
                    f"XML file {source_name} declares the encoding {name[:40]!r}; expected UTF-8 or Shift_JIS.",
                )
        # Keep the declaration's line breaks so the parser's line numbers match the file's.
        body = b"\n" * declaration.group(0).count(b"\n") + body[declaration.end():]
    try:
        text = body.decode(codec)
    except UnicodeDecodeError as exc:
        raise UnsafeXmlError(
            source_name, "xml_malformed",
            f"XML file {source_name} is not valid {'UTF-8' if codec == 'utf-8' else 'Shift_JIS'} text "
            f"(byte offset {exc.start}); expected a well-formed e-Tax XML document.",
        ) from None
    if "\x00" in text:
        raise UnsafeXmlError(
            source_name, "xml_encoding_forbidden",
            f"XML file {source_name} contains NUL characters (UTF-16 or binary data?); "
            "expected UTF-8 or Shift_JIS text.",
        )
    return text


def _check_markup(text: str, source_name: str) -> None:
    if _ENTITY_DECLARATION.search(text):
        raise UnsafeXmlError(
            source_name, "xml_entity_forbidden",
            f"XML file {source_name} declares entities (<!ENTITY>), which e-Tax data never does; "
            "the file was refused unread.",
        )
    if _DOCTYPE.search(text):
        raise UnsafeXmlError(
            source_name, "xml_doctype_forbidden",
            f"XML file {source_name} contains a document type declaration (<!DOCTYPE>), which e-Tax data "
            "never does; the file was refused unread.",
        )


def parse_untrusted_xml(
    data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES, source_name: str
) -> etree._Element:
    """The root element of ``data``, or :class:`UnsafeXmlError` (see the module docstring)."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError("parse_untrusted_xml takes the file's bytes, not text.")
    data = bytes(data)
    if len(data) > max_bytes:
        raise UnsafeXmlError(
            source_name, "xml_too_large",
            f"XML file {source_name} is {len(data):,} bytes; expected at most {max_bytes:,} bytes.",
        )
    text = _decode(data, source_name)
    _check_markup(text, source_name)
    try:
        root = etree.fromstring(text.encode("utf-8"), _parser())
    except etree.XMLSyntaxError as exc:
        error = exc.error_log.last_error if exc.error_log else None
        line, column = (error.line, error.column) if error is not None else (exc.lineno, exc.offset)
        if error is not None and error.type_name == "ERR_RESOURCE_LIMIT":
            raise UnsafeXmlError(
                source_name, "xml_too_large",
                f"XML file {source_name} exceeds the parser's safety limits at line {line} "
                "(elements nested too deep or a node too large); expected a flat e-Tax document.",
            ) from None
        if error is not None and error.type_name == "ERR_UNDECLARED_ENTITY":
            raise UnsafeXmlError(
                source_name, "xml_entity_forbidden",
                f"XML file {source_name} refers to an undeclared entity at line {line}; expected only "
                "predefined entities and character references.",
            ) from None
        raise UnsafeXmlError(
            source_name, "xml_malformed",
            f"XML file {source_name} is not well-formed XML at line {line}, column {column}; "
            "expected a complete e-Tax XML document.",
        ) from None
    # Second line of defence: nothing DTD- or entity-shaped may survive the parse.
    if root.getroottree().docinfo.doctype or next(root.iter(etree.Entity), None) is not None:
        raise UnsafeXmlError(
            source_name, "xml_entity_forbidden",
            f"XML file {source_name} still holds entity or DTD nodes after parsing; the file was refused.",
        )
    return root


def text_at(element: etree._Element, path: str, namespaces: Mapping[str, str] | None = None) -> str | None:
    """Text of the first element at ``path`` (ElementPath, relative to ``element``).

    ``None`` when no element matches or the element has no text; the text is returned unstripped
    (normalising it is the caller's decision). Use ``element.findall`` for repeated elements.
    """
    found = element.find(path, namespaces=dict(namespaces) if namespaces else None)
    if found is None or not found.text:
        return None
    return found.text
