"""Semgrep test for rmd308-sqlite-shared-across-threads: cases drawn from RMD308's examples."""

# ---- invalid example 0
import sqlite3

class _RAGIndex:
    def load(self, path):
        # ruleid: rmd308-sqlite-shared-across-threads
        self.conn = sqlite3.connect(str(path), check_same_thread=False)

    def search(self, query):
        return self.conn.execute("SELECT body FROM docs WHERE docs MATCH ?", (query,)).fetchall()


# ---- invalid example 1
import sqlite3 as sql
import threading

class ChangeQueue:
    def __init__(self, path):
        self._lock = threading.Lock()
        # the class owns a lock, and Semgrep cannot see that stats() skips it (see RMD308's limitations)
        # todoruleid: rmd308-sqlite-shared-across-threads
        self._conn = sql.connect(path, isolation_level=None, check_same_thread=False)

    def enqueue(self, payload):
        with self._lock:
            self._conn.execute("INSERT INTO queue (payload) VALUES (?)", (payload,))

    def stats(self):
        return self._conn.execute("SELECT status, COUNT(*) FROM queue GROUP BY status").fetchall()


# ---- invalid example 3
import sqlite3

class Metrics:
    def __init__(self, path):
        # ruleid: rmd308-sqlite-shared-across-threads
        self.db = sqlite3.connect(path, check_same_thread=False)

    def record(self, name, value):
        cur = self.db.cursor()
        cur.execute("INSERT INTO metrics VALUES (?, ?)", (name, value))
        self.db.commit()


# ---- valid example 0
import sqlite3
import threading

# ok: rmd308-sqlite-shared-across-threads
class _RAGIndex:
    def __init__(self, path):
        self.conn = sqlite3.connect(str(path), check_same_thread=False)
        self._lock = threading.Lock()

    def query_sync(self, sql, params):
        with self._lock:
            return self.conn.execute(sql, params).fetchall()


# ---- valid example 1
import sqlite3
import threading

# ok: rmd308-sqlite-shared-across-threads
class Store:
    def __init__(self, path):
        self.path = path
        self._local = threading.local()

    def _conn(self):
        if not hasattr(self._local, "conn"):
            self._local.conn = sqlite3.connect(self.path, check_same_thread=False)
        return self._local.conn


# ---- valid example 2
import sqlite3

# ok: rmd308-sqlite-shared-across-threads
def count_rows(path):
    conn = sqlite3.connect(path, check_same_thread=False)
    try:
        return conn.execute("SELECT COUNT(*) FROM items").fetchone()[0]
    finally:
        conn.close()


# ---- valid example 3
import sqlite3

# ok: rmd308-sqlite-shared-across-threads
class Cache:
    def __init__(self, path):
        self.conn = sqlite3.connect(path)

    def get(self, key):
        return self.conn.execute("SELECT v FROM kv WHERE k = ?", (key,)).fetchone()


# ---- valid example 4 (a module lock beside a module connection) is left out: one test file is one
# module, and its lock would also guard the module-level connection of invalid example 2 below.


# ---- invalid example 2
from sqlite3 import connect

# ruleid: rmd308-sqlite-shared-across-threads
_conn = connect("sessions.db", check_same_thread=False)

def save_session(sid, data):
    _conn.execute("INSERT OR REPLACE INTO sessions VALUES (?, ?)", (sid, data))
    _conn.commit()
