"""Alembic environment: the app's engine and metadata, batch mode for SQLite."""

import logging
from logging.config import fileConfig

import geoalchemy2  # noqa: F401 - teaches reflection the PostGIS 'geometry' type
from alembic import context
from flask import current_app

from server.staff.track_partitions import is_partition_name

config = context.config
if config.config_file_name:
    # Keep the app's loggers: the server runs migrations in-process before serving.
    fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger("alembic.env")

# Objects that exist only on PostGIS and are created by hand in the migrations.
POSTGIS_ONLY_INDEXES = {
    "ix_grids_boundary_gist", "ix_units_boundary_gist", "ix_cases_location_gist",
    # Partial indexes for case lists (0005): they rely on PostgreSQL's planner.
    "ix_cases_open_grid", "ix_cases_open_status", "ix_cases_open_category", "ix_cases_triage",
}


def include_object(obj, name, type_, reflected, compare_to):
    if type_ == "index" and name in POSTGIS_ONLY_INDEXES:
        return False
    if type_ == "table" and reflected and name == "spatial_ref_sys":
        return False
    # The monthly partitions of track_fixes are made by the scheduler, not declared in models.
    if type_ == "table" and reflected and is_partition_name(name):  # noqa: SIM103 - a list
        return False
    return True


def render_item(type_, obj, autogen_context):
    """Custom column types render their own import path (see server.core.db)."""
    if type_ == "type" and hasattr(obj, "alembic_render_type"):
        autogen_context.imports.add("import server.core.db")
        return obj.alembic_render_type()
    return False


def compare_type(context, inspected_column, metadata_column, inspected_type, metadata_type):
    from server.core.db import GeometryType

    if isinstance(metadata_column.type, GeometryType):
        return False  # PostGIS reflects 'geometry', SQLite a BLOB: both are what we declared
    return None


def run_migrations_online():
    engine = current_app.extensions["migrate"].db.engine
    metadata = current_app.extensions["migrate"].db.metadata
    with engine.connect() as connection:
        options = {
            **current_app.extensions["migrate"].configure_args,
            "include_object": include_object,
            "render_item": render_item,
            "compare_type": compare_type,
        }
        context.configure(connection=connection, target_metadata=metadata, **options)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported: run against a database")
run_migrations_online()
