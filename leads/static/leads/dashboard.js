// Draws the dashboard's charts with the vendored Chart.js from the numbers the page also shows as tables.
"use strict";

(function () {
  const PALETTE = ["#417690", "#e8a33d", "#5b9e5b", "#c2524e", "#8a6fb5", "#4fa3a5", "#b07c4f", "#7a7a7a", "#d17fb0", "#9aa84a"];

  function draw(id, config) {
    const canvas = document.getElementById(id);
    if (canvas) new Chart(canvas, config);
  }

  function start() {
    const source = document.getElementById("dashboard-data");
    if (!source || typeof Chart === "undefined") return;
    const data = JSON.parse(source.textContent);
    Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
    Chart.defaults.animation = false;
    Chart.defaults.maintainAspectRatio = false;

    draw("pipeline-chart", {
      type: "bar",
      data: { labels: data.pipeline.labels, datasets: [{ label: "Leads", data: data.pipeline.counts, backgroundColor: PALETTE[0] }] },
      options: { plugins: { legend: { display: false } }, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
    });
    draw("bands-chart", {
      type: "doughnut",
      data: { labels: data.bands.labels, datasets: [{ data: data.bands.counts, backgroundColor: ["#c2524e", "#e8a33d", "#5b9e5b", "#b0b0b0"] }] },
      options: { plugins: { legend: { position: "right" } } },
    });
    draw("weekly-chart", {
      type: "bar",
      data: {
        labels: data.weeks,
        datasets: data.weekly.map((series, index) => ({ label: series.source, data: series.counts, backgroundColor: PALETTE[index % PALETTE.length] })),
      },
      options: {
        plugins: { legend: { position: "bottom" } },
        scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } },
      },
    });
    draw("conversion-chart", {
      type: "line",
      data: { labels: data.weeks, datasets: [{ label: "Converted / created (%)", data: data.rates, borderColor: PALETTE[2], backgroundColor: PALETTE[2], spanGaps: true }] },
      options: { plugins: { legend: { display: false } }, scales: { y: { beginAtZero: true, suggestedMax: 100, ticks: { callback: (value) => value + "%" } } } },
    });
  }

  // The predictions part: drawn from its own numbers, once it is in the page.
  function drawPredictions() {
    const source = document.getElementById("predictions-data");
    if (!source || typeof Chart === "undefined") return;
    const points = JSON.parse(source.textContent).calibration;
    draw("calibration-chart", {
      type: "scatter",
      data: {
        datasets: [
          { label: "Observed rate (%)", data: points, borderColor: PALETTE[0], backgroundColor: PALETTE[0], showLine: true, pointRadius: 4 },
          { label: "Perfect calibration", data: [{ x: 0, y: 0 }, { x: 100, y: 100 }], borderColor: "#b0b0b0", borderDash: [4, 4], showLine: true, pointRadius: 0 },
        ],
      },
      options: {
        plugins: { legend: { position: "bottom" } },
        scales: {
          x: { min: 0, max: 100, title: { display: true, text: "Predicted probability (%)" } },
          y: { min: 0, max: 100, title: { display: true, text: "Converted (%)" } },
        },
      },
    });
  }

  // Not cached yet: the part comes from its own URL right after the page, so the page does not wait for it.
  function loadPredictions() {
    const box = document.getElementById("predictions");
    if (!box) return;
    if (!box.hasAttribute("data-pending")) {
      drawPredictions();
      return;
    }
    fetch(box.dataset.src, { credentials: "same-origin" })
      .then((response) => (response.ok && !response.redirected ? response.text() : Promise.reject(response.status)))
      .then((html) => {
        box.innerHTML = html;
        box.removeAttribute("data-pending");
        drawPredictions();
      })
      .catch(() => {
        const help = box.querySelector(".help");
        if (help) help.firstChild.textContent = "The predictions could not be loaded. ";
      });
  }

  document.addEventListener("DOMContentLoaded", () => {
    start();
    loadPredictions();
  });
})();
