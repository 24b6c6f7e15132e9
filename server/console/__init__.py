"""The command centre's console: server-rendered pages at /console whose JavaScript calls the
JSON API (/api/v1) with the bearer token of the API's own sign-in.

The pages hold no data and no rules of their own: what a page shows is what the API answers
the signed-in user (its scope rules, its ``allowed_actions``), and an error is the API's own
JSON error (a Chinese message, a code, the field at fault) shown in words. Templates are Jinja
with the one message catalogue (server.core.i18n); scripts and styles are served from pinned
npm packages (``clients/console``, copied by ``gridops assets``), never from a CDN.
"""

from __future__ import annotations

from server.console.views import init_console

__all__ = ["init_console"]
