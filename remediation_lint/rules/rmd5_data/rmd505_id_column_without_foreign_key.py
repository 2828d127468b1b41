from __future__ import annotations

import ast

import libcst as cst

from remediation_lint.analysis.handlers import ast_is_single_string, line_starts, utf8_source
from remediation_lint.analysis.names import dotted_name
from remediation_lint.astcheck import AstChecker
from remediation_lint.analysis.names import ast_dotted_as_cst as _cdotted
from remediation_lint.rule import Default, Invalid, Provenance, Rule, Severity, Valid

_COLUMN_CALLS = frozenset({"Column", "mapped_column"})


class _Fast(AstChecker):
    """The ``ast`` twin of the rule below (check mode)."""

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        qualified = self.context.qualified(func) or ""
        dotted = _cdotted(func) or ""
        if not qualified.startswith(("sqlalchemy", "flask_sqlalchemy")):
            if not (dotted.endswith((".Column", ".mapped_column")) and dotted.split(".")[0] in {"db", "sa"}):
                return
        if qualified.rsplit(".", 1)[-1] not in _COLUMN_CALLS and dotted.rsplit(".", 1)[-1] not in _COLUMN_CALLS:
            return
        name = self._column_name(node)
        if name is None or not name.endswith("_id") or name in set(self.opts.get("external_ids") or ()):
            return
        for kw in node.keywords:
            if kw.arg is not None:
                if kw.arg == "primary_key" and not (isinstance(kw.value, ast.Constant) and kw.value.value is False):
                    return
        # positional arguments and `**mapping` (no keyword for LibCST either)
        for value in [a.value if isinstance(a, ast.Starred) else a for a in node.args] + [k.value for k in node.keywords if k.arg is None]:
            if isinstance(value, ast.Call) and (_cdotted(value.func) or "").rsplit(".", 1)[-1] == "ForeignKey":
                return
        self.report(node, column=name)

    def _column_name(self, node: ast.Call) -> str | None:
        first = _first_arg(node)
        if first is not None and not (isinstance(first, ast.keyword) and first.arg is not None):
            # a positional argument, `*x` or `**x` (LibCST: an Arg without keyword, its value unstarred)
            value = first.value if isinstance(first, (ast.Starred, ast.keyword)) else first
            if isinstance(value, ast.Constant) and isinstance(value.value, (str, bytes)):
                source = utf8_source(self.context.source)
                if ast_is_single_string(value, source, line_starts(source)):
                    return value.value if isinstance(value.value, str) else None
        parent = self.context.parent()
        if isinstance(parent, ast.Assign) and len(parent.targets) == 1 and isinstance(parent.targets[0], ast.Name):
            return parent.targets[0].id
        if isinstance(parent, ast.AnnAssign) and parent.value is node and isinstance(parent.target, ast.Name):
            return parent.target.id
        return None


def _first_arg(call: ast.Call) -> ast.AST | None:
    """The first argument in source order (a positional expression, a Starred or a keyword)."""
    items: list[ast.AST] = [*call.args, *call.keywords]
    if not items:
        return None
    return min(items, key=lambda a: (a.lineno, a.col_offset))


class IdColumnWithoutForeignKey(Rule):
    """A SQLAlchemy `*_id` column with no `ForeignKey`: the metadata does not know the relation.

    ## What it does
    Finds SQLAlchemy columns named `*_id` (`Column("project_id", ...)`, `project_id = Column(...)`,
    `project_id: Mapped[str] = mapped_column(...)`) that carry no `ForeignKey(...)`. Primary keys and
    columns listed in the `external_ids` option (ids of other systems) are left alone.

    ## Why is this bad?
    When the SQLAlchemy metadata lacks the foreign keys the real schema has, Alembic autogenerate is
    blind to them and the next migration may drop or never create them; without them, deletes leave
    orphan rows. The Orchestration Engine's `models_metadata.py` was missing eight foreign keys that the
    inline SQL schema declared (plan item 2.4).

    ## Fix
    Add `ForeignKey("projects.id", ondelete="CASCADE")` (or the right target) to the column, or list the
    column in `external_ids` when it refers to another system.
    """

    code = "RMD505"
    ast_checker = _Fast
    name = "id-column-without-foreign-key"
    message = "column `{column}` looks like a reference but has no ForeignKey: add ForeignKey(\"<table>.id\") (or list it in external_ids)"
    severity = Severity.MEDIUM
    default = Default.PREVIEW
    provenance = (Provenance("001_0845f576a88221b4.txt", "Phase 2, item 2.4 (Sync schema: FKs missing from models_metadata.py)", "orchestration_engine"),)
    triggers = (b"Column", b"mapped_column")
    options = {"external_ids": ()}
    option_docs = {"external_ids": "column names ending in _id that refer to another system and need no ForeignKey"}

    limitations = (
        "The Semgrep twin `rmd505-id-column-without-foreign-key` has no `external_ids` option: silence "
        "such columns with `# nosemgrep`."
    )

    VALID = [
        Valid(
            """
            from sqlalchemy import Column, ForeignKey, MetaData, String, Table

            metadata = MetaData()

            tasks = Table(
                "tasks",
                metadata,
                Column("id", String, primary_key=True),
                Column("project_id", String, ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
                Column("plan_id", String, ForeignKey("plans.id", ondelete="CASCADE")),
            )
            """
        ),
        Valid(
            """
            from sqlalchemy import Column, Integer, String
            from sqlalchemy.orm import declarative_base

            Base = declarative_base()

            class Session(Base):
                __tablename__ = "sessions"
                session_id = Column(String, primary_key=True)
                user_agent = Column(String)
            """
        ),
        Valid(
            """
            from sqlalchemy import Column, String

            class Payment:
                stripe_customer_id = Column(String(64))
            """,
            options={"external_ids": ("stripe_customer_id",)},
        ),
        Valid(
            """
            from sqlalchemy import ForeignKey
            from sqlalchemy.orm import Mapped, mapped_column

            class Task:
                project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"))
                title: Mapped[str] = mapped_column()
            """
        ),
        Valid(
            """
            def Column(name, kind):
                return (name, kind)

            row = Column("project_id", "TEXT")
            """
        ),
    ]

    INVALID = [
        Invalid(
            """
            from sqlalchemy import Column, MetaData, String, Table

            metadata = MetaData()

            tasks = Table(
                "tasks",
                metadata,
                Column("id", String, primary_key=True),
                Column("project_id", String, nullable=False),
            )
            """,
            line=9,
        ),
        Invalid(
            """
            import sqlalchemy as sa

            usage_log = sa.Table(
                "usage_log",
                sa.MetaData(),
                sa.Column("id", sa.Integer, primary_key=True),
                sa.Column("project_id", sa.String),
                sa.Column("task_id", sa.String),
            )
            """,
            line=7,
            count=2,
        ),
        Invalid(
            """
            from sqlalchemy import Column, String
            from sqlalchemy.orm import declarative_base

            Base = declarative_base()

            class Project(Base):
                __tablename__ = "projects"
                id = Column(String, primary_key=True)
                owner_id = Column(String, nullable=True)
            """,
            line=9,
        ),
        Invalid(
            """
            from sqlalchemy.orm import Mapped, mapped_column

            class Plan:
                project_id: Mapped[str] = mapped_column(index=True)
            """,
            line=4,
        ),
    ]

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        qualified = self.context.qualified(func) or ""
        if not qualified.startswith(("sqlalchemy", "flask_sqlalchemy")):
            dotted = dotted_name(func) or ""
            if not (dotted.endswith((".Column", ".mapped_column")) and dotted.split(".")[0] in {"db", "sa"}):
                return
        if qualified.rsplit(".", 1)[-1] not in _COLUMN_CALLS and (dotted_name(func) or "").rsplit(".", 1)[-1] not in _COLUMN_CALLS:
            return
        name = self._column_name(node)
        if name is None or not name.endswith("_id") or name in set(self.opts.get("external_ids") or ()):
            return
        for arg in node.args:
            if arg.keyword is not None:
                if arg.keyword.value == "primary_key" and not (isinstance(arg.value, cst.Name) and arg.value.value == "False"):
                    return
                continue
            if isinstance(arg.value, cst.Call) and (dotted_name(arg.value.func) or "").rsplit(".", 1)[-1] == "ForeignKey":
                return
        self.report(node, column=name)

    def _column_name(self, node: cst.Call) -> str | None:
        if node.args and node.args[0].keyword is None and isinstance(node.args[0].value, cst.SimpleString):
            value = node.args[0].value.evaluated_value
            return value if isinstance(value, str) else None
        parent = self.context.parent()
        if isinstance(parent, cst.Assign) and len(parent.targets) == 1 and isinstance(parent.targets[0].target, cst.Name):
            return parent.targets[0].target.value
        if isinstance(parent, cst.AnnAssign) and isinstance(parent.target, cst.Name):
            return parent.target.value
        return None
