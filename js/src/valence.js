// Valence: a radar of safety, curiosity, energy and self_confidence with the latent mode, animated as it moves.
import { card, fill, frameScheduler, h, s } from "./lib/dom.js";
import { LATENT_COLOURS, fixed, int } from "./lib/format.js";

const AXES = ["safety", "curiosity", "energy", "self_confidence"];
const LABELS = { safety: "safety", curiosity: "curiosity", energy: "energy", self_confidence: "self-confidence" };
const SHORT = { safety: "safety", curiosity: "curiosity", energy: "energy", self_confidence: "confidence" };
const SIZE = 240, C = SIZE / 2, R = 78;

const angle = (i) => -Math.PI / 2 + (i * 2 * Math.PI) / AXES.length;
const point = (i, r) => [C + r * R * Math.cos(angle(i)), C + r * R * Math.sin(angle(i))];
const points = (values) => AXES.map((k, i) => point(i, Math.max(0, Math.min(1, values[k] ?? 0))).map((v) => v.toFixed(1)).join(",")).join(" ");

function radar() {
  const rings = [0.25, 0.5, 0.75, 1].map((r) => s("polygon", { class: "llmos-ring", points: points(Object.fromEntries(AXES.map((k) => [k, r]))) }));
  const spokes = AXES.map((_, i) => { const [x, y] = point(i, 1); return s("line", { class: "llmos-spoke", x1: C, y1: C, x2: x, y2: y }); });
  const labels = AXES.map((k, i) => {
    const [x, y] = point(i, 1.14);
    const side = Math.abs(x - C) < 1 ? 0 : x > C ? 1 : -1;
    const anchor = side === 0 ? "middle" : side > 0 ? "start" : "end";
    const words = side === 0 ? [LABELS[k]] : LABELS[k].split("-").map((w, j, all) => (j < all.length - 1 ? `${w}-` : w));
    const dy = y < C - 1 ? -4 : y > C + 1 ? 12 : 4 - 6 * (words.length - 1);
    return s("text", { class: "llmos-axis-label", x, y: y + dy, "text-anchor": anchor },
      words.map((w, j) => s("tspan", { x, dy: j ? 12 : 0 }, w)));
  });
  const ghost = s("polygon", { class: "llmos-radar-ghost" });
  const shape = s("polygon", { class: "llmos-radar-shape" });
  const dots = AXES.map(() => s("circle", { class: "llmos-radar-dot", r: 3.5 }));
  const svg = s("svg", { class: "llmos-radar", viewBox: `-34 8 ${SIZE + 68} ${SIZE - 16}`, role: "img", "aria-label": "valence radar" },
    rings, spokes, ghost, shape, dots, labels);
  return { svg, ghost, shape, dots };
}

function render({ model, el }) {
  const { root, body } = card(el, "valence", "Valence");
  const chart = radar();
  const side = h("div", { class: "llmos-valence-side" });
  const trail = h("div", { class: "llmos-strip llmos-latent-strip", "aria-label": "latent mode history" });
  fill(body, h("div", { class: "llmos-valence-row" }, h("div", { class: "llmos-radar-box" }, chart.svg), side), trail);

  let shown = null; // the values drawn now (animated towards the model's)
  let previous = null;
  let anim = 0;

  const paint = (values, colour) => {
    chart.shape.setAttribute("points", points(values));
    chart.shape.style.fill = colour;
    chart.shape.style.stroke = colour;
    AXES.forEach((k, i) => {
      const [x, y] = point(i, Math.max(0, Math.min(1, values[k] ?? 0)));
      chart.dots[i].setAttribute("cx", x);
      chart.dots[i].setAttribute("cy", y);
      chart.dots[i].style.fill = colour;
    });
  };

  const draw = () => {
    const v = model.get("valence") || {};
    const latent = model.get("latent_mode") || "";
    const history = model.get("history") || [];
    const colour = LATENT_COLOURS[latent] || "var(--jp-brand-color1)";
    root.dataset.latentMode = latent;
    for (const k of AXES) root.dataset[k.replace(/_(.)/g, (_, c) => c.toUpperCase())] = fixed(v[k], 3);

    if (history.length > 1) previous = history[history.length - 2];
    if (previous) chart.ghost.setAttribute("points", points(previous));
    const target = { ...v };
    const from = shown || target;
    cancelAnimationFrame(anim);
    const started = performance.now();
    const step = (now) => {
      const t = Math.min(1, (now - started) / 300);
      const ease = 1 - (1 - t) ** 3;
      shown = Object.fromEntries(AXES.map((k) => [k, (from[k] ?? 0) + ((target[k] ?? 0) - (from[k] ?? 0)) * ease]));
      paint(shown, colour);
      if (t < 1) anim = requestAnimationFrame(step);
    };
    if (shown && document.visibilityState === "visible") anim = requestAnimationFrame(step);
    else { shown = target; paint(target, colour); }

    const budget = model.get("budget") || {};
    const behaviour = model.get("behaviour") || [];
    fill(side,
      h("div", { class: "llmos-latent" }, h("span", { class: "llmos-badge", style: { background: colour } }, latent || "no valence yet")),
      h("table", { class: "llmos-valence-table" },
        h("colgroup", {}, h("col", { class: "llmos-col-name" }), h("col", {}), h("col", { class: "llmos-col-num" }), h("col", { class: "llmos-col-delta" })),
        AXES.map((k) => {
          const delta = previous ? (v[k] ?? 0) - (previous[k] ?? 0) : 0;
          return h("tr", { "data-axis": k },
            h("td", { title: LABELS[k] }, SHORT[k]),
            h("td", {}, h("span", { class: "llmos-bar" }, h("span", { class: "llmos-bar-fill", style: { width: `${Math.round(100 * (v[k] ?? 0))}%`, background: colour } }))),
            h("td", { class: "llmos-num" }, fixed(v[k], 2)),
            h("td", { class: `llmos-delta ${delta > 0.0005 ? "up" : delta < -0.0005 ? "down" : ""}` },
              Math.abs(delta) > 0.0005 ? `${delta > 0 ? "▲" : "▼"}${fixed(Math.abs(delta), 2)}` : ""));
        })),
      budget.tokens ? h("div", { class: "llmos-note" }, `budget ${int(budget.tokens)} tokens, ${int(budget.left)} left`) : null,
      behaviour.length ? h("ul", { class: "llmos-behaviour" }, behaviour.map((b) => h("li", {}, b))) : null);
    fill(trail, history.slice(-80).map((e, i) => h("span", {
      class: "llmos-cell llmos-cell-thin", "data-latent": e.latent_mode,
      title: `${i + 1}. ${e.latent_mode}: ` + AXES.map((k) => `${LABELS[k]} ${fixed(e[k], 2)}`).join(", "),
      style: { background: LATENT_COLOURS[e.latent_mode] || "var(--jp-layout-color3)" },
    })));
  };

  const schedule = frameScheduler(draw);
  draw();
  const names = ["valence", "latent_mode", "behaviour", "budget", "history"];
  for (const n of names) model.on(`change:${n}`, schedule);
  return () => {
    cancelAnimationFrame(anim);
    for (const n of names) model.off(`change:${n}`, schedule);
  };
}

export default { render };
