"""Every setting of the service, parsed from the environment once, with safe defaults."""

from __future__ import annotations

import os
import warnings
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
DEFAULT_SECRET_KEY = "dev-only-not-secret"  # noqa: S105 - refused in production below

# Every variable this service reads; a GRID_* variable not listed here is probably a typo.
KNOWN_GRID_VARIABLES = {
    "GRID_DATA_DIR",
    "GRID_ASSIGN_TOLERANCE_M",
    "GRID_ASSIGN_FAST_LANE",
    "GRID_OVERLAP_TOLERANCE_M2",
    "GRID_OUTSIDE_TOLERANCE_M2",
    "GRID_TOKEN_HOURS",
    "GRID_DEVICE_TOKEN_DAYS",
    "GRID_MAX_BATCH_POINTS",
    "GRID_MAX_CONTENT_MB",
    "GRID_ENV",
    "GRID_INDEX_MAX_STALE_S",
    "GRID_AUTH_CACHE_S",
    "GRID_REMINDER_INTERVAL_S",
    "GRID_REMINDER_BATCH",
    "GRID_DUPLICATE_DISTANCE_M",
    "GRID_DUPLICATE_WINDOW_HOURS",
    "GRID_URGENT_COMPLETION_HOURS",
    "GRID_HAND_DOWN_REVIEW_DAYS",
    "GRID_SYNC_MAX_SKEW_S",
    "GRID_SYNC_MAX_PUSH_OPERATIONS",
    "GRID_SYNC_PUSH_CHUNK",
    "GRID_SYNC_PUSH_CHUNK_PAUSE_S",
    "GRID_SYNC_ARRIVE_NEAR_M",
    "GRID_SYNC_HISTORY_DAYS",
    "GRID_SYNC_RECONCILE_HOURS",
    "GRID_SYNC_TOMBSTONE_DAYS",
    "GRID_SYNC_HOUSEKEEPING_INTERVAL_S",
    "GRID_PHOTO_UPLOAD_KEEP_HOURS",
    "GRID_PHOTO_DIR",
    "GRID_PHOTO_MAX_MB",
    "GRID_PHOTO_TYPES",
    "GRID_CHECKIN_BUFFER_M",
    "GRID_CHECKIN_MAX_TOLERANCE_M",
    "GRID_FIX_MAX_ACCURACY_M",
    "GRID_FIX_MAX_SPEED_KMH",
    "GRID_VISIT_MIN_MINUTES",
    "GRID_TRACK_MAX_GAP_S",
    "GRID_TRACK_RETENTION_MONTHS",
    "GRID_TRACK_MAINTENANCE_INTERVAL_S",
    "GRID_FIELD_DAYS_MIN",
    "GRID_WHISTLE_ARRIVAL_RADIUS_M",
    "GRID_WHISTLE_ACCURACY_CAP_M",
    "GRID_LOCALE",
    "GRID_RATELIMIT_STORAGE_URI",
    "GRID_OPEN311_RATE_LIMIT",
    "GRID_OPEN311_RETRY_WINDOW_HOURS",
    "GRID_OPEN311_CONTACT",
    "GRID_MAP_TILES",
    "GRID_MAP_TILES_CRS",
    "GRID_MAP_TILES_ATTRIBUTION",
    "GRID_RESIDENT_DATA_RETENTION_DAYS",
    "GRID_RESIDENT_DATA_ERASURE_INTERVAL_S",
    "GRID_MAX_VERTICES_PER_GEOMETRY",
    "GRID_MAX_VERTICES_PER_IMPORT",
    "GRID_SIGN_IN_RATE_LIMIT",
    "GRID_SIGN_IN_FREE_FAILURES",
    "GRID_SIGN_IN_BACKOFF_MAX_S",
    "GRID_SIGN_IN_LOCK_AFTER",
    "GRID_SIGN_IN_LOCK_MINUTES",
    "GRID_SIGN_IN_FAILURE_WINDOW_MINUTES",
    "GRID_SIGN_IN_FORGET_UNKNOWN_DAYS",
    "GRID_PROXY_HOPS",
    "GRID_SIGN_IN_HOUSEKEEPING_INTERVAL_S",
    "GRID_SYNC_PUSH_RATE_LIMIT",
    "GRID_PHOTO_RATE_LIMIT",
}

# The coordinate systems a console base map's tiles may be drawn in (docs/console.md).
MAP_TILES_CRS_CHOICES = ("wgs84", "gcj02")

# The photo types the server can recognise by their bytes (sync/photo_rules.py: PhotoType).
PHOTO_TYPE_CHOICES = ("image/jpeg", "image/png", "image/webp", "image/heic")


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise ValueError(f"{name} must be a number, got {raw!r}") from exc


def _env_int(name: str, default: int) -> int:
    return int(_env_float(name, default))


def _env_bool(name: str, default: bool) -> bool:
    """1/0 (also true/false, yes/no, on/off)."""
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{name} must be 1 or 0, got {raw!r}")


def default_database_url(data_dir: Path) -> str:
    return f"sqlite:///{data_dir / 'gridops.sqlite3'}"


def normalise_database_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL whatever spelling the operator gave."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


class Config:
    """Settings for a running server; read when the class body executes (import of config)."""

    ENV = os.environ.get("GRID_ENV", "development")
    DATA_DIR = Path(os.environ.get("GRID_DATA_DIR", BASE_DIR / "data"))
    SECRET_KEY = os.environ.get("SECRET_KEY", DEFAULT_SECRET_KEY)
    SQLALCHEMY_DATABASE_URI = normalise_database_url(
        os.environ.get("DATABASE_URL") or default_database_url(DATA_DIR)
    )
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}

    # Points this close (metres) to a basic grid but inside none are assigned to the nearest
    # one and flagged; farther ones go to manual triage. Digitising gaps are usually < 20 m.
    ASSIGN_TOLERANCE_M = _env_float("GRID_ASSIGN_TOLERANCE_M", 50.0)
    # The single-point POST /assign answered beneath Flask when the request is plainly valid
    # (server/api/assign/fast_lane.py; the same answer, several times cheaper); 0 sends every
    # request through the Flask route.
    ASSIGN_FAST_LANE = _env_bool("GRID_ASSIGN_FAST_LANE", True)
    # A grid import refuses a basic grid overlapping another basic grid by more than this
    # (geodesic m²): grids cut from one base map share edges exactly, so 1 m² only lets
    # floating-point dust through, never a real overlap (the audit reports from 1 m² too).
    OVERLAP_TOLERANCE_M2 = _env_float("GRID_OVERLAP_TOLERANCE_M2", 1.0)
    # ...and a basic grid sticking out of its township boundary (a special grid out of its
    # district) by more than this: boundaries come from the civil-affairs office, digitised
    # apart from the grids, so a 0.1 m mismatch along a 1 km edge (100 m²) is let through.
    OUTSIDE_TOLERANCE_M2 = _env_float("GRID_OUTSIDE_TOLERANCE_M2", 100.0)
    # How long a process may answer from its grid index before re-reading the generation
    # counter; changes made by another process show up within this many seconds.
    GRID_INDEX_MAX_STALE_S = _env_float("GRID_INDEX_MAX_STALE_S", 1.0)
    # How long a process trusts a token it verified. On PostgreSQL a revocation made by
    # another process empties this cache when its NOTIFY arrives (server/auth/revocations.py);
    # on SQLite it takes effect here within this many seconds (the revoking process: at once).
    AUTH_CACHE_S = _env_float("GRID_AUTH_CACHE_S", 5.0)
    # The scheduler process (`gridops scheduler`) looks for due deadline reminders this often
    # (seconds): a reminder goes out at most this late. Each transaction sends at most
    # REMINDER_BATCH of them; a run repeats until nothing due is left.
    REMINDER_INTERVAL_S = _env_float("GRID_REMINDER_INTERVAL_S", 30.0)
    REMINDER_BATCH = _env_int("GRID_REMINDER_BATCH", 500)
    # At intake, open cases of the same category this close and this recent are listed as
    # possible duplicates for the dispatcher to link.
    DUPLICATE_DISTANCE_M = _env_float("GRID_DUPLICATE_DISTANCE_M", 100.0)
    DUPLICATE_WINDOW_HOURS = _env_float("GRID_DUPLICATE_WINDOW_HOURS", 72.0)
    # Urgent cases are completed within this many hours (seed 003: urgent appeals are
    # resolved within two hours), whatever longer limit the catalogue item gives. A district
    # policy for every category, so a setting, not a catalogue column.
    URGENT_COMPLETION_HOURS = _env_float("GRID_URGENT_COMPLETION_HOURS", 2.0)
    # 下交群评: the community has this many days to review a case handed down to it (call
    # and hold a residents' meeting); reminders at the usual supervision nodes.
    HAND_DOWN_REVIEW_DAYS = _env_float("GRID_HAND_DOWN_REVIEW_DAYS", 15.0)
    MAX_BATCH_POINTS = _env_int("GRID_MAX_BATCH_POINTS", 10_000)
    MAX_CONTENT_LENGTH = _env_int("GRID_MAX_CONTENT_MB", 32) * 1024 * 1024
    # Grid and boundary imports (docs/security.md): a basic grid is drawn with tens to a few
    # thousand vertices and a township outline with up to tens of thousands; more is a
    # file digitised far too finely (or an attack) that would cost minutes of geometry work.
    MAX_VERTICES_PER_GEOMETRY = _env_int("GRID_MAX_VERTICES_PER_GEOMETRY", 100_000)
    MAX_VERTICES_PER_IMPORT = _env_int("GRID_MAX_VERTICES_PER_IMPORT", 1_000_000)
    # Photos (content-addressed, by SHA-256): where the files live, the largest accepted
    # (the photo endpoints use this instead of GRID_MAX_CONTENT_MB), and the accepted types.
    PHOTO_DIR = Path(os.environ.get("GRID_PHOTO_DIR") or DATA_DIR / "photos")
    PHOTO_MAX_BYTES = int(_env_float("GRID_PHOTO_MAX_MB", 10) * 1024 * 1024)
    PHOTO_TYPES = tuple(
        t.strip().lower()
        for t in os.environ.get("GRID_PHOTO_TYPES", ",".join(PHOTO_TYPE_CHOICES)).split(",")
        if t.strip()
    )

    # Sync push: a phone whose clock is off by more than this (seconds) gets its operations
    # flagged; at most this many operations per push (more: 413); an arrival farther than
    # this from the case (metres, beyond the GPS accuracy) is flagged far_from_case.
    SYNC_MAX_SKEW_S = _env_float("GRID_SYNC_MAX_SKEW_S", 300.0)
    SYNC_MAX_PUSH_OPERATIONS = _env_int("GRID_SYNC_MAX_PUSH_OPERATIONS", 500)
    SYNC_ARRIVE_NEAR_M = _env_float("GRID_SYNC_ARRIVE_NEAR_M", 200.0)
    # A push commits every SYNC_PUSH_CHUNK operations, so a request cut in the middle loses
    # at most one chunk's work (the ledger keeps exactly-once; docs/sync.md, Chunks).
    # SYNC_PUSH_CHUNK_PAUSE_S sleeps after each chunk's commit: for the fault test only, so
    # a kill lands in the middle of a push; leave it 0.
    SYNC_PUSH_CHUNK = max(1, _env_int("GRID_SYNC_PUSH_CHUNK", 100))
    SYNC_PUSH_CHUNK_PAUSE_S = _env_float("GRID_SYNC_PUSH_CHUNK_PAUSE_S", 0.0)
    # Sync pull: grid workers' phones keep cases closed (and notifications received) in the
    # last SYNC_HISTORY_DAYS days; every device re-checks its whole scope at least every
    # SYNC_RECONCILE_HOURS (so aged records leave); the change feed keeps tombstones
    # SYNC_TOMBSTONE_DAYS days, and a device that has not pulled for longer starts over.
    SYNC_HISTORY_DAYS = _env_float("GRID_SYNC_HISTORY_DAYS", 7.0)
    SYNC_RECONCILE_HOURS = _env_float("GRID_SYNC_RECONCILE_HOURS", 24.0)
    SYNC_TOMBSTONE_DAYS = _env_float("GRID_SYNC_TOMBSTONE_DAYS", 30.0)
    # The scheduler's sync housekeeping (server/jobs.py) runs every
    # SYNC_HOUSEKEEPING_INTERVAL_S: it drops change-feed rows older than SYNC_TOMBSTONE_DAYS
    # and resumable photo uploads untouched for PHOTO_UPLOAD_KEEP_HOURS (with their bytes).
    SYNC_HOUSEKEEPING_INTERVAL_S = _env_float("GRID_SYNC_HOUSEKEEPING_INTERVAL_S", 3600.0)
    PHOTO_UPLOAD_KEEP_HOURS = _env_float("GRID_PHOTO_UPLOAD_KEEP_HOURS", 72.0)
    # Residents' contact data (server/retention.py, docs/deploy.md): the name and phone of the
    # reporting resident, the Open311 contact fields, the appeal text and the callback
    # comments (the resident's own words; officials' notes stay) are erased from a case
    # closed more than RESIDENT_DATA_RETENTION_DAYS ago (0: never), by the scheduler every
    # RESIDENT_DATA_ERASURE_INTERVAL_S. 180 days outlasts the callback, the spot-check
    # re-calls and the half-year evaluation that need the contact; the figures need none.
    RESIDENT_DATA_RETENTION_DAYS = _env_float("GRID_RESIDENT_DATA_RETENTION_DAYS", 180.0)
    RESIDENT_DATA_ERASURE_INTERVAL_S = _env_float("GRID_RESIDENT_DATA_ERASURE_INTERVAL_S",
                                                  3600.0)
    # Department staff in grids (docs/staff.md). A check-in counts as inside its grid within
    # max(reported accuracy, CHECKIN_BUFFER_M) metres, never more than CHECKIN_MAX_TOLERANCE_M.
    # Track fixes less accurate than FIX_MAX_ACCURACY_M, or reached faster than
    # FIX_MAX_SPEED_KMH, are dropped; a visit is staying VISIT_MIN_MINUTES in a grid; a
    # silence longer than TRACK_MAX_GAP_S counts no time; grid workers owe FIELD_DAYS_MIN
    # field days a month (Yicheng: 15).
    CHECKIN_BUFFER_M = _env_float("GRID_CHECKIN_BUFFER_M", 30.0)
    CHECKIN_MAX_TOLERANCE_M = _env_float("GRID_CHECKIN_MAX_TOLERANCE_M", 100.0)
    FIX_MAX_ACCURACY_M = _env_float("GRID_FIX_MAX_ACCURACY_M", 100.0)
    FIX_MAX_SPEED_KMH = _env_float("GRID_FIX_MAX_SPEED_KMH", 180.0)
    VISIT_MIN_MINUTES = _env_float("GRID_VISIT_MIN_MINUTES", 10.0)
    TRACK_MAX_GAP_S = _env_float("GRID_TRACK_MAX_GAP_S", 300.0)
    FIELD_DAYS_MIN = _env_int("GRID_FIELD_DAYS_MIN", 15)
    # Patrol track storage (docs/staff.md, "Track storage"): fixes are kept
    # TRACK_RETENTION_MONTHS whole UTC months before the current one (0 = forever); the
    # scheduler's track maintenance, every TRACK_MAINTENANCE_INTERVAL_S, makes the monthly
    # partitions ahead (PostgreSQL) and drops those past retention (SQLite: deletes rows).
    TRACK_RETENTION_MONTHS = _env_int("GRID_TRACK_RETENTION_MONTHS", 6)
    TRACK_MAINTENANCE_INTERVAL_S = _env_float("GRID_TRACK_MAINTENANCE_INTERVAL_S", 21600.0)
    # Whistle calls (docs/whistle.md): a department's arrival counts as on site within
    # WHISTLE_ARRIVAL_RADIUS_M of the call's place plus the fix's reported accuracy, the
    # accuracy counted at most up to WHISTLE_ACCURACY_CAP_M.
    WHISTLE_ARRIVAL_RADIUS_M = _env_float("GRID_WHISTLE_ARRIVAL_RADIUS_M", 200.0)
    WHISTLE_ACCURACY_CAP_M = _env_float("GRID_WHISTLE_ACCURACY_CAP_M", 100.0)

    # The language of texts people read (notifications, phones' rejection messages, error
    # messages): a catalogue of server/core/locale, or "en" (the code's own msgids).
    LOCALE = os.environ.get("GRID_LOCALE") or "zh_CN"

    # Open311 GeoReport v2 (docs/open311.md): requests per api_key (per address without one),
    # in Flask-Limiter's notation; its counters live in memory unless GRID_RATELIMIT_STORAGE_URI
    # names a shared store (redis://127.0.0.1:6379) for several processes or hosts. The same
    # POST again within OPEN311_RETRY_WINDOW_HOURS answers the case it created.
    RATELIMIT_STORAGE_URI = os.environ.get("GRID_RATELIMIT_STORAGE_URI") or "memory://"
    RATELIMIT_HEADERS_ENABLED = True
    OPEN311_RATE_LIMIT = os.environ.get("GRID_OPEN311_RATE_LIMIT") or "120/minute"
    OPEN311_RETRY_WINDOW_HOURS = _env_float("GRID_OPEN311_RETRY_WINDOW_HOURS", 24.0)
    OPEN311_CONTACT = os.environ.get("GRID_OPEN311_CONTACT") or "12345"

    # The console's base map (docs/console.md): none by default, so the map works on a closed
    # network; a Leaflet URL template ({z}/{x}/{y}) of a tile server, the system its tiles are
    # drawn in (Chinese services draw GCJ-02: the overlays are then shifted to sit on the
    # streets), and the attribution the tile server asks for.
    MAP_TILES = os.environ.get("GRID_MAP_TILES") or ""
    MAP_TILES_CRS = (os.environ.get("GRID_MAP_TILES_CRS") or "wgs84").lower()
    MAP_TILES_ATTRIBUTION = os.environ.get("GRID_MAP_TILES_ATTRIBUTION") or ""
    # Sign-in throttling (docs/security.md). Per address: failed sign-ins in Flask-Limiter's
    # notation (an office behind one NAT address signs in together, so only failures count).
    # Per account, in the database so every host sees it: after SIGN_IN_FREE_FAILURES
    # failures in a row each further try waits twice as long as the last (1 s, 2 s, ... at
    # most SIGN_IN_BACKOFF_MAX_S); SIGN_IN_LOCK_AFTER failures lock the account for
    # SIGN_IN_LOCK_MINUTES or until an admin lifts it; failures older than the window are
    # forgotten. A refused try computes no password hash.
    SIGN_IN_RATE_LIMIT = os.environ.get("GRID_SIGN_IN_RATE_LIMIT") or "30/minute;300/hour"
    SIGN_IN_FREE_FAILURES = _env_int("GRID_SIGN_IN_FREE_FAILURES", 3)
    SIGN_IN_BACKOFF_MAX_S = _env_float("GRID_SIGN_IN_BACKOFF_MAX_S", 300.0)
    SIGN_IN_LOCK_AFTER = _env_int("GRID_SIGN_IN_LOCK_AFTER", 10)
    SIGN_IN_LOCK_MINUTES = _env_float("GRID_SIGN_IN_LOCK_MINUTES", 30.0)
    SIGN_IN_FAILURE_WINDOW_MINUTES = _env_float("GRID_SIGN_IN_FAILURE_WINDOW_MINUTES", 60.0)
    # Rows of usernames no account has (guesses, typos) are deleted by the scheduler, every
    # SIGN_IN_HOUSEKEEPING_INTERVAL_S, once their last failure is SIGN_IN_FORGET_UNKNOWN_DAYS
    # old and no lock holds (never sooner than the window: no answer changes).
    # Reverse proxies in front of the app that set X-Forwarded-For / -Proto (docs/deploy.md).
    # 0 (default): the address is the socket's and any X-Forwarded-For is ignored, since a
    # client could forge it; N: werkzeug's ProxyFix trusts the last N entries, so the
    # per-address sign-in limit and the rate limits see the client, not the proxy.
    PROXY_HOPS = _env_int("GRID_PROXY_HOPS", 0)
    SIGN_IN_FORGET_UNKNOWN_DAYS = _env_float("GRID_SIGN_IN_FORGET_UNKNOWN_DAYS", 7.0)
    SIGN_IN_HOUSEKEEPING_INTERVAL_S = _env_float("GRID_SIGN_IN_HOUSEKEEPING_INTERVAL_S", 3600.0)
    # Per device (its token; the address without one): pushes, and tus requests (a 10 MB
    # photo in 1 MB chunks is a dozen).
    SYNC_PUSH_RATE_LIMIT = os.environ.get("GRID_SYNC_PUSH_RATE_LIMIT") or "60/minute"
    PHOTO_RATE_LIMIT = os.environ.get("GRID_PHOTO_RATE_LIMIT") or "600/minute"

    TOKEN_LIFETIME = timedelta(hours=_env_float("GRID_TOKEN_HOURS", 12))
    DEVICE_TOKEN_LIFETIME = timedelta(days=_env_float("GRID_DEVICE_TOKEN_DAYS", 30))
    # argon2id cost; tests lower it because a real hash takes ~50 ms by design.
    PASSWORD_HASH_TIME_COST = 3
    PASSWORD_HASH_MEMORY_KIB = 64 * 1024

    API_TITLE = "Grid management API"
    API_VERSION = "v1"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/api/v1"
    OPENAPI_JSON_PATH = "openapi.json"
    OPENAPI_SWAGGER_UI_PATH = "docs"
    # Swagger UI from our own pinned copy (clients/console, copied by `gridops assets`), never a
    # CDN: the docs page works on a closed network. No validator badge: it would call out.
    OPENAPI_SWAGGER_UI_URL = "/console/static/vendor/swagger-ui/"
    OPENAPI_SWAGGER_UI_CONFIG = {"validatorUrl": None}
    API_SPEC_OPTIONS = {
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
    }

    @classmethod
    def check(cls) -> None:
        """Refuse unsafe production settings; warn about unknown GRID_* variables."""
        if cls.ENV == "production" and cls.SECRET_KEY == DEFAULT_SECRET_KEY:
            raise RuntimeError("SECRET_KEY must be set in production (GRID_ENV=production)")
        if not cls.PHOTO_TYPES or set(cls.PHOTO_TYPES) - set(PHOTO_TYPE_CHOICES):
            raise RuntimeError(
                f"GRID_PHOTO_TYPES must list some of {', '.join(PHOTO_TYPE_CHOICES)}; "
                f"got {', '.join(cls.PHOTO_TYPES) or 'none'}"
            )
        if cls.MAP_TILES_CRS not in MAP_TILES_CRS_CHOICES:
            raise RuntimeError(f"GRID_MAP_TILES_CRS must be one of "
                               f"{', '.join(MAP_TILES_CRS_CHOICES)}; got {cls.MAP_TILES_CRS!r}")
        if cls.RESIDENT_DATA_RETENTION_DAYS < 0:
            raise RuntimeError("GRID_RESIDENT_DATA_RETENTION_DAYS must be 0 (never erase) or "
                               f"more days, not {cls.RESIDENT_DATA_RETENTION_DAYS:g}")
        if cls.PROXY_HOPS < 0:
            raise RuntimeError(f"GRID_PROXY_HOPS must be 0 or more, not {cls.PROXY_HOPS}")
        unknown = sorted(
            name
            for name in os.environ
            if name.startswith("GRID_") and name not in KNOWN_GRID_VARIABLES
        )
        if unknown:
            warnings.warn(f"unknown GRID_* settings ignored: {', '.join(unknown)}", stacklevel=2)


class TestConfig(Config):
    """Settings for the test suite: the database comes from the fixture, hashing is cheap."""

    TESTING = True
    ENV = "test"
    # Every test client is 127.0.0.1: the suite's Open311 GETs must not share a small budget
    # (test_open311.py lowers it to test the limit itself).
    OPEN311_RATE_LIMIT = "100000/minute"
    # Likewise for the suite's many sign-ins, pushes and uploads from 127.0.0.1; the
    # per-account backoff and lock keep their defaults (tests/api/test_sign_in_throttle.py
    # lowers these limits to test them).
    SIGN_IN_RATE_LIMIT = "100000/minute"
    SYNC_PUSH_RATE_LIMIT = "100000/minute"
    PHOTO_RATE_LIMIT = "100000/minute"
    PASSWORD_HASH_TIME_COST = 1
    PASSWORD_HASH_MEMORY_KIB = 64
