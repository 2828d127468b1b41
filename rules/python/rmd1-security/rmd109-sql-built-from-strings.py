import re

import sqlalchemy as sa
from sqlalchemy import text

_FTS_OPERATORS = re.compile(r'[*()+\-^"]|\b(AND|OR|NOT|NEAR)\b')
SORTABLE = {"name": "name", "created": "created_at"}
TABLE = "projects"
ALLOWED_COLUMNS = ("status", "priority")


def _fts_phrase(term: str) -> str:
    return '"' + _FTS_OPERATORS.sub(" ", term).strip() + '"'


def find_symbol_fixed(conn, name: str):
    # ok: rmd109-sql-built-from-strings
    rows = conn.execute(
        "SELECT path, line FROM symbols WHERE INSTR(LOWER(name), LOWER(?)) > 0", (name,)
    ).fetchall()
    if not rows:
        # ok: rmd109-sql-built-from-strings
        rows = conn.execute(
            "SELECT path, line FROM symbols_fts WHERE symbols_fts MATCH ?", (_fts_phrase(name),)
        ).fetchall()
    return rows


async def tasks_for(db, project_id: str, ids: list[str]):
    placeholders = ",".join("?" for _ in ids)
    # ok: rmd109-sql-built-from-strings
    return await db.fetch_all(
        f"SELECT * FROM tasks WHERE project_id = ? AND id IN ({placeholders})",
        (project_id, *ids),
    )


def list_rows(session, owner_id: int, sort: str):
    column = SORTABLE.get(sort, "created_at")
    # ok: rmd109-sql-built-from-strings
    stmt = text(f"SELECT * FROM {TABLE} WHERE owner_id = :owner ORDER BY {column}")
    return session.execute(stmt, {"owner": owner_id}).all()


def update_field(cursor, task_id, column, value):
    if column not in ALLOWED_COLUMNS:
        raise ValueError(column)
    # ok: rmd109-sql-built-from-strings
    cursor.execute("UPDATE tasks SET %s = %%s WHERE id = %%s" % column, (value, task_id))


def search_escaped(conn, term: str):
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return conn.execute(
        "SELECT * FROM docs WHERE title LIKE ? ESCAPE '\\'",
        # ok: rmd109-sql-built-from-strings
        (f"%{escaped}%",),
    ).fetchall()


def get_user(cursor, email):
    # ruleid: rmd109-sql-built-from-strings
    cursor.execute(f"SELECT * FROM users WHERE email = '{email}'")
    return cursor.fetchone()


class TaskRepo:
    def __init__(self, db):
        self.db = db

    async def by_status(self, status, limit):
        sql = "SELECT * FROM tasks WHERE status = '%s' LIMIT %d" % (status, limit)
        # ruleid: rmd109-sql-built-from-strings
        return await self.db.fetch_all(sql)


def delete_rows(conn, table, ids):
    # ruleid: rmd109-sql-built-from-strings
    conn.execute(sa.text("DELETE FROM {} WHERE id IN ({})".format(table, ",".join(ids))))


def search(conn, name):
    query = "SELECT * FROM symbols WHERE name = '" + name + "'"
    # ruleid: rmd109-sql-built-from-strings
    return conn.execute(query).fetchall()


def find_symbol(conn, name: str):
    rows = conn.execute(
        "SELECT path FROM symbols WHERE name LIKE ?",
        # ruleid: rmd109-sql-built-from-strings
        (f"%{name}%",),
    ).fetchall()
    return rows


async def search_fts(db, name: str):
    safe = name.replace('"', '""')
    return await db.fetch_all(
        "SELECT path FROM symbols_fts WHERE symbols_fts MATCH ?",
        # ruleid: rmd109-sql-built-from-strings
        (f'"{safe}"',),
    )


def greeting(logger, name):
    # ok: rmd109-sql-built-from-strings
    logger.info(f"hello {name}")
