// The compact line under each %%llmos result: mode and why, tokens, session savings, valence.
import { fill, frameScheduler, h } from "./lib/dom.js";
import { LATENT_COLOURS, MODE_COLOURS, fixed, int, pct, usd } from "./lib/format.js";

const AXES = [["safety", "safety"], ["curiosity", "curiosity"], ["energy", "energy"], ["self_confidence", "confidence"]];

function render({ model, el }) {
  const root = h("div", { class: "llmos-w llmos-summary", "data-llmos-widget": "summary" });
  el.replaceChildren(root);
  const draw = () => {
    const x = model.get("summary") || {};
    const t = x.tokens || {};
    const why = x.why || {};
    const session = x.session || {};
    const v = x.valence || {};
    root.dataset.mode = x.mode || "";
    root.dataset.status = x.status || "";
    const mode = h("span", { class: "llmos-badge", style: { background: MODE_COLOURS[x.mode] || "var(--jp-layout-color3)" } },
      x.mode || (x.status === "running" ? "choosing…" : "…"));
    const steps = (x.steps || []).length ? h("span", { class: "llmos-muted" }, ` (${x.steps.join(" → ")})`) : null;
    const tokens = h("span", { class: "llmos-summary-tokens" },
      `in ${int(t.input)} / out ${int(t.output)} / saved ${int(t.saved)}`,
      x.cost_usd ? ` · ${usd(x.cost_usd)}` : "");
    const sess = session.baseline !== undefined
      ? h("span", { class: "llmos-muted", title: `billed ${int(session.billed)} of an always-LLM ${int(session.baseline)} tokens` },
        `session ${pct(session.percent_saved)} saved`)
      : null;
    const bars = Object.keys(v).length
      ? h("span", { class: "llmos-mini", title: AXES.map(([k]) => `${k} ${fixed(v[k], 2)}`).join(", ") },
        h("span", { class: "llmos-chip", style: { borderColor: LATENT_COLOURS[x.latent_mode] || "currentColor" } }, x.latent_mode || ""),
        AXES.map(([k, label]) => h("span", { class: "llmos-mini-axis", "data-axis": k }, `${label} `,
          h("span", { class: "llmos-mini-bar" }, h("span", { style: { height: `${Math.round(100 * (v[k] ?? 0))}%`, background: LATENT_COLOURS[x.latent_mode] || "var(--jp-brand-color1)" } })),
          h("b", {}, fixed(v[k], 2)))))
      : null;
    const reason = [why.score !== undefined ? `score ${fixed(why.score, 3)}` : "", why.reason || ""].filter(Boolean).join(" · ");
    fill(root,
      h("div", { class: "llmos-summary-row" }, mode, steps, tokens, sess, bars,
        x.status === "running" ? h("span", { class: "llmos-pulse" }) : null),
      reason ? h("div", { class: "llmos-reason llmos-summary-why", title: reason }, reason) : null);
  };
  const schedule = frameScheduler(draw);
  draw();
  model.on("change:summary", schedule);
  return () => model.off("change:summary", schedule);
}

export default { render };
