# The schema and docs pages keep their slash; every API route also answers without one.
PATHS_WITH_SLASH = ("/api/",)


def drop_optional_slash_duplicates(endpoints):
    """Document each API route once, under the spec's slash-less path (`/leads`, not `/leads/`)."""
    cleaned = []
    for path, path_regex, method, callback in endpoints:
        if path.endswith("/") and not path.startswith(PATHS_WITH_SLASH):
            path = path.rstrip("/")
        cleaned.append((path, path_regex, method, callback))
    return cleaned
