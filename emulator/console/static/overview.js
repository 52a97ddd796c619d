// Live gauges: polls /api/stats every 2 s and keeps a short history for the sparklines.
(function () {
  "use strict";
  var BASE = "/_emulator/console";
  var history = { cpu: [], ram: [], gpu: [], vram: [], rps: [] };
  var KEEP = 90;

  function gb(bytes) { return (bytes / 1073741824).toFixed(1) + " GiB"; }
  function set(key, value, text, percent) {
    var v = document.getElementById("g-" + key), b = document.getElementById("b-" + key), s = document.getElementById("s-" + key);
    if (!v) return;
    v.textContent = text;
    if (b) b.style.width = (percent == null ? 0 : Math.max(0, Math.min(100, percent))) + "%";
    if (value == null) return;
    var hist = history[key];
    hist.push([Date.now(), value]);
    if (hist.length > KEEP) hist.shift();
    if (s && window.drawLineChart) window.drawLineChart(s, [{ label: key, points: hist }], { compact: true, max: percent == null ? null : 100, start: hist[0][0], end: hist[hist.length - 1][0] });
  }
  function tick() {
    fetch(BASE + "/api/stats", { credentials: "same-origin" }).then(function (r) {
      if (r.status === 401) { window.location = BASE + "/signin"; throw new Error("signed out"); }
      return r.json();
    }).then(function (s) {
      set("cpu", s.cpu_percent, s.cpu_percent.toFixed(0) + "% of " + s.cpu_count, s.cpu_percent);
      set("ram", s.ram_percent, gb(s.ram_used) + " / " + gb(s.ram_total), s.ram_percent);
      if (s.gpus && s.gpus.length) {
        var g = s.gpus[0];
        set("gpu", s.gpu_percent, s.gpu_percent.toFixed(0) + "%", s.gpu_percent);
        set("vram", s.vram_percent, gb(g.vram_used) + " / " + gb(g.vram_total), s.vram_percent);
        document.getElementById("gpu-note").textContent = s.gpus.map(function (x) { return "GPU " + x.index + ": " + x.name; }).join(" · ");
      } else {
        set("gpu", null, "no GPU", null);
        set("vram", null, "no GPU", null);
        document.getElementById("gpu-note").textContent = "No NVIDIA GPU detected (NVML unavailable): inference runs on the CPU.";
      }
      set("rps", s.requests_per_second, s.requests_per_second.toFixed(1), null);
      document.getElementById("gauges").setAttribute("data-updated", String(Date.now()));
    }).catch(function () {});
  }
  document.addEventListener("DOMContentLoaded", function () { tick(); setInterval(tick, 2000); });
})();
