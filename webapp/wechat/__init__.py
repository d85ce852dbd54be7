"""WeChat login and binding: the /sns/* client and its trust boundary, the flows, the rules, the token refresher.

Talking to WeChat
client      async client of /sns/* on an injected aiohttp session; errors in `errors`
schemas     the trust boundary: every WeChat answer becomes a validated, cleaned value
urls        the authorize URLs (qrconnect, oauth2/authorize)
grants      what one authorization says about a person: code exchange, profile when needed
appcall     the app-level clients' (mp, mini) one HTTP exchange: a JSON object, or "unavailable"
The flows (HTTP)
flow        which app serves which flow, and starting one (nothing stored)
states      OAuth `state`: signed, 10 minutes, bound to the starting browser; the callback's claim, single use
flowcookie  a flow's purpose, next path and account, in the starting browser's signed cookie
views       start, the embedded QR's state, outcome page, bind, unbind, re-auth by scan
callback    the callback (claim, exchange once, apply) and the embedded QR's hand-off
binding     starting a bind; account_views: unbind confirmation and merge on conflict
pages       the page after a callback, "I already have an account"; panel: WeChat on other pages
phone       a phone browser that is not WeChat's
outcome     what a callback ended in, stored so a second delivery gets the same answer
The rules (database)
service     login, binding and re-authentication rules; logins + login_sql: their steps and SQL
merge       moving a WeChat whose account holds nothing else into the binding account
Keeping tokens fresh
refresher   claim due identities under a lease, refresh them, store results (SQL in refresh_sql)
worker      one maintenance pass, inside `webapp serve` or alone as `webapp worker`
mp/         the official account's server side: pushed events, interface token, follow-to-log-in
mini/       the mini program: jscode2session, bearer tokens, verified phone numbers
"""

from webapp.wechat.client import WeChatClient
from webapp.wechat.errors import WeChatAPIError, WeChatError, WeChatUnavailable
from webapp.wechat.schemas import OAuthToken, WeChatApp, WeChatProfile

__all__ = [
    "OAuthToken",
    "WeChatAPIError",
    "WeChatApp",
    "WeChatClient",
    "WeChatError",
    "WeChatProfile",
    "WeChatUnavailable",
]
