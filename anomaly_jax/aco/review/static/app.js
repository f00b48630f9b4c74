// The review page: plain JS, no dependencies, talks to the JSON API of app.py.
"use strict";
const $ = (id) => document.getElementById(id);
const state = { rows: [], sel: -1, config: null, timeline: null };
const COLORS = { true: "#087f23", false: "#b00020", unsure: "#d08a00" };

async function api(url, opts) {
  const r = await fetch(url, opts);
  const body = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(body.error || r.statusText);
  return body;
}

function showError(e) { $("error").textContent = e ? String(e.message || e) : ""; }

function filterQuery() {
  const q = new URLSearchParams(new FormData($("filters")));
  for (const [k, v] of [...q]) if (!v || v === "any") q.delete(k);
  q.set("limit", "5000");
  return q;
}

async function loadRows(keepKey) {
  try {
    const d = await api("/api/detections?" + filterQuery());
    state.rows = d.rows;
    $("count").textContent = `${d.total} detections`;
    renderTable();
    let i = keepKey ? state.rows.findIndex((r) => r.key === keepKey) : -1;
    select(i >= 0 ? i : (state.rows.length ? 0 : -1), false);
    showError(null);
  } catch (e) { showError(e); }
}

function labelCell(r) {
  return r.label ? `<span class="l-${r.label}">${r.label}</span>${r.kind ? " " + esc(r.kind) : ""}` : "";
}

function esc(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
}

function renderTable() {
  const body = $("table").tBodies[0];
  body.innerHTML = state.rows.map((r, i) =>
    `<tr data-i="${i}" id="row-${r.id}"><td>${r.id}</td><td title="${r.peak}">${r.peak.slice(5, 21).replace("T", " ")}</td>` +
    `<td>${r.seconds.toFixed(1)}</td><td>${r.score.toPrecision(4)}</td>` +
    `<td title="${esc(r.file)}">${esc(r.file.split("/").pop().replace(/\.HYD.*$/, ""))}</td>` +
    `<td>${esc(r.planted)}</td><td class="label">${labelCell(r)}</td></tr>`).join("");
}

function mediaQuery() {
  const pad = parseFloat($("pad").value) || 0;
  return `pad=${pad}`;
}

function select(i, play) {
  const rows = $("table").tBodies[0].rows;
  if (state.sel >= 0 && rows[state.sel]) rows[state.sel].classList.remove("sel");
  state.sel = i;
  if (i < 0 || !state.rows[i]) { $("title").textContent = "no detection"; return; }
  const r = state.rows[i];
  rows[i].classList.add("sel");
  rows[i].scrollIntoView({ block: "nearest" });
  $("title").textContent = `#${r.id}  ${r.peak} UTC  score ${r.score.toPrecision(4)}  ${r.file}` +
    (r.planted ? `  planted: ${r.planted}` : "");
  $("spec").src = `/api/detections/${r.id}/spectrogram.png?${mediaQuery()}`;
  $("player").src = `/api/detections/${r.id}/audio.wav?${mediaQuery()}&speed=${$("speed").value}`;
  $("kind").value = r.kind || "";
  $("note").value = r.note || "";
  $("saved").textContent = r.label ? `labelled ${r.label}` : "";
  drawSpan(r);
  drawTimeline();
  if (play) $("player").play().catch(() => {});
}

function drawSpan(r) {
  const pad = parseFloat($("pad").value) || 0;
  const total = r.seconds + 2 * pad;
  $("span").style.left = `${(100 * pad) / total}%`;
  $("span").style.width = `${(100 * r.seconds) / total}%`;
  const fmin = state.config.fmin, nyq = (r.rate || 24000) / 2;
  const ticks = [20, 100, 1000, 10000].filter((f) => f > fmin && f < nyq);
  $("freqs").innerHTML = ticks.map((f) => {
    const y = 100 * (1 - Math.log(f / fmin) / Math.log(nyq / fmin));
    return `<span style="top:${y}%">${f >= 1000 ? f / 1000 + " kHz" : f + " Hz"}</span>`;
  }).join("");
}

async function label(value) {
  const r = state.rows[state.sel];
  if (!r) return;
  localStorage.setItem("reviewer", $("reviewer").value);
  try {
    const got = await api("/api/labels", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ id: r.id, key: r.key, label: value, kind: $("kind").value,
                             note: $("note").value, reviewer: $("reviewer").value }),
    });
    Object.assign(r, { label: got.label, kind: got.kind, note: got.note, reviewer: got.reviewer });
    $("table").tBodies[0].rows[state.sel].querySelector(".label").innerHTML = labelCell(r);
    const dot = (state.timeline?.detections || []).find((d) => d.id === r.id);
    if (dot) dot.label = got.label;
    showError(null);
    loadSummary();
    if (state.sel + 1 < state.rows.length) select(state.sel + 1, false);
  } catch (e) { showError(e); }
}

async function loadSummary() {
  try {
    const s = await api(`/api/summary?target=${encodeURIComponent($("target").value)}`);
    $("kinds").innerHTML = s.kinds.map((k) => `<option value="${esc(k)}">`).join("");
    const t = s.threshold;
    $("threshold").textContent = t.threshold === null
      ? `no threshold reaches it yet (${t.reviewed} reviewed)`
      : `score >= ${t.threshold.toPrecision(4)} (rank ${t.rank}: ${t.true} true of ${t.reviewed} reviewed, precision ${t.precision.toFixed(2)})`;
    drawPrecision(s.precision);
  } catch (e) { showError(e); }
}

function canvasCtx(c) {
  const w = c.clientWidth, h = c.height;
  c.width = w;
  const g = c.getContext("2d");
  g.clearRect(0, 0, w, h);
  return [g, w, h];
}

function drawPrecision(p) {
  const [g, w, h] = canvasCtx($("precision"));
  const n = p.rank.length ? p.rank[p.rank.length - 1] : 1;
  g.strokeStyle = "#ccc"; g.strokeRect(30, 5, w - 35, h - 20);
  g.fillStyle = "#666"; g.font = "10px sans-serif";
  g.fillText("1.0", 2, 12); g.fillText("0", 2, h - 15); g.fillText(`rank ${n}`, w - 60, h - 3);
  g.strokeStyle = "#1f5fbf"; g.beginPath();
  let started = false;
  p.rank.forEach((r, i) => {
    const v = p.precision[i];
    if (v === null) return;
    const x = 30 + ((w - 35) * (r - 1)) / Math.max(n - 1, 1), y = 5 + (h - 20) * (1 - v);
    started ? g.lineTo(x, y) : g.moveTo(x, y); started = true;
  });
  g.stroke();
}

async function loadTimeline() {
  try { state.timeline = await api("/api/timeline"); drawTimeline(); } catch (e) { showError(e); }
}

function drawTimeline() {
  const tl = state.timeline;
  if (!tl) return;
  const [g, w, h] = canvasCtx($("timeline"));
  const t = tl.windows.t, s = tl.windows.score;
  // Recorded blocks laid side by side: x is the bin's index, gaps cut out.
  const x = (tt) => { let lo = 0, hi = t.length; while (lo < hi) { const m = (lo + hi) >> 1; t[m] < tt ? lo = m + 1 : hi = m; } return lo; };
  const all = s.concat(tl.detections.map((d) => d.score)).filter(Number.isFinite);
  const lo = Math.min(...all), hi = Math.max(...all);
  const X = (i) => 5 + ((w - 10) * i) / Math.max(t.length, 1), Y = (v) => h - 12 - ((h - 20) * (v - lo)) / (hi - lo || 1);
  g.strokeStyle = "#9aa"; g.beginPath();
  s.forEach((v, i) => { i && t[i] - t[i - 1] < 600 ? g.lineTo(X(i), Y(v)) : g.moveTo(X(i), Y(v)); });
  g.stroke();
  g.fillStyle = "#666"; g.font = "10px sans-serif";
  t.forEach((tt, i) => { if (i === 0 || tt - t[i - 1] >= 600) { g.fillText(new Date(tt * 1000).toISOString().slice(5, 16).replace("T", " "), X(i) + 2, h - 1); g.fillRect(X(i), 0, 1, h); } });
  const cur = state.rows[state.sel];
  for (const d of tl.detections) {
    g.fillStyle = COLORS[d.label] || "#3465a4";
    const r = cur && d.id === cur.id ? 5 : 2.5;
    g.beginPath(); g.arc(X(x(d.t)), Y(d.score), r, 0, 7); g.fill();
  }
  $("timeline").onclick = (ev) => {
    const px = ev.offsetX, py = ev.offsetY;
    let best = null, bd = 1e9;
    for (const d of tl.detections) { const dd = Math.hypot(X(x(d.t)) - px, Y(d.score) - py); if (dd < bd) { bd = dd; best = d; } }
    const i = best ? state.rows.findIndex((r) => r.id === best.id) : -1;
    if (i >= 0) select(i, false);
  };
}

function onKey(ev) {
  const tag = ev.target.tagName;
  if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT") { if (ev.key === "Escape") ev.target.blur(); return; }
  const k = ev.key;
  if (k === "j" || k === "ArrowDown") select(Math.min(state.sel + 1, state.rows.length - 1), false);
  else if (k === "k" || k === "ArrowUp") select(Math.max(state.sel - 1, 0), false);
  else if (k === "t") label("true");
  else if (k === "f") label("false");
  else if (k === "u") label("unsure");
  else if (k === " " || k === "p") { const p = $("player"); p.paused ? p.play().catch(() => {}) : p.pause(); }
  else if (k === "s") { $("speed").value = $("speed").value === "1" ? "10" : "1"; select(state.sel, true); }
  else return;
  ev.preventDefault();
}

async function main() {
  state.config = await api("/api/config");
  $("where").textContent = state.config.workdir;
  $("speed").innerHTML = state.config.speeds.map((s) => `<option value="${s}"${s === 10 ? " selected" : ""}>x${s}</option>`).join("");
  $("reviewer").value = localStorage.getItem("reviewer") || "";
  $("filters").onsubmit = (ev) => { ev.preventDefault(); loadRows(); };
  for (const b of document.querySelectorAll("button[data-label]")) b.onclick = () => label(b.dataset.label);
  for (const a of document.querySelectorAll(".exports a")) {
    a.onmouseenter = a.onfocus = () => { a.href = `/api/export/${a.dataset.format}?which=${$("which").value}`; };
    a.href = `/api/export/${a.dataset.format}?which=all`;
  }
  $("speed").onchange = $("pad").onchange = () => select(state.sel, false);
  $("target").onchange = loadSummary;
  $("table").onclick = (ev) => { const tr = ev.target.closest("tr[data-i]"); if (tr) select(+tr.dataset.i, false); };
  document.addEventListener("keydown", onKey);
  window.addEventListener("resize", () => { drawTimeline(); loadSummary(); });
  await loadRows();
  loadSummary();
  loadTimeline();
}

main().catch(showError);
