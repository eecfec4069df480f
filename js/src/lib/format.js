export const MODES = ["CRYSTALLIZED", "FOLLOWER", "MIXED", "LEARNER", "ORCHESTRATOR"];

// Same colours as llmos_jupyter/render.py, so the cell's badge and the dashboard agree.
export const MODE_COLOURS = {
  CRYSTALLIZED: "#6a3d9a",
  FOLLOWER: "#1f78b4",
  MIXED: "#33a02c",
  LEARNER: "#e6550d",
  ORCHESTRATOR: "#b15928",
};

export const LATENT_COLOURS = {
  BALANCED: "#1b9e77",
  AUTO_CREATIVE: "#d95f02",
  AUTO_CONTAINED: "#4a6fa5",
  RECOVERY: "#d62728",
};

export const int = (n) => (n === null || n === undefined ? "–" : Math.round(n).toLocaleString("en-US"));
export const fixed = (n, digits = 2) => (n === null || n === undefined || Number.isNaN(n) ? "–" : Number(n).toFixed(digits));
export const usd = (n) => (n === null || n === undefined ? "unknown" : n === 0 ? "$0" : n < 0.01 ? `$${n.toFixed(4)}` : `$${n.toFixed(2)}`);
export const pct = (n, digits = 1) => `${fixed(n, digits)}%`;

// Plotly turns <a href>, <span style> and friends in its labels and hover text into SVG, and hands $...$ to
// MathJax: a string from an event goes in escaped (plotly shows entities as the characters they stand for).
export const plotlyText = (text) => String(text ?? "")
  .replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/\$/g, "&#36;");
