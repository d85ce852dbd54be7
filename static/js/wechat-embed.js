// Embedded WeChat QR on the login page: load wxLogin.js, build the iframe, fall back to the link.
(function () {
  var box = document.getElementById("wechat-qr");
  if (!box) return;
  var fallback = document.getElementById("wechat-qr-fallback");
  var selfRedirect = box.getAttribute("data-self-redirect") === "true";

  function showFallback() {
    box.hidden = true;
    var hint = document.getElementById("wechat-qr-hint");
    if (hint) hint.hidden = true;
    if (fallback) fallback.hidden = false;
  }

  function build() {
    if (typeof window.WxLogin !== "function") return showFallback();
    new window.WxLogin({
      self_redirect: selfRedirect,
      id: "wechat-qr",
      appid: box.getAttribute("data-appid"),
      scope: "snsapi_login",
      // wxLogin.js concatenates these raw: encode them here.
      redirect_uri: encodeURIComponent(box.getAttribute("data-redirect-uri")),
      state: box.getAttribute("data-state"),
      lang: document.documentElement.lang === "en" ? "en" : "",
      stylelite: 1,
      fast_login: 0
    });
    var frame = box.querySelector("iframe");
    if (frame && !selfRedirect) {
      // Chrome blocks a cross-origin frame from navigating the top window without a user gesture,
      // unless the frame is sandboxed with allow-top-navigation: reload it with that sandbox.
      frame.setAttribute("sandbox", "allow-scripts allow-same-origin allow-top-navigation allow-forms");
      frame.src = frame.src;
    }
    box.setAttribute("data-ready", "true");
  }

  var script = document.createElement("script");
  script.src = box.getAttribute("data-js-url");
  script.onload = build;
  script.onerror = showFallback;
  document.head.appendChild(script);
})();
