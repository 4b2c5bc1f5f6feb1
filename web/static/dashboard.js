// RP CRM start page: draws a bar chart (Chart.js) above each table marked
// data-chart, from the table's own figures (each body row's data-value, in
// the currency of data-currency). The table stays: it is what screen
// readers and browsers without JavaScript get.
(function () {
  "use strict";

  // Swiss grouping: 1'234'567.
  function swiss(n) {
    return Math.round(n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, "'");
  }

  function init() {
    if (typeof Chart === "undefined") return;
    document.querySelectorAll("table[data-chart]").forEach(function (table) {
      if (table.dataset.ready) return;
      table.dataset.ready = "1";
      var labels = [];
      var values = [];
      table.querySelectorAll("tbody tr").forEach(function (tr) {
        var th = tr.querySelector("th");
        labels.push(th ? th.textContent.trim() : "");
        values.push(parseFloat(tr.dataset.value) || 0);
      });
      var currency = table.dataset.currency || "";
      var wrap = document.createElement("div");
      wrap.className = "chart-wrap";
      var canvas = document.createElement("canvas");
      canvas.setAttribute("role", "img");
      canvas.setAttribute("aria-label", table.dataset.label || "");
      wrap.appendChild(canvas);
      var host = table.closest(".table-wrap") || table;
      host.parentNode.insertBefore(wrap, host);
      var accent = getComputedStyle(document.documentElement).getPropertyValue("--accent").trim() || "#0b5cad";
      new Chart(canvas, {
        type: "bar",
        data: { labels: labels, datasets: [{ label: currency, data: values, backgroundColor: accent }] },
        options: {
          responsive: true,
          maintainAspectRatio: false,
          animation: false,
          plugins: {
            legend: { display: false },
            tooltip: { callbacks: { label: function (ctx) { return swiss(ctx.parsed.y) + " " + currency; } } }
          },
          scales: { y: { beginAtZero: true, ticks: { callback: function (v) { return swiss(v); } } } }
        }
      });
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
  document.addEventListener("htmx:load", init);
})();
