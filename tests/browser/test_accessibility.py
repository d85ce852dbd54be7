"""WCAG 2.1 AA, checked by axe-core in Chromium on every page state a person can reach (the simulator's own
pages and WeChat's QR frame excepted), in both languages and both color schemes.

Each page state is reached once per language and checked in both schemes: the page is switched to the other
scheme in place (as a person's system setting does), and axe runs only once every CSS transition that the
switch started has ended (a colour caught mid-way would be a false contrast).

axe-core is vendored (tests/browser/vendor/README.md: version, license, checksum) so this runs offline.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import BROWSER_LOOP, CHROMIUM, TIMEOUT_MS, Live, NewPerson, Person, StartSite
from tests.browser.test_account_pages import PASSWORD, PHONE, click, qr_scan
from tests.browser.test_follow_login import follow_login_site
from tests.wechat.harness import WECHAT_UA

if not Path(CHROMIUM).exists():
    pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium to run the browser tests", allow_module_level=True)

from playwright.async_api import Page, expect

pytestmark = [pytest.mark.browser, BROWSER_LOOP]
expect.set_options(timeout=TIMEOUT_MS)
AXE = Path(__file__).resolve().parent / "vendor" / "axe-4.10.3.min.js"
DESKTOP = {"viewport": {"width": 1280, "height": 800}}
IN_WECHAT = {"user_agent": WECHAT_UA, **PHONE}
IPHONE_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Mobile/15E148 Safari/604.1"
)
# Every rule axe runs by default (WCAG 2.0/2.1 A and AA, and its best practices); WeChat's frame is not ours.
RUN = """options => axe.run({exclude: [["iframe"]]}, options)"""
SCHEMES = ("light", "dark")
SCHEME = "() => matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light'"
# Resolves once no finite CSS transition or animation is running (a new one started meanwhile is waited for too).
SETTLED = """async () => {
  for (;;) {
    const running = document.getAnimations().filter(a => a.effect.getComputedTiming().endTime !== Infinity);
    if (!running.length) return;
    await Promise.allSettled(running.map(a => a.finished));
  }
}"""


class Audit:
    """Runs axe on page after page, in both color schemes, and keeps every violation with where it was found."""

    def __init__(self) -> None:
        self.source = AXE.read_text(encoding="utf-8")
        self.found: list[str] = []
        self.pages = 0

    async def check(self, page: Page, what: str) -> None:
        """Wait for the page to settle, inject axe (through DevTools, so our CSP stays on), record violations:
        in the scheme the page shows first, then in the other (switched in place, once transitions ended)."""
        await page.wait_for_load_state("load")
        await page.evaluate("() => document.fonts.ready")
        if not await page.evaluate("() => typeof window.axe === 'object'"):
            await page.evaluate(self.source)
        shown = await page.evaluate(SCHEME)
        for scheme in sorted(SCHEMES, key=lambda s: s != shown):
            if scheme != shown:
                await page.emulate_media(color_scheme=scheme)  # type: ignore[arg-type]
                assert await page.evaluate(SCHEME) == scheme
            await page.evaluate(SETTLED)
            result: dict[str, Any] = await page.evaluate(RUN, {"resultTypes": ["violations"], "iframes": False})
            self.pages += 1
            for violation in result["violations"]:
                for node in violation["nodes"]:
                    self.found.append(
                        f"{what}, {scheme} ({page.url}): {violation['id']} {node['target']} {node['failureSummary']}"
                    )
            shown = scheme


@pytest.mark.parametrize("locale", ["zh-CN", "en-US"])
async def test_every_page_state_has_no_axe_violation(live: StartSite, new_person: NewPerson, locale: str) -> None:
    # With a privacy policy and terms: the consent box and the links are on the pages too.
    site = await follow_login_site(
        live, privacy_url="https://www.example.com/privacy", terms_url="https://www.example.com/terms"
    )
    audit = Audit()
    options = {"locale": locale, "color_scheme": "light"}  # and each page state switched to dark by the audit

    visitor = await new_person(**DESKTOP, **options)
    await visitor_pages(site, visitor, audit)
    for device, name in ((PHONE | {"user_agent": IPHONE_UA}, "phone"), (IN_WECHAT, "in WeChat")):
        person = await new_person(**device, **options)
        await person.page.goto(f"{site.url}/login")
        await audit.check(person.page, f"login on a {name}")

    newcomer = await new_person(**DESKTOP, **options)
    await wechat_member_pages(site, newcomer, audit)
    member = await new_person(**DESKTOP, **options)
    await password_member_pages(site, member, audit)

    assert audit.pages >= 2 * 14  # every state in both schemes
    assert not audit.found, "\n".join(audit.found)


def tiny_png() -> bytes:
    """A small real picture to upload."""
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (80, 80), (30, 90, 160)).save(out, format="PNG")
    return out.getvalue()


async def visitor_pages(site: Live, person: Person, audit: Audit) -> None:
    """Home, login (QR, follow-login opened, a failed try), sign-up (empty, with errors), a missing page."""
    page = person.page
    await page.goto(f"{site.url}/")
    await audit.check(page, "home")
    await page.goto(f"{site.url}/login")
    await expect(page.frame_locator("#wechat-qr iframe").locator("img.qrcode")).to_be_visible()
    await audit.check(page, "login")
    await click(page, "#follow-login-option summary")
    await expect(page.locator("#follow-login")).to_have_attribute("data-status", "pending")
    await audit.check(page, "login, follow-login opened")
    await page.fill("#field-username", "nobody")
    await page.fill("#field-password", "not the password")
    await click(page, "form[action='/login'] button[type=submit]")
    await expect(page.locator("#form-error")).to_be_focused()
    await audit.check(page, "login, failed")
    await page.goto(f"{site.url}/signup")
    await audit.check(page, "sign-up")
    await expect(page.locator("#field-consent")).to_be_visible()
    await page.locator("#field-consent").evaluate("e => e.removeAttribute('required')")  # the server's answer
    await page.fill("#field-username", "x")
    await page.fill("#field-password", "short")
    await page.fill("#field-confirm", "other")
    await click(page, "form[action='/signup'] button[type=submit]")
    await expect(page.locator("[aria-invalid=true]").first).to_be_focused()
    await audit.check(page, "sign-up, errors")
    await page.goto(f"{site.url}/no-such-page")
    await audit.check(page, "404")


async def wechat_member_pages(site: Live, person: Person, audit: Audit) -> None:
    """A first WeChat login's welcome page, then the account of someone with WeChat only."""
    page = person.page
    await page.goto(f"{site.url}/auth/wechat/start?next=/settings")
    await qr_scan(site, page, 2)
    await expect(page.locator("[data-outcome='login']")).to_be_visible()
    await audit.check(page, "welcome (first WeChat login)")
    await page.goto(f"{site.url}/settings")
    await audit.check(page, "settings, WeChat only")
    await page.goto(f"{site.url}/")
    await audit.check(page, "home, logged in")


async def password_member_pages(site: Live, person: Person, audit: Audit) -> None:
    """Settings with a password (a refused picture, an uploaded one), with WeChat bound, confirm it's you,
    unbind and delete confirmations."""
    page = person.page
    await page.goto(f"{site.url}/signup")
    await page.fill("#field-username", "axel")
    await page.fill("#field-password", PASSWORD)
    await page.fill("#field-confirm", PASSWORD)
    await page.check("#field-consent")
    await click(page, "form[action='/signup'] button[type=submit]")
    await page.wait_for_url(f"{site.url}/")
    await page.goto(f"{site.url}/settings")
    await audit.check(page, "settings, password")
    await page.set_input_files("#field-picture", {"name": "notes.txt", "mimeType": "image/png", "buffer": b"not a picture"})
    await click(page, "#picture-form button[type=submit]")
    await expect(page.locator("#field-picture")).to_be_focused()  # the first error
    await audit.check(page, "settings, picture refused")
    await page.set_input_files("#field-picture", {"name": "me.png", "mimeType": "image/png", "buffer": tiny_png()})
    await click(page, "#picture-form button[type=submit]")
    await expect(page.locator("#profile .avatar[data-avatar=copy]")).to_be_visible()
    await audit.check(page, "settings, own picture")
    await click(page, "#wechat-bind")
    await qr_scan(site, page, 5)
    await page.wait_for_url(f"{site.url}/settings")
    await expect(page.locator("#wechat .identity")).to_have_count(1)
    await audit.check(page, "settings, WeChat bound")
    await click(page, "#wechat-unbind")
    await page.wait_for_url(f"{site.url}/settings/wechat/unbind")
    await audit.check(page, "unbind confirmation")
    await page.goto(f"{site.url}/settings/confirm?next=/settings")
    await audit.check(page, "confirm it's you")
    await page.fill("#field-reauth-password", "wrong password")
    await click(page, "form[action='/settings/reauth'] button[type=submit]")
    await audit.check(page, "confirm it's you, wrong password")
    await page.fill("#field-reauth-password", PASSWORD)
    await click(page, "form[action='/settings/reauth'] button[type=submit]")
    await page.goto(f"{site.url}/settings/account/delete")
    await audit.check(page, "delete account")


async def test_the_audit_sees_a_violation_when_there_is_one(live: StartSite, new_person: NewPerson) -> None:
    site = await live()
    person = await new_person(**DESKTOP, color_scheme="dark")
    await person.page.goto(f"{site.url}/signup")
    # White on WeChat's own green, as the buttons were: 2.4:1.
    await person.page.evaluate(
        """() => { const b = document.querySelector("form[action='/signup'] button");
                   b.style.background = "#07c160"; b.style.color = "#fff"; }"""
    )
    audit = Audit()
    await audit.check(person.page, "sign-up, green button")
    assert audit.pages == 2
    for scheme in SCHEMES:  # seen in the scheme the page opened in, and after the switch to the other one
        assert any(f"green button, {scheme} (" in line and "color-contrast" in line for line in audit.found), audit.found

    # A fault of the dark scheme alone, on a page opened in the light one: the switch shows it, and only it.
    light = await new_person(**DESKTOP, color_scheme="light")
    await light.page.goto(f"{site.url}/signup")
    await light.page.evaluate(  # a constructed style sheet: our CSP refuses inline <style>
        """() => { const sheet = new CSSStyleSheet();
                   sheet.replaceSync("@media (prefers-color-scheme: dark) { "
                                     + "form[action='/signup'] button { background: #333; color: #444; } }");
                   document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet]; }"""
    )
    audit = Audit()
    await audit.check(light.page, "sign-up, dark-only fault")
    assert audit.pages == 2
    assert any(", dark (" in line and "color-contrast" in line for line in audit.found), audit.found
    assert not any(", light (" in line for line in audit.found), audit.found
