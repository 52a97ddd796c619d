// Shared behaviour: confirmations, the item editor, a CSRF-aware fetch helper.
(function () {
  "use strict";
  window.consoleCsrf = function () {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  };
  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    var message = form.getAttribute && form.getAttribute("data-confirm");
    if (message && !window.confirm(message)) ev.preventDefault();
  });
  document.addEventListener("click", function (ev) {
    var btn = ev.target.closest && ev.target.closest(".edit-item");
    if (!btn) return;
    var area = document.getElementById("item-json");
    if (area) {
      area.value = btn.getAttribute("data-item");
      area.scrollIntoView({ behavior: "smooth", block: "center" });
      area.focus();
    }
  });
})();
