"""The peer's settings: Django's defaults where they matter, PostgreSQL and the WeChat app from the environment."""

import os
from urllib.parse import parse_qs, unquote, urlsplit

env = os.environ


def _database(url: str) -> dict[str, object]:
    """Django's DATABASES entry for a postgresql:// URL (pgserver's puts the socket directory in ?host=)."""
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": parts.path.lstrip("/"),
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": query.get("host", [parts.hostname or ""])[0],
        "PORT": str(parts.port or ""),
        "CONN_MAX_AGE": 600,  # persistent connections, as a tuned deployment has them
    }


SECRET_KEY = env["PEER_SECRET_KEY"]
DEBUG = False
ALLOWED_HOSTS = ["localhost", "127.0.0.1"]
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "social_django",
]
MIDDLEWARE = [  # startproject's list
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
ROOT_URLCONF = "peersite.urls"
WSGI_APPLICATION = "peersite.wsgi.application"
DATABASES = {"default": _database(env["PEER_DATABASE_URL"])}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TEMPLATES: list[dict[str, object]] = []

AUTHENTICATION_BACKENDS = ["peersite.weixin.SimulatorWeixinOAuth2", "django.contrib.auth.backends.ModelBackend"]
SOCIAL_AUTH_URL_NAMESPACE = "social"
SOCIAL_AUTH_WEIXIN_KEY = env["PEER_WECHAT_APPID"]
SOCIAL_AUTH_WEIXIN_SECRET = env["PEER_WECHAT_SECRET"]
LOGIN_REDIRECT_URL = "/me/"
# Where peersite.weixin sends what social-core sends to open.weixin.qq.com and api.weixin.qq.com.
PEER_WECHAT_OPEN_BASE = env["PEER_WECHAT_OPEN_BASE"]
PEER_WECHAT_API_BASE = env["PEER_WECHAT_API_BASE"]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["stderr"], "level": "WARNING"},
}
