import uuid

from leadsite.ids import uuid7
from leadsite.text import find_unstorable


def test_uuid7_is_version_7_and_sorts_in_creation_order():
    keys = [uuid7() for _ in range(2000)]
    assert all(key.version == 7 and key.variant == uuid.RFC_4122 for key in keys)
    assert len(set(keys)) == len(keys)
    # Keys of different milliseconds sort by time; compare the 48-bit timestamp prefix.
    prefixes = [key.int >> 80 for key in keys]
    assert prefixes == sorted(prefixes)


def test_find_unstorable_names_the_path_of_the_bad_string():
    assert find_unstorable({"a": "fine", "b": [1, "x\x00y"]}) == "b[1]"
    assert find_unstorable({"k": {"bad\ud800key": 1}}, "customFields") == "customFields.k.bad\ud800key"
    assert find_unstorable("lone \udc80") == ""
    assert find_unstorable({"a": ["ok", {"b": "ok"}], "n": None, "i": 3}) is None
