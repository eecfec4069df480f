// Causal graph: responses or agents as nodes, significant transfer-entropy edges with their strength.
import { card, fill, frameScheduler, h, s } from "./lib/dom.js";
import { fixed } from "./lib/format.js";

const W = 360, H = 250, NODE = 15;
let uid = 0;

function layout(n) {
  const cx = W / 2, cy = H / 2, r = Math.min(W, H) / 2 - 34;
  if (n === 1) return [[cx, cy]];
  return Array.from({ length: n }, (_, i) => {
    const a = -Math.PI / 2 + (2 * Math.PI * i) / n;
    return [cx + r * Math.cos(a), cy + r * Math.sin(a)];
  });
}

const short = (name) => (name.length > 16 ? `${name.slice(0, 15)}…` : name);

function render({ model, el }) {
  const { root, body } = card(el, "causal", "Causal graph (transfer entropy)");
  const marker = `llmos-arrow-${++uid}`;
  const draw = () => {
    const names = model.get("names") || [];
    const edges = model.get("edges") || [];
    const alpha = model.get("alpha");
    root.dataset.nodes = String(names.length);
    root.dataset.edges = String(edges.length);
    if (!names.length) {
      fill(body, h("div", { class: "llmos-empty" }, "No causal graph yet: the consensus engine draws one when it weighs answers with their series."));
      return;
    }
    const pos = layout(names.length);
    const max = Math.max(1e-9, ...edges.map((e) => e.strength));
    const paths = [], labels = [];
    for (const e of edges) {
      const [x1, y1] = pos[e.source], [x2, y2] = pos[e.target];
      const dx = x2 - x1, dy = y2 - y1, len = Math.hypot(dx, dy) || 1;
      const ux = dx / len, uy = dy / len;
      const bend = 0.18 * len; // curve to the left of the direction, so i->j and j->i stay apart
      const mx = (x1 + x2) / 2 - uy * bend, my = (y1 + y2) / 2 + ux * bend;
      const sx = x1 + ux * NODE, sy = y1 + uy * NODE;
      // end just outside the target node, along the curve's last tangent
      const tx = x2 - mx, ty = y2 - my, tl = Math.hypot(tx, ty) || 1;
      const ex = x2 - (tx / tl) * (NODE + 3), ey = y2 - (ty / tl) * (NODE + 3);
      const k = e.strength / max;
      const title = `${e.from} → ${e.to}: ${fixed(e.strength, 3)} nats` + (e.te !== undefined ? ` (TE ${fixed(e.te, 3)})` : "") +
        (e.lag !== undefined ? `, lag ${e.lag}` : "") + (e.p === null || e.p === undefined ? "" : `, p = ${fixed(e.p, 3)}`);
      paths.push(s("path", {
        class: "llmos-edge", d: `M${sx},${sy} Q${mx},${my} ${ex},${ey}`, "marker-end": `url(#${marker})`,
        style: { strokeWidth: (1.2 + 4 * k).toFixed(2), opacity: (0.45 + 0.55 * k).toFixed(2) },
      }, s("title", {}, title)));
      const lx = (sx + 2 * mx + ex) / 4 - uy * 9, ly = (sy + 2 * my + ey) / 4 + ux * 9 + 4;
      labels.push(s("text", { class: "llmos-edge-label", x: lx, y: ly, "text-anchor": "middle" }, fixed(e.strength, 2)));
    }
    const inflow = names.map((_, j) => edges.filter((e) => e.target === j).reduce((a, e) => a + e.strength, 0));
    const nodes = names.map((name, i) => s("g", { class: `llmos-node${inflow[i] > 0 ? " llmos-node-driven" : ""}`, "data-name": name },
      s("circle", { cx: pos[i][0], cy: pos[i][1], r: NODE }),
      s("text", { class: "llmos-node-index", x: pos[i][0], y: pos[i][1] + 4, "text-anchor": "middle" }, String(i + 1)),
      s("text", { class: "llmos-node-label", x: pos[i][0], y: pos[i][1] + (pos[i][1] > H / 2 ? NODE + 13 : -NODE - 6), "text-anchor": "middle" }, short(name)),
      s("title", {}, `${name}${inflow[i] > 0 ? `: driven by others (${fixed(inflow[i], 3)} nats in)` : ""}`)));
    const svg = s("svg", { class: "llmos-graph", viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": "causal graph" },
      s("defs", {}, s("marker", { id: marker, viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 9, markerHeight: 9, markerUnits: "userSpaceOnUse", orient: "auto-start-reverse" },
        s("path", { class: "llmos-arrowhead", d: "M0,0 L10,5 L0,10 z" }))),
      paths, labels, nodes);
    const table = edges.length
      ? h("table", { class: "llmos-edge-table" },
        h("tr", {}, h("th", {}, "edge"), h("th", { class: "llmos-num" }, "TE (nats)"), h("th", { class: "llmos-num" }, "p")),
        edges.slice(0, 12).map((e) => h("tr", { "data-edge": `${e.source}-${e.target}` },
          h("td", {}, `${e.from} → ${e.to}`), h("td", { class: "llmos-num" }, fixed(e.strength, 3)),
          h("td", { class: "llmos-num" }, e.p === null || e.p === undefined ? "–" : fixed(e.p, 3)))))
      : h("div", { class: "llmos-note" }, model.get("note") || `No significant edges (alpha = ${alpha}): the answers look independent.`);
    fill(body, svg, table);
  };
  const schedule = frameScheduler(draw);
  draw();
  for (const n of ["names", "edges", "alpha", "note"]) model.on(`change:${n}`, schedule);
  return () => { for (const n of ["names", "edges", "alpha", "note"]) model.off(`change:${n}`, schedule); };
}

export default { render };
