"""Avatars on our own origin: WeChat's picture copied by the worker, served with long caching, a generated default."""
