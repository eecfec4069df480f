// Small DOM/SVG helpers shared by the views. No framework: each view re-renders its own subtree.

const SVG_NS = "http://www.w3.org/2000/svg";

/** h("div", {class: "x", onclick: fn}, child, "text") */
export function h(tag, attrs = {}, ...children) {
  return build(document.createElement(tag), attrs, children);
}

/** s("circle", {cx: 1}) — an SVG element. */
export function s(tag, attrs = {}, ...children) {
  return build(document.createElementNS(SVG_NS, tag), attrs, children);
}

function build(node, attrs, children) {
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") node.addEventListener(key.slice(2), value);
    else if (key === "style" && typeof value === "object") Object.assign(node.style, value);
    else if (key === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** Replace the children of `node`. */
export function fill(node, ...children) {
  node.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}

/** Coalesce bursts of model changes into one render per animation frame (the final state always renders). */
export function frameScheduler(render) {
  let pending = false;
  let timer = null;
  const run = () => {
    if (!pending) return;
    pending = false;
    clearTimeout(timer);
    render();
  };
  return () => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(run);
    timer = setTimeout(run, 100); // background tabs get no animation frames
  };
}

/** Call `callback` when JupyterLab switches between light and dark themes; returns a disconnect function. */
export function onThemeChange(callback) {
  const observer = new MutationObserver(() => callback());
  observer.observe(document.body, { attributes: true, attributeFilter: ["data-jp-theme-light", "data-jp-theme-name"] });
  return () => observer.disconnect();
}

export function cssVar(node, name, fallback) {
  const value = getComputedStyle(node).getPropertyValue(name).trim();
  return value || fallback;
}

export function isDark() {
  return document.body.dataset.jpThemeLight === "false";
}

/** The root of a view: a themed card with a title. */
export function card(el, kind, title) {
  const body = h("div", { class: "llmos-body" });
  const root = h("div", { class: `llmos-w llmos-${kind}`, "data-llmos-widget": kind },
    h("div", { class: "llmos-title" }, title), body);
  el.replaceChildren(root);
  return { root, body };
}
