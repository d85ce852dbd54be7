"""Privacy consent at account creation: what is recorded on the new `users` row while PRIVACY_URL is set.

A password account consents with the sign-up form's box. A first WeChat login consents by scanning (or
tapping) after the login page said so beside the QR and the button; the welcome page repeats it, with
the way out (deleting the account). Both record the same two columns.
"""

from __future__ import annotations

from datetime import datetime

from webapp.settings import Settings


def consent_columns(settings: Settings, now: datetime) -> dict[str, datetime | str | None]:
    """`privacy_consent_at` and `privacy_consent_url` for a row created now (both None without a policy)."""
    if not settings.privacy_url:
        return {"privacy_consent_at": None, "privacy_consent_url": None}
    return {"privacy_consent_at": now, "privacy_consent_url": settings.privacy_url}
