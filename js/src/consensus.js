// Consensus: a bar per model answer, and the energy falling while the engine anneals.
import { card, fill, frameScheduler, h, s } from "./lib/dom.js";
import { fixed, int } from "./lib/format.js";

const W = 340, H = 110, PAD = { l: 44, r: 8, t: 8, b: 22 };

function energyChart(trace, ground) {
  if (trace.length < 2) return h("div", { class: "llmos-note" }, trace.length ? "annealing…" : "");
  const xs = trace.map((p) => p.step), es = trace.map((p) => p.energy ?? 0);
  const x0 = Math.min(...xs), x1 = Math.max(...xs);
  const hasGround = ground !== undefined && ground !== null;
  let lo = Math.min(...es, ...(hasGround ? [ground] : [])), hi = Math.max(...es);
  if (hi - lo < 1e-9) { lo -= 0.5; hi += 0.5; }
  const top = hi, bottom = lo, pad = 0.06 * (hi - lo);
  lo -= pad; hi += pad;
  const X = (x) => PAD.l + ((x - x0) / (x1 - x0 || 1)) * (W - PAD.l - PAD.r);
  const Y = (y) => PAD.t + (1 - (y - lo) / (hi - lo)) * (H - PAD.t - PAD.b);
  const line = trace.map((p, i) => `${i ? "L" : "M"}${X(p.step).toFixed(1)},${Y(p.energy ?? 0).toFixed(1)}`).join(" ");
  let best = Infinity;
  const bestLine = trace.map((p, i) => { best = Math.min(best, p.energy ?? 0); return `${i ? "L" : "M"}${X(p.step).toFixed(1)},${Y(best).toFixed(1)}`; }).join(" ");
  const temps = trace.map((p) => p.temperature).filter((t) => t !== null && t !== undefined);
  let tempPath = null;
  if (temps.length === trace.length) {
    const tmax = Math.max(...temps) || 1;
    const T = (t) => PAD.t + (1 - t / tmax) * (H - PAD.t - PAD.b);
    tempPath = s("path", { class: "llmos-temp-line", d: trace.map((p, i) => `${i ? "L" : "M"}${X(p.step).toFixed(1)},${T(p.temperature).toFixed(1)}`).join(" ") },
      s("title", {}, "temperature (scaled)"));
  }
  const last = trace[trace.length - 1];
  return s("svg", { class: "llmos-energy", viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": "energy during annealing" },
    s("line", { class: "llmos-axis", x1: PAD.l, y1: H - PAD.b, x2: W - PAD.r, y2: H - PAD.b }),
    s("line", { class: "llmos-axis", x1: PAD.l, y1: PAD.t, x2: PAD.l, y2: H - PAD.b }),
    s("text", { class: "llmos-tick", x: PAD.l - 4, y: Y(top) + 4, "text-anchor": "end" }, fixed(top, 2)),
    s("text", { class: "llmos-tick", x: PAD.l - 4, y: Y(bottom) + 4, "text-anchor": "end" }, fixed(bottom, 2)),
    s("text", { class: "llmos-tick", x: PAD.l, y: H - 6 }, `step ${x0}`),
    s("text", { class: "llmos-tick", x: W - PAD.r, y: H - 6, "text-anchor": "end" }, `step ${x1}`),
    tempPath,
    s("path", { class: "llmos-energy-raw", d: line }, s("title", {}, "lowest replica energy at each step")),
    s("path", { class: "llmos-energy-line", d: bestLine }, s("title", {}, "lowest energy so far")),
    hasGround ? s("line", { class: "llmos-ground", x1: PAD.l, x2: W - PAD.r, y1: Y(ground), y2: Y(ground) }, s("title", {}, `ground state ${fixed(ground, 4)}`)) : null,
    s("circle", { class: "llmos-energy-dot", cx: X(last.step), cy: Y(Math.min(...es)), r: 3 }));
}

// A program answer's distribution, drawn small beside its weight: one bar per outcome, the outcome on hover.
function sparkHistogram(hist) {
  const entries = Object.entries(hist || {});
  if (!entries.length) return h("span", { class: "llmos-spark llmos-spark-none", title: "no distribution (prose or a value)" }, "–");
  const w = 64, ht = 14, gap = 1, bw = Math.max(2, (w - gap * (entries.length - 1)) / entries.length);
  const top = Math.max(1e-9, ...entries.map(([, p]) => p));
  return s("svg", { class: "llmos-spark", viewBox: `0 0 ${w} ${ht}`, width: w, height: ht, role: "img",
    "aria-label": entries.map(([k, p]) => `${k} ${fixed(p, 2)}`).join(", ") },
  entries.map(([k, p], i) => s("rect", { x: (i * (bw + gap)).toFixed(1), y: (ht - ht * p / top).toFixed(1),
    width: bw.toFixed(1), height: (ht * p / top).toFixed(1) }, s("title", {}, `${k}: ${fixed(p, 3)}`))));
}

function render({ model, el }) {
  const { root, body } = card(el, "consensus", "Consensus weights");
  const draw = () => {
    const weights = model.get("weights") || [];
    const labels = model.get("labels") || [];
    const trace = model.get("trace") || [];
    const done = model.get("done");
    const info = model.get("info") || {};
    const answer = model.get("answer") || "";
    const histograms = model.get("histograms") || [];
    root.dataset.weights = weights.map((w) => fixed(w, 4)).join(",");
    root.dataset.done = done ? "true" : "false";
    root.dataset.steps = String(trace.length);
    const arrivals = model.get("arrivals") || [];
    const asked = arrivals.length
      ? h("div", { class: "llmos-arrivals" }, "answers: ", arrivals.map((a) => h("span", { class: `llmos-chip${a.ok ? "" : " llmos-failed"}` },
        `${a.ok ? "✓" : "✗"} ${a.model}` + (a.seconds !== null && a.seconds !== undefined ? ` ${fixed(a.seconds, 1)} s` : ""))))
      : null;
    if (!weights.length && !trace.length) {
      fill(body, asked || h("div", { class: "llmos-empty" }, "No consensus yet: weights appear while the engine anneals."));
      return;
    }
    const best = weights.reduce((b, w, i) => (w > weights[b] ? i : b), 0);
    const max = Math.max(1e-9, ...weights);
    const bars = h("div", { class: "llmos-bars" }, weights.map((w, i) => h("div", { class: `llmos-bar-row${i === best ? " llmos-best" : ""}`, "data-index": String(i) },
      h("span", { class: "llmos-bar-label", title: labels[i] || "" }, labels[i] || `answer ${i + 1}`),
      h("span", { class: "llmos-bar llmos-bar-wide" }, h("span", { class: "llmos-bar-fill", style: { width: `${(100 * w / max).toFixed(1)}%` } })),
      h("span", { class: "llmos-num" }, fixed(w, 3)),
      histograms.length ? sparkHistogram(histograms[i]) : null)));
    root.dataset.histograms = String(histograms.filter((x) => x).length);
    const last = trace[trace.length - 1];
    const status = done
      ? `ground state: energy ${fixed(info.energy ?? (last && last.energy), 4)}` + (info.device ? ` · ${info.device}` : "") + (info.seconds !== undefined ? ` · ${fixed(info.seconds, 3)} s` : "")
      : last ? `annealing: step ${int(last.step)} · T ${fixed(last.temperature, 3)} · energy ${fixed(last.energy, 4)}` : "";
    fill(body, asked, bars,
      h("div", { class: `llmos-note${done ? "" : " llmos-running"}` }, status),
      h("div", { class: "llmos-subtitle" }, "energy (bold: lowest so far)",
        h("span", { class: "llmos-legend-temp" }, " · temperature"), done ? h("span", { class: "llmos-legend-ground" }, " · ground state") : null),
      energyChart(trace, done ? info.energy : undefined),
      answer ? h("div", { class: "llmos-answer", title: answer }, "chosen: ", answer) : null);
  };
  const schedule = frameScheduler(draw);
  draw();
  const names = ["weights", "labels", "trace", "done", "info", "answer", "arrivals", "histograms"];
  for (const n of names) model.on(`change:${n}`, schedule);
  return () => { for (const n of names) model.off(`change:${n}`, schedule); };
}

export default { render };
