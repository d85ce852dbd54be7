/* The home page's official-account buttons: each calls the control API and shows what was pushed. */
(function () {
  "use strict";
  var table = document.getElementById("mp-users");
  if (!table) return;
  var result = document.getElementById("mp-result");

  function post(action, body) {
    return fetch("/_sim/api/mp/" + action, {
      method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)
    }).then(function (r) { return r.json().then(function (j) { j.httpStatus = r.status; return j; }); });
  }

  function show(row, action, answer) {
    if (answer.httpStatus !== 200) { result.textContent = action + ": " + (answer.error || answer.httpStatus); return; }
    var d = answer.delivery;
    result.textContent = "user " + answer.user + ": " + answer.event + " → " +
      (d ? d.status + (d.notice ? " (" + d.notice + ")" : "") : "nothing pushed") + "\n" + JSON.stringify(d, null, 2);
    if (action === "follow" || action === "unfollow") {
      var follows = action === "follow";
      row.querySelector(".follow-state").textContent = follows ? "following" : "not following";
      row.querySelector("[data-action=follow]").hidden = follows;
      row.querySelector("[data-action=unfollow]").hidden = !follows;
    }
  }

  table.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-action]");
    if (!button) return;
    var row = button.closest("tr"), action = button.getAttribute("data-action");
    var body = {user: parseInt(row.getAttribute("data-user"), 10)};
    if (action === "profile") {
      ["nickname", "headimgurl"].forEach(function (name) {
        var value = row.querySelector("input[name=" + name + "]").value;
        if (value) body[name] = value;
      });
    }
    result.textContent = "…";
    post(action, body).then(function (answer) { show(row, action, answer); });
  });
})();
