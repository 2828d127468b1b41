"""Semgrep test for rmd403-success-flag-in-except: cases drawn from RMD403's examples."""

# ---- invalid example 0
import logging

logger = logging.getLogger(__name__)

class _RAGIndex:
    def load(self):
        if self._loaded:
            return
        try:
            self._conn = open_index(self.path)
            self._loaded = True
        except Exception as e:
            logger.warning("RAG index unavailable: %s", e)
            # ruleid: rmd403-success-flag-in-except
            self._loaded = True  # don't retry


# ---- invalid example 1
_ready = False

def init_model():
    global _ready
    try:
        load_weights()
    except OSError:
        print("weights missing")
        # ruleid: rmd403-success-flag-in-except
        _ready = True


# ---- invalid example 2
class Service:
    async def start(self):
        try:
            await self.client.connect()
        except Exception as exc:
            self._error = str(exc)
            # ruleid: rmd403-success-flag-in-except
            self._started = True


# ---- invalid example 3
class Cache:
    def ensure(self):
        try:
            self.fill()
        except:
            # ruleid: rmd403-success-flag-in-except
            self.state.initialized = True
            return


# ---- invalid example 4
class Models:
    def warm(self):
        for name in self.names:
            try:
                self.pull(name)
            except (TimeoutError, ConnectionError):
                # ruleid: rmd403-success-flag-in-except
                self._done, self.count = True, 0


# ---- valid example 0
import logging
import time

# ok: rmd403-success-flag-in-except
logger = logging.getLogger(__name__)

class _RAGIndex:
    def __init__(self, path):
        self._path = path
        self._state = "unloaded"
        self._failed_at = 0.0

    def load(self):
        if self._state == "loaded":
            return
        if self._state == "failed" and time.time() - self._failed_at < 60:
            return
        try:
            self._index = open_index(self._path)
            self._state = "loaded"
        except Exception as exc:
            logger.warning("RAG index failed to load: %s", exc)
            self._state = "failed"
            self._failed_at = time.time()


# ---- valid example 1
# ok: rmd403-success-flag-in-except
class Loader:
    def load(self):
        try:
            self.data = read()
            self._loaded = True
        except OSError:
            self._failed = True
            self._loaded = False


# ---- valid example 2
import logging

# ok: rmd403-success-flag-in-except
logger = logging.getLogger(__name__)

class Index:
    def load(self):
        try:
            self._index = load_primary()
        except FileNotFoundError:
            logger.info("primary index missing, building an empty one")
            self._index = build_empty_index()
            self._loaded = True


# ---- valid example 3
# ok: rmd403-success-flag-in-except
def warm(cache):
    try:
        cache.fill()
    except Exception:
        cache.error = True
        raise
    finally:
        cache.attempts += 1


# ---- valid example 4
# ok: rmd403-success-flag-in-except
class Worker:
    def start(self):
        try:
            self.thread.start()
        except RuntimeError:
            def retry():
                self._started = True
            self.later(retry)
