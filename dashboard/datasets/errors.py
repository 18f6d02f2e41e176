"""Turn what pandas, dask, pyarrow and fsspec raise into a sentence for the user.

Reading a file can fail twice: when the lazy frame is built (dask reads a sample
for the column types) and again when a later partition is computed. ``explain``
serves both: it is called on the exception, wherever it was caught. Exceptions
are matched by class *name* along the cause chain, since a distributed worker may
re-raise them without their chain and optional libraries (botocore, aiohttp) may
not be importable here.
"""
from __future__ import annotations

import re

from .base import DatasetError

# How dask wraps errors from backend readers; the part after it is the real message.
_DASK_WRAPPER = "Original Message: "
_FIELDS = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")
_DTYPE_ROW = re.compile(r"^\|\s*(.+?)\s*\|\s*(.+?)\s*\|\s*(.+?)\s*\|$")
_BYTE = re.compile(r"can't decode byte (0x[0-9a-fA-F]{2})")
_MISSING_PACKAGE = re.compile(r"\b(s3fs|gcsfs|adlfs|aiohttp|requests|paramiko|ocifs)\b")
_CONNECTION_ERRORS = {
    "ClientConnectorError", "ClientConnectionError", "ClientOSError", "ServerDisconnectedError",
    "ConnectionRefusedError", "ConnectionResetError", "ConnectTimeoutError", "ConnectionError",
    "EndpointConnectionError", "gaierror", "ServerTimeoutError", "TimeoutError",
}
_CREDENTIAL_ERRORS = {"NoCredentialsError", "PartialCredentialsError", "DefaultCredentialsError",
                      "ClientAuthenticationError", "CredentialRetrievalError"}


def _chain(exc: BaseException):
    """``exc`` and its causes, most specific last (no loops)."""
    seen = []
    while exc is not None and exc not in seen:
        seen.append(exc)
        exc = exc.__cause__ or exc.__context__
    return seen


def _names(exc: BaseException) -> set[str]:
    return {cls.__name__ for e in _chain(exc) for cls in type(e).__mro__}


def message_of(exc: BaseException) -> str:
    """The library's own message, without dask's "An error occurred..." wrapper."""
    text = str(exc)
    if _DASK_WRAPPER in text:
        text = text.split(_DASK_WRAPPER, 1)[1]
    return text.strip() or type(exc).__name__


def _subject(dataset) -> tuple[str, str]:
    name = getattr(dataset, "name", "")
    who = f"Dataset '{name}'" if name else "The dataset"
    return who, str(getattr(dataset, "path", "") or "its files")


def _dtype_mismatch(text: str) -> list[tuple[str, str, str]]:
    rows = []
    for line in text.splitlines():
        match = _DTYPE_ROW.match(line.strip())
        if match and match.group(1) != "Column":
            rows.append(match.groups())
    return rows


def explain(exc: Exception, dataset=None) -> DatasetError:
    """A DatasetError whose sentence says what is wrong with ``dataset`` and what to do.

    Use it wherever reading may fail, including around ``compute()``: a bad row
    in a later partition only shows when that partition is read.
    """
    known = explain_read(exc, dataset)
    if known is not None:
        return known
    who, path = _subject(dataset)
    first = message_of(exc).splitlines()[0].rstrip(" .")
    return DatasetError(f"{who}: {path} could not be read ({type(exc).__name__}: {first}).")


def explain_read(exc: Exception, dataset=None) -> DatasetError | None:
    """Like ``explain``, but None when ``exc`` is not a failure it recognises as reading's."""
    if isinstance(exc, DatasetError):
        return exc
    who, path = _subject(dataset)
    names = _names(exc)
    text = "\n".join(message_of(e) for e in _chain(exc))
    first = message_of(exc).splitlines()[0].rstrip(" .")

    if "Mismatched dtypes found" in text:
        rows = _dtype_mismatch(text)
        if rows:
            columns = ", ".join(f"'{c}'" for c, _, _ in rows)
            found = ", ".join(sorted({f for _, f, _ in rows}))
            expected = ", ".join(sorted({e for _, _, e in rows}))
            example = ", ".join(f"{c}: str" for c, _, _ in rows)
            plural = "s" if len(rows) > 1 else ""
            return DatasetError(
                f"{who}: column{plural} {columns} in {path} hold{'' if plural else 's'} "
                f"{found} values further down the data, but the first rows looked like "
                f"{expected}. Give the type in read_options, e.g. dtype: {{{example}}}.")
        return DatasetError(f"{who}: the column types of {path} change further down the "
                            "data; give them in read_options (dtype: {column: str}).")
    if names & _CREDENTIAL_ERRORS or "Unable to locate credentials" in text:
        return DatasetError(
            f"{who}: no cloud credentials were found to read {path}. Configure credentials "
            "on the server (e.g. AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), or, for a "
            "public bucket, add anon: true to storage_options.")
    if "ImportError" in names:
        package = _MISSING_PACKAGE.search(text)
        what = f"the {package.group(1)} package" if package else "a package"
        protocol = path.split("://", 1)[0] + "://" if "://" in path else "such"
        return DatasetError(f"{who}: reading {protocol} paths needs {what}, which is not "
                            f"installed on this server ({first}).")
    if names & _CONNECTION_ERRORS:
        return DatasetError(
            f"{who}: could not connect to the server holding {path} "
            f"({message_of(_chain(exc)[-1])}). Check the address, and that it can be reached "
            "from this server and its Dask workers.")
    if "EmptyDataError" in names:
        return DatasetError(f"{who}: {path} is empty (or holds only blank lines); a CSV file "
                            "needs at least a header row.")
    if "ParserError" in names:
        fields = _FIELDS.search(text)
        if fields:
            expected, line, saw = fields.groups()
            return DatasetError(
                f"{who}: {path} is not well-formed CSV: a row has {saw} fields but the "
                f"header has {expected} (pandas reports line {line} of the block it was "
                "reading). Fix that row, or add on_bad_lines: skip to read_options to drop "
                "such rows.")
        if "EOF" in text:  # pandas' words for a quote that is opened and never closed
            return DatasetError(f"{who}: {path} is not well-formed CSV: a quoted value is "
                                f"never closed ({first}).")
        return DatasetError(f"{who}: {path} is not well-formed CSV ({first}).")
    if "UnicodeDecodeError" in names or "UnicodeError" in names:
        byte = _BYTE.search(text)
        detail = f" (it contains the byte {byte.group(1)})" if byte else ""
        return DatasetError(
            f"{who}: {path} is not UTF-8 text{detail}. Give the file's encoding in "
            "read_options, e.g. encoding: latin-1.")
    if "ArrowInvalid" in names or "ArrowException" in names:
        if "magic bytes" in text or "Is this a 'parquet' file" in text:
            return DatasetError(f"{who}: {path} is not a Parquet file (or it is damaged).")
        return DatasetError(f"{who}: the Parquet data in {path} cannot be read ({first}).")
    if "parquet_file_extension" in text:
        return DatasetError(f"{who}: the folder {path} holds no Parquet files "
                            "(.parquet, .parq or .pq).")
    if "resolved to no files" in text:
        return DatasetError(f"{who}: no files match {path}.")
    if "PermissionError" in names:
        return DatasetError(f"{who}: this server has no permission to read {path}.")
    if "IsADirectoryError" in names:
        return DatasetError(f"{who}: {path} is a folder; for CSV files give a glob such as "
                            "folder/*.csv.")
    if "FileNotFoundError" in names:
        return DatasetError(f"{who}: {path} does not exist.")
    if "TypeError" in names and "unexpected keyword argument" in text:
        keyword = re.search(r"unexpected keyword argument '([^']+)'", text)
        return DatasetError(f"{who}: the option '{keyword.group(1)}' is not understood when "
                            f"reading {path}; check read_options and storage_options.")
    return None
