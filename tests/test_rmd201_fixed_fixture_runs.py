"""RMD201/RMD202 end to end: the golden --fix output of the ModelOps coordinator really starts and stops.

The fixture `model_ops_coordinator/app.py` calls `asyncio.create_task(self.grpc_server.start())` and gathers
the results of sync `stop()` calls (AI System plan, tasks 3 and 6). Here the golden fixed module is loaded
as a package next to stub transports whose `start()`/`stop()` are plain `def` that record their calls; the
coordinator's startup and shutdown must complete under `asyncio.run`, while the original raises TypeError.
"""

from __future__ import annotations

import asyncio
import importlib
import sys
import textwrap
import uuid
from pathlib import Path

import pytest

from tests.fixture_support import FIXTURES, GOLDEN

APP = FIXTURES / "ai_system" / "model_ops_coordinator" / "app.py"
FIXED = GOLDEN / "ai_system" / "model_ops_coordinator" / "app.py.fixed"

STUB = textwrap.dedent(
    """
    import threading

    CALLS = []


    class {name}:
        def __init__(self, *args, **kwargs):
            self.args = args
            self.kwargs = kwargs

        def start(self):
            CALLS.append(("{name}", "start", threading.current_thread() is threading.main_thread()))

        def stop(self, *args, **kwargs):
            CALLS.append(("{name}", "stop", threading.current_thread() is threading.main_thread()))
    """
)


def _load(tmp_path: Path, source: bytes):
    package = f"moc_{uuid.uuid4().hex[:8]}"
    root = tmp_path / package
    (root / "transport").mkdir(parents=True)
    (root / "__init__.py").write_text("")
    (root / "transport" / "__init__.py").write_text("")
    for module, name in (("zmq_server", "ZMQServer"), ("grpc_server", "GRPCServer"), ("rest_api", "RESTAPIServer")):
        (root / "transport" / f"{module}.py").write_text(STUB.format(name=name))
    (root / "app.py").write_bytes(source)
    sys.path.insert(0, str(tmp_path))
    try:
        app = importlib.import_module(f"{package}.app")
        calls = {
            module: importlib.import_module(f"{package}.transport.{module}").CALLS
            for module in ("zmq_server", "grpc_server", "rest_api")
        }
    finally:
        sys.path.remove(str(tmp_path))
    return app, calls


async def _lifecycle(app_module):
    coordinator = app_module.ModelOpsCoordinatorApp({"health_interval": 0.01})
    await coordinator.start()
    await asyncio.sleep(0.05)
    await coordinator.stop()
    return coordinator


def test_fixed_coordinator_starts_and_stops(tmp_path):
    assert FIXED.exists(), "run tests/update_golden.py"
    app, calls = _load(tmp_path, FIXED.read_bytes())
    coordinator = asyncio.run(asyncio.wait_for(_lifecycle(app), timeout=10))
    assert [c[:2] for c in calls["grpc_server"]] == [("GRPCServer", "start"), ("GRPCServer", "stop")]
    assert [c[:2] for c in calls["rest_api"]] == [("RESTAPIServer", "start"), ("RESTAPIServer", "stop")]
    assert [c[:2] for c in calls["zmq_server"]] == [("ZMQServer", "start"), ("ZMQServer", "stop")]
    # the wrapped calls ran in worker threads, off the event loop
    assert calls["grpc_server"][0][2] is False and calls["rest_api"][1][2] is False
    assert all(task.done() for task in coordinator._tasks)


def test_original_coordinator_crashes_with_type_error(tmp_path):
    app, calls = _load(tmp_path, APP.read_bytes())
    with pytest.raises(TypeError):
        asyncio.run(asyncio.wait_for(_lifecycle(app), timeout=10))
    assert ("GRPCServer", "start") in [c[:2] for c in calls["grpc_server"]]
    assert calls["rest_api"] == []
