"""Form parsing and validation: raw POST data in, normalised values and localised field errors out."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from webapp.i18n import gettext as _
from webapp.text import graphemes, is_clean

USERNAME_MIN, USERNAME_MAX = 3, 32
USERNAME_KEY_MAX = 64  # the column size; casefolding can lengthen a name
PASSWORD_MIN, PASSWORD_MAX = 8, 1024
DISPLAY_NAME_MAX = 64
DISPLAY_NAME_COLUMN = 100  # users.display_name holds this many code points
ECHO_MAX = 200  # never send a huge typed value back to the browser
_USERNAME_PUNCTUATION = frozenset("_.-")


class BadField(ValueError):
    """A submitted field holds characters no field accepts (control characters, lone surrogates)."""

    def __init__(self, name: str) -> None:
        super().__init__(f"field {name!r} holds control characters")
        self.name = name


def has_control_characters(value: str) -> bool:
    """True for C0/C1 controls (NUL, newlines, escapes…) and lone surrogates: never valid in a field."""
    return any(unicodedata.category(ch) in ("Cc", "Cs") for ch in value)


def field_text(data: Mapping[str, Any], name: str) -> str:
    """A form field (or query parameter) as text; missing or a file upload counts as empty; BadField on controls."""
    value = data.get(name)
    if not isinstance(value, str):
        return ""
    if has_control_characters(value):
        raise BadField(name)
    return value


def normalize_username(raw: str) -> str:
    """NFKC form without surrounding spaces: how a username is stored and shown."""
    return unicodedata.normalize("NFKC", raw).strip()


def username_key(username: str) -> str:
    """The uniqueness key: NFKC + casefold, so "Alice" and "ａｌｉｃｅ" collide."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", username).casefold())


def username_error(username: str) -> str | None:
    """Why a normalised username is not acceptable, or None."""
    if not username:
        return _("Enter a username.")
    if not USERNAME_MIN <= len(username) <= USERNAME_MAX or len(username_key(username)) > USERNAME_KEY_MAX:
        return _("A username has 3 to 32 characters.")
    if not all(_username_char(ch) for ch in username):
        return _("Use only letters, digits and the characters _ . -")
    return None


def _username_char(ch: str) -> bool:
    return ch in _USERNAME_PUNCTUATION or unicodedata.category(ch) in ("Lu", "Ll", "Lt", "Lm", "Lo", "Nd")


def password_error(password: str) -> str | None:
    """Why a new password is not acceptable, or None."""
    if not password:
        return _("Enter a password.")
    if len(password) < PASSWORD_MIN:
        return _("Use at least 8 characters.")
    if len(password) > PASSWORD_MAX:
        return _("Use at most 1024 characters.")
    return None


def display_name_error(name: str) -> str | None:
    """Why a display name is not acceptable, or None (it is optional).

    The text policy of webapp.text decides, the one WeChat nicknames are cleaned by: a nickname the site
    copied is always accepted. Length counts what people see (an emoji sequence is one), within the column.
    """
    if sum(1 for _g in graphemes(name)) > DISPLAY_NAME_MAX or len(name) > DISPLAY_NAME_COLUMN:
        return _("A display name has at most 64 characters.")
    if not is_clean(name):
        return _("The display name contains characters that are not allowed.")
    return None


def _echo(value: str) -> str:
    return value[:ECHO_MAX]


class _Form:
    """What every form has: `errors`, by field name, after `parse`."""

    errors: dict[str, str]

    @property
    def valid(self) -> bool:
        """True when every field is acceptable."""
        return not self.errors


def _display_name(data: Mapping[str, Any]) -> str:
    """The display name field, NFC-normalised and trimmed (sign-up and profile alike)."""
    return unicodedata.normalize("NFC", field_text(data, "display_name")).strip()


@dataclass
class SignupForm(_Form):
    """Username, optional display name, password typed twice."""

    username: str = ""
    display_name: str = ""
    password: str = field(default="", repr=False)
    consent: bool = False
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, data: Mapping[str, Any], *, consent_required: bool = False) -> SignupForm:
        """Read and validate the POSTed fields (the privacy consent box must be ticked when there is a policy)."""
        username = normalize_username(field_text(data, "username"))
        display_name = _display_name(data)
        password, confirm = field_text(data, "password"), field_text(data, "confirm")
        consent = field_text(data, "consent") == "yes"
        errors = _collect(
            username=username_error(username),
            display_name=display_name_error(display_name),
            password=password_error(password),
            confirm=_confirm_error(password, confirm),
            consent=_("To create an account, agree to the privacy policy.") if consent_required and not consent else None,
        )
        return cls(
            username=_echo(username), display_name=_echo(display_name), password=password, consent=consent, errors=errors
        )


@dataclass
class LoginForm(_Form):
    """Username and password; the username is only looked up, not judged."""

    username: str = ""
    password: str = field(default="", repr=False)
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> LoginForm:
        """Read the POSTed fields; only emptiness and absurd sizes are errors here."""
        username = normalize_username(field_text(data, "username"))
        password = field_text(data, "password")
        errors = _collect(
            username=None if username else _("Enter your username."),
            password=None if password else _("Enter your password."),
        )
        if not errors and (len(username) > USERNAME_KEY_MAX or len(password) > PASSWORD_MAX):
            errors["form"] = _("Wrong username or password.")  # such an account cannot exist
        return cls(username=_echo(username), password=password, errors=errors)


@dataclass
class PasswordForm(_Form):
    """Set or change the password; a username too when the account has none (WeChat-only)."""

    current_password: str = field(default="", repr=False)
    password: str = field(default="", repr=False)
    username: str | None = None
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, data: Mapping[str, Any], *, has_password: bool, has_username: bool) -> PasswordForm:
        """Read and validate the POSTed fields for this account's situation."""
        current = field_text(data, "current_password")
        password, confirm = field_text(data, "password"), field_text(data, "confirm")
        username = None if has_username else normalize_username(field_text(data, "username"))
        errors = _collect(
            current_password=_("Enter your current password.") if has_password and not current else None,
            username=username_error(username) if username is not None else None,
            password=password_error(password),
            confirm=_confirm_error(password, confirm),
        )
        echoed = _echo(username) if username is not None else None
        return cls(current_password=current, password=password, username=echoed, errors=errors)



def _confirm_error(password: str, confirm: str) -> str | None:
    if password and password != confirm:
        return _("The two passwords do not match.")
    return None


def _collect(**checks: str | None) -> dict[str, str]:
    return {name: message for name, message in checks.items() if message}


@dataclass
class ProfileForm(_Form):
    """The display name shown to others (optional)."""

    display_name: str = ""
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> ProfileForm:
        """Read and validate the POSTed field."""
        display_name = _display_name(data)
        return cls(display_name=_echo(display_name), errors=_collect(display_name=display_name_error(display_name)))


@dataclass
class UsernameForm(_Form):
    """A new username, under the sign-up rules."""

    username: str = ""
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> UsernameForm:
        """Read and validate the POSTed field."""
        username = normalize_username(field_text(data, "username"))
        return cls(username=_echo(username), errors=_collect(username=username_error(username)))



# The phrase typed to delete an account, in English and as account.po translates it: either is accepted,
# whatever language the form was shown in.
DELETION_PHRASES = ("delete my account", "删除我的账号")


def deletion_phrase() -> str:
    """The phrase the deletion form's label asks for, in the reader's language."""
    return _("delete my account")


def _phrase_key(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


@dataclass
class DeletionForm(_Form):
    """The explicit confirmation before deleting an account: the phrase its label states, typed."""

    typed: str = ""
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> DeletionForm:
        """Read the typed phrase; it must be the one shown (case and spacing aside)."""
        typed = field_text(data, "confirmation")
        accepted = {_phrase_key(p) for p in (*DELETION_PHRASES, deletion_phrase())}
        error = None if _phrase_key(typed) in accepted else _(
            "Type “%(phrase)s” exactly to confirm.", phrase=deletion_phrase()
        )
        return cls(typed=_echo(typed), errors=_collect(confirmation=error))


@dataclass
class PictureForm(_Form):
    """One uploaded file, read up to a byte past the limit (the avatars module judges the picture itself)."""

    content: bytes = field(default=b"", repr=False)
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, data: Mapping[str, Any], *, max_bytes: int) -> PictureForm:
        """Read the `picture` file field; an empty or missing file, or one over `max_bytes`, is an error."""
        upload = data.get("picture")
        reader = getattr(upload, "file", None)
        content = reader.read(max_bytes + 1) if reader is not None and hasattr(reader, "read") else b""
        if not isinstance(content, bytes) or not content:
            return cls(errors={"picture": _("Choose a picture to upload.")})
        if len(content) > max_bytes:
            return cls(errors={"picture": picture_error("size")})
        return cls(content=content, errors={})


def picture_error(reason: str) -> str:
    """Why a picture was refused, in the reader's language."""
    if reason == "size":
        return _("That file is larger than 2 MB. Choose a smaller picture.")
    if reason == "pixels":
        return _("That picture has too many pixels. Choose a smaller one.")
    return _("That file is not a PNG, JPEG or WebP picture.")
