// Token savings: cumulative billed tokens against the always-LLM baseline, percent saved, cost, live chart.
import Plotly from "plotly.js-basic-dist-min";
import { card, cssVar, fill, frameScheduler, h, onThemeChange } from "./lib/dom.js";
import { MODE_COLOURS, int, pct, plotlyText, usd } from "./lib/format.js";

function stat(label, value, key, note) {
  return h("div", { class: "llmos-stat", "data-key": key },
    h("div", { class: "llmos-stat-label" }, label),
    h("div", { class: "llmos-stat-value" }, value),
    note ? h("div", { class: "llmos-stat-note" }, note) : null);
}

function colours(node) {
  return {
    text: cssVar(node, "--jp-ui-font-color1", "#333"),
    muted: cssVar(node, "--jp-ui-font-color2", "#777"),
    grid: cssVar(node, "--jp-border-color2", "#ddd"),
    billed: cssVar(node, "--jp-brand-color1", "#1976d2"),
    saved: "rgba(51, 160, 44, 0.22)",
  };
}

function render({ model, el }) {
  const { root, body } = card(el, "tokens", "Token savings");
  const stats = h("div", { class: "llmos-stats" });
  const live = h("div", { class: "llmos-live" });
  const chart = h("div", { class: "llmos-chart" });
  fill(body, stats, live, chart);
  let plotted = false;

  const drawChart = () => {
    const points = model.get("points") || [];
    const c = colours(root);
    const x = points.map((p) => p.n);
    const hover = points.map((p) => (p.n === 0 ? "start" :
      `#${p.n} ${plotlyText(p.mode)}: ${plotlyText(p.request)}<br>billed ${int(p.billed)}, saved ${int(p.saved)}`));
    const data = [
      { x, y: points.map((p) => p.cum_baseline), name: "always-LLM baseline", type: "scatter", mode: "lines",
        line: { color: c.muted, dash: "dash", width: 2 }, hoverinfo: "y+name" },
      { x, y: points.map((p) => p.cum_billed), name: "billed", type: "scatter", mode: "lines+markers",
        fill: "tonexty", fillcolor: c.saved, line: { color: c.billed, width: 2 },
        marker: { size: 7, color: points.map((p) => MODE_COLOURS[p.mode] || c.muted), line: { width: 0 } },
        text: hover, hovertemplate: "%{text}<br>cumulative %{y:,}<extra></extra>" },
    ];
    const layout = {
      height: 210, margin: { l: 56, r: 8, t: 8, b: 34 },
      paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "rgba(0,0,0,0)",
      font: { color: c.text, size: 11, family: cssVar(root, "--jp-ui-font-family", "sans-serif") },
      xaxis: { title: { text: "request", standoff: 4 }, gridcolor: c.grid, zeroline: false, tickformat: "d",
        range: [-0.3, Math.max(1, ...x) + 0.3], dtick: x.length > 20 ? undefined : 1 },
      yaxis: { title: { text: "tokens (cumulative)" }, gridcolor: c.grid, zeroline: false, rangemode: "tozero" },
      legend: { orientation: "h", x: 0, y: 1.02, yanchor: "bottom", bgcolor: "rgba(0,0,0,0)" },
      showlegend: true,
      transition: { duration: 0 },
    };
    Plotly.react(chart, data, layout, { displayModeBar: false, responsive: true });
    plotted = true;
  };

  const draw = () => {
    const t = model.get("totals") || {};
    const now = model.get("live") || {};
    root.dataset.billed = String(t.billed ?? 0);
    root.dataset.baseline = String(t.baseline ?? 0);
    root.dataset.saved = String(t.saved ?? 0);
    root.dataset.percent = String(t.percent_saved ?? 0);
    fill(stats,
      stat("billed", int(t.billed), "billed", `${int(t.requests)} request${t.requests === 1 ? "" : "s"}`),
      stat("always-LLM baseline", int(t.baseline), "baseline", "billed + saved"),
      stat("saved", pct(t.percent_saved), "percent", `${int(t.saved)} tokens`),
      stat("cost", usd(t.cost_usd), "cost", t.cost_usd === null || t.cost_usd === undefined ? "a price is unknown" : "billed calls"));
    fill(live, now.request !== undefined
      ? [h("span", { class: "llmos-pulse" }), `running: ${int(now.billed)} tokens billed so far`]
      : []);
    drawChart();
  };

  const schedule = frameScheduler(draw);
  draw();
  const names = ["totals", "points", "live"];
  for (const n of names) model.on(`change:${n}`, schedule);
  const stopTheme = onThemeChange(() => requestAnimationFrame(drawChart));
  const resize = new ResizeObserver(() => { if (plotted && chart.isConnected) Plotly.Plots.resize(chart); });
  resize.observe(chart);
  return () => {
    for (const n of names) model.off(`change:${n}`, schedule);
    stopTheme();
    resize.disconnect();
    Plotly.purge(chart);
  };
}

export default { render };
