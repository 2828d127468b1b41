"""Semgrep test for rmd404-dispatch-on-exception-text: cases drawn from RMD404's examples."""

# ---- invalid example 0
from fastapi import HTTPException

async def delete_project(project_id, user, service):
    try:
        await service.delete(project_id, user)
    except ValueError as e:
        # ruleid: rmd404-dispatch-on-exception-text
        if "not found" in str(e).lower():
            raise HTTPException(status_code=404, detail=str(e))
        raise HTTPException(status_code=409, detail=str(e))


# ---- invalid example 1
from fastapi import HTTPException

def approve(plan_id, service):
    try:
        return service.approve(plan_id)
    except ValueError as exc:
        msg = str(exc)
        # ruleid: rmd404-dispatch-on-exception-text
        if "not found" in msg:
            raise HTTPException(404, msg)
        # ruleid: rmd404-dispatch-on-exception-text
        elif msg.startswith("Not authorized"):
            raise HTTPException(403, msg)
        raise HTTPException(400, msg)


# ---- invalid example 2
class Client:
    def fetch(self, key):
        try:
            return self.store.get(key)
        except KeyError as err:
            # ruleid: rmd404-dispatch-on-exception-text
            if err.args[0] == "expired":
                return self.refresh(key)
            raise


# ---- invalid example 3
import re

async def call(api):
    try:
        return await api.post()
    except RuntimeError as e:
        # ruleid: rmd404-dispatch-on-exception-text
        return None if re.search(r"rate limit", str(e)) else await api.retry()


# ---- invalid example 4
def save(repo, item):
    try:
        repo.insert(item)
    except Exception as e:
        # ruleid: rmd404-dispatch-on-exception-text
        if e.message == "duplicate key":
            repo.update(item)
        # ruleid: rmd404-dispatch-on-exception-text
        elif repr(e).endswith("locked')"):
            raise


# ---- valid example 0
from fastapi import HTTPException

from backend.errors import ConflictError, ForbiddenError, NotFoundError

# ok: rmd404-dispatch-on-exception-text
async def delete_project(project_id, user, service):
    try:
        await service.delete(project_id, user)
    except NotFoundError as e:
        raise HTTPException(status_code=404, detail=str(e))
    except ForbiddenError as e:
        raise HTTPException(status_code=403, detail=str(e))
    except ConflictError as e:
        raise HTTPException(status_code=409, detail=str(e))


# ---- valid example 1
import logging

# ok: rmd404-dispatch-on-exception-text
logger = logging.getLogger(__name__)

def run(job):
    try:
        job()
    except Exception as e:
        logger.error("job failed: %s", str(e))
        return {"error": str(e)}


# ---- valid example 2
# ok: rmd404-dispatch-on-exception-text
def parse(raw):
    try:
        return int(raw)
    except ValueError as e:
        if isinstance(e.__cause__, OverflowError):
            return None
        raise


# ---- valid example 3
# ok: rmd404-dispatch-on-exception-text
def test_rejects_bad_plan(service):
    try:
        service.approve("missing")
    except ValueError as e:
        assert "not found" in str(e)


# ---- valid example 4
# ok: rmd404-dispatch-on-exception-text
def lookup(table, key, name):
    if "not found" in name:
        return None
    try:
        return table[key]
    except KeyError as e:
        return {"missing": e.args[0]}

# ---- valid example 5 (the same test inside tests/test_projects.py) is left out: test files are
# excluded by the rule's paths, and this file is not one.
