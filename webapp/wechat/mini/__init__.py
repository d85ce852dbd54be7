"""The mini program, WeChat's third kind of app here: its client calls, its flows and its bearer-token API.

client      jscode2session and getuserphonenumber, one chokepoint (errors → `errors`)
schemas     WeChat's mini program answers as validated values (the trust boundary for this kind)
errors      typed errors of the two APIs
runtime     what the app holds: the configured mini program, its client and its interface token
store       the statements: session_key after a login, the verified phone number
bearer      bearer tokens: web_sessions rows the API authenticates with instead of the cookie
views       POST /api/wechat/mini/login, POST /api/wechat/mini/phone, POST /api/logout
settings_views  the account page's "remove phone number" form

The login and link rules are the identity core's (webapp.wechat.service), shared with the website
app and the official account.
"""
