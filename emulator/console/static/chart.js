// A tiny SVG line chart (no dependencies): time on x, value on y, one line per series.
// Elements with data-chart='{"range": "3h", "period": 60, "metrics": [{namespace, name, dims, stat, label}], "threshold": n}'
// fetch /api/metric-data for each metric and draw. window.drawLineChart(el, series, opts) is reusable.
(function () {
  "use strict";
  var BASE = "/_emulator/console";
  var COLORS = ["#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#4b5563"];
  var NS = "http://www.w3.org/2000/svg";

  function el(name, attrs, parent) {
    var node = document.createElementNS(NS, name);
    for (var k in attrs) node.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(node);
    return node;
  }
  function fmtNum(v) {
    var a = Math.abs(v);
    if (a >= 1e9) return (v / 1e9).toFixed(1) + "G";
    if (a >= 1e6) return (v / 1e6).toFixed(1) + "M";
    if (a >= 1e4) return (v / 1e3).toFixed(1) + "k";
    if (a >= 100) return v.toFixed(0);
    if (a >= 1) return v.toFixed(2).replace(/\.?0+$/, "");
    return v.toPrecision(2);
  }
  function fmtTime(ms, span) {
    var d = new Date(ms);
    var hm = ("0" + d.getHours()).slice(-2) + ":" + ("0" + d.getMinutes()).slice(-2);
    if (span > 2 * 86400000) return (d.getMonth() + 1) + "/" + d.getDate() + " " + hm;
    return hm;
  }

  // series: [{label, points: [[ms, value], ...]}]; opts: {start, end, threshold, compact}
  function drawLineChart(box, series, opts) {
    opts = opts || {};
    box.innerHTML = "";
    var w = box.clientWidth || 600, h = box.clientHeight || 240;
    var padL = opts.compact ? 2 : 48, padR = 10, padT = 8, padB = opts.compact ? 2 : 40;
    var all = [];
    series.forEach(function (s) { s.points.forEach(function (p) { all.push(p); }); });
    var count = all.length;
    box.setAttribute("data-points", String(count));
    var t0 = opts.start, t1 = opts.end;
    if (t0 == null || t1 == null) {
      t0 = Math.min.apply(null, all.map(function (p) { return p[0]; }).concat([Date.now() - 60000]));
      t1 = Math.max.apply(null, all.map(function (p) { return p[0]; }).concat([Date.now()]));
    }
    if (t1 <= t0) t1 = t0 + 1;
    var vals = all.map(function (p) { return p[1]; });
    if (opts.threshold != null) vals.push(opts.threshold);
    var lo = Math.min.apply(null, vals.concat([0])), hi = Math.max.apply(null, vals.concat([opts.max != null ? opts.max : 0]));
    if (hi === lo) hi = lo + 1;
    hi = hi + (hi - lo) * 0.05;
    var svg = el("svg", { viewBox: "0 0 " + w + " " + h, preserveAspectRatio: "none", role: "img" }, box);
    function x(t) { return padL + (w - padL - padR) * (t - t0) / (t1 - t0); }
    function y(v) { return padT + (h - padT - padB) * (1 - (v - lo) / (hi - lo)); }
    if (!opts.compact) {
      for (var i = 0; i <= 4; i++) {
        var v = lo + (hi - lo) * i / 4, yy = y(v);
        el("line", { x1: padL, x2: w - padR, y1: yy, y2: yy, stroke: "#e5e7eb" }, svg);
        var label = el("text", { x: padL - 6, y: yy + 4, "text-anchor": "end", "font-size": 11, fill: "#6b7686" }, svg);
        label.textContent = fmtNum(v);
      }
      for (var j = 0; j <= 5; j++) {
        var t = t0 + (t1 - t0) * j / 5;
        var tl = el("text", { x: x(t), y: h - padB + 16, "text-anchor": j === 0 ? "start" : j === 5 ? "end" : "middle", "font-size": 11, fill: "#6b7686" }, svg);
        tl.textContent = fmtTime(t, t1 - t0);
      }
    }
    if (opts.threshold != null) {
      el("line", { x1: padL, x2: w - padR, y1: y(opts.threshold), y2: y(opts.threshold), stroke: "#dc2626", "stroke-dasharray": "5 4" }, svg);
    }
    series.forEach(function (s, idx) {
      var color = COLORS[idx % COLORS.length];
      if (!s.points.length) return;
      var d = s.points.map(function (p, k) { return (k ? "L" : "M") + x(p[0]).toFixed(1) + " " + y(p[1]).toFixed(1); }).join(" ");
      el("path", { d: d, fill: "none", stroke: color, "stroke-width": opts.compact ? 1.5 : 2, "vector-effect": "non-scaling-stroke", "class": "series" }, svg);
      if (!opts.compact && s.points.length <= 120) {
        s.points.forEach(function (p) {
          var c = el("circle", { cx: x(p[0]), cy: y(p[1]), r: 2.5, fill: color, "class": "point" }, svg);
          var title = el("title", {}, c);
          title.textContent = s.label + ": " + fmtNum(p[1]) + " at " + new Date(p[0]).toLocaleString();
        });
      }
    });
    if (!opts.compact) {
      if (!count) {
        var nd = document.createElement("div");
        nd.className = "nodata";
        nd.textContent = "No data points in this time range.";
        box.appendChild(nd);
      }
      var legend = document.createElement("div");
      legend.className = "legend";
      series.forEach(function (s, idx) {
        var item = document.createElement("span");
        var sw = document.createElement("i");
        sw.style.background = COLORS[idx % COLORS.length];
        item.appendChild(sw);
        item.appendChild(document.createTextNode(s.label + " (" + s.points.length + ")"));
        legend.appendChild(item);
      });
      box.appendChild(legend);
    }
  }
  window.drawLineChart = drawLineChart;

  function load(box) {
    var spec;
    try { spec = JSON.parse(box.getAttribute("data-chart")); } catch (e) { return; }
    var metrics = spec.metrics || [];
    var start = null, end = null;
    var requests = metrics.map(function (m) {
      var q = new URLSearchParams({
        namespace: m.namespace, name: m.name, dims: JSON.stringify(m.dims || []), stat: m.stat || "Average",
        range: spec.range || "3h", period: String(m.period || spec.period || ""), label: m.label || m.name
      });
      return fetch(BASE + "/api/metric-data?" + q.toString(), { credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (data) {
          if (data.points === undefined) return { label: (m.label || m.name) + " — " + (data.message || "error"), points: [] };
          start = data.start; end = data.end;
          return { label: m.label || data.label, points: data.points };
        });
    });
    box.setAttribute("data-state", "loading");
    Promise.all(requests).then(function (series) {
      drawLineChart(box, series, { start: start, end: end, threshold: spec.threshold });
      box.setAttribute("data-state", "ready");
    }).catch(function (err) {
      box.textContent = "Could not load the graph: " + err;
      box.setAttribute("data-state", "error");
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    var boxes = document.querySelectorAll("[data-chart]");
    boxes.forEach(load);
    // Graphs follow new data points as the CloudWatch console's auto-refresh does.
    if (boxes.length) setInterval(function () { boxes.forEach(load); }, 60000);
  });
})();
