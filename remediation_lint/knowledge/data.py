"""Names for the data-integrity rules (RMD5xx): clock reads, count-like field names, storage words."""

from __future__ import annotations

#: qualified names of calls that read the wall clock
CLOCK_CALLS = frozenset({
    "datetime.datetime.now", "datetime.datetime.utcnow", "datetime.datetime.today", "datetime.date.today",
    "time.time", "time.time_ns", "arrow.now", "arrow.utcnow", "pendulum.now", "pendulum.today",
    "django.utils.timezone.now",
})

#: methods that only reformat a clock value (``datetime.now().isoformat()`` is still a clock read)
CLOCK_FORMATTERS = frozenset({"isoformat", "timestamp", "replace", "astimezone", "strftime", "date", "time"})

#: field-name parts that mean "a number" (RMD506)
COUNT_SUFFIXES = ("_count", "_tokens", "_ms", "_seconds", "_bytes", "_total", "_calls", "_size")
COUNT_PREFIXES = ("total", "latency", "num_", "n_")
COUNT_NAMES = frozenset({"tokens", "size", "calls", "count", "latency", "total", "duration_ms", "retries", "attempts"})

#: names of collaborators that persist things (RMD507)
STORAGE_WORDS = ("repository", "repo", "store", "storage", "db", "database", "session", "client", "dao", "persistence")
