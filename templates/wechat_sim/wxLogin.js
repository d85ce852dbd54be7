/* wxLogin.js as served by the WeChat simulator: builds the same iframe as res.wx.qq.com's script. */
!function (window, document) {
  "use strict";
  var SIMBASE = {{ simbase|tojson }};

  function WxLogin(a) {
    var selfRedirect = "default";
    if (a.self_redirect === true || a.self_redirect === "true") selfRedirect = "true";
    else if (a.self_redirect === false || a.self_redirect === "false") selfRedirect = "false";
    var frame = document.createElement("iframe");
    /* redirect_uri, state, style and href are concatenated raw, as WeChat's script does. */
    var src = SIMBASE + "/connect/qrconnect?appid=" + a.appid + "&scope=" + a.scope +
      "&redirect_uri=" + a.redirect_uri + "&state=" + a.state + "&login_type=jssdk&self_redirect=" + selfRedirect +
      "&styletype=" + (a.styletype || "") + "&sizetype=" + (a.sizetype || "") +
      "&bgcolor=" + (a.bgcolor || "") + "&rst=" + (a.rst || "");
    src += a.style ? "&style=" + a.style : "";
    src += a.href ? "&href=" + a.href : "";
    src += a.lang === "en" ? "&lang=en" : "";
    src += (a.stylelite === 1 || a.stylelite === "1" || a.stylelite === true) ? "&stylelite=1" : "";
    src += (a.fast_login === 0 || a.fast_login === "0" || a.fast_login === false) ? "&fast_login=0" : "";
    frame.src = src;
    frame.frameBorder = "0";
    frame.allowTransparency = "true";
    frame.scrolling = "no";
    frame.width = "300px";
    frame.height = "400px";
    if (typeof a.onReady === "function") {
      frame.onload = function () { a.onReady(true); };
    }
    var container = document.getElementById(a.id);
    container.innerHTML = "";
    container.appendChild(frame);
  }

  window.WxLogin = WxLogin;
}(window, document);
