"""The loader of the registry-dialect layouts (contracts.resident_snapshot.load_layout and the field rules
of contracts/layouts/*.yaml): what a field of a committed layout means once loaded, and every malformed
field refused with a sentence naming the layout and the field. The expected values are read off the YAML
files by eye and written here."""

from __future__ import annotations

import pytest

from contracts import resident_snapshot as c


def test_the_fields_of_committed_layouts_carry_what_their_yaml_says():
    support = c.load_layout("support_measures")
    atena = support.field("atena_no")
    assert (atena.type, atena.width, atena.required, atena.on_invalid) == ("digits", 10, True, "hold")
    measure = support.field("measure")
    assert (measure.type, measure.dtype, measure.required) == ("code", "String", True)
    assert measure.allowed == {"1": "配偶者暴力 (DV)", "2": "ストーカー行為等", "3": "児童虐待等", "9": "その他これらに準ずる"}
    assert (support.field("end_date").type, support.field("end_date").format) == ("date", "YYYYMMDD")
    assert atena.title == "宛名番号 (atena_no)"

    mailing = c.load_layout("mailing_address")
    detail = mailing.field("address_detail")
    assert (detail.required, detail.on_invalid, detail.max_length, detail.hold_because) == (False, "warn", 40, None)
    assert mailing.field("addressee").max_length == 40 and mailing.field("address").max_length == 80

    pension = c.load_layout("pension_previous_year")
    tax = pension.field("previous_year_tax")
    assert (tax.type, tax.pattern) == ("text", "^[0-9]{1,9}$")
    assert pension.key == ("payer_code", "basic_pension_no", "pension_code")

    disability = c.load_layout("disability")
    grade = disability.field("grade")
    assert grade.allowed is None and grade.allowed_by == (
        "certificate_type", {"身体": ("1", "2", "3", "4", "5", "6"), "精神": ("1", "2", "3"), "療育": ("A", "B")})
    assert disability.field("special").dtype == "Boolean"
    assert c.load_layout("my_number").field("my_number").check == "my_number_check_digit"
    assert disability.field("certificate_type").dtype == "String"  # the default dtype of a code field
    assert [f.dtype for f in support.fields if f.type != "code"] == [None, None, None]


def test_asking_for_a_field_a_layout_does_not_have_names_both():
    with pytest.raises(KeyError, match="layout support_measures has no field 'measures'"):
        c.load_layout("support_measures").field("measures")


def _field(**raw):
    return c._field_from({"name": "x", "label": "エックス", **raw}, "test_layout")


@pytest.mark.parametrize(("raw", "sentence"), [
    ({"type": "number", "required": True}, "layout test_layout, field 'x': type must be one of ['code', 'date', 'digits', 'text']"),
    ({"type": "digits", "required": True}, "layout test_layout, field 'x': a digits field needs an integer width"),
    ({"type": "digits", "width": "10", "required": True}, "a digits field needs an integer width"),
    ({"type": "date", "format": "YYYY-MM-DD", "required": True}, "the only date format is YYYYMMDD"),
    ({"type": "code", "required": True}, "a code field needs exactly one of allowed / allowed_by"),
    ({"type": "code", "required": True, "allowed": {"1": "a"}, "allowed_by": {"field": "y", "values": {}}},
     "a code field needs exactly one of allowed / allowed_by"),
    ({"type": "code", "required": True, "allowed": {"1": "a"}, "dtype": "Int64"},
     "dtype must be one of ['Boolean', 'Int8', 'String']"),
    ({"type": "text", "required": True, "check": "luhn"},
     "check must be one of ['local_government_code_check_digit', 'my_number_check_digit']"),
    ({"type": "text", "required": True, "on_invalid": "warn"}, "a required field always holds its record (no on_invalid)"),
    ({"type": "text", "required": True, "hold_because": "tax_basis"}, "a required field always holds its record"),
    ({"type": "text"}, "an optional field must state on_invalid: one of hold, warn"),
    ({"type": "text", "on_invalid": "drop"}, "an optional field must state on_invalid: one of hold, warn"),
    ({"type": "text", "on_invalid": "hold"}, "hold_because is given exactly when on_invalid is hold"),
    ({"type": "text", "on_invalid": "warn", "hold_because": "tax_basis"}, "hold_because is given exactly when"),
    ({"type": "text", "on_invalid": "hold", "hold_because": "taste"},
     "hold_because must be one of matching_key, record_key, tax_basis, collection, consistency"),
])
def test_a_malformed_field_is_refused_naming_layout_field_and_rule(raw, sentence):
    with pytest.raises(ValueError) as refused:
        _field(**raw)
    assert sentence in str(refused.value) and str(refused.value).startswith("layout test_layout, field 'x': ")


def test_an_optional_field_keeps_its_decision_and_a_required_one_always_holds():
    assert _field(type="text", on_invalid="warn").on_invalid == "warn"
    assert _field(type="text", required=True, on_invalid="hold").on_invalid == "hold"
    held = _field(type="text", on_invalid="hold", hold_because="collection")
    assert (held.on_invalid, held.hold_because, held.required) == ("hold", "collection", False)
    code = _field(type="code", required=True, allowed={1: 2})
    assert code.allowed == {"1": "2"}  # YAML numbers become the strings a CSV field holds
    by = _field(type="code", required=True, allowed_by={"field": "y", "values": {1: [2, 3]}})
    assert by.allowed_by == ("y", {"1": ("2", "3")})
