"""The Flask extensions: db and migrate created unbound; ``create_app`` makes one Api per app."""

from __future__ import annotations

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_migrate import Migrate
from flask_smorest import Api as SmorestApi
from flask_sqlalchemy import SQLAlchemy

from server.core.db import Base
from server.errors import ErrorSchema, handle_http_exception


class Api(SmorestApi):
    """flask-smorest with our error shape, both served and documented, and examples."""

    ERROR_SCHEMA = ErrorSchema

    def init_app(self, app, *, spec_kwargs=None):  # noqa: ANN001, ANN201
        # Our MarshmallowPlugin: examples and error codes on every operation (api/openapi.py).
        from server.api.openapi import ExamplesPlugin

        spec_kwargs = {"marshmallow_plugin": ExamplesPlugin(), **(spec_kwargs or {})}
        return super().init_app(app, spec_kwargs=spec_kwargs)

    def handle_http_exception(self, error):  # type: ignore[override]
        return handle_http_exception(error)


# expire_on_commit=False: the boundary commits before the response is serialised.
db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})
migrate = Migrate()
# No default limits: only the Open311 blueprint is limited (server/api/open311/routes.py).
# Storage: RATELIMIT_STORAGE_URI (memory by default; redis://… when several hosts serve).
limiter = Limiter(key_func=get_remote_address, default_limits=[])
