"""Translations (Babel catalogs compiled in memory) and per-request locale selection."""

from __future__ import annotations

import functools
import gettext as gettext_module
from contextvars import ContextVar
from io import BytesIO
from pathlib import Path

from aiohttp import web
from babel import Locale, UnknownLocaleError
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

from webapp import requeststate
from webapp.cookies import read as read_cookie
from webapp.keys import translator_key

LOCALES = ("zh_CN", "en")
DEFAULT_LOCALE = "zh_CN"
LANG_COOKIE = "lang"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
LOCALE_NAMES = {"zh_CN": "简体中文", "en": "English"}

_current: ContextVar[gettext_module.NullTranslations] = ContextVar(
    "translations", default=gettext_module.NullTranslations()  # noqa: B039  (never mutated: a fallback)
)


class Translator:
    """Holds one catalog per supported locale; English is the source language."""

    def __init__(self, locale_dir: Path = LOCALE_DIR) -> None:
        self._catalogs: dict[str, gettext_module.NullTranslations] = {"en": gettext_module.NullTranslations()}
        for locale in LOCALES:
            # messages.po, plus one catalogue per area (e.g. account.po): each file has one owner.
            for po in catalogue_files(locale_dir, locale):
                compiled = _compile(po, locale)
                current = self._catalogs.get(locale)
                if isinstance(current, Translations):
                    current.merge(compiled)
                else:
                    self._catalogs[locale] = compiled

    def activate(self, locale: str) -> None:
        """Make `locale` the language of gettext calls in the current task."""
        _current.set(self.catalog(locale))

    def catalog(self, locale: str) -> gettext_module.NullTranslations:
        """The compiled catalog of `locale` (English, the source language, for any other)."""
        return self._catalogs.get(locale, self._catalogs["en"])


class _RequestCatalog(gettext_module.NullTranslations):
    """The catalog of a request's language, chosen when the request first translates something.

    A JSON answer translates nothing unless it is an error: choosing the language up front (a cookie
    read, a header negotiation) was work most API requests threw away.
    """

    def __init__(self, request: web.Request, translator: Translator) -> None:  # no NullTranslations.__init__: no file
        self._request, self._translator = request, translator
        self._chosen: gettext_module.NullTranslations | None = None

    def _resolved(self) -> gettext_module.NullTranslations:
        if self._chosen is None:
            self._chosen = self._translator.catalog(locale_of(self._request))
        return self._chosen

    def gettext(self, message: str) -> str:
        """Translated into the request's language."""
        return self._resolved().gettext(message)

    def ngettext(self, msgid1: str, msgid2: str, n: int) -> str:
        """Plural-aware, in the request's language."""
        return self._resolved().ngettext(msgid1, msgid2, n)


def catalogue_files(locale_dir: Path, locale: str) -> list[Path]:
    """The .po files of a locale: messages.po first, then the others by name."""
    folder = locale_dir / locale / "LC_MESSAGES"
    return sorted(folder.glob("*.po"), key=lambda p: (p.name != "messages.po", p.name))


def _compile(po: Path, locale: str) -> Translations:
    with po.open("rb") as f:
        catalog = read_po(f, locale=locale)
    buffer = BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(fp=buffer)


def current_translations() -> gettext_module.NullTranslations:
    """The catalog of the current request's language."""
    return _current.get()


def gettext(message: str, **variables: object) -> str:
    """Translate into the current request's language, then fill %(name)s placeholders."""
    text = _current.get().gettext(message)
    return text % variables if variables else text


def ngettext(singular: str, plural: str, n: int, **variables: object) -> str:
    """Plural-aware translation; `num` is available as a placeholder."""
    text = _current.get().ngettext(singular, plural, n)
    return text % {"num": n, **variables}


_ = gettext


def choose_locale(request: web.Request) -> str:
    """The remembered choice (cookie), else the best Accept-Language match, else the default."""
    chosen = read_cookie(request, LANG_COOKIE)
    if chosen in LOCALES:
        return chosen
    return negotiate(request.headers.get("Accept-Language", "")[:512])


@functools.lru_cache(maxsize=256)
def negotiate(accept_language: str) -> str:
    """Pick a supported locale from an Accept-Language header, by quality (browsers send few distinct ones)."""
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate(accept_language.split(",")[:20]):
        tag, _sep, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        ranked.append((-quality, index, tag.strip()))
    for _q, _i, tag in sorted(ranked):
        match = _match(tag)
        if match:
            return match
    return DEFAULT_LOCALE


def _match(tag: str) -> str | None:
    if not tag or tag == "*":
        return None
    try:
        locale = Locale.parse(tag.replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        return None
    if locale.language == "zh":
        # Traditional-script readers still read Simplified better than English.
        return "zh_CN"
    return "en" if locale.language == "en" else None


def activate_for(request: web.Request) -> None:
    """Make the request's language (chosen on first use, see locale_of) that of gettext calls in this task."""
    _current.set(_RequestCatalog(request, request.app[translator_key]))


def locale_of(request: web.Request) -> str:
    """The request's language: chosen once (choose_locale), then remembered on the request."""
    state = requeststate.of(request)
    locale = state.locale
    if locale is None:
        locale = state.locale = choose_locale(request)
    return locale
