"""Every text people read has a Chinese translation, and the catalogue loads from the .po."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from server.core import i18n

ROOT = Path(__file__).resolve().parents[2]


# As babel.cfg: Python code, and the console's Jinja templates (their {{ _("…") }} calls).
METHOD_MAP = [("**.py", "python"), ("**/templates/**.html", "jinja2.ext:babel_extract")]


def _extracted() -> dict[str, str]:
    """msgid → where, from every _(), gettext() and N_() in server/ and sync/ (as pybabel)."""
    found: dict[str, str] = {}
    for package in ("server", "sync"):
        for filename, lineno, message, _comments, _context in extract_from_dir(
                ROOT / package, method_map=METHOD_MAP):
            assert isinstance(message, str), (filename, lineno)
            found.setdefault(message, f"{package}/{filename}:{lineno}")
    return found


def _po(locale: str):  # noqa: ANN202
    with i18n.po_path(locale).open("rb") as po:
        return read_po(po, locale=locale)


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_msgid_in_the_code_has_a_chinese_translation():
    catalogue = {m.id: m for m in _po("zh_CN") if m.id}
    extracted = _extracted()
    assert len(extracted) > 50  # the extraction really reads the code
    untranslated = [(msgid, where) for msgid, where in extracted.items()
                    if msgid not in catalogue or not catalogue[msgid].string
                    or catalogue[msgid].fuzzy]
    assert untranslated == []
    assert sorted(set(catalogue) - set(extracted)) == []  # no stale entries


def test_translations_keep_the_placeholders_of_their_msgid():
    for message in _po("zh_CN"):
        if message.id:
            assert _fields(message.string) == _fields(message.id), message.id
            assert not re.search(r"[A-Za-z]{4,}", re.sub(r"\{\w+\}|GET /\S+|city_direct|"
                                                        r"district_forward", "", message.string)
                                 ), message.string  # Chinese, not English left over


def test_chinese_is_the_default_and_english_is_the_code_itself():
    assert i18n.DEFAULT_LOCALE == "zh_CN"
    assert i18n.current_locale() == "zh_CN"
    assert i18n.gettext("Overdue: {label}") == "已超时：{label}"
    with i18n.use_locale("en"):
        assert i18n.gettext("Overdue: {label}") == "Overdue: {label}"
    assert i18n.gettext("a text nobody translated") == "a text nobody translated"


def test_a_locale_without_a_catalogue_is_refused_at_start_up():
    with pytest.raises(ValueError, match="no message catalogue"):
        i18n.configure("fr_FR")
    assert i18n.current_locale() == "zh_CN"
