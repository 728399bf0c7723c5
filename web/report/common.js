/* SPDX-License-Identifier: MIT */
/* What every report's code shares; built into each template by
   web/tools/embed.mjs where it says @include common.js. Everything the
   browser tests inspect hangs off window.glReport: the charts, the errors of
   sections that could not draw, and ready. Reference lines are datasets
   marked _ref: true, the others are data. */
const GL = (window.glReport = { charts: {}, errors: [], ready: false });

const isNum = (v) => typeof v === "number" && Number.isFinite(v);
const isObj = (v) => v !== null && typeof v === "object" && !Array.isArray(v);
const arr = (v) => (Array.isArray(v) ? v : []);

function fmt(v, digits, unit) {
  if (!isNum(v)) return "–";
  const s = v.toLocaleString("en-US", { minimumFractionDigits: digits,
    maximumFractionDigits: digits });
  return unit ? `${s} ${unit}` : s;
}

function el(tag, attrs, text) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

/* Replace a chart's box (or a table) with a sentence when its data is
   missing. */
function empty(id, text) {
  const node = document.getElementById(id);
  (node.tagName === "CANVAS" ? node.parentElement : node)
    .replaceWith(el("p", { class: "empty" }, text));
}

/* A section that throws shows the error in place and keeps the others. */
function section(name, fn) {
  try {
    fn();
  } catch (err) {
    GL.errors.push(`${name}: ${err && err.message}`);
    console.error(`report section ${name}:`, err);
    const s = document.getElementById(name);
    if (s) s.appendChild(el("p", { class: "error" }, `Could not draw this section: ${err.message}`));
  }
}

Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
Chart.defaults.color = "#52606d";
Chart.defaults.animation = false;
Chart.defaults.maintainAspectRatio = false;
Chart.defaults.plugins.legend.labels.boxWidth = 14;

/* Charts size themselves to the screen; give them the paper's width. */
window.addEventListener("beforeprint", () => {
  for (const c of Object.values(GL.charts)) c.resize();
});
