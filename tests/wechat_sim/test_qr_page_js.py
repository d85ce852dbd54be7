"""The QR page script's redirect rules (§2.3), run in node against a fake window."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from webapp.wechat_sim.app import STATIC_DIR

NODE = shutil.which("node")
# Fakes just enough DOM for qrconnect.js; the first poll answers 405 and we report which window navigated,
# and how many polls had started before the window's load event fired.
HARNESS = """
const cfg = %s;
const nav = {self: null, top: null};
const listeners = {};
let polls = 0;
const top = {get location() { return {set href(v) { nav.top = v; }, get host() { throw new Error("x"); }}; }};
const document = {
  getElementById: (id) => ({textContent: JSON.stringify(cfg), style: {}}),
  querySelectorAll: () => [],
  createElement: () => ({remove() {}}),
  set domain(v) { throw new Error("SecurityError"); },
  readyState: "loading",
  body: {appendChild(s) { polls += 1; window.wx_errcode = 405; window.wx_code = "CODE"; s.onload(); }},
};
const window = {location: {set href(v) { nav.self = v; }},
                addEventListener(name, fn) { (listeners[name] = listeners[name] || []).push(fn); }};
window.self = window;
window.top = %s ? top : window;
%s
nav.polls_before_load = polls;
document.readyState = "complete";
(listeners.load || []).forEach((fn) => fn());
nav.polls_in_load_handler = polls;
setTimeout(() => { nav.polls = polls; console.log(JSON.stringify(nav)); }, 0);
"""


@pytest.mark.skipif(NODE is None, reason="node is not installed")
@pytest.mark.parametrize(("in_frame", "self_redirect", "who"), [
    (False, "default", "self"), (True, "true", "self"), (True, "false", "top"), (True, "default", "top"),
])
def test_redirect_target_and_window(in_frame: bool, self_redirect: str, who: str) -> None:
    assert NODE is not None
    cfg = {"uuid": "u" * 16, "redirect_uri": "http://localhost/cb#/r", "state": "s",
           "self_redirect": self_redirect}
    script = Path(STATIC_DIR / "qrconnect.js").read_text(encoding="utf-8")
    out = subprocess.run([NODE, "-e", HARNESS % (json.dumps(cfg), json.dumps(in_frame), script)],
                         capture_output=True, text=True, check=True, timeout=30)
    nav = json.loads(out.stdout)
    assert nav[who] == "http://localhost/cb#/r?code=CODE&state=s"
    assert nav["top" if who == "self" else "self"] is None


@pytest.mark.skipif(NODE is None, reason="node is not installed")
def test_long_poll_starts_only_after_the_load_event() -> None:
    """A held poll started before `load` would hold the embedding page's load event for 25 s."""
    assert NODE is not None
    cfg = {"uuid": "u" * 16, "redirect_uri": "http://localhost/cb", "state": "s", "self_redirect": "true"}
    script = Path(STATIC_DIR / "qrconnect.js").read_text(encoding="utf-8")
    out = subprocess.run([NODE, "-e", HARNESS % (json.dumps(cfg), "true", script)],
                         capture_output=True, text=True, check=True, timeout=30)
    nav = json.loads(out.stdout)
    assert (nav["polls_before_load"], nav["polls_in_load_handler"], nav["polls"]) == (0, 0, 1)
