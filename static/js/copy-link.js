// "Copy link" for opening a page in WeChat: the clipboard API where the page is a secure context, else
// the old select-and-copy; the link stays visible in its field either way.
(function () {
  var button = document.getElementById("copy-link");
  if (!button) return;
  var field = document.getElementById(button.getAttribute("data-copy-target"));
  var status = document.getElementById("copy-link-status");

  function say(key) {
    if (status) status.textContent = button.getAttribute(key);
    button.setAttribute("data-state", key === "data-copied" ? "copied" : "failed");
  }

  function fallback() {
    field.focus();
    field.select();
    field.setSelectionRange(0, field.value.length);
    var copied = false;
    try { copied = document.execCommand("copy"); } catch (e) { copied = false; }
    say(copied ? "data-copied" : "data-failed");
  }

  button.addEventListener("click", function () {
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(field.value).then(function () { say("data-copied"); }, fallback);
    } else {
      fallback();
    }
  });
  field.addEventListener("focus", function () { field.select(); });
})();
