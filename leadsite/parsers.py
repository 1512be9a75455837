"""The API's JSON parser: DRF's, plus two limits that keep hostile bodies from reaching the code.

- Nesting deeper than MAX_DEPTH is a 400 `too_deep`. The brackets are counted before json.loads
  (which recurses, and raises RecursionError around 1,000 levels): one pass over the body with its
  strings taken out, so brackets inside strings do not count.
- A string, value or object key, holding NUL or an unpaired surrogate (leadsite/text.py) is a
  400 `unstorable_text` naming where it is (`customFields.k[1]`): no database can store it, and
  a lone surrogate cannot even be encoded to hash or log it.
"""

import codecs
import re

from rest_framework.exceptions import ParseError, ValidationError
from rest_framework.parsers import JSONParser as DRFJSONParser
from rest_framework.parsers import get_encoding
from rest_framework.utils import json

from leadsite.text import UNSTORABLE_MESSAGE, find_unstorable, storable_text

# Every body the spec describes nests 3 levels or so, customFields at most 5 inside that.
MAX_DEPTH = 32

_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_BRACKETS = re.compile(r"[\[\]{}]")


def nesting_depth(text, limit):
    """How deep the JSON text nests, counting up to `limit` + 1 (then it stops)."""
    depth = deepest = 0
    for match in _BRACKETS.finditer(_STRING.sub("", text)):
        if match.group() in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > limit:
                    break
        else:
            depth -= 1
    return deepest


def shown_path(path):
    """The field path as an error may show it: the bad characters as U+FFFD (a lone surrogate cannot be encoded)."""
    return storable_text(path)


def refuse_unstorable(data, path=""):
    """A 400 `unstorable_text` naming the first string in `data` that no database can store."""
    found = find_unstorable(data, path)
    if found is not None:
        raise ValidationError(
            {shown_path(found) or "non_field_errors": [f"The text {UNSTORABLE_MESSAGE}"]}, code="unstorable_text"
        )


class JSONParser(DRFJSONParser):
    max_depth = MAX_DEPTH

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = get_encoding(parser_context or {})
        try:
            text = codecs.getreader(encoding)(stream).read()
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
        if nesting_depth(text, self.max_depth) > self.max_depth:
            raise ParseError(f"The JSON nests deeper than {self.max_depth} levels.", code="too_deep")
        try:
            data = json.loads(text, parse_constant=json.strict_constant if self.strict else None)
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
        refuse_unstorable(data)
        return data
