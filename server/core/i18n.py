"""Texts people read, in their language: English msgids in the code, a zh_CN catalogue.

gettext-style: the English text at each ``_()`` call is both the message id and the English
message (the code's message catalogue); ``server/core/locale/<locale>/LC_MESSAGES/messages.po``
holds a translation. Babel reads the ``.po`` itself the first time a locale is used, so
there is no compiled ``.mo`` to build or to keep in step. The default locale is a setting
(``GRID_LOCALE``, ``zh_CN``); ``use_locale`` changes it for a block (e.g. one request).
Placeholders are ``str.format`` names: ``_("Case {number} has been closed.").format(...)``.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

from babel.messages.pofile import read_po

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
SOURCE_LOCALE = "en"  # the msgids themselves
DEFAULT_LOCALE = "zh_CN"

_default = DEFAULT_LOCALE
_current: ContextVar[str | None] = ContextVar("gridops_locale", default=None)


def po_path(locale: str) -> Path:
    return LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"


def available_locales() -> tuple[str, ...]:
    return (SOURCE_LOCALE, *sorted(p.name for p in LOCALE_DIR.iterdir()
                                   if po_path(p.name).is_file()))


def configure(default_locale: str) -> None:
    """Set the process's default locale (``create_app`` passes ``GRID_LOCALE``)."""
    global _default
    if default_locale not in available_locales():
        raise ValueError(f"no message catalogue for locale {default_locale!r}; "
                         f"have {', '.join(available_locales())}")
    catalogue(default_locale)  # a broken .po fails at start-up, not in a request
    _default = default_locale


def current_locale() -> str:
    return _current.get() or _default


@contextmanager
def use_locale(locale: str) -> Iterator[None]:
    token = _current.set(locale)
    try:
        yield
    finally:
        _current.reset(token)


@functools.cache
def catalogue(locale: str) -> dict[str, str]:
    """msgid → translation; fuzzy and empty entries are left out (the English is shown)."""
    if locale == SOURCE_LOCALE:
        return {}
    with po_path(locale).open("rb") as po:
        messages = read_po(po, locale=locale)
    return {m.id: m.string for m in messages
            if m.id and isinstance(m.id, str) and m.string and not m.fuzzy}


def gettext(message: str) -> str:
    """The message in the current locale, or the English msgid if it has no translation."""
    return catalogue(current_locale()).get(message, message)


_ = gettext


def N_(message: str) -> str:  # noqa: N802 - the gettext convention for a marker
    """Marks a msgid for the catalogue where it is defined; translate it where it is shown."""
    return message
