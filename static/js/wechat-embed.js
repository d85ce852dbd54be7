// Embedded WeChat QR on the login page: ask the site for a state (only now: reading the page stores
// nothing), load wxLogin.js, build the QR, and renew it before the state expires while the page is seen.
// Until this runs, and again if the QR cannot be shown, the same box offers WeChat's own QR page.
(function () {
  var box = document.getElementById("wechat-qr");
  if (!box) return;
  var elsewhere = document.getElementById("wechat-qr-elsewhere");
  var fallback = document.getElementById("wechat-qr-fallback");
  var busy = document.getElementById("wechat-qr-busy");
  var selfRedirect = box.getAttribute("data-self-redirect") === "true";
  var renewTimer = null;
  var renewWhenSeen = false;

  if (elsewhere) elsewhere.hidden = true;
  box.hidden = false;

  function showFallback(limited) {
    box.hidden = true;
    var hint = document.getElementById("wechat-qr-hint");
    if (hint) hint.hidden = true;
    if (elsewhere) elsewhere.hidden = false;
    if (limited && busy) busy.hidden = false;
    else if (fallback) fallback.hidden = false;
  }

  function fetchState() {
    return fetch(box.getAttribute("data-state-url"), {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRF-Token": box.getAttribute("data-csrf"), "Accept": "application/json" }
    }).then(function (response) {
      if (response.status === 429) throw new Error("limited");
      if (!response.ok) throw new Error("state " + response.status);
      return response.json();
    });
  }

  function build(state) {
    new window.WxLogin({
      self_redirect: selfRedirect,
      id: "wechat-qr",
      appid: box.getAttribute("data-appid"),
      scope: "snsapi_login",
      // wxLogin.js concatenates these raw: encode them here.
      redirect_uri: encodeURIComponent(box.getAttribute("data-redirect-uri")),
      state: state,
      lang: document.documentElement.lang === "en" ? "en" : "",
      stylelite: 1,
      fast_login: 0
    });
    var frame = box.querySelector("iframe");
    if (frame) frame.title = box.getAttribute("data-frame-title") || "WeChat";
    if (frame && !selfRedirect) {
      // Chrome blocks a cross-origin frame from navigating the top window without a user gesture,
      // unless the frame is sandboxed with allow-top-navigation: reload it with that sandbox.
      frame.setAttribute("sandbox", "allow-scripts allow-same-origin allow-top-navigation allow-forms");
      frame.src = frame.src;
    }
    box.setAttribute("data-state", state);
    box.setAttribute("data-ready", "true");
  }

  function show() {
    fetchState().then(function (answer) {
      build(answer.state);
      // A minute before the state expires, a new QR replaces this one (a QR left open stays valid).
      var renewIn = Math.max(30, (answer.expires_in || 600) - 60) * 1000;
      clearTimeout(renewTimer);
      renewTimer = setTimeout(renew, renewIn);
    }).catch(function (error) {
      showFallback(error && error.message === "limited");
    });
  }

  // A page nobody looks at asks for no new states: it renews when it is seen again.
  function renew() {
    if (document.visibilityState === "hidden") renewWhenSeen = true;
    else show();
  }

  document.addEventListener("visibilitychange", function () {
    if (renewWhenSeen && document.visibilityState !== "hidden") {
      renewWhenSeen = false;
      show();
    }
  });

  var script = document.createElement("script");
  script.src = box.getAttribute("data-js-url");
  script.onload = function () {
    if (typeof window.WxLogin !== "function") return showFallback(false);
    show();
  };
  script.onerror = function () { showFallback(false); };
  document.head.appendChild(script);
})();
