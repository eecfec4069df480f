export const MODES = ["CRYSTALLIZED", "FOLLOWER", "MIXED", "LEARNER", "ORCHESTRATOR"];

// One palette for the cell's badge (llmos_jupyter/render.py) and the dashboard: bundled from the package's file.
import palette from "../../../llmos_jupyter/palette.json";

export const MODE_COLOURS = palette.modes;
export const LATENT_COLOURS = palette.latent;

export const int = (n) => (n === null || n === undefined ? "–" : Math.round(n).toLocaleString("en-US"));
export const fixed = (n, digits = 2) => (n === null || n === undefined || Number.isNaN(n) ? "–" : Number(n).toFixed(digits));
export const usd = (n) => (n === null || n === undefined ? "unknown" : n === 0 ? "$0" : n < 0.01 ? `$${n.toFixed(4)}` : `$${n.toFixed(2)}`);
export const pct = (n, digits = 1) => `${fixed(n, digits)}%`;

// Plotly turns <a href>, <span style> and friends in its labels and hover text into SVG, and hands $...$ to
// MathJax: a string from an event goes in escaped (plotly shows entities as the characters they stand for).
export const plotlyText = (text) => String(text ?? "")
  .replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/\$/g, "&#36;");
