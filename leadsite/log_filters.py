"""Logging filters named in the settings' LOGGING."""

import logging


class OneLineWarning(logging.Filter):
    """Turn a record into a WARNING without its traceback.

    Django logs each request with a Host outside ALLOWED_HOSTS as an ERROR with a full traceback
    (django.security.DisallowedHost). Anybody on the internet can send one, and the client already
    gets a 400; one line ("Invalid HTTP_HOST header: ...") is enough to spot a misconfigured host.
    """

    def filter(self, record):
        record.levelno = logging.WARNING
        record.levelname = logging.getLevelName(logging.WARNING)
        record.exc_info = None
        record.exc_text = None
        return True
