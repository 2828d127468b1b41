"""Semgrep test for rmd506-number-stored-as-string: cases drawn from RMD506's examples."""

# ---- invalid example 0
from pydantic import BaseModel

class ModelMetrics(BaseModel):
    model_name: str
    # ruleid: rmd506-number-stored-as-string
    request_count: str = "0"
    # ruleid: rmd506-number-stored-as-string
    total_tokens: str


# ---- invalid example 1
import dataclasses

@dataclasses.dataclass
class CallStats:
    name: str
    # ruleid: rmd506-number-stored-as-string
    latency_ms: str = ""
    # ruleid: rmd506-number-stored-as-string
    calls = "0"


# ---- invalid example 2
class GeminiClient:
    def record(self, model):
        metrics = self._metrics[model]
        # ruleid: rmd506-number-stored-as-string
        metrics["usage_count"] = str(int(metrics["usage_count"]) + 1)


# ---- invalid example 3
from typing import Dict, TypedDict

class Snapshot(TypedDict):
    # ruleid: rmd506-number-stored-as-string
    model_stats: Dict[str, Dict[str, str]]


# ---- invalid example 4
from pydantic import BaseModel

class Base(BaseModel):
    pass

# a model through a project base class: Semgrep does not follow the base (see RMD506's limitations)
class EmbeddingUsage(Base):
    # todoruleid: rmd506-number-stored-as-string
    input_tokens: "str"
    # todoruleid: rmd506-number-stored-as-string
    size: str = "1536"


# ---- valid example 0
from pydantic import BaseModel

# ok: rmd506-number-stored-as-string
class ModelMetrics(BaseModel):
    model_name: str
    request_count: int = 0
    total_tokens: int = 0
    latency_ms: int = 0


# ---- valid example 1
from dataclasses import dataclass

# ok: rmd506-number-stored-as-string
@dataclass
class Task:
    task_id: str
    error_code: str
    token: str
    status_count_label: str = "pending"


# ---- valid example 2
# ok: rmd506-number-stored-as-string
class Formatter:
    total_tokens: str = "0"

    def render(self, n):
        return str(n)


# ---- valid example 3
from typing import TypedDict

# ok: rmd506-number-stored-as-string
class Usage(TypedDict):
    prompt_tokens: int
    completion_tokens: int
    model: str


# ---- valid example 4
# ok: rmd506-number-stored-as-string
def bump(stats):
    stats["usage_count"] = stats.get("usage_count", 0) + 1
    return str(stats["usage_count"])
