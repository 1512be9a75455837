"""What stops an import as a whole (as opposed to a bad row, which is skipped and reported)."""


class ImportFileError(Exception):
    """The file cannot be imported at all (as opposed to a bad row)."""
