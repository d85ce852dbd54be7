"""The login page in a real Chromium (a fresh context each): on a computer WeChat's QR comes first and fits
one screen with the password beside it, nothing moves while it loads, the follow-login QR is made only when
that option is opened, WeChat's own QR page is offered only where the embedded QR cannot work, inside WeChat
one large WeChat button comes first, and a keyboard alone reaches and uses every control."""

from __future__ import annotations

from contextlib import suppress
from pathlib import Path

import pytest

from tests.browser.conftest import BROWSER_LOOP, CHROMIUM, TIMEOUT_MS, NewPerson, StartSite
from tests.browser.test_follow_login import follow_login_site
from tests.wechat.harness import WECHAT_UA

if not Path(CHROMIUM).exists():
    pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium to run the browser tests", allow_module_level=True)

from playwright.async_api import Page, expect
from playwright.async_api import TimeoutError as PlaywrightTimeoutError

pytestmark = [pytest.mark.browser, BROWSER_LOOP]
expect.set_options(timeout=TIMEOUT_MS)
DESKTOP = {"viewport": {"width": 1280, "height": 800}}
IN_WECHAT = {"user_agent": WECHAT_UA, "viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}

# Every layout shift the page makes from its first paint on, summed as Chromium reports them (CLS).
CLS_OBSERVER = """
window.__cls = 0;
new PerformanceObserver(list => {
  for (const entry of list.getEntries()) if (!entry.hadRecentInput) window.__cls += entry.value;
}).observe({type: "layout-shift", buffered: true});
"""


async def box_of(page: Page, selector: str) -> dict[str, float]:
    box = await page.locator(selector).bounding_box()
    assert box is not None, f"{selector} is not laid out"
    return box


async def qr_shown(page: Page) -> None:
    """WeChat's QR is in its frame (a Tab pressed while the frame loads may land nowhere)."""
    await expect(page.frame_locator("#wechat-qr iframe").locator("img.qrcode")).to_be_visible()


async def tab_to(page: Page, element_id: str) -> list[str]:
    """Press Tab until `element_id` has focus; every stop must show a focus ring. The stops, in order."""
    reached = []
    for _ in range(40):
        await page.keyboard.press("Tab")
        # Focus passing into (or out of) WeChat's cross-site frame, another renderer process, rests on <body>
        # until that process has answered; on a busy machine a stop read at once can catch it there. No stop
        # is ever <body> (it has no focus ring), so waiting for focus to leave it hides nothing: a Tab that
        # really lands there still fails below.
        with suppress(PlaywrightTimeoutError):
            await page.wait_for_function("() => document.activeElement !== document.body", timeout=5_000)
        where, ring = await page.evaluate(
            "() => { const e = document.activeElement; const s = getComputedStyle(e);"
            " return [e.id || e.getAttribute('href') || e.tagName, s.outlineStyle !== 'none' && s.outlineWidth !== '0px'] }"
        )
        reached.append(where)
        assert ring or where == "IFRAME", f"{where} shows no focus ring after {reached}"  # inside WeChat's frame is WeChat's
        if where == element_id:
            return reached
    raise AssertionError(f"Tab never reached {element_id}: {reached}")


async def test_on_a_computer_the_qr_comes_first_and_everything_fits_one_screen(
    live: StartSite, new_person: NewPerson, tmp_path: Path
) -> None:
    site = await live()
    person = await new_person(**DESKTOP)
    await person.context.add_init_script(CLS_OBSERVER)
    page = person.page
    await page.goto(f"{site.url}/login")
    frame = page.locator("#wechat-qr iframe")
    await expect(page.frame_locator("#wechat-qr iframe").locator("img.qrcode")).to_be_visible()
    await page.screenshot(path=tmp_path / "login-desktop.png")

    qr, form = await box_of(page, "#wechat-qr iframe"), await box_of(page, "form[action='/login']")
    assert qr["y"] + qr["height"] <= 800, f"the QR ends below the fold: {qr}"
    assert form["x"] > qr["x"] + qr["width"] and form["y"] < 800, "the password form is beside the QR"
    assert await frame.get_attribute("title") == "WeChat login QR code"
    await expect(page.locator("#wechat-login-link")).to_be_hidden()  # the embedded QR works here
    assert await page.evaluate("document.documentElement.scrollHeight") <= 800
    cls = await page.evaluate("new Promise(r => requestAnimationFrame(() => r(window.__cls)))")
    assert cls <= 0.02, f"layout shift {cls}"
    assert person.csp_violations() == []


async def test_wechats_own_qr_page_is_offered_only_when_the_embedded_qr_cannot_work(
    live: StartSite, new_person: NewPerson
) -> None:
    site = await live()
    without_js = await new_person(**DESKTOP, java_script_enabled=False)
    await without_js.page.goto(f"{site.url}/login")
    await expect(without_js.page.locator("#wechat-login-link")).to_be_visible()
    await expect(without_js.page.locator("#wechat-qr")).to_be_hidden()
    assert await site.count("oauth_states") == 0

    with_js = await new_person(**DESKTOP)
    await with_js.page.goto(f"{site.url}/login")
    await expect(with_js.page.locator("#wechat-qr")).to_have_attribute("data-ready", "true")
    await expect(with_js.page.locator("#wechat-login-link")).to_be_hidden()


async def test_the_follow_login_qr_is_made_only_when_that_option_is_opened(
    live: StartSite, new_person: NewPerson
) -> None:
    site = await follow_login_site(live)
    person = await new_person(**DESKTOP)
    page = person.page
    await page.goto(f"{site.url}/login")
    await expect(page.locator("#wechat-qr")).to_have_attribute("data-ready", "true")
    option = page.locator("#follow-login-option")
    await expect(option).to_be_visible()
    await expect(page.locator("#follow-login")).to_have_attribute("data-status", "idle")
    assert await site.sim.control("GET", "mp/qrcodes") == []

    await page.locator("#follow-login-option summary").click()
    await expect(page.locator("#follow-login")).to_have_attribute("data-status", "pending")
    await expect(page.locator("#follow-login-qr")).to_be_visible()
    assert len(await site.sim.control("GET", "mp/qrcodes")) == 1


async def test_inside_wechat_one_large_wechat_button_comes_first(live: StartSite, new_person: NewPerson) -> None:
    site = await live()
    person = await new_person(**IN_WECHAT)
    page = person.page
    await page.goto(f"{site.url}/login")
    button, form = await box_of(page, "#wechat-login-link"), await box_of(page, "form[action='/login']")
    assert button["y"] < form["y"] and button["height"] >= 48 and button["width"] >= 300
    await expect(page.locator("#wechat-qr")).to_have_count(0)


async def test_a_keyboard_alone_logs_in_and_a_failed_try_starts_at_the_error(
    live: StartSite, new_person: NewPerson
) -> None:
    site = await live()
    person = await new_person(**DESKTOP)
    page = person.page
    await page.goto(f"{site.url}/signup")
    await page.fill("#field-username", "keyboard")
    await page.fill("#field-password", "correct horse battery")
    await page.fill("#field-confirm", "correct horse battery")
    await page.locator("form[action='/signup'] button[type=submit]").click()
    await page.wait_for_url(f"{site.url}/")
    await page.locator("form[action='/logout'] button").click()
    await page.wait_for_url(f"{site.url}/login")
    await qr_shown(page)

    reached = await tab_to(page, "field-username")  # the skip link first, then the controls in reading order
    assert reached[0] == "#main" and "IFRAME" in reached, reached

    await page.keyboard.type("keyboard")
    await page.keyboard.press("Tab")
    await page.keyboard.type("a wrong password")
    await page.keyboard.press("Enter")
    await expect(page.locator("#form-error")).to_be_focused()
    await qr_shown(page)

    await tab_to(page, "field-username")  # on from the message, past the QR, to the form
    await page.keyboard.press("Tab")
    await page.keyboard.type("correct horse battery")
    await page.keyboard.press("Enter")
    await page.wait_for_url(f"{site.url}/")
    me = await person.me(site)
    assert me is not None and me["username"] == "keyboard"


def contrast_of(png: bytes) -> float:
    """WCAG contrast between the darkest and the lightest pixel of a picture."""
    from io import BytesIO

    from PIL import Image

    def luminance(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    lows, highs = Image.open(BytesIO(png)).convert("L").getextrema()
    darkest, lightest = luminance(lows), luminance(highs)
    return (lightest + 0.05) / (darkest + 0.05)


async def test_in_dark_mode_both_qr_codes_stay_dark_on_white(live: StartSite, new_person: NewPerson) -> None:
    site = await follow_login_site(live)
    person = await new_person(**DESKTOP, color_scheme="dark")
    page = person.page
    await page.goto(f"{site.url}/login")
    qr = page.frame_locator("#wechat-qr iframe").locator("img.qrcode")
    await expect(qr).to_be_visible()
    await page.locator("#follow-login-option summary").click()
    await expect(page.locator("#follow-login-qr")).to_be_visible()
    for frame in (page.locator("#wechat-qr"), page.locator(".follow-qr")):
        assert await frame.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(255, 255, 255)"
    assert contrast_of(await page.locator("#follow-login-qr").screenshot()) >= 7
    assert contrast_of(await qr.screenshot()) >= 7
