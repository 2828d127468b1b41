"""Names for the data-integrity rules (RMD5xx): which calls read the wall clock."""

from __future__ import annotations

#: qualified names of calls that read the wall clock
CLOCK_CALLS = frozenset({
    "datetime.datetime.now", "datetime.datetime.utcnow", "datetime.datetime.today", "datetime.date.today",
    "time.time", "time.time_ns", "arrow.now", "arrow.utcnow", "pendulum.now", "pendulum.today",
    "django.utils.timezone.now",
})

#: methods that only reformat a clock value (``datetime.now().isoformat()`` is still a clock read)
CLOCK_FORMATTERS = frozenset({"isoformat", "timestamp", "replace", "astimezone", "strftime", "date", "time"})
