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
  // The region switch submits itself when a region is picked (its button is for no-script use).
  document.addEventListener("change", function (ev) {
    if (ev.target && ev.target.id === "region-select" && ev.target.form) ev.target.form.submit();
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
