"""Text the databases cannot store: NUL (PostgreSQL refuses it in text and jsonb) and unpaired
surrogates (no UTF-8 encoding exists for them). The API's JSON parser, the importer and the admin
refuse such input with the same message instead of failing at the database."""

import re

UNSTORABLE_MESSAGE = "contains a character that cannot be stored (NUL or an unpaired surrogate)."

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def is_unstorable_text(text: str) -> bool:
    return _UNSTORABLE.search(text) is not None


def storable_text(text: str) -> str:
    """The text with each character no database can store replaced by U+FFFD, to store or show what was given."""
    return _UNSTORABLE.sub("\ufffd", text)


def find_unstorable(value, path: str = "") -> str | None:
    """The path (`customFields.a[0]`) of the first string, or object key, in `value` that cannot be stored.

    None if there is none; "" if `value` itself is such a string.
    """
    if isinstance(value, str):
        return path if is_unstorable_text(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            key_path = f"{path}.{key}" if path else str(key)
            if isinstance(key, str) and is_unstorable_text(key):
                return key_path
            found = find_unstorable(item, key_path)
            if found is not None:
                return found
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            found = find_unstorable(item, f"{path}[{index}]")
            if found is not None:
                return found
    return None
