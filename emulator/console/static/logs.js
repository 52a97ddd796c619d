// Live tail: polls /api/logs for events newer than the last one shown, every 2 s.
(function () {
  "use strict";
  var BASE = "/_emulator/console";
  var timer = null, seen = {};
  function line(e) {
    var div = document.createElement("div");
    div.className = "log-line new";
    [["ts", e.time], ["stream", e.stream], ["msg", e.message]].forEach(function (p) {
      var span = document.createElement("span");
      span.className = p[0];
      span.textContent = p[1];
      div.appendChild(span);
    });
    return div;
  }
  function poll(btn) {
    var q = new URLSearchParams({ group: btn.getAttribute("data-group"), pattern: document.getElementById("pattern").value, stream: document.getElementById("stream").value, since: btn.getAttribute("data-since") });
    fetch(BASE + "/api/logs?" + q.toString(), { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (data) {
      var view = document.getElementById("log-view"), added = 0, since = Number(btn.getAttribute("data-since"));
      if (!data.events) { document.getElementById("tail-status").textContent = "Live tail: " + (data.message || "error"); return; }
      data.events.forEach(function (e) {
        if (seen[e.id]) return;
        seen[e.id] = true;
        view.appendChild(line(e));
        added += 1;
        since = Math.max(since, e.timestamp);
      });
      // Re-ask from the newest timestamp (inclusive) so late events with the same ms are not lost; ids dedupe.
      btn.setAttribute("data-since", String(since));
      if (added) view.scrollTop = view.scrollHeight;
      document.getElementById("tail-status").textContent = "Live tail on · last poll " + new Date().toLocaleTimeString() + (added ? " · " + added + " new" : "");
    }).catch(function () {});
  }
  document.addEventListener("DOMContentLoaded", function () {
    var btn = document.getElementById("tail-toggle");
    if (!btn) return;
    btn.addEventListener("click", function () {
      if (timer) {
        clearInterval(timer); timer = null;
        btn.textContent = "Start live tail";
        document.getElementById("tail-status").textContent = "Live tail off.";
        return;
      }
      btn.textContent = "Stop live tail";
      poll(btn);
      timer = setInterval(function () { poll(btn); }, 2000);
    });
  });
})();
