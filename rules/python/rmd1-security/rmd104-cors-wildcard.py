# ---- INVALID example 0 ----
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

app = FastAPI(title="ModelOps")
app.add_middleware(
    CORSMiddleware,
    # ruleid: rmd104-cors-wildcard
    allow_origins=["*"],
    allow_credentials=True,
    # ruleid: rmd104-cors-wildcard
    allow_methods=["*"],
    # ruleid: rmd104-cors-wildcard
    allow_headers=["*"],
)


# ---- INVALID example 1 ----
from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware as Cors

class RESTAPIServer:
    def __init__(self, config):
        self.app = FastAPI()
        # ruleid: rmd104-cors-wildcard
        self.app.add_middleware(Cors, allow_origins=["https://ops.example.com"], allow_methods=["*"])


# ---- INVALID example 2 ----
import fastapi
from fastapi.middleware import cors

ALLOWED_ORIGINS = ["*"]

def build() -> fastapi.FastAPI:
    app = fastapi.FastAPI()
    # ruleid: rmd104-cors-wildcard
    app.add_middleware(cors.CORSMiddleware, allow_origins=ALLOWED_ORIGINS)
    return app


# ---- INVALID example 3 ----
from flask import Flask
from flask_cors import CORS

app = Flask(__name__)
# ruleid: rmd104-cors-wildcard
CORS(app, origins="*", supports_credentials=True)


# ---- INVALID example 4 ----
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware

middleware = [
    # ruleid: rmd104-cors-wildcard
    Middleware(CORSMiddleware, allow_origin_regex=".*", allow_headers=("*",)),
]
app = Starlette(middleware=middleware)


# ---- VALID example 0 ----
# ok: rmd104-cors-wildcard
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from backend.config import CORS_ORIGINS

def create_app() -> FastAPI:
    app = FastAPI()
    app.add_middleware(
        CORSMiddleware,
        allow_origins=CORS_ORIGINS,
        allow_credentials=True,
        allow_methods=["GET", "POST", "PATCH", "DELETE", "OPTIONS"],
        allow_headers=["Authorization", "Content-Type"],
    )
    return app


# ---- VALID example 1 ----
# ok: rmd104-cors-wildcard
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware

ORIGINS = ["https://app.example.com", "https://admin.example.com"]

app = Starlette(middleware=[Middleware(CORSMiddleware, allow_origins=ORIGINS, allow_methods=["GET"])])


# ---- VALID example 2 ----
# ok: rmd104-cors-wildcard
from flask import Flask
from flask_cors import CORS

app = Flask(__name__)
CORS(app, origins=["https://dashboard.example.com"], supports_credentials=True)


# ---- VALID example 3 ----
# ok: rmd104-cors-wildcard
from myproject.middleware import CORSMiddleware

def install(app):
    # a project class with the same name: not Starlette's
    app.add_middleware(CORSMiddleware, allow_origins=["*"])


# ---- VALID example 4 ----
# ok: rmd104-cors-wildcard
ALLOWED = ["*"]

def headers_for(request):
    return {"Vary": "Origin", "X-Allowed": ",".join(ALLOWED)}

