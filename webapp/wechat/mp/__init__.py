"""The official account's server side: pushed events, its interface token, and follow-to-log-in.

inbound     the trust boundary: verification, signatures, decryption, XML → validated values
crypto      signatures and the AES envelope of compatible/safe mode
replies     `success` or a passive text reply (sealed when the push was)
dispatch    one delivery, once: dedup, then revoke / profile change / scan / unfollow
identities  revocation and profile-change bookkeeping on wechat_identities
scenes      follow-login QR scenes: signed for the browser, stored (flow 'mp_follow') once scanned
notify      LISTEN/NOTIFY: wakes waiting long polls and token waiters in every process
api         the cgi-bin client (stable_token, qrcode/create, user/info); errors in `errors`
tokens      the interface token shared by every process, refreshed under a lease
runtime     what the app holds for all of this, and its cleanup context
views       GET/POST /wechat/mp/events
follow      the follow-login endpoints the login page's script calls
signin      the one place follow-login calls the core's login rules and sessions
limits      how many follow-login QR codes one client address may create
errors      the cgi-bin APIs' typed errors
devsetup    `webapp dev`: message push and follow-login wired between the site and the simulator
"""
