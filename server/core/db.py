"""The declarative base and the column types every model shares, portable to SQLite and PostGIS."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import shapely
import sqlalchemy as sa
from shapely.geometry.base import BaseGeometry
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import LargeBinary, TypeDecorator, UserDefinedType

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

SRID = 4326


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


def str_enum(enum_cls: type[StrEnum], length: int) -> sa.Enum:
    """A portable enum column that stores the readable value ('basic'), not the member name."""
    return sa.Enum(
        enum_cls,
        native_enum=False,
        length=length,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes in and out, on SQLite too; a naive value is a bug and is refused."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: store aware UTC datetimes only")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:  # SQLite keeps no offset; everything stored is UTC
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def alembic_render_type(self) -> str:
        return "server.core.db.UTCDateTime()"


class _PostgisGeometry(UserDefinedType):
    """The PostGIS column type; values travel as WKB through the expressions below."""

    cache_ok = True

    def get_col_spec(self, **kw: Any) -> str:
        return f"geometry(Geometry,{SRID})"


class _GeomFromWKB(FunctionElement):
    inherit_cache = True
    type = LargeBinary()


class _GeomAsWKB(FunctionElement):
    inherit_cache = True
    type = LargeBinary()


@compiles(_GeomFromWKB)
def _from_wkb_plain(element: Any, compiler: Any, **kw: Any) -> str:
    return compiler.process(element.clauses, **kw)


@compiles(_GeomFromWKB, "postgresql")
def _from_wkb_postgis(element: Any, compiler: Any, **kw: Any) -> str:
    return f"ST_GeomFromWKB({compiler.process(element.clauses, **kw)}, {SRID})"


@compiles(_GeomAsWKB)
def _as_wkb_plain(element: Any, compiler: Any, **kw: Any) -> str:
    return compiler.process(element.clauses, **kw)


@compiles(_GeomAsWKB, "postgresql")
def _as_wkb_postgis(element: Any, compiler: Any, **kw: Any) -> str:
    return f"ST_AsBinary({compiler.process(element.clauses, **kw)})"


class GeometryType(TypeDecorator):
    """Shapely geometry in WGS-84 lon/lat: a PostGIS ``geometry`` column, a WKB blob on SQLite.

    This and ``_GeomFromWKB``/``_GeomAsWKB`` are the only places where WKB meets shapely, so
    models and services see shapely objects on both databases.
    """

    impl = LargeBinary
    cache_ok = True

    def load_dialect_impl(self, dialect: Any) -> Any:
        # GeoAlchemy2's DDL events probe column types with dialect=None.
        if dialect is not None and dialect.name == "postgresql":
            return _PostgisGeometry()
        return LargeBinary()

    def bind_expression(self, bindvalue: Any) -> Any:
        return _GeomFromWKB(bindvalue)

    def column_expression(self, col: Any) -> Any:
        return sa.type_coerce(_GeomAsWKB(col), self)

    def process_bind_param(self, value: BaseGeometry | None, dialect: Any) -> bytes | None:
        return None if value is None else shapely.to_wkb(value)

    def process_result_value(self, value: Any, dialect: Any) -> BaseGeometry | None:
        if value is None:
            return None
        return shapely.from_wkb(bytes(getattr(value, "data", value)))

    def alembic_render_type(self) -> str:
        return "server.core.db.GeometryType()"


def is_postgres(session: sa.orm.Session | sa.orm.scoped_session) -> bool:
    return session.get_bind().dialect.name == "postgresql"
