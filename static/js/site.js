// On every page: move focus to the first error of a form sent back, remember the browser's time zone for the server (dates are shown in it), and leave the
// address bar clean after WeChat's in-app login (its authorize link ends in #wechat_redirect, which the
// browser carries across every redirect that has no fragment of its own).
(function () {
  try {
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    var value = zone ? encodeURIComponent(zone) : "";
    if (value && document.cookie.split("; ").indexOf("tz=" + value) === -1) {
      var secure = location.protocol === "https:" ? "; secure" : "";
      document.cookie = "tz=" + value + "; path=/; max-age=31536000; samesite=lax" + secure;
    }
  } catch (e) { /* no Intl: the server uses the language's default zone */ }
  // A form sent back with errors: start where the first one is (a field, else the form's own message).
  var firstError = document.querySelector('form [aria-invalid="true"]') || document.querySelector(".alert-error[tabindex]");
  if (firstError) firstError.focus();
  if (location.hash === "#wechat_redirect" && window.history && history.replaceState) {
    history.replaceState(history.state, "", location.pathname + location.search);
  }
})();
