"""An offline WeChat: the OAuth pages, /sns APIs and a control API, served by one aiohttp app."""
