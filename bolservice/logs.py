"""Log configuration: one format for uvicorn's own lines and ours, text or JSON.

A sid is a bearer capability, so no log line carries one whole: the request log shows
its first 8 characters, and uvicorn's access log (which prints whole query strings) is off.
"""

from __future__ import annotations

import json
import logging
import re
import time

# Attributes every LogRecord has; anything else on a record was passed as `extra`.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "color_message"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, and the record's extras."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(), "logger": record.name, "message": record.getMessage(),
        }
        entry.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


# What could end a text log line or pass for one (control characters, Unicode's line and
# paragraph separators) is escaped, and so is the backslash that escapes start with: a
# request's path or sid can never write a line of its own.
_UNSAFE = re.compile(r"[\\\x00-\x1f\x7f-\x9f\u2028\u2029]")
# An extra's value is written bare when it cannot be read as more than one key=value.
_BARE = re.compile(r"[\w./:@%+,…-]*")


def escaped(text: str) -> str:
    return _UNSAFE.sub(lambda match: "\\\\" if match[0] == "\\" else repr(match[0])[1:-1], text)


class TextFormatter(logging.Formatter):
    """Plain lines; extras follow the message as key=value. A line is always one line."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:
        return self._style.format(_Escaped(record))

    def formatException(self, ei) -> str:
        # A traceback keeps its lines, each indented: none can pass for a record's line.
        return "\n".join("    " + escaped(line) for line in super().formatException(ei).splitlines())

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        extras = " ".join(f"{k}={_value(v)}" for k, v in vars(record).items() if k not in _STANDARD)
        if not extras:
            return line
        first, newline, rest = line.partition("\n")  # extras go on the record's line
        return f"{first} {extras}{newline}{rest}"


class _Escaped:
    """A record seen through escaping: its message, for the line's format."""

    def __init__(self, record: logging.LogRecord) -> None:
        self.__dict__.update(vars(record), message=escaped(record.message))


def _value(value: object) -> str:
    text = str(value)
    return text if _BARE.fullmatch(text) else json.dumps(text)


def logging_config(log_format: str) -> dict:
    """A dictConfig for bolservice and uvicorn; uvicorn applies it in every worker."""
    formatter = {"()": JsonFormatter} if log_format == "json" else {"()": TextFormatter}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"default": formatter},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "default",
                                "stream": "ext://sys.stderr"}},
        "loggers": {
            "bolservice": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
            "uvicorn": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
            "uvicorn.error": {"level": "INFO"},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
        },
    }
