"""Semgrep test for rmd505-id-column-without-foreign-key: cases drawn from RMD505's examples."""

# ---- valid example 4 (first, before any sqlalchemy import: a local Column is not SQLAlchemy's)
def Column(name, kind):
    return (name, kind)

# ok: rmd505-id-column-without-foreign-key
row = Column("project_id", "TEXT")


# ---- invalid example 0
from sqlalchemy import Column, MetaData, String, Table

metadata = MetaData()

tasks = Table(
    "tasks",
    metadata,
    Column("id", String, primary_key=True),
    # ruleid: rmd505-id-column-without-foreign-key
    Column("project_id", String, nullable=False),
)


# ---- invalid example 1
import sqlalchemy as sa

usage_log = sa.Table(
    "usage_log",
    sa.MetaData(),
    sa.Column("id", sa.Integer, primary_key=True),
    # ruleid: rmd505-id-column-without-foreign-key
    sa.Column("project_id", sa.String),
    # ruleid: rmd505-id-column-without-foreign-key
    sa.Column("task_id", sa.String),
)


# ---- invalid example 2
from sqlalchemy import Column, String
from sqlalchemy.orm import declarative_base

Base = declarative_base()

class Project(Base):
    __tablename__ = "projects"
    id = Column(String, primary_key=True)
    # ruleid: rmd505-id-column-without-foreign-key
    owner_id = Column(String, nullable=True)


# ---- invalid example 3
from sqlalchemy.orm import Mapped, mapped_column

class Plan:
    # ruleid: rmd505-id-column-without-foreign-key
    project_id: Mapped[str] = mapped_column(index=True)


# ---- valid example 0
from sqlalchemy import Column, ForeignKey, MetaData, String, Table

# ok: rmd505-id-column-without-foreign-key
metadata = MetaData()

tasks = Table(
    "tasks",
    metadata,
    Column("id", String, primary_key=True),
    Column("project_id", String, ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
    Column("plan_id", String, ForeignKey("plans.id", ondelete="CASCADE")),
)


# ---- valid example 1
from sqlalchemy import Column, Integer, String
from sqlalchemy.orm import declarative_base

# ok: rmd505-id-column-without-foreign-key
Base = declarative_base()

class Session(Base):
    __tablename__ = "sessions"
    session_id = Column(String, primary_key=True)
    user_agent = Column(String)


# ---- valid example 3
from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

# ok: rmd505-id-column-without-foreign-key
class Task:
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"))
    title: Mapped[str] = mapped_column()


# ---- valid example 2 (stripe_customer_id listed in the external_ids option) has no Semgrep
# counterpart: the twin has no options; silence such columns with `# nosemgrep`.
