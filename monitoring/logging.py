import json
import logging
import re


class JsonFormatter(logging.Formatter):
    """One JSON object per line, for log shippers (LOG_FORMAT=json)."""

    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "time": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in ("request_id", "user_id", "method", "path", "status", "duration_ms"):
            if hasattr(record, key):
                payload[key] = getattr(record, key)
        if record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        return json.dumps(payload)


class ScrubSecrets(logging.Filter):
    """Masks API keys in a record: `api_key=...` in a logged URL or request line (runserver's
    django.server logs the whole line, query string included, and SMS-Activate-protocol clients send
    the key there) and anything shaped like one of our keys (`nmk_<prefix>_<secret>`)."""

    PATTERNS = (
        (re.compile(r"(api_key=)[^&\s\"']+", re.IGNORECASE), r"\1***"),
        (re.compile(r"nmk_[0-9a-f]{8}_[A-Za-z0-9_\-]+"), "nmk_***"),
    )

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        scrubbed = message
        for pattern, replacement in self.PATTERNS:
            scrubbed = pattern.sub(replacement, scrubbed)
        if scrubbed != message:
            record.msg, record.args = scrubbed, None
        return True
