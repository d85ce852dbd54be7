"""Tests for the outbound WeChat client and URL builders."""
