/* The simulated phone: scan, then allow or refuse, through the control API. */
(function () {
  "use strict";
  var phone = document.getElementById("phone");
  var scanBtn = document.getElementById("btn-scan");
  if (!scanBtn) return;
  var uuid = phone.getAttribute("data-uuid");
  var text = JSON.parse(document.getElementById("phone-text").textContent);
  var userId = null;

  function step(id) {
    ["step-pick", "step-confirm", "step-done"].forEach(function (s) {
      document.getElementById(s).hidden = s !== id;
    });
  }

  function act(action) {
    return fetch("/_sim/api/qr/" + encodeURIComponent(uuid), {
      method: "POST", headers: {"Content-Type": "application/json"},
      body: JSON.stringify({user: userId, action: action})
    }).then(function (r) { return r.json().then(function (j) { j.ok = r.ok; return j; }); });
  }

  function done(text, canRescan) {
    document.getElementById("done-text").textContent = text;
    document.getElementById("btn-rescan").hidden = !canRescan;
    step("step-done");
  }

  scanBtn.onclick = function () {
    userId = parseInt(document.querySelector("input[name=user]:checked").value, 10);
    act("scan").then(function (j) { j.ok ? step("step-confirm") : done(j.error || text.expired, false); });
  };
  document.getElementById("btn-confirm").onclick = function () {
    act("confirm").then(function (j) { done(j.ok ? text.allowed : (j.error || text.failed), false); });
  };
  document.getElementById("btn-cancel").onclick = function () {
    act("cancel").then(function (j) { done(j.ok ? text.cancelled : (j.error || text.failed), j.ok); });
  };
  document.getElementById("btn-rescan").onclick = function () { step("step-pick"); };
})();
