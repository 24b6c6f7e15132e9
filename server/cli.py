"""The ``gridops`` command: create the database, load the demo, import grids, add users, serve."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext
from flask_migrate import upgrade
from sqlalchemy.orm import Session

from geo.crs import CRS
from server.core import sheets
from server.core.clock import now_utc
from server.core.errors import DomainError
from server.extensions import db
from server.org.rules import Role, UnitKind


@contextmanager
def session_scope() -> Iterator[Session]:
    """The CLI's transaction boundary: commit on success, roll back on any error."""
    try:
        yield db.session
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise


def _vertex_caps():  # noqa: ANN202
    from geo.limits import VertexCaps

    return VertexCaps(per_geometry=current_app.config["MAX_VERTICES_PER_GEOMETRY"],
                      per_import=current_app.config["MAX_VERTICES_PER_IMPORT"])


def _read_json(path: Path) -> Any:
    """A JSON file to import, held to the text rule of every other input (server.core.text):
    the web checks bodies in its request parser, which a file read here never passes."""
    from server.core.text import find_bad_text, invalid_text

    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise click.ClickException(f"{path} is not UTF-8 JSON: {exc}") from exc
    bad = find_bad_text(doc)
    if bad is not None:
        _fail_on_domain_error(invalid_text(bad, location="file"))
    return doc


def _fail_on_domain_error(error: DomainError) -> None:
    click.echo(f"error [{error.code}]: {error.message}", err=True)
    for item in error.details or []:
        click.echo(f"  {json.dumps(item, ensure_ascii=False)}", err=True)
    sys.exit(2)


@click.command("init-db")
@with_appcontext
def init_db() -> None:
    """Create or upgrade the database schema (alembic upgrade head)."""
    upgrade(directory=current_app.extensions["migrate"].directory)
    click.echo(f"database ready: {db.engine.url.render_as_string(hide_password=True)}")


@click.command("demo")
@click.option("--password", default="demo-pass-123", show_default=True,
              help="Password given to every demo user.")
@with_appcontext
def load_demo(password: str) -> None:
    """Load the demo district (two townships, grids, departments, users of every role)."""
    from server.demo import load_demo_district

    passwords = current_app.extensions["gridops.passwords"]
    try:
        with session_scope() as session:
            summary = load_demo_district(session, passwords, password=password, now=now_utc())
    except DomainError as error:
        _fail_on_domain_error(error)
    click.echo(summary)


@click.command("import-grids")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--crs", type=click.Choice([c.value for c in CRS]), default="wgs84", show_default=True
)
@click.option("--repair", is_flag=True, help="Fix invalid rings (make_valid) and report it.")
@click.option(
    "--replace-existing", is_flag=True, help="Retire and replace grids with the same code."
)
@click.option("--override-topology", "override_reason", metavar="REASON", default=None,
              help="Import despite overlaps / parts outside the township; the reason is kept "
                   "on the import record.")
@with_appcontext
def import_grids_command(path: Path, crs: str, repair: bool, replace_existing: bool,
                         override_reason: str | None) -> None:
    """Import a GeoJSON FeatureCollection of grids (all or nothing, tiling checked)."""
    from server.grids.services import import_grids
    from server.grids.tiling import Tolerances

    doc = _read_json(path)
    tolerances = Tolerances(current_app.config["OVERLAP_TOLERANCE_M2"],
                            current_app.config["OUTSIDE_TOLERANCE_M2"])
    try:
        with session_scope() as session:
            result = import_grids(session, doc, crs=CRS(crs), repair=repair,
                                  replace_existing=replace_existing, allowed_township_ids=None,
                                  now=now_utc(), tolerances=tolerances,
                                  override_reason=override_reason, source="cli",
                                  vertex_caps=_vertex_caps())
    except DomainError as error:
        _fail_on_domain_error(error)
    click.echo(f"imported {len(result.created)} grids; replaced {len(result.replaced_codes)}")
    for problem in result.record.overridden_problems:
        click.echo(f"  overridden {problem['grid_code']}: {problem['reason']}")
    for repair_note in result.repairs:
        click.echo(f"  repaired {repair_note['grid_code']}: {'; '.join(repair_note['changes'])}")


@click.command("import-catalogue")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--replace", is_flag=True, help="Deactivate active items the file does not list.")
@click.option("--dry-run", is_flag=True, help="Check and count; write nothing.")
@with_appcontext
def import_catalogue_command(path: Path, replace: bool, dry_run: bool) -> None:
    """Import the dispatch catalogue from CSV, .xlsx or JSON ({"items": [...]}), all or nothing.

    Spreadsheets are read with a progress bar (on stderr); a summary line follows."""
    from server.catalogue import formats
    from server.catalogue.services import import_catalogue

    suffix = path.suffix.lower()
    if suffix in (".csv", ".xlsx"):
        data = path.read_bytes()
        reader = formats.read_csv if suffix == ".csv" else formats.read_xlsx
        with click.progressbar(length=sheets.row_estimate(data, suffix[1:]) or 1,
                               label=f"reading {path.name}", file=sys.stderr) as bar:
            file = reader(data, progress=bar.update)
    else:
        doc = _read_json(path)
        file = formats.read_json_items(doc.get("items") if isinstance(doc, dict) else doc)
    where = f" (sheet {file.sheet!r})" if file.sheet else ""
    click.echo(f"{len(file.rows)} rows read from {path.name}{where}", err=True)
    try:
        with session_scope() as session:
            counts = import_catalogue(session, file, replace_all=replace, dry_run=dry_run,
                                      now=now_utc())
    except DomainError as error:
        _fail_on_domain_error(error)
    click.echo(("dry run: " if dry_run else "") + f"created {counts.created}, updated "
               f"{counts.updated}, unchanged {counts.unchanged}, deactivated {counts.deactivated}")


@click.command("import-units")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check and count; write nothing.")
@with_appcontext
def import_units_command(path: Path, dry_run: bool) -> None:
    """Create units from a CSV or .xlsx list (code,name,kind,parent,population,department_kind).

    Read with a progress bar (stderr); the summary adds whether populations add up."""
    from server.org.queries import population_problems
    from server.org.unit_list import import_units, read_units

    suffix = path.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise click.ClickException("Give a .csv or .xlsx file.")
    data = path.read_bytes()
    with click.progressbar(length=sheets.row_estimate(data, suffix[1:]) or 1,
                           label=f"reading {path.name}", file=sys.stderr) as bar:
        file = read_units(data, suffix[1:], progress=bar.update)
    where = f" (sheet {file.sheet!r})" if file.sheet else ""
    click.echo(f"{len(file.rows)} rows read from {path.name}{where}", err=True)
    try:
        with session_scope() as session:
            counts = import_units(session, file, dry_run=dry_run, now=now_utc())
            problems = population_problems(session)
    except DomainError as error:
        _fail_on_domain_error(error)
    click.echo(("dry run: " if dry_run else "") +
               f"created {counts.created}, unchanged {counts.unchanged}; population check: "
               f"{problems} unit(s) whose figures do not add up or are missing "
               "(GET /api/v1/units/population-check)")


@click.command("create-unit")
@click.option("--code", required=True)
@click.option("--name", required=True)
@click.option("--kind", type=click.Choice([k.value for k in UnitKind]), required=True)
@click.option("--parent", "parent_code", default=None, help="Parent unit code.")
@click.option("--population", type=int, default=None)
@with_appcontext
def create_unit_command(code: str, name: str, kind: str, parent_code: str | None,
                        population: int | None) -> None:
    """Add a unit to the administrative tree."""
    from server.org.services import create_unit

    try:
        with session_scope() as session:
            unit = create_unit(session, code=code, name=name, kind=UnitKind(kind),
                               parent_code=parent_code, population=population, now=now_utc())
    except DomainError as error:
        _fail_on_domain_error(error)
    click.echo(f"created unit {unit.code} ({unit.id})")


@click.command("create-user")
@click.option("--username", required=True)
@click.option("--display-name", required=True)
@click.option("--unit", "unit_code", required=True, help="Code of the user's unit.")
@click.option("--role", "roles", multiple=True, required=True,
              type=click.Choice([r.value for r in Role]))
@click.password_option()
@with_appcontext
def create_user_command(username: str, display_name: str, unit_code: str, roles: tuple[str, ...],
                        password: str) -> None:
    """Create a user with one or more roles."""
    from server.org.services import create_user, get_unit_by_code

    try:
        with session_scope() as session:
            unit = get_unit_by_code(session, unit_code)
            user = create_user(session, current_app.extensions["gridops.passwords"],
                               username=username, password=password, display_name=display_name,
                               unit_id=unit.id, roles=[Role(r) for r in roles], now=now_utc())
    except DomainError as error:
        _fail_on_domain_error(error)
    click.echo(f"created user {user.username} ({user.id})")


@click.command("import-boundaries")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--crs", type=click.Choice([c.value for c in CRS]), default="wgs84", show_default=True
)
@with_appcontext
def import_boundaries_command(path: Path, crs: str) -> None:
    """Set unit boundaries from a GeoJSON FeatureCollection (property code; all or nothing)."""
    from server.org.boundaries import import_boundaries

    doc = _read_json(path)
    try:
        with session_scope() as session:
            changed = import_boundaries(session, doc, crs=CRS(crs), now=now_utc(),
                                        changed_by_user_id=None, vertex_caps=_vertex_caps())
            codes = [u.code for u in changed]
    except DomainError as error:
        _fail_on_domain_error(error)
    click.echo(f"changed {len(codes)} boundaries: {', '.join(codes) or '-'}")


@click.command("audit")
@click.argument("township_code")
@click.option("--geojson", is_flag=True,
              help="Print the overlaps, gaps and protrusions as a GeoJSON FeatureCollection.")
@with_appcontext
def audit_command(township_code: str, geojson: bool) -> None:
    """Print the topology audit of a township's grids as JSON."""
    from server.grids.queries import audit_as_dict, audit_geojson, audit_township
    from server.org.services import get_unit_by_code

    try:
        township = get_unit_by_code(db.session, township_code)
        if township.kind is not UnitKind.TOWNSHIP:
            raise DomainError(f"{township_code} is a {township.kind}, not a township.",
                              code="not_a_township")
        audit = audit_township(db.session, township)
    except DomainError as error:
        _fail_on_domain_error(error)
    if geojson:
        click.echo(json.dumps(audit_geojson(audit), ensure_ascii=False))
        return
    report = audit_as_dict(audit)
    report["township"] = report["township"].code
    click.echo(json.dumps(report, ensure_ascii=False, indent=2))


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int)
@click.option("--demo", is_flag=True, help="Load the demo district first if the database is empty.")
@with_appcontext
def serve(host: str, port: int, workers: int, demo: bool) -> None:
    """Upgrade the schema, optionally load the demo, and serve with gunicorn."""
    from gunicorn.app.base import BaseApplication

    from server.app import after_fork, create_app, warm_up_before_fork
    from server.demo import demo_loaded, load_demo_district

    upgrade(directory=current_app.extensions["migrate"].directory)
    if demo and not demo_loaded(db.session):
        with session_scope() as session:
            click.echo(load_demo_district(session, current_app.extensions["gridops.passwords"],
                                          password="demo-pass-123", now=now_utc()))
    db.engine.dispose()  # each gunicorn worker opens its own connections after the fork

    class _Gunicorn(BaseApplication):
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("accesslog", "-")
            # As deploy/gunicorn.conf.py: one grid index built in the master, shared by the
            # workers copy-on-write; see server.app.warm_up_before_fork.
            self.cfg.set("preload_app", True)
            self.cfg.set("when_ready", lambda server: warm_up_before_fork(server.app.wsgi()))
            self.cfg.set("post_fork", lambda server, _worker: after_fork(server.app.wsgi()))

        def load(self) -> Flask:
            return create_app()

    click.echo(f"serving on http://{host}:{port}  (console: http://{host}:{port}/console/, "
               f"API docs: http://{host}:{port}/api/v1/docs)")
    _Gunicorn().run()


@click.command("assets")
@click.option("--from", "node_modules", type=click.Path(file_okay=False, path_type=Path),
              default=None, help="node_modules holding the pinned packages "
                                 "(default: clients/console/node_modules of this checkout).")
def assets_command(node_modules: Path | None) -> None:
    """Copy the console's pinned browser assets (Leaflet, Alpine.js, ECharts, Swagger UI) from
    clients/console/node_modules (after `npm ci` there) into server/console/static/vendor/."""
    from server.console import assets

    try:
        versions = assets.copy_assets(node_modules or assets.DEFAULT_NODE_MODULES)
    except FileNotFoundError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(2)
    click.echo(f"copied into {assets.VENDOR_DIR}: "
               + ", ".join(f"{name} {version}" for name, version in versions.items()))


@click.command("scheduler")
@with_appcontext
def scheduler_command() -> None:
    """Send deadline reminders as they fall due, prune the sync feed and idle uploads, and
    keep the monthly track partitions, forget unknown usernames' failed sign-ins (run on one
    or more hosts; safe to run several)."""
    from server.jobs import build_scheduler

    app = current_app._get_current_object()  # the job opens its own app context per run
    scheduler = build_scheduler(app)
    days = app.config["RESIDENT_DATA_RETENTION_DAYS"]
    erasure = (f"residents' contact data erased {days:g} days after close, checked every "
               f"{app.config['RESIDENT_DATA_ERASURE_INTERVAL_S']:g} s" if days > 0
               else "residents' contact data kept (GRID_RESIDENT_DATA_RETENTION_DAYS=0)")
    click.echo(f"scheduler: deadline reminders every {app.config['REMINDER_INTERVAL_S']:g} s, "
               f"sync housekeeping every {app.config['SYNC_HOUSEKEEPING_INTERVAL_S']:g} s, "
               f"{erasure}, "
               f"track maintenance every {app.config['TRACK_MAINTENANCE_INTERVAL_S']:g} s "
               f"(keeping {app.config['TRACK_RETENTION_MONTHS']} months), "
               f"unknown usernames' failed sign-ins forgotten every "
               f"{app.config['SIGN_IN_HOUSEKEEPING_INTERVAL_S']:g} s, "
               f"on {db.engine.url.render_as_string(hide_password=True)}; Ctrl-C stops it")
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        click.echo("scheduler stopped")


@click.command("erase-resident-data")
@click.option("--days", type=float, default=None,
              help="Retention in days after close [default: GRID_RESIDENT_DATA_RETENTION_DAYS].")
@click.option("--dry-run", is_flag=True, help="Count what would be erased; write nothing.")
@with_appcontext
def erase_resident_data_command(days: float | None, dry_run: bool) -> None:
    """Erase residents' names, phones, Open311 contact data and own words (appeal text,
    callback comments) from cases closed longer than the retention period (the scheduler
    does it too); figures, timelines and officials' notes stay."""
    from server.jobs import resident_data_job
    from server.retention import count_due

    app = current_app._get_current_object()
    days = app.config["RESIDENT_DATA_RETENTION_DAYS"] if days is None else days
    if days <= 0:
        raise click.UsageError("Retention is 0 (never erase): give --days N to erase anyway.")
    if dry_run:
        due = count_due(db.session, now=now_utc(), retention_days=days)
        click.echo(f"would erase the resident data of {due.cases} cases closed before "
                   f"{due.closed_before.isoformat()} ({due.open311_requests} Open311 requests)")
        return
    done = resident_data_job(app, note="command line", retention_days=days)
    if done.skipped:
        click.echo("another process is erasing now; what it leaves, the next run erases")
    click.echo(f"erased the resident data of {done.cases} cases closed before "
               f"{done.closed_before.isoformat()} ({done.open311_requests} Open311 requests)")


@click.command("report")
@click.argument("district_code")
@click.option("--month", required=True, help="The month in Beijing time, YYYY-MM.")
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="The folder to write into (created if missing).")
@with_appcontext
def report_command(district_code: str, month: str, out: Path) -> None:
    """Write a district's monthly pack: every table as CSV and XLSX, the map, an index."""
    import sqlalchemy as sa

    from server.org.models import Unit
    from server.report_pack import write_pack
    from server.reports.periods import BadPeriod, parse

    try:
        period = parse("month", month)
    except BadPeriod as exc:
        raise click.BadParameter(str(exc), param_hint="--month") from exc
    try:
        with session_scope() as session:
            district = session.scalar(sa.select(Unit).where(Unit.code == district_code,
                                                            Unit.kind == UnitKind.DISTRICT))
            if district is None:
                raise click.ClickException(f"No district has code {district_code!r}.")
            pack = write_pack(session, district, period, out, now=now_utc())
    except DomainError as error:
        _fail_on_domain_error(error)
    for entry in pack.entries:
        click.echo(f"  {', '.join(entry.files)}  {entry.title}")
    click.echo(f"wrote {sum(len(e.files) for e in pack.entries)} files and the index to {out}")


@click.group("open311-key")
def open311_key() -> None:
    """Open311 API keys: issue, list, revoke (docs/open311.md)."""


@open311_key.command("issue")
@click.option("--name", required=True, help="The channel, e.g. 市民随手拍网站.")
@click.option("--unit", "unit_code", required=True, help="Code of the receiving unit.")
@with_appcontext
def open311_key_issue(name: str, unit_code: str) -> None:
    """Issue a key; it is printed once and only its hash is stored."""
    from server.open311.services import issue_key

    try:
        with session_scope() as session:
            issued = issue_key(session, None, name=name, unit_code=unit_code, now=now_utc())
            click.echo(f"key {issued.record.id} for {name} (received under {unit_code}):")
            click.echo(issued.key)
    except DomainError as error:
        _fail_on_domain_error(error)


@open311_key.command("revoke")
@click.argument("key_id", type=click.UUID)
@with_appcontext
def open311_key_revoke(key_id) -> None:  # noqa: ANN001 - a UUID from click
    """Revoke a key: its POSTs are refused with 403 from now on."""
    from server.open311.services import revoke_key

    try:
        with session_scope() as session:
            record = revoke_key(session, None, key_id, now=now_utc())
            click.echo(f"revoked {record.id} ({record.name}) at {record.revoked_at.isoformat()}")
    except DomainError as error:
        _fail_on_domain_error(error)


@open311_key.command("list")
@with_appcontext
def open311_key_list() -> None:
    """Every key: id, prefix, channel, receiving unit, revoked or not."""
    import sqlalchemy as sa

    from server.open311.models import Open311Key

    for record in db.session.scalars(sa.select(Open311Key).order_by(Open311Key.created_at)):
        state = f"revoked {record.revoked_at.isoformat()}" if record.revoked_at else "active"
        click.echo(f"{record.id}  {record.key_prefix}…  {record.name}  {record.unit.code}  {state}")


def register_commands(app: Flask) -> None:
    for command in (init_db, load_demo, import_grids_command, import_boundaries_command,
                    import_catalogue_command, import_units_command, create_unit_command,
                    create_user_command, audit_command, serve, scheduler_command,
                    erase_resident_data_command, report_command, open311_key, assets_command):
        app.cli.add_command(command)


def _create_app_for_cli() -> Flask:
    from server.app import create_app

    return create_app()


main = FlaskGroup(create_app=_create_app_for_cli, add_default_commands=True,
                  help="Grid management backend (gridops).")
