"""wxLogin.js: served from the simulator's origin, builds WeChat's iframe URL for every option."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from tests.wechat_sim.conftest import Sim
from webapp.wechat_sim.app import WXLOGIN_PATH

NODE = shutil.which("node")
# A fake DOM just large enough for WxLogin: it prints the iframe it built and whether onReady ran.
HARNESS = """
const calls = [];
const container = {innerHTML: "old", children: [], appendChild(c) { this.children.push(c); }};
const document = {createElement: () => ({}), getElementById: (id) => id === "box" ? container : null};
const window = {};
%s
const opts = %s;
opts.id = "box";
opts.onReady = (ok) => calls.push(ok);
new window.WxLogin(opts);
const f = container.children[0];
if (f.onload) f.onload();
console.log(JSON.stringify({src: f.src, frameBorder: f.frameBorder, allowTransparency: f.allowTransparency,
  scrolling: f.scrolling, width: f.width, height: f.height, cleared: container.innerHTML === "", ready: calls}));
"""


async def test_served_as_javascript_with_request_origin(sim: Sim) -> None:
    resp = await sim.client.get(WXLOGIN_PATH)
    text = await resp.text()
    assert resp.status == 200 and resp.content_type == "application/javascript"
    assert json.dumps(str(sim.client.make_url("")).rstrip("/")) in text
    assert "window.WxLogin = WxLogin" in text


async def test_script_text_mirrors_wechat_option_handling(sim: Sim) -> None:
    text = await (await sim.client.get(WXLOGIN_PATH)).text()
    for fragment in ('"/connect/qrconnect?appid=" + a.appid + "&scope=" + a.scope',
                     '"&redirect_uri=" + a.redirect_uri + "&state=" + a.state + "&login_type=jssdk&self_redirect="',
                     '"&styletype=" + (a.styletype || "")', '"&rst=" + (a.rst || "")',
                     'a.lang === "en" ? "&lang=en"', '"&stylelite=1"', '"&fast_login=0"',
                     'frame.width = "300px"', 'frame.height = "400px"', 'container.innerHTML = ""',
                     'a.onReady(true)'):
        assert fragment in text, fragment


def _run(script: str, options: dict[str, object]) -> dict[str, object]:
    """Run wxLogin.js in node against a fake DOM."""
    assert NODE is not None
    out = subprocess.run([NODE, "-e", HARNESS % (script, json.dumps(options))], capture_output=True,
                         text=True, check=True, timeout=30)
    return json.loads(out.stdout)


@pytest.mark.skipif(NODE is None, reason="node is not installed")
@pytest.mark.parametrize(("options", "tail"), [
    ({"self_redirect": True}, "&self_redirect=true&styletype=&sizetype=&bgcolor=&rst="),
    ({"self_redirect": False}, "&self_redirect=false&styletype=&sizetype=&bgcolor=&rst="),
    ({}, "&self_redirect=default&styletype=&sizetype=&bgcolor=&rst="),
    ({"style": "white", "href": "https://x.example/a.css"},
     "&self_redirect=default&styletype=&sizetype=&bgcolor=&rst=&style=white&href=https://x.example/a.css"),
    ({"lang": "en", "stylelite": 1, "fast_login": 0},
     "&self_redirect=default&styletype=&sizetype=&bgcolor=&rst=&lang=en&stylelite=1&fast_login=0"),
    ({"lang": "zh_CN", "styletype": "a", "sizetype": "b", "bgcolor": "c", "rst": "d"},
     "&self_redirect=default&styletype=a&sizetype=b&bgcolor=c&rst=d"),
])
async def test_iframe_built_like_wechats(sim: Sim, options: dict[str, object], tail: str) -> None:
    script = await (await sim.client.get(WXLOGIN_PATH)).text()
    base = str(sim.client.make_url("")).rstrip("/")
    encoded = "http%3A%2F%2Flocalhost%3A8080%2Fauth%2Fwechat%2Fcallback"
    result = _run(script, {"appid": "wxapp", "scope": "snsapi_login", "redirect_uri": encoded,
                           "state": "s1"} | options)
    assert result["src"] == (f"{base}/connect/qrconnect?appid=wxapp&scope=snsapi_login&redirect_uri={encoded}"
                             f"&state=s1&login_type=jssdk{tail}")
    assert (result["frameBorder"], result["allowTransparency"], result["scrolling"]) == ("0", "true", "no")
    assert (result["width"], result["height"], result["cleared"], result["ready"]) == ("300px", "400px", True, [True])


@pytest.mark.skipif(NODE is None, reason="node is not installed")
async def test_iframe_url_is_accepted_by_qrconnect(sim: Sim) -> None:
    script = await (await sim.client.get(WXLOGIN_PATH)).text()
    encoded = "http%3A%2F%2Flocalhost%3A8080%2Fcb"
    result = _run(script, {"appid": "wx5f3a9c1e7b2d4068", "scope": "snsapi_login", "redirect_uri": encoded,
                           "state": "s1", "self_redirect": True})
    path = str(result["src"]).split(str(sim.client.make_url("")).rstrip("/"))[1]
    html = await (await sim.client.get(path)).text()
    assert '"self_redirect": "true"' in html and '"redirect_uri": "http://localhost:8080/cb"' in html
