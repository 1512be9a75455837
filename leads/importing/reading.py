"""Reading an import file: its format (CSV, JSON array, JSON Lines), encoding and delimiter, and its rows.

The file is streamed: rows are read one at a time as SourceRows, and a row that cannot be read
(bad encoding, broken JSON, the wrong number of cells) is a row with a problem, not a crash.
"""

import codecs
import csv
import io
import json
import re
from dataclasses import dataclass

from leads.importing.errors import ImportFileError
from leadsite.parsers import MAX_DEPTH, nesting_depth

FORMATS = ("csv", "json", "jsonl")
SAMPLE_SIZE = 64 * 1024
JSON_CHUNK = 256 * 1024
# A JSON array element bigger than this is taken as broken JSON rather than read on to the end of the file.
MAX_JSON_OBJECT = 8 * 1024 * 1024
# As the API's bodies: deeper JSON is that row's error. Python's json recurses (RecursionError around 1,000 levels).
TOO_DEEP = f"The JSON nests deeper than {MAX_DEPTH} levels."


def too_deep(text: str) -> bool:
    """Whether the JSON text nests deeper than MAX_DEPTH, found before decoding it.

    A text with few brackets (nearly every row) costs two str.count; only others are scanned.
    """
    return text.count("[") + text.count("{") > MAX_DEPTH and nesting_depth(text, MAX_DEPTH) > MAX_DEPTH


_UNREAD = object()  # an element too deep to decode
_JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)


def _end_of_nested(text: str, start: int) -> int | None:
    """The index after the array or object that starts at text[start], or None if the text ends first."""
    depth = 0
    for match in _JSON_TOKEN.finditer(text, start):
        token = match.group()
        if token in ("[", "{"):
            depth += 1
        elif token in ("]", "}"):
            depth -= 1
            if depth == 0:
                return match.end()
    return None


class _CountingReader(io.RawIOBase):
    """Gives back `prefix` (the sample already read) and then the stream, counting bytes for the progress bar."""

    def __init__(self, prefix: bytes, stream):
        self.prefix, self.stream, self.bytes_read = prefix, stream, 0

    def readable(self):
        return True

    def readinto(self, buffer):
        if self.prefix:
            data, self.prefix = self.prefix[: len(buffer)], self.prefix[len(buffer) :]
        else:
            data = self.stream.read(len(buffer))
        buffer[: len(data)] = data
        self.bytes_read += len(data)
        return len(data)

    def tell(self):
        # What io.BufferedReader.tell() starts from: it subtracts what it holds but has not given out.
        return self.bytes_read


@dataclass
class SourceRow:
    line: int
    values: dict | None  # as read: header or key -> value
    original: list | str  # what the error report shows: the CSV cells or the JSON text
    problem: str | None = None  # why the row could not be read
    code: str = ""


def detect_format(name: str, sample: bytes) -> str:
    suffix = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if suffix in ("jsonl", "ndjson"):
        return "jsonl"
    if suffix in ("json", "csv"):
        return suffix
    start = sample.removeprefix(codecs.BOM_UTF8).lstrip()[:1]
    return {b"[": "json", b"{": "jsonl"}.get(start, "csv")


def detect_encoding(sample: bytes) -> str:
    """UTF-8 (with or without BOM) unless the sample's non-ASCII lines are all invalid UTF-8: then cp1252.

    A UTF-8 file with a few broken lines stays UTF-8 (those lines become bad rows); a file that
    a Windows program saved in its legacy code page is read as such.
    """
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    lines = sample.splitlines()
    if lines and not sample.endswith(b"\n"):
        lines.pop()  # possibly cut in the middle of a character
    non_ascii = [line for line in lines if not line.isascii()]
    if not non_ascii or any(_is_utf8(line) for line in non_ascii):
        return "utf-8"
    return "cp1252"


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def detect_delimiter(header_line: str) -> str:
    counts = {delimiter: header_line.count(delimiter) for delimiter in ",;\t|"}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


class DecodedLines:
    """The file's lines decoded one at a time, so that a badly encoded line is one bad row, not a crash."""

    def __init__(self, stream, encoding: str):
        self.stream, self.encoding = stream, encoding
        self.line = 0
        self.problems = {}  # line number -> message, for lines not read yet by the consumer

    def __iter__(self):
        if codecs.lookup(self.encoding).name.startswith(("utf-16", "utf-32")):
            # Not ASCII-compatible: lines cannot be split on b"\n"; decode the stream as a whole.
            for text in io.TextIOWrapper(self.stream, self.encoding, newline=""):
                self.line += 1
                yield text
            return
        for raw in self.stream:
            self.line += 1
            try:
                yield raw.decode(self.encoding)
            except UnicodeDecodeError as exc:
                self.problems[self.line] = (
                    f"Not valid {self.encoding}: byte 0x{raw[exc.start]:02x} at position {exc.start + 1}. "
                    "Give --encoding if the file is in another encoding (e.g. --encoding cp1252)."
                )
                yield raw.decode(self.encoding, errors="replace")

    def problem_between(self, first: int, last: int) -> str | None:
        found = None
        for line in [line for line in self.problems if line <= last]:
            message = self.problems.pop(line)
            if line >= first and found is None:
                found = message
        return found


class CsvRows:
    def __init__(self, lines: DecodedLines, delimiter: str):
        self.lines = lines
        self.reader = csv.reader(lines, delimiter=delimiter)
        self.header = [name.strip() for name in next(self.reader, [])]
        if lines.problem_between(1, self.reader.line_num):
            raise ImportFileError(f"The header line is not valid {lines.encoding}; give --encoding.")

    def __iter__(self):
        width = len(self.header)
        previous = self.reader.line_num
        while True:
            try:
                cells = next(self.reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield SourceRow(previous + 1, None, [], f"Unreadable CSV: {exc}.", "csv")
                return
            line, previous = previous + 1, self.reader.line_num
            problem = self.lines.problem_between(line, previous)
            if not any(cell.strip() for cell in cells):
                continue
            if problem:
                yield SourceRow(line, None, cells, problem, "encoding")
            elif len(cells) != width:
                message = f"Has {len(cells)} values but the header has {width} columns."
                yield SourceRow(line, None, cells, message, "columns")
            else:
                yield SourceRow(line, dict(zip(self.header, cells, strict=True)), cells)


def jsonl_rows(lines: DecodedLines):
    for text in lines:
        line, text = lines.line, text.lstrip("\ufeff").strip()
        problem = lines.problems.pop(line, None)
        if problem:
            yield SourceRow(line, None, text, problem, "encoding")
        elif text:
            yield _json_row(line, text)


def _json_row(line: int, text: str) -> SourceRow:
    if too_deep(text):
        return SourceRow(line, None, text, TOO_DEEP, "too_deep")
    try:
        value = json.loads(text)
    except ValueError as exc:
        return SourceRow(line, None, text, f"Invalid JSON: {exc.msg} (column {exc.colno}).", "json")
    if not isinstance(value, dict):
        return SourceRow(line, None, text, "Must be a JSON object ({...}).", "json")
    return SourceRow(line, value, text)


def json_array_rows(stream, encoding: str):
    """The elements of a JSON array, read a chunk at a time; broken JSON ends the file with a bad row."""
    text = io.TextIOWrapper(stream, encoding)
    decoder = json.JSONDecoder()
    buf, pos, line, eof = "", 0, 1, False
    space = re.compile(r"[ \t\r\n]*")

    def more():
        nonlocal buf, pos, eof
        chunk = text.read(JSON_CHUNK)
        eof = not chunk
        buf, pos = buf[pos:] + chunk, 0

    def skip_space():
        nonlocal pos, line
        while True:
            end = space.match(buf, pos).end()
            line += buf.count("\n", pos, end)
            pos = end
            if pos < len(buf) or eof:
                return
            more()

    def broken(message):
        return SourceRow(line, None, buf[pos : pos + 200], message, "json")

    try:
        more()
        if buf.startswith("\ufeff"):
            pos = 1
        skip_space()
        if buf[pos : pos + 1] != "[":
            yield broken("Invalid JSON: a JSON file must hold an array of objects ([{...}, ...]).")
            return
        pos += 1
        first = True
        while True:
            skip_space()
            if buf[pos : pos + 1] == "]":
                return
            if not first:
                if buf[pos : pos + 1] != ",":
                    yield broken("Invalid JSON: expected ',' or ']' after an element.")
                    return
                pos += 1
                skip_space()
            first = False
            while True:
                try:
                    value, end = decoder.raw_decode(buf, pos)
                    break
                except ValueError as exc:
                    if eof or len(buf) - pos > MAX_JSON_OBJECT:
                        at = line + buf.count("\n", pos, exc.pos)
                        yield SourceRow(at, None, buf[pos : pos + 200], f"Invalid JSON: {exc.msg}.", "json")
                        return
                    more()
                except RecursionError:  # far too deep: that element is a bad row, the next ones are read on
                    value, end = _UNREAD, _end_of_nested(buf, pos)
                    if end is not None:
                        break
                    if eof or len(buf) - pos > MAX_JSON_OBJECT:
                        yield broken(f"{TOO_DEEP} The rest of the file was not read.")
                        return
                    more()
            original = buf[pos:end]
            if isinstance(value, dict) and not too_deep(original):
                yield SourceRow(line, value, original)
            elif value is _UNREAD or isinstance(value, dict):
                yield SourceRow(line, None, original, TOO_DEEP, "too_deep")
            else:
                yield SourceRow(line, None, original, "Must be a JSON object ({...}).", "json")
            line += buf.count("\n", pos, end)
            pos = end
    except UnicodeDecodeError as exc:
        yield SourceRow(line, None, "", f"Not valid {encoding}: {exc.reason}; give --encoding.", "encoding")
    finally:
        text.detach()


@dataclass
class InputFile:
    rows: object  # iterator of SourceRow
    format: str
    encoding: str
    header: list | None  # CSV only
    counter: _CountingReader
    size: int | None  # bytes, when known
    buffered: io.BufferedReader | None = None

    @property
    def bytes_read(self):
        return self.counter.bytes_read

    @property
    def position(self) -> int:
        """Bytes of the file taken by the readers so far (not what the buffer read ahead): the progress bar's base."""
        return self.buffered.tell() if self.buffered is not None else self.counter.bytes_read


def open_input(stream, *, name="", size=None, format=None, encoding=None, delimiter=None) -> InputFile:
    """Detect what the binary `stream` holds (format, encoding, delimiter) and read its rows lazily."""
    sample = stream.read(SAMPLE_SIZE)
    if len(sample) == SAMPLE_SIZE:
        sample += stream.readline(SAMPLE_SIZE)
    counter = _CountingReader(sample, stream)
    buffered = io.BufferedReader(counter, 1024 * 1024)
    format = format or detect_format(name, sample)
    encoding = encoding or detect_encoding(sample)
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise ImportFileError(f"Unknown encoding '{encoding}'.") from None
    header = None
    if format == "json":
        rows = json_array_rows(buffered, encoding)
    elif format == "jsonl":
        rows = jsonl_rows(DecodedLines(buffered, encoding))
    else:
        if delimiter is None:
            first_line = sample.split(b"\n", 1)[0].decode(encoding, errors="replace")
            delimiter = detect_delimiter(first_line)
        csv_rows = CsvRows(DecodedLines(buffered, encoding), delimiter)
        rows, header = iter(csv_rows), csv_rows.header
    return InputFile(
        rows=rows, format=format, encoding=encoding, header=header, counter=counter, size=size, buffered=buffered
    )
