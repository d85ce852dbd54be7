"""WeChat's /sns and /cgi-bin error codes and the exception that carries one.

Exceptions:
    SnsError -- an errcode/errmsg pair answered with HTTP 200, as WeChat does.
"""

from __future__ import annotations

SYSTEM_ERROR = -1
INVALID_CREDENTIAL = 40001
INVALID_GRANT_TYPE = 40002
INVALID_OPENID = 40003
INVALID_APPID = 40013
INVALID_ACCESS_TOKEN = 40014
INVALID_CODE = 40029
INVALID_REFRESH_TOKEN = 40030
INVALID_APPSECRET = 40125
CODE_BEEN_USED = 40163
CODE_BLOCKED = 40226
ACCESS_TOKEN_MISSING = 41001
APPID_MISSING = 41002
REFRESH_TOKEN_MISSING = 41003
APPSECRET_MISSING = 41004
CODE_MISSING = 41008
OPENID_MISSING = 41009
ACCESS_TOKEN_EXPIRED = 42001
REFRESH_TOKEN_EXPIRED = 42002
REQUIRE_GET = 43001
REQUIRE_POST = 43002
DAILY_QUOTA = 45009
MINUTE_QUOTA = 45011
DATA_FORMAT_ERROR = 47001
API_UNAUTHORIZED = 48001
INVALID_ARGS = 40097
IP_NOT_IN_WHITELIST = 40164
ADMIN_MUST_CONFIRM = 89503

ERRMSG: dict[int, str] = {
    SYSTEM_ERROR: "system error",
    INVALID_CREDENTIAL: "invalid credential, access_token is invalid or not latest",
    INVALID_GRANT_TYPE: "invalid grant_type",
    INVALID_OPENID: "invalid openid",
    INVALID_APPID: "invalid appid",
    INVALID_ACCESS_TOKEN: "invalid access_token",
    INVALID_CODE: "invalid code",
    INVALID_REFRESH_TOKEN: "invalid refresh_token",
    INVALID_APPSECRET: "invalid appsecret",
    CODE_BEEN_USED: "code been used",
    CODE_BLOCKED: "code blocked",
    ACCESS_TOKEN_MISSING: "access_token missing",
    APPID_MISSING: "appid missing",
    REFRESH_TOKEN_MISSING: "refresh_token missing",
    APPSECRET_MISSING: "appsecret missing",
    CODE_MISSING: "missing code",
    OPENID_MISSING: "missing openid",
    ACCESS_TOKEN_EXPIRED: "access_token expired",
    REFRESH_TOKEN_EXPIRED: "refresh_token expired",
    REQUIRE_GET: "require GET method",
    REQUIRE_POST: "require POST method",
    DAILY_QUOTA: "reach max api daily quota limit",
    MINUTE_QUOTA: "api minute-quota reach limit, must slower, retry next minute",
    DATA_FORMAT_ERROR: "data format error",
    API_UNAUTHORIZED: "api unauthorized",
    INVALID_ARGS: "invalid args",
    IP_NOT_IN_WHITELIST: "invalid ip 127.0.0.1 ipv6 ::ffff:127.0.0.1, not in whitelist",
    ADMIN_MUST_CONFIRM: "此次调用需要管理员确认，请耐心等候",
}
# What /cgi-bin answers for a superseded or unknown app access_token (newer wording).
CGI_INVALID_CREDENTIAL = (ERRMSG[INVALID_CREDENTIAL] + ", could get access_token by getStableAccessToken, "
                          "more details at https://mmbizurl.cn/s/JtxxFh33r")


class SnsError(Exception):
    """An /sns failure: WeChat answers it as HTTP 200 with errcode and errmsg."""

    def __init__(self, errcode: int, errmsg: str | None = None) -> None:
        self.errcode = errcode
        self.errmsg = errmsg or ERRMSG.get(errcode, "unknown error")
        super().__init__(f"{errcode} {self.errmsg}")
