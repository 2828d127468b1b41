# ---- INVALID example 0 ----
from pydantic import BaseModel, Field

class RegisterRequest(BaseModel):
    # ruleid: rmd111-email-as-plain-str
    email: str = Field(..., min_length=3)
    password: str = Field(..., min_length=8)


# ---- INVALID example 1 ----
import pydantic

class Contact(pydantic.BaseModel):
    name: str
    # ruleid: rmd111-email-as-plain-str
    billing_email: str | None = None


# ---- INVALID example 2 ----
from typing import Optional

from pydantic import BaseModel, Field

class Base(BaseModel):
    id: int

class UserUpdate(Base):
    # ruleid: rmd111-email-as-plain-str
    email: Optional[str] = Field(None, max_length=254, description="new address")


# ---- INVALID example 3 ----
from sqlmodel import SQLModel

class Account(SQLModel, table=True):
    # ruleid: rmd111-email-as-plain-str
    email: str
    # ruleid: rmd111-email-as-plain-str
    recovery_email: str


# ---- VALID example 0 ----
# ok: rmd111-email-as-plain-str
from pydantic import BaseModel, EmailStr, Field

class RegisterRequest(BaseModel):
    email: EmailStr
    password: str = Field(..., min_length=8)


# ---- VALID example 1 ----
# ok: rmd111-email-as-plain-str
from pydantic import BaseModel

class UserOut(BaseModel):
    email_verified: bool = False
    emails_sent: int = 0


# ---- VALID example 2 ----
# ok: rmd111-email-as-plain-str
from dataclasses import dataclass

@dataclass
class Recipient:
    email: str


# ---- VALID example 3 ----
# ok: rmd111-email-as-plain-str
import pydantic

class Invite(pydantic.BaseModel):
    inviter_email: pydantic.EmailStr
    note: str | None = None

