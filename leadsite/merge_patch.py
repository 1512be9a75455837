"""JSON merge patch (RFC 7396): how PATCH applies an object field such as a lead's customFields."""


def merge_patch(target, patch):
    """`target` with `patch` merged in: a key set to null is removed, an object merges key by key,
    anything else replaces.

    >>> merge_patch({"a": 1, "b": {"c": 2, "d": 3}}, {"a": None, "b": {"c": 4}, "e": 5})
    {'b': {'c': 4, 'd': 3}, 'e': 5}
    """
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result
