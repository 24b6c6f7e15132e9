"""The HTTP face: blueprints, schemas and the request context; the only Flask-aware layer."""

from __future__ import annotations

from flask_smorest import Api


def register_blueprints(api: Api) -> None:
    from server.api.assign.routes import blp as assign_blp
    from server.api.audit.routes import blp as audit_blp
    from server.api.auth.routes import blp as auth_blp
    from server.api.cases.routes import blp as cases_blp
    from server.api.catalogue.routes import blp as catalogue_blp
    from server.api.evaluation.routes import blp as evaluation_blp
    from server.api.grids.routes import blp as grids_blp
    from server.api.insights.routes import blp as insights_blp
    from server.api.notifications.routes import blp as notifications_blp
    from server.api.open311.keys_routes import blp as open311_keys_blp
    from server.api.open311.routes import blp as open311_blp
    from server.api.org.routes import blp as org_blp
    from server.api.photos.routes import blp as photos_blp
    from server.api.photos.tus import blp as tus_blp
    from server.api.reports.routes import blp as reports_blp
    from server.api.staff.routes import blp as staff_blp
    from server.api.staff.tracks import blp as tracks_blp
    from server.api.sync.pull_routes import blp as sync_pull_blp
    from server.api.sync.push_routes import blp as sync_push_blp
    from server.api.sync.watermelon_routes import blp as sync_watermelon_blp
    from server.api.whistle.routes import blp as whistle_blp

    for blp in (auth_blp, org_blp, grids_blp, assign_blp, cases_blp,
                notifications_blp, catalogue_blp, photos_blp, tus_blp, sync_push_blp, sync_pull_blp,
                sync_watermelon_blp, staff_blp, tracks_blp, whistle_blp, reports_blp,
                evaluation_blp, insights_blp, audit_blp, open311_keys_blp):
        api.register_blueprint(blp, url_prefix=f"/api/v1/{blp.url_prefix}")
    # GeoReport v2 lives at its own, conventional root (docs/open311.md).
    api.register_blueprint(open311_blp, url_prefix=f"/{open311_blp.url_prefix}")
