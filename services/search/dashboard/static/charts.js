// The dashboard's charts, drawn with Chart.js (vendored from npm by bin/vendor-js and loaded
// from this origin before the app module; see static/vendor/manifest.json).
//
// One place knows the library: colours come from the page's CSS custom properties so the charts
// follow the stylesheet, animation is off (figures should not wobble, and tests read the drawn
// data through Chart.getChart), and every canvas carries a text description for screen readers;
// each chart also has a table beside it.

const charts = new Map(); // container id -> Chart

function library() {
  const Chart = window.Chart;
  if (!Chart) throw new Error("the chart library did not load");
  return Chart;
}

export function cssColour(name, fallback) {
  const value = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return value || fallback;
}

function canvasIn(container, label) {
  const previous = charts.get(container.id);
  if (previous) previous.destroy();
  charts.delete(container.id);
  const canvas = document.createElement("canvas");
  canvas.setAttribute("role", "img");
  canvas.setAttribute("aria-label", label);
  canvas.textContent = label; // fallback content for browsers without canvas
  const frame = document.createElement("div");
  frame.className = "chart-frame";
  frame.append(canvas);
  container.replaceChildren(frame);
  return canvas;
}

function baseOptions() {
  const ink = cssColour("--muted", "#5f6b78");
  const grid = cssColour("--border", "#dbe1e7");
  return {
    animation: false,
    responsive: true,
    maintainAspectRatio: false,
    interaction: { mode: "index", intersect: false },
    plugins: { legend: { display: false }, tooltip: { enabled: true } },
    color: ink,
    scales: {
      x: { grid: { display: false }, ticks: { color: ink, autoSkip: true, maxRotation: 0 } },
      y: { beginAtZero: true, grid: { color: grid }, ticks: { color: ink, precision: 0 } },
    },
  };
}

// Stacked sentiment bars per bucket with the average-rating line on a 1-5 axis on the right.
export function drawTrend(container, { labels, counts, line, lineName, description }) {
  const Chart = library();
  const canvas = canvasIn(container, description);
  const options = baseOptions();
  options.scales.x.stacked = true;
  options.scales.y.stacked = true;
  options.scales.y.title = { display: false, text: "Mentions" };
  options.scales.rating = {
    position: "right",
    min: 1,
    max: 5,
    grid: { display: false },
    ticks: { stepSize: 1, color: options.color, callback: (v) => `${v}★` },
  };
  const bar = (key, label, colour) => ({
    type: "bar",
    label,
    data: counts[key],
    backgroundColor: colour,
    stack: "mentions",
    yAxisID: "y",
    order: 2,
    maxBarThickness: 34,
  });
  const chart = new Chart(canvas, {
    data: {
      labels,
      datasets: [
        bar("negative", "Negative", cssColour("--negative-bar", "#c2564b")),
        bar("neutral", "Neutral", cssColour("--neutral", "#8a949e")),
        bar("positive", "Positive", cssColour("--positive-bar", "#3f8f5f")),
        bar("unread", "Not read", cssColour("--unread", "#d7dde3")),
        {
          type: "line",
          label: lineName,
          data: line,
          yAxisID: "rating",
          borderColor: cssColour("--line", "#1c2f45"),
          backgroundColor: cssColour("--line", "#1c2f45"),
          borderWidth: 2,
          pointRadius: labels.length <= 14 ? 3 : 0,
          spanGaps: false,
          order: 1,
        },
      ],
    },
    options,
  });
  charts.set(container.id, chart);
  return chart;
}

// The practice first in the accent colour; competitors in hues that do not read as good or bad
// (never the sentiment red and green).
const SERIES = ["#1f5f8b", "#b7791f", "#6b46c1", "#2c7a7b", "#c05621", "#4a5568", "#97266d", "#2b6cb0"];

export function seriesColour(index) {
  return index === 0 ? cssColour("--accent", SERIES[0]) : SERIES[index % SERIES.length];
}

// Share of voice: one horizontal bar per practice.
export function drawShareOfVoice(container, { names, shares, description }) {
  const Chart = library();
  const canvas = canvasIn(container, description);
  const options = baseOptions();
  options.indexAxis = "y";
  options.scales.x = {
    beginAtZero: true,
    max: 100,
    grid: { color: cssColour("--border", "#dbe1e7") },
    ticks: { color: options.color, callback: (v) => `${v}%` },
  };
  options.scales.y = { grid: { display: false }, ticks: { color: options.color } };
  const chart = new Chart(canvas, {
    type: "bar",
    data: {
      labels: names,
      datasets: [
        {
          label: "Share of voice (%)",
          data: shares.map((s) => (s == null ? 0 : Math.round(s * 1000) / 10)),
          backgroundColor: names.map((_, i) => seriesColour(i)),
          maxBarThickness: 22,
        },
      ],
    },
    options,
  });
  charts.set(container.id, chart);
  return chart;
}

// Average rating per bucket, one line per practice.
export function drawRatingTrend(container, { labels, series, description }) {
  const Chart = library();
  const canvas = canvasIn(container, description);
  const options = baseOptions();
  options.plugins.legend = { display: true, position: "bottom", labels: { color: options.color, boxWidth: 12 } };
  options.scales.y = {
    min: 1,
    max: 5,
    grid: { color: cssColour("--border", "#dbe1e7") },
    ticks: { stepSize: 1, color: options.color, callback: (v) => `${v}★` },
  };
  const chart = new Chart(canvas, {
    type: "line",
    data: {
      labels,
      datasets: series.map((s, i) => ({
        label: s.name,
        data: s.values,
        borderColor: seriesColour(i),
        backgroundColor: seriesColour(i),
        borderWidth: s.own ? 3 : 2,
        borderDash: s.own ? [] : [5, 3],
        pointRadius: 3,
        spanGaps: true,
      })),
    },
    options,
  });
  charts.set(container.id, chart);
  return chart;
}
