/* The QR page's long poll, as open.weixin.qq.com runs it (wx_errcode 408/404/403/405/402/500). */
(function () {
  "use strict";
  var cfg = JSON.parse(document.getElementById("wx-config").textContent);

  function show(id) {
    var all = document.querySelectorAll(".js_status");
    for (var i = 0; i < all.length; i++) all[i].style.display = "none";
    document.getElementById(id).style.display = "block";
  }

  /* Code and state go textually at the END of redirect_uri, even after a #fragment. */
  function target(code) {
    var sep = cfg.redirect_uri.indexOf("?") > -1 ? "&" : "?";
    return cfg.redirect_uri + sep + "code=" + code + "&state=" + cfg.state;
  }

  function go(url) {
    if (window.top === window.self || cfg.self_redirect === "true") {
      window.location.href = url;
    } else if (cfg.self_redirect === "false") {
      window.top.location.href = url;
    } else {
      /* "default": only a qq.com parent may be read; for everyone else this throws and the top navigates. */
      try {
        document.domain = "qq.com";
        var host = window.top.location.host;
        if (!host) throw new Error("cross-origin");
        window.location.href = url;
      } catch (e) {
        window.top.location.href = url;
      }
    }
  }

  function poll(last) {
    var script = document.createElement("script");
    var url = "/connect/l/qrconnect?uuid=" + cfg.uuid + (last ? "&last=" + last : "") + "&_=" + Date.now();
    script.src = url;
    script.onload = function () { script.remove(); handle(window.wx_errcode, window.wx_code); };
    script.onerror = function () {
      script.remove();
      setTimeout(function () { poll(last === 408 ? undefined : last); }, 5000);
    };
    document.body.appendChild(script);
  }

  function handle(errcode, code) {
    switch (errcode) {
      case 405: go(target(code)); break;
      case 404: show("wx_after_scan"); setTimeout(function () { poll(404); }, 100); break;
      case 403: show("wx_after_cancel"); setTimeout(function () { poll(403); }, 2000); break;
      case 402: case 500: window.location.reload(); break;
      default: setTimeout(function () { poll(); }, 2000); break;
    }
  }

  window.wxSimTarget = target;
  /* A pending script delays the load event, and an iframe's load holds its parent's: a poll held 25 s would
     keep the embedding page "loading". So the first poll starts only after this window's load event. */
  function start() { setTimeout(function () { poll(); }, 0); }
  if (document.readyState === "complete") start(); else window.addEventListener("load", start);
})();
