"""The one normalization of an account's email: at user creation, at login and for the login throttles."""

import unicodedata


def normalize_email(email: str) -> str:
    """Trimmed, lower-cased (Python's `str.lower`) and in Unicode NFC.

    Deliberately not NFKC or `casefold()`: those turn the look-alikes `ſ` (long s) into `s`, and
    PostgreSQL's UPPER() turns `ı` (dotless i) into `I`. An address that only looks like another
    one is another, unknown address. Accounts are stored and looked up by exactly this value.
    """
    return unicodedata.normalize("NFC", email.strip().lower())
