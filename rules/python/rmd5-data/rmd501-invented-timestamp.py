"""Semgrep test for rmd501-invented-timestamp: cases drawn from RMD501's examples."""

# ---- invalid example 0
from datetime import datetime, timezone

def parse_dt(value):
    if not value:
        # ruleid: rmd501-invented-timestamp
        return datetime.now(timezone.utc)
    return datetime.fromisoformat(value)


# ---- invalid example 1
import datetime as dt

class SurrealDBClient:
    def _to_memory(self, row):
        # ruleid: rmd501-invented-timestamp
        created = row.get("created_at", dt.datetime.now().isoformat())
        return Memory(content=row["content"], created_at=created)


# ---- invalid example 2
from datetime import datetime

def to_entity(row):
    # ruleid: rmd501-invented-timestamp
    return Entity(name=row["name"], seen_at=row.get("seen_at") or datetime.utcnow())


# ---- invalid example 3
from datetime import datetime

# ruleid: rmd501-invented-timestamp
def record_event(name, when=datetime.now()):
    return {"name": name, "when": when}


# ---- invalid example 4
import time
from datetime import datetime

class Converter:
    @staticmethod
    def parse(ts):
        if ts is None:
            # ruleid: rmd501-invented-timestamp
            return time.time()
        return float(ts)

    def parse_dt(self, raw):
        # ruleid: rmd501-invented-timestamp
        return datetime.now() if raw is None else datetime.fromisoformat(raw)


# ---- valid example 0
from datetime import datetime

# ok: rmd501-invented-timestamp
def parse_dt(value: str | None) -> datetime:
    if not value:
        raise ValueError("missing timestamp")
    return datetime.fromisoformat(value)


# ---- valid example 1
from datetime import datetime, timezone
from pydantic import BaseModel, Field

# ok: rmd501-invented-timestamp
class Memory(BaseModel):
    content: str
    created_at: datetime = Field(default_factory=datetime.now)
    updated_at: datetime = Field(default_factory=lambda: datetime.now(timezone.utc))


# ---- valid example 2
import datetime

# ok: rmd501-invented-timestamp
class MemoryRepository:
    async def create(self, content):
        record = {"content": content, "created_at": datetime.datetime.now().isoformat()}
        return await self.db.create("memory", record)


# ---- valid example 3
from datetime import datetime

# ok: rmd501-invented-timestamp
def age_seconds(created_at: datetime | None) -> float | None:
    if created_at is None:
        return None
    return (datetime.now() - created_at).total_seconds()


# ---- valid example 4
import time

# ok: rmd501-invented-timestamp
def deadline(timeout=None):
    start = time.time()
    return start + (timeout or 30)


# ---- valid example 5
from datetime import datetime, timezone
from time import time_ns

# ok: rmd501-invented-timestamp
def make_patch(triples, when: datetime | None = None):
    when = when or datetime.now(tz=timezone.utc)
    return {"triples": triples, "date": when.isoformat()}

class Span:
    def start(self, start_time=None):
        self._start_time = start_time if start_time is not None else time_ns()
