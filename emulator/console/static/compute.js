// Refreshes instance states and tokens/s every 3 s without reloading the page.
(function () {
  "use strict";
  var BASE = "/_emulator/console";
  var KINDS = { running: "ok", pending: "warn", stopping: "warn", "shutting-down": "warn", stopped: "muted", terminated: "muted" };
  function tick() {
    fetch(BASE + "/api/instances", { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (data) {
      (data.instances || []).forEach(function (inst) {
        document.querySelectorAll('[data-instance-state="' + inst.id + '"]').forEach(function (cell) {
          var badge = cell.querySelector(".badge");
          if (badge && badge.textContent !== inst.state) {
            badge.textContent = inst.state;
            badge.className = "badge " + (KINDS[inst.state] || "");
          }
        });
        document.querySelectorAll('[data-instance-tps="' + inst.id + '"]').forEach(function (cell) {
          cell.textContent = inst.tokens_per_second || "";
        });
      });
    }).catch(function () {});
  }
  document.addEventListener("DOMContentLoaded", function () {
    if (document.querySelector("[data-instance-state]")) setInterval(tick, 3000);
  });
})();
