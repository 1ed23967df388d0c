"""The operator sentence of a file-level input error (contracts.errors.InputFileError): file, then record
and field when known, what is wrong, then what was expected (STYLE rule 13)."""

from __future__ import annotations

import pickle

import pytest

from contracts.errors import InputFileError, JuminzeiError


@pytest.mark.parametrize(("record_no", "field", "where"), [
    (None, None, "Input file landing/a.csv"),
    (3, None, "Input file landing/a.csv, record 3"),
    (None, "atena_no", "Input file landing/a.csv, field atena_no"),
    (3, "atena_no", "Input file landing/a.csv, record 3, field atena_no"),
])
def test_the_sentence_names_file_record_and_field_when_known(record_no, field, where):
    error = InputFileError("landing/a.csv", record_no, field, "10 ASCII digits", "the value has 9 digits")
    assert str(error) == f"{where}: the value has 9 digits; expected 10 ASCII digits."
    assert error.args == (str(error),)  # what a log or a pickled task result shows
    assert (error.file, error.record_no, error.field) == ("landing/a.csv", record_no, field)
    assert isinstance(error, JuminzeiError)


def test_a_message_ending_in_a_full_stop_or_spaces_is_not_doubled():
    error = InputFileError("a.csv", None, None, "a header line", ". the file is empty. ")
    assert str(error) == "Input file a.csv: . the file is empty; expected a header line."


def test_the_error_survives_a_round_trip_through_pickle_with_its_sentence():
    """Airflow passes exceptions between processes; the sentence must come through."""
    error = InputFileError("a.csv", 2, "sex", "1 or 2", "the value is 3")
    assert str(pickle.loads(pickle.dumps(error))).startswith("Input file")
