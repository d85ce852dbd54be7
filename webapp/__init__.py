"""webapp: a site with its own accounts and WeChat login."""

__version__ = "0.1.0"
