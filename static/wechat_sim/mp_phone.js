/* The simulated phone behind a parametric QR: scan as a test user; a non-follower chooses to follow or not. */
(function () {
  "use strict";
  var phone = document.getElementById("mp-phone");
  var scanBtn = document.getElementById("btn-scan");
  if (!scanBtn) return;
  var text = JSON.parse(document.getElementById("mp-text").textContent);
  var ticket = phone.getAttribute("data-ticket");
  var appid = phone.getAttribute("data-appid");
  var userId = null;

  function step(id) {
    ["step-pick", "step-follow", "step-done"].forEach(function (s) {
      document.getElementById(s).hidden = s !== id;
    });
  }

  function done(title, body, detail) {
    document.getElementById("done-title").textContent = title;
    document.getElementById("done-text").textContent = body || "";
    document.getElementById("done-detail").textContent = detail || "";
    step("step-done");
  }

  function outcome(delivery) {
    if (!delivery) return "";
    if (delivery.notice) return delivery.notice;
    return text[delivery.status] || delivery.status;
  }

  function scan(follow) {
    return fetch("/_sim/api/mp/scan", {
      method: "POST", headers: {"Content-Type": "application/json"},
      body: JSON.stringify({user: userId, ticket: ticket, follow: follow})
    }).then(function (r) {
      return r.json().then(function (j) {
        if (r.status === 404) { done(text.expired, text.expired_hint); return; }
        if (!r.ok) { done(j.error || String(r.status)); return; }
        if (!j.event) { done(text.declined); return; }
        var title = j.event === "SCAN" ? text.chat : text.followed;
        done(title, outcome(j.delivery), j.event + (j.delivery ? " · " + j.delivery.status : ""));
      });
    });
  }

  scanBtn.onclick = function () {
    userId = parseInt(document.querySelector("input[name=user]:checked").value, 10);
    fetch("/_sim/api/mp/followers?appid=" + encodeURIComponent(appid)).then(function (r) { return r.json(); })
      .then(function (list) {
        var follows = list.some(function (f) { return f.user === userId; });
        if (follows) { scan(false); } else { step("step-follow"); }
      });
  };
  document.getElementById("btn-follow").onclick = function () { scan(true); };
  document.getElementById("btn-decline").onclick = function () { scan(false); };
  document.getElementById("btn-again").onclick = function () { step("step-pick"); };
})();
