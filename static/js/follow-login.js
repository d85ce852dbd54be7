// Follow the official account to log in: ask for a QR only once the option is opened, long-poll its scene,
// then claim it once. An expired QR is renewed by itself only while the page is seen (a few times at most).
(function () {
  var box = document.getElementById("follow-login");
  var option = document.getElementById("follow-login-option");
  if (!box || !option) return;
  // A phone cannot scan its own screen; inside WeChat the official account's web login is the way.
  if (/Mobi|Android|iPhone|iPad|iPod|HarmonyOS|MicroMessenger/i.test(navigator.userAgent)) return;
  var AUTO_RENEWALS = 3;
  var img = document.getElementById("follow-login-qr");
  var message = document.getElementById("follow-login-message");
  var refresh = document.getElementById("follow-login-refresh");
  var csrf = box.getAttribute("data-csrf");
  var generation = 0;
  var scene = null;
  var renewals = 0;
  var renewWhenSeen = false;

  function show(status, text) {
    box.setAttribute("data-status", status);
    if (text) message.textContent = text;
  }

  function stop(status, text) {
    show(status, text || box.getAttribute("data-error"));
    img.hidden = true;
    refresh.hidden = false;
  }

  function goOn(data) {
    var to = data.redirect || "";
    if (to.charAt(0) !== "/" || to.charAt(1) === "/" || to.charAt(1) === "\\") return stop("failed", data.message);
    show("login", data.message);
    window.location.assign(to);
  }

  function post(url, fields) {
    return fetch(url, {
      method: "POST", credentials: "same-origin", body: new URLSearchParams(fields),
      headers: {"X-CSRF-Token": csrf, "Accept": "application/json"}
    }).then(function (response) { return response.json(); });
  }

  function claim(mine) {
    post(box.getAttribute("data-claim-url"), {scene: scene}).then(function (data) {
      if (mine !== generation) return;
      if (data.status === "login") return goOn(data);
      stop(data.status, data.message);
    }, function () { if (mine === generation) stop("unavailable"); });
  }

  function wait(mine, failures) {
    var url = box.getAttribute("data-wait-url") + "?scene=" + encodeURIComponent(scene);
    fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (response) { return response.json(); })
      .then(function (data) {
        if (mine !== generation) return;
        if (data.status === "pending") return wait(mine, 0);
        if (data.status === "scanned") { show("scanned", data.message); return claim(mine); }
        if (data.status === "login") return goOn(data);
        stop(data.status, data.message);
        if (data.status === "expired") renewLater();
      }, function () {
        if (mine !== generation) return;
        if (failures >= 4) return stop("unavailable");
        window.setTimeout(function () { wait(mine, failures + 1); }, 1000 * (failures + 1));
      });
  }

  function start() {
    var mine = ++generation;
    scene = null;
    refresh.hidden = true;
    show("loading");
    post(box.getAttribute("data-qr-url"), {next: box.getAttribute("data-next") || "/"}).then(function (data) {
      if (mine !== generation) return;
      if (data.status !== "pending" || !data.image) return stop(data.status, data.message);
      scene = data.scene;
      img.src = data.image;
      img.hidden = false;
      show("pending", data.message);
      wait(mine, 0);
    }, function () { if (mine === generation) stop("unavailable"); });
  }

  function renewLater() {
    if (renewals >= AUTO_RENEWALS || !option.open) return;
    if (document.visibilityState === "hidden") { renewWhenSeen = true; return; }
    renewals += 1;
    start();
  }

  document.addEventListener("visibilitychange", function () {
    if (renewWhenSeen && document.visibilityState !== "hidden") {
      renewWhenSeen = false;
      renewLater();
    }
  });

  refresh.addEventListener("click", function () { renewals = 0; start(); });
  option.addEventListener("toggle", function () {
    if (option.open && generation === 0) start();
  });
  option.hidden = false;
  if (option.open) start();
})();
