"""Exceptions for operators (STYLE rule 13).

Every exception raised on purpose by juminzei derives from :class:`JuminzeiError`. Its ``str()`` is a
sentence an operator can act on: which file, which record, which field, what was expected. The CLI
and the DAG log print that sentence. Messages never carry personal data (names, My Numbers,
addresses); a record is named by its file and line number.

The family lives here, in the lowest layer, so that every layer (dags, pipelines, transforms,
contracts, the CLI) may raise or catch it without an import running upward
(tests/unit/test_import_layers.py); it imports only the standard library. An error that belongs to
one module derives from these classes beside the code that raises it (``UnsafeXmlError`` in
:mod:`transforms.safe_xml`, ``LedgerError`` in :mod:`pipelines.ledger`, ``ReviewError`` in
:mod:`pipelines.review`, ``MyNumberLeakError`` in :mod:`pipelines.lake`).
"""

from __future__ import annotations

from pathlib import Path


class JuminzeiError(Exception):
    """Base class of every error juminzei raises deliberately."""


class ConfigError(JuminzeiError):
    """The run configuration or the environment is unusable (bad env var, bad key file, bad param)."""


class FileRecordError(Exception):
    """Mix-in of the errors that name a file, a record and a field, and say what was expected:
    ``"<subject> <file>, record <n>, field <f>: <message>; expected <expected>."``.

    ``record_no`` is 1-based or ``None`` when the whole file is concerned; a format whose record 0 is a
    control block names it with ``record_zero``. ``subject`` says which way the file goes ("Input file",
    "Output file"). Placed first among the bases, before the :class:`JuminzeiError` it is mixed into."""

    subject = "Input file"
    record_zero: str | None = None

    def __init__(
        self,
        file: str | Path,
        record_no: int | None,
        field: str | None,
        expected: str,
        message: str,
    ) -> None:
        self.file = str(file)
        self.record_no = record_no
        self.field = field
        self.expected = expected
        self.message = message
        super().__init__(self.__str__())

    def __reduce__(self):
        # rebuilt from its parts, so that the error crosses a process boundary (pickle) with its sentence
        return (type(self), (self.file, self.record_no, self.field, self.expected, self.message))

    def __str__(self) -> str:
        where = f"{self.subject} {self.file}"
        if self.record_no == 0 and self.record_zero is not None:
            where += f", {self.record_zero}"
        elif self.record_no is not None:
            where += f", record {self.record_no}"
        if self.field is not None:
            where += f", field {self.field}"
        message = self.message.rstrip(". ")
        return f"{where}: {message}; expected {self.expected}."


class InputFileError(FileRecordError, JuminzeiError):
    """An input file cannot be processed as a whole (missing, empty, wrong header, wrong layout).

    Row-level problems never raise: the row is quarantined. This error is for the file itself.
    ``record_no`` is the 1-based line number (header = line 1) or ``None`` when the whole file is
    concerned; ``field`` is the layout column or ``None``.
    """


class ContractError(JuminzeiError):
    """A staged DataFrame broke its Pandera contract: a bug or an unexpected input, never written."""


class ReconciliationError(JuminzeiError):
    """The counts of a stage do not reconcile (received ≠ staged + quarantined + forwarded)."""


class PartitionError(JuminzeiError):
    """A lake partition is absent, incomplete or does not match its manifest."""


class AppendOnlyError(PartitionError):
    """A posting run of an append-only dataset (the collection ledger) was written again with other rows."""


class StorageError(JuminzeiError):
    """The lake could not be written: no space left, a quota used up, no permission, a read-only file system.
    The sentence names the path; nothing of the run was kept (pipelines.stage)."""


class RunSkipped(JuminzeiError):
    """A DAG run that must do nothing (a late scheduled run) or start nothing downstream (a dry run, a run
    that changed nothing). The DAG turns it into a skipped task; the sentence says why."""
