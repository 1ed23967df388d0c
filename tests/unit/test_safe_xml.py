"""Hostile and legitimate XML for transforms.safe_xml (all documents are bytes built here; no network)."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from contracts.errors import JuminzeiError
from transforms.safe_xml import UnsafeXmlError, parse_untrusted_xml, text_at

NS = "http://xml.e-tax.nta.go.jp/XSD/shotoku"
NAMESPACES = {"s": NS}
NAME = "山田 太郎"

LEGIT = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    f'<DATA xmlns="{NS}" id="DATA">\n'
    "  <RKO0010 VR=\"25.0.0\" id=\"RKO0010\">\n"
    "    <CONTENTS>\n"
    "      <IT>\n"
    f"        <NOZEISHA_NM>{NAME}</NOZEISHA_NM>\n"
    "        <NOZEISHA_ADR>東京都港区芝公園1-5-25 &amp; 別館</NOZEISHA_ADR>\n"
    "        <EMPTY/>\n"
    "      </IT>\n"
    "    </CONTENTS>\n"
    "  </RKO0010>\n"
    "</DATA>\n"
).encode("utf-8")

XXE_FILE = b"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE DATA [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<DATA><NOZEISHA_NM>&xxe;</NOZEISHA_NM></DATA>
"""

XXE_PARAMETER = b"""<?xml version="1.0"?>
<!DOCTYPE DATA [
  <!ENTITY % file SYSTEM "file:///etc/passwd">
  <!ENTITY % wrap "<!ENTITY &#x25; send SYSTEM 'http://127.0.0.1:9/?%file;'>">
  %wrap;
  %send;
]>
<DATA/>
"""

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<lolz>&lol9;</lolz>
"""

EXTERNAL_DTD = b'<?xml version="1.0"?>\n<!DOCTYPE x SYSTEM "http://127.0.0.1:9/x.dtd">\n<x>1</x>\n'

OVERSIZED = b'<?xml version="1.0"?>\n<DATA>' + b"<A>0123456789</A>" * (3_000_000 // 17) + b"</DATA>"

DEEP = b"<a>" * 10_000 + b"</a>" * 10_000

MALFORMED = f'<?xml version="1.0"?>\n<DATA xmlns="{NS}"><NOZEISHA_NM>{NAME}</DATA>\n'.encode()

UNDECLARED_ENTITY = b"<DATA><NOZEISHA_NM>&xxe;</NOZEISHA_NM></DATA>"

HOSTILE = [
    pytest.param(XXE_FILE, "xml_entity_forbidden", id="xxe-system-file"),
    pytest.param(XXE_PARAMETER, "xml_entity_forbidden", id="xxe-parameter-entity"),
    pytest.param(BILLION_LAUGHS, "xml_entity_forbidden", id="billion-laughs"),
    pytest.param(EXTERNAL_DTD, "xml_doctype_forbidden", id="external-dtd"),
    pytest.param(OVERSIZED, "xml_too_large", id="oversized-3mb"),
    pytest.param(DEEP, "xml_too_large", id="deep-nesting-10000"),
    pytest.param(MALFORMED, "xml_malformed", id="unclosed-tag"),
    pytest.param(UNDECLARED_ENTITY, "xml_entity_forbidden", id="undeclared-entity"),
    pytest.param(b"<!doctype x>\n<x/>", "xml_doctype_forbidden", id="lowercase-doctype"),
    pytest.param('<?xml version="1.0" encoding="ISO-8859-1"?><x/>'.encode(), "xml_encoding_forbidden",
                 id="foreign-encoding"),
    pytest.param('<!DOCTYPE x SYSTEM "http://127.0.0.1:9/x.dtd"><x/>'.encode("utf-16"), "xml_encoding_forbidden",
                 id="utf16-hides-doctype"),
    pytest.param("<x/>".encode("utf-16-le"), "xml_encoding_forbidden", id="utf16-without-bom"),
    pytest.param(b"<x>\xff\xfe</x>", "xml_malformed", id="invalid-utf8"),
    pytest.param(b"", "xml_malformed", id="empty"),
]


def _passwd_fragments() -> list[str]:
    """Distinctive pieces of this machine's /etc/passwd (the XXE target), to prove none leaks."""
    try:
        lines = Path("/etc/passwd").read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        lines = []
    return ["root:x:0:0", "/bin/sh", "/usr/sbin/nologin", *(line for line in lines[:5] if line)]


@pytest.mark.parametrize(("data", "reason_code"), HOSTILE)
def test_hostile_documents_are_refused_with_their_reason(data: bytes, reason_code: str) -> None:
    with pytest.raises(UnsafeXmlError) as caught:
        parse_untrusted_xml(data, source_name="landing/etax_return/evil.xtx")
    error = caught.value
    assert error.reason_code == reason_code
    assert error.source_name == "landing/etax_return/evil.xtx"
    assert isinstance(error, JuminzeiError)
    message = str(error)
    assert "landing/etax_return/evil.xtx" in message
    assert message.count("\n") == 0 and message.endswith(".")
    for fragment in _passwd_fragments():
        assert fragment not in message


def test_no_passwd_content_reaches_any_result() -> None:
    """Even the parser alone (without the pre-checks) must not read local files: belt and braces."""
    from transforms import safe_xml

    fragments = _passwd_fragments()
    for data in (XXE_FILE, XXE_PARAMETER):
        with pytest.raises(UnsafeXmlError) as caught:
            parse_untrusted_xml(data, source_name="x.xtx")
        assert not any(f in repr(caught.value) for f in fragments)
        try:
            root = etree.fromstring(data, safe_xml._parser())
        except etree.XMLSyntaxError:
            continue
        serialised = etree.tostring(root, encoding="unicode")
        assert not any(f in serialised for f in fragments)


def test_legitimate_etax_document_parses() -> None:
    root = parse_untrusted_xml(LEGIT, source_name="etax_return/a.xtx")
    assert root.tag == f"{{{NS}}}DATA"
    assert text_at(root, "s:RKO0010/s:CONTENTS/s:IT/s:NOZEISHA_NM", NAMESPACES) == NAME
    assert text_at(root, "s:RKO0010/s:CONTENTS/s:IT/s:NOZEISHA_ADR", NAMESPACES).endswith("& 別館")
    assert text_at(root, "s:RKO0010/s:CONTENTS/s:IT/s:EMPTY", NAMESPACES) is None
    assert text_at(root, "s:RKO0010/s:CONTENTS/s:IT/s:MISSING", NAMESPACES) is None


def test_utf8_bom_and_shift_jis_are_accepted() -> None:
    assert text_at(parse_untrusted_xml(b"\xef\xbb\xbf" + LEGIT, source_name="bom.xtx"),
                   "s:RKO0010/s:CONTENTS/s:IT/s:NOZEISHA_NM", NAMESPACES) == NAME
    sjis = LEGIT.decode("utf-8").replace('encoding="UTF-8"', 'encoding="Shift_JIS"').replace(NAME, "髙橋 ①")
    root = parse_untrusted_xml(sjis.encode("cp932"), source_name="sjis.xtx")
    assert text_at(root, "s:RKO0010/s:CONTENTS/s:IT/s:NOZEISHA_NM", NAMESPACES) == "髙橋 ①"


def test_processing_instructions_are_removed_and_size_limit_is_inclusive() -> None:
    data = b'<?xml version="1.0"?>\n<?xml-stylesheet href="http://127.0.0.1:9/x.xsl"?><DATA><?pi x?><A>1</A></DATA>'
    root = parse_untrusted_xml(data, max_bytes=len(data), source_name="pi.xtx")
    assert [child.tag for child in root] == ["A"]
    assert root.getprevious() is None
    with pytest.raises(UnsafeXmlError) as caught:
        parse_untrusted_xml(data, max_bytes=len(data) - 1, source_name="pi.xtx")
    assert caught.value.reason_code == "xml_too_large"


def test_malformed_message_names_line_but_not_content() -> None:
    with pytest.raises(UnsafeXmlError) as caught:
        parse_untrusted_xml(MALFORMED, source_name="bad.xtx")
    assert "line 2" in str(caught.value)
    assert NAME not in str(caught.value)
