// Mode: the mode chosen for each request, a strip of the session's history, and why.
import { card, fill, frameScheduler, h } from "./lib/dom.js";
import { MODES, MODE_COLOURS, fixed, int } from "./lib/format.js";

const STRIP = 80; // cells shown in the history strip

function badge(mode, extra = "") {
  return h("span", { class: `llmos-badge ${extra}`, style: { background: MODE_COLOURS[mode] || "var(--jp-layout-color3)" } },
    mode || "…");
}

function whyText(why) {
  const parts = [];
  if (why.score !== undefined) parts.push(`score ${fixed(why.score, 3)}`);
  if (why.trace_id) parts.push(`${why.nearest ? "nearest" : "trace"} ${why.trace_id}`);
  if (why.fallback_from) parts.push(`fell back from ${why.fallback_from}`);
  return parts;
}

function tooltip(entry, index) {
  const why = entry.why || {};
  const t = entry.tokens;
  return [
    `#${index + 1} ${entry.mode || "…"}: ${entry.request || ""}`,
    ...whyText(why),
    why.reason ? `why: ${why.reason}` : "",
    t ? `tokens in ${int(t.input)} / out ${int(t.output)} / saved ${int(t.saved)}` : "",
  ].filter(Boolean).join("\n");
}

function render({ model, el }) {
  const { root, body } = card(el, "mode", "Mode");
  const draw = () => {
    const history = model.get("history") || [];
    const counts = model.get("counts") || {};
    const running = model.get("running");
    const last = history[history.length - 1];
    root.dataset.mode = last ? last.mode : "";
    root.dataset.modes = history.map((e) => e.mode).join(",");
    root.dataset.count = String(history.length);
    root.dataset.running = running ? "true" : "false";
    if (!last) {
      fill(body, h("div", { class: "llmos-empty" }, "No requests yet: run a %%llmos cell."));
      return;
    }
    const why = last.why || {};
    const status = last.status === "running" ? "running…" : last.status === "error" ? "error" : "";
    const current = h("div", { class: "llmos-mode-current" },
      badge(last.mode, "llmos-badge-big"),
      h("span", { class: "llmos-mode-request", title: last.request }, last.request || ""),
      status ? h("span", { class: `llmos-status llmos-status-${last.status}` }, status) : null);
    const whyLine = h("div", { class: "llmos-why" },
      whyText(why).map((p) => h("span", { class: "llmos-chip" }, p)),
      why.reason ? h("span", { class: "llmos-reason", title: why.reason }, why.reason) : null);
    const steps = (last.steps || []).length
      ? h("div", { class: "llmos-steps" }, "steps: ",
        last.steps.map((st, i) => h("span", { class: "llmos-step", title: st.step || "" },
          `${i + 1}. `, badge(st.mode || "…", "llmos-badge-small"))))
      : null;
    const start = Math.max(0, history.length - STRIP);
    const strip = h("div", { class: "llmos-strip", role: "list", "aria-label": "mode history" },
      history.slice(start).map((entry, i) => h("span", {
        class: `llmos-cell${entry === last ? " llmos-cell-last" : ""}${entry.status === "error" ? " llmos-cell-error" : ""}`,
        role: "listitem",
        "data-mode": entry.mode,
        title: tooltip(entry, start + i),
        style: { background: MODE_COLOURS[entry.mode] || "var(--jp-layout-color3)" },
      })));
    const mix = h("div", { class: "llmos-mix" },
      MODES.map((m) => h("span", { class: "llmos-mix-item", "data-mode": m },
        h("span", { class: "llmos-dot", style: { background: MODE_COLOURS[m] } }),
        `${m} `, h("b", {}, int(counts[m] || 0)))));
    fill(body, current, whyLine, steps, strip, mix);
  };
  const schedule = frameScheduler(draw);
  draw();
  for (const name of ["history", "counts", "running"]) model.on(`change:${name}`, schedule);
  return () => {
    for (const name of ["history", "counts", "running"]) model.off(`change:${name}`, schedule);
  };
}

export default { render };
