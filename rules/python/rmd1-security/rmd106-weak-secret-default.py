# ---- INVALID example 0 ----
import os

# ruleid: rmd106-weak-secret-default
AUTH_SECRET_KEY = os.getenv("AUTH_SECRET_KEY", "")
AUTH_ALGORITHM = "HS256"


# ---- INVALID example 1 ----
import os as _os

class Database:
    def __init__(self):
        # ruleid: rmd106-weak-secret-default
        self.password = _os.environ.get("DB_PASSWORD", "changeme")


# ---- INVALID example 2 ----
from backend.config import cfg

# ruleid: rmd106-weak-secret-default
AUTH_SECRET_KEY = cfg("auth.secret_key", "")
# ruleid: rmd106-weak-secret-default
ANTHROPIC_API_KEY = cfg("anthropic.api_key", default="sk-dev")


# ---- INVALID example 3 ----
from pydantic import Field
from pydantic_settings import BaseSettings

class Settings(BaseSettings):
    # ruleid: rmd106-weak-secret-default
    jwt_secret: str = "dev-secret"
    # ruleid: rmd106-weak-secret-default
    github_token: str = Field(default="")


# ---- INVALID example 4 ----
import jwt

def issue(user_id: str) -> str:
    # ruleid: rmd106-weak-secret-default
    return jwt.encode({"sub": user_id}, "", algorithm="HS256")


# ---- INVALID example 5 ----
from os import getenv

async def connect():
    # ruleid: rmd106-weak-secret-default
    token = getenv("SLACK_BOT_TOKEN", "xoxb-test")
    return token


# ---- VALID example 0 ----
# ok: rmd106-weak-secret-default
import os

AUTH_SECRET_KEY = os.environ["AUTH_SECRET_KEY"]

def validate_config() -> None:
    if len(AUTH_SECRET_KEY) < 32:
        raise RuntimeError("FATAL: auth.secret_key is missing or too short in config.json")


# ---- VALID example 1 ----
# ok: rmd106-weak-secret-default
import os

MAX_TOKENS = os.getenv("MAX_TOKENS", "4096")
TOKEN_TTL_SECONDS = os.getenv("TOKEN_TTL_SECONDS", "3600")
AUTH_ALGORITHM = os.getenv("AUTH_ALGORITHM", "HS256")
API_KEY_HEADER = os.getenv("API_KEY_HEADER", "X-API-Key")
CACHE_KEY = os.getenv("CACHE_KEY", "jobs")


# ---- VALID example 2 ----
# ok: rmd106-weak-secret-default
import os

SECRET_KEY = os.getenv("SECRET_KEY")
if not SECRET_KEY:
    raise RuntimeError("SECRET_KEY must be set")


# ---- VALID example 3 ----
# ok: rmd106-weak-secret-default
from pydantic import BaseModel

class LoginRequest(BaseModel):
    email: str
    password: str = ""


# ---- VALID example 4 ----
# ok: rmd106-weak-secret-default
from pydantic_settings import BaseSettings

class Settings(BaseSettings):
    secret_key: str
    prompt_tokens: int = 0
    database_password: str | None = None


# ---- VALID example 5 ----
# ok: rmd106-weak-secret-default
def read(payload: dict):
    return payload.get("password", "")

