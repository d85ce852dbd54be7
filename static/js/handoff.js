// Inside WeChat's QR iframe (self_redirect: true) the session cookie is not sent, so the callback
// finished server-side; hand over to the top window, which is on this site and has the cookie.
(function () {
  var el = document.getElementById("handoff");
  if (!el) return;
  var url = el.getAttribute("data-finish-url");
  try {
    window.top.location.replace(url);
  } catch (e) {
    window.location.replace(url);
  }
})();
