"""An offline WeChat for development and tests, served by one aiohttp app (docs/simulator.md).

It holds the website app's QR login (the QR page, its long poll, wxLogin.js), the official account's web
authorization, the /sns/* and /cgi-bin/* APIs with WeChat's lifetimes and errcodes, parametric QR codes and
the event pushes to the site's server URL (plaintext, compatible and safe mode), a movable clock, fault
injection, and the control API under /_sim that tests and `webapp dev` drive. It imports nothing of the site.
"""
