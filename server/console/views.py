"""The console's pages, the GCJ-02 offsets its map needs, and the docs page's asset check."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, Flask, abort, current_app, jsonify, redirect, render_template, request

from server.cases.rules import Action, CaseStatus
from server.cases.wording import action_word, status_word
from server.console import assets
from server.console.offsets import OffsetLattice, lattice_for
from server.core import i18n

# A plain Flask blueprint, not server.api's: these are HTML pages, not API operations, so they
# stay out of the OpenAPI document and its strict query-argument rules.
bp = Blueprint("console", __name__, url_prefix="/console", static_folder="static",
               template_folder="templates")

PAGES = ("map", "queue", "whistle", "whereabouts", "ranking")


def _page(template: str, **context: Any):  # noqa: ANN202
    """A page, or, when the pinned assets were never copied, a page that says so (503)."""
    absent = assets.missing()
    if absent:
        return render_template("console/assets_missing.html", absent=absent), 503
    return render_template(template, **context)


@bp.route("/")
def map_page():  # noqa: ANN201
    return _page("console/map.html", page="map", tiles=_tiles())


@bp.route("/login")
def login_page():  # noqa: ANN201
    return _page("console/login.html", page="login")


@bp.route("/queue")
def queue_page():  # noqa: ANN201
    return _page("console/queue.html", page="queue")


@bp.route("/cases/<uuid:case_id>")
def case_page(case_id: uuid.UUID):  # noqa: ANN201
    return _page("console/case.html", page="queue", case_id=str(case_id))


@bp.route("/whistle")
def whistle_page():  # noqa: ANN201
    # The placeholder of the judge form's radius: what the API uses when it is left empty.
    radius = current_app.config["WHISTLE_ARRIVAL_RADIUS_M"]
    return _page("console/whistle.html", page="whistle", arrival_radius_m=f"{radius:g}")


@bp.route("/whereabouts")
def whereabouts_page():  # noqa: ANN201
    return _page("console/whereabouts.html", page="whereabouts")


@bp.route("/ranking")
def ranking_page():  # noqa: ANN201
    return _page("console/ranking.html", page="ranking")


@bp.route("/gcj02-offsets")
def gcj02_offsets():  # noqa: ANN201
    """WGS-84 → GCJ-02 offsets on a lattice over a bounding box, from geo.crs (the project's one
    transform), so the map shifts its overlays onto GCJ-02 tiles without a second copy of it in
    JavaScript. Pure arithmetic on public formulas: no data, no sign-in."""
    try:
        bbox = [float(v) for v in request.args.get("bbox", "").split(",")]
        lattice: OffsetLattice = lattice_for(*bbox)
    except (TypeError, ValueError):
        abort(400)
    return jsonify(lattice.as_dict())


def _tiles() -> dict[str, str]:
    config = current_app.config
    return {"url": config["MAP_TILES"], "crs": config["MAP_TILES_CRS"],
            "attribution": config["MAP_TILES_ATTRIBUTION"]}


def _words() -> dict[str, dict[str, str]]:
    """Status and action words from the cases' own table (server/cases/wording.py)."""
    return {"status": {s.value: status_word(s) for s in CaseStatus},
            "action": {a.value: action_word(a) for a in Action}}


@bp.context_processor
def _page_context() -> dict[str, Any]:
    return {"console_words": _words(), "console_pages": PAGES}


def _home():  # noqa: ANN202
    return redirect("/console/")


def _guard_swagger_ui(app: Flask) -> None:
    """The API docs page says in words that its assets are missing, rather than show a blank
    page (it loads Swagger UI from our vendor folder)."""
    endpoint = "api-docs.openapi_swagger_ui"
    original = app.view_functions.get(endpoint)
    if original is None:
        return

    def swagger_ui():  # noqa: ANN202
        if assets.missing():
            return render_template("console/assets_missing.html", absent=assets.missing()), 503
        return original()

    app.view_functions[endpoint] = swagger_ui


def init_console(app: Flask) -> None:
    """Register the console's pages, ``/`` → ``/console/``, and gettext in Jinja."""
    app.jinja_env.add_extension("jinja2.ext.i18n")
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=lambda message: i18n.gettext(message),
        ngettext=lambda singular, plural, n: i18n.gettext(singular if n == 1 else plural),
        newstyle=False)
    app.register_blueprint(bp)
    app.add_url_rule("/", "home", _home)
    app.jinja_env.globals["html_lang"] = i18n.current_locale().replace("_", "-")
    _guard_swagger_ui(app)
