// The textgen playground: settings -> POST /generate (Server-Sent Events) -> poems, line by line.
// Explain (POST /explain), rewrite from a line, share (the URL holds every setting and the seed).
// Plain browser JavaScript, no build step, no libraries; served by `textgen serve` at /.
"use strict";

const $ = (id) => document.getElementById(id);
const BREAK = /[，。！？；、,.!?;]/; // split_lines' separators (textgen.poetry.check), newline apart
// Request fields that errors may name -> the id of the field to show the message next to.
const FIELD_OF = {
  acrostic: "acrostic", title: "title", tune: "tune", max_new_tokens: "max", prompt: "prompt",
  form: "form", rhyme_scheme: "rhyme", rhyme: "rhyme", tones: "tones", temperature: "temperature",
  seed: "seed", n: "n", model: "model",
};
const ERROR_IDS = ["model", "form", "tune", "acrostic", "rhyme", "tones", "title", "prompt",
  "temperature", "seed", "n", "max", "general"];
// URL parameter -> [field id, kind]; the share link is these, plus pick and v (vertical).
const URL_FIELDS = {
  model: ["model", "text"], form: ["form", "text"], tune: ["tune", "text"],
  acrostic: ["acrostic", "text"], rhyme: ["rhyme", "bool"], tones: ["tones", "bool"],
  scheme: ["scheme", "text"], title: ["title", "text"], prompt: ["prompt", "text"],
  t: ["temperature", "text"], seed: ["seed", "text"], n: ["n", "text"], max: ["max", "text"],
};

const state = {
  config: null, // GET /playground/config
  request: null, // the body of the last /generate
  candidates: [], // {text, finish, pieces}
  picked: 0,
  seed: null, // the seed the server used
  controller: null, // AbortController of the running request
  busy: false,
  frame: 0,
};

function model(id = $("model").value) {
  return (state.config && state.config.models.find((m) => m.id === id)) || { id, title: false, tunes: false };
}

// ---- settings <-> request <-> URL ----

function numberOrRaw(value) {
  // Numbers as JSON numbers (the schema is strict); anything else as typed, for the server to name.
  if (value.trim() === "") return undefined;
  const x = Number(value);
  return Number.isFinite(x) ? x : value;
}

function requestBody(overrides = {}) {
  const m = model();
  const body = {
    model: m.id, prompt: $("prompt").value, stream: true,
    n: numberOrRaw($("n").value), max_new_tokens: numberOrRaw($("max").value),
    temperature: numberOrRaw($("temperature").value),
    // Always a seed (a random one when the field is blank): the request is then reproducible and
    // cached, so its share link answers at once.
    seed: numberOrRaw($("seed").value) ?? randomSeed(),
    rhyme: $("rhyme").checked, tones: $("tones").checked,
  };
  if ($("form").value) body.form = $("form").value;
  if (m.tunes && $("tune").value) body.tune = $("tune").value;
  if ($("acrostic").value.trim()) body.acrostic = $("acrostic").value.trim();
  if ($("scheme").value) body.rhyme_scheme = $("scheme").value;
  if (m.title && $("title").value.trim()) body.title = $("title").value.trim();
  Object.assign(body, overrides);
  for (const k of Object.keys(body)) if (body[k] === undefined) delete body[k];
  return body;
}

function shareURL() {
  const p = new URLSearchParams();
  for (const [key, [id, kind]] of Object.entries(URL_FIELDS)) {
    const el = $(id);
    if (kind === "bool") { if (el.checked) p.set(key, "1"); }
    else if (el.value !== "" && !(id === "tune" && !model().tunes) && !(id === "title" && !model().title)) p.set(key, el.value);
  }
  if (state.seed !== null) p.set("seed", String(state.seed));
  if (state.picked) p.set("pick", String(state.picked));
  if (document.body.classList.contains("vertical")) p.set("v", "1");
  return `${location.origin}${location.pathname}?${p}`;
}

function readURL() {
  const p = new URLSearchParams(location.search);
  for (const [key, [id, kind]] of Object.entries(URL_FIELDS)) {
    if (!p.has(key)) continue;
    if (kind === "bool") $(id).checked = p.get(key) === "1";
    else $(id).value = p.get(key);
  }
  setVertical(p.get("v") === "1");
  state.picked = Math.max(0, parseInt(p.get("pick") || "0", 10) || 0);
  return p.has("seed");
}

// ---- errors, next to the field that caused them ----

function clearErrors() {
  for (const id of ERROR_IDS) {
    $(`${id}-error`).textContent = "";
    const field = $(id);
    if (field) field.removeAttribute("aria-invalid");
  }
}

function fieldFor(message) {
  const named = /^([a-z_]+)(\.\d+)?: /.exec(message); // a validation error: "acrostic: String should..."
  if (named && FIELD_OF[named[1]]) return FIELD_OF[named[1]];
  for (const [word, id] of Object.entries(FIELD_OF)) {
    if (word !== "n" && new RegExp(`\\b${word}\\b`, "i").test(message)) return id;
  }
  return "general";
}

function showError(message, id) {
  const slot = $(`${id}-error`);
  slot.textContent = slot.textContent ? `${slot.textContent} ${message}` : message;
  const field = $(id);
  if (field && id !== "general") field.setAttribute("aria-invalid", "true");
}

async function reportHTTPError(resp) {
  let body = {};
  try { body = await resp.json(); } catch (e) { /* not JSON: a proxy's page */ }
  let message = typeof body.error === "string" ? body.error : (body.error && body.error.message) || `HTTP ${resp.status}`;
  if (resp.status === 429) {
    const wait = resp.headers.get("Retry-After");
    showError(`${message}${wait ? ` Try again in ${wait} s.` : ""}`, "general");
  } else if (body.type === "validation_error") {
    for (const part of message.split("; ")) showError(part, fieldFor(part));
  } else {
    showError(message, fieldFor(message));
  }
  const first = ERROR_IDS.find((id) => $(`${id}-error`).textContent && $(id));
  if (first) $(first).focus();
  setStatus("The server refused the request: see the message by the field.");
}

function setStatus(text) { $("status").textContent = text; }

// ---- generating ----

function setBusy(busy) {
  state.busy = busy;
  $("write").disabled = busy;
  $("stop").disabled = !busy;
  document.body.classList.toggle("busy", busy);
  for (const b of document.querySelectorAll(".redo, .pick")) b.disabled = busy;
  const ready = !busy && state.candidates.length > 0;
  for (const id of ["explain", "copy", "share"]) $(id).disabled = !ready;
}

async function generate(overrides = {}) {
  if (state.controller) state.controller.abort();
  clearErrors();
  const body = requestBody(overrides);
  const controller = new AbortController();
  state.controller = controller;
  setBusy(true);
  setStatus("Writing…");
  let resp;
  try {
    resp = await fetch("/generate", {
      method: "POST", headers: { "content-type": "application/json" },
      body: JSON.stringify(body), signal: controller.signal,
    });
  } catch (e) {
    finish(controller, e.name === "AbortError" ? "Stopped." : "Cannot reach the server.", e.name !== "AbortError");
    return;
  }
  if (!resp.ok) {
    await reportHTTPError(resp);
    finish(controller);
    return;
  }
  state.request = body;
  state.seed = null;
  state.candidates = Array.from({ length: body.n || 1 }, () => ({ text: "", finish: null, pieces: 0 }));
  if (state.picked >= state.candidates.length) state.picked = 0;
  $("explanation").hidden = true;
  render();
  try {
    await readEvents(resp, (ev) => onEvent(ev));
  } catch (e) {
    finish(controller, e.name === "AbortError" ? "Stopped." : "The connection broke off.", e.name !== "AbortError");
    return;
  }
  finish(controller);
}

async function readEvents(resp, onEv) {
  const reader = resp.body.getReader();
  const decoder = new TextDecoder();
  let buf = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += decoder.decode(value, { stream: true });
    let end;
    while ((end = buf.indexOf("\n\n")) >= 0) {
      const chunk = buf.slice(0, end);
      buf = buf.slice(end + 2);
      for (const line of chunk.split("\n")) if (line.startsWith("data: ")) onEv(JSON.parse(line.slice(6)));
    }
  }
}

function onEvent(ev) {
  if (ev.error) { showError(ev.error, "general"); return; }
  if (ev.done) {
    state.seed = ev.seed;
    setStatus(`Done${ev.cached ? " (from the cache)" : ""}: seed ${ev.seed}, ${ev.usage.completion_tokens} characters.`);
    history.replaceState(null, "", shareURL());
    return;
  }
  const c = state.candidates[ev.index];
  if (!c) return;
  if (ev.finish_reason) c.finish = ev.finish_reason;
  else { c.text += ev.text; c.pieces += 1; }
  if (!state.frame) state.frame = requestAnimationFrame(() => { state.frame = 0; render(); });
}

function finish(controller, message, isError) {
  if (state.controller !== controller) return; // a newer request took over
  state.controller = null;
  if (message) (isError ? showError(message, "general") : setStatus(message));
  if (state.frame) { cancelAnimationFrame(state.frame); state.frame = 0; }
  render();
  setBusy(false);
}

// ---- poems: title, body, lines ----

function parts(c) {
  // The title, the body (the poem as text) and its lines with their offsets in the body.
  const req = state.request || {};
  let title = req.title || "", body = (req.prompt || "") + c.text;
  if (model(req.model).title && !req.title) { // the model writes its own title line first (then the prompt)
    const nl = c.text.indexOf("\n");
    title = nl < 0 ? c.text : c.text.slice(0, nl);
    body = nl < 0 ? "" : c.text.slice(nl + 1);
  }
  const lines = [];
  let start = 0;
  for (let i = 0; i <= body.length; i++) {
    const ch = body[i];
    if (i === body.length || ch === "\n" || BREAK.test(ch)) {
      const end = ch && ch !== "\n" ? i + 1 : i;
      const text = body.slice(start, i).trim();
      if (text) lines.push({ text, punct: ch && ch !== "\n" ? ch : "", start, end });
      start = i + 1;
    }
  }
  return { title, body, lines };
}

function render() {
  const box = $("poems");
  box.replaceChildren();
  state.candidates.forEach((c, i) => box.append(card(c, i)));
  box.classList.toggle("several", state.candidates.length > 1);
}

function card(c, i) {
  const { title, body, lines } = parts(c);
  const el = document.createElement("article");
  el.className = "poem" + (i === state.picked ? " picked" : "");
  el.dataset.index = String(i);
  el.dataset.pieces = String(c.pieces);
  el.dataset.finish = c.finish || "";
  el.dataset.text = (title ? `${title}\n` : "") + body;
  el.dataset.body = body;
  el.setAttribute("aria-label", `Candidate ${i + 1}`);
  if (state.candidates.length > 1) {
    const pick = button(i === state.picked ? "Picked" : `Pick ${i + 1}`, "pick", () => pickCandidate(i));
    pick.setAttribute("aria-pressed", String(i === state.picked));
    pick.disabled = state.busy;
    el.append(pick);
  }
  const text = document.createElement("div");
  text.className = "text";
  if (title) {
    const h = document.createElement("h3");
    h.className = "title";
    h.textContent = title;
    text.append(h);
  }
  lines.forEach((line, k) => text.append(lineElement(line, k, c.finish !== null)));
  if (c.finish === null && state.busy) {
    const cursor = document.createElement("span");
    cursor.className = "cursor";
    cursor.setAttribute("aria-hidden", "true");
    text.append(cursor);
  }
  el.append(text);
  return el;
}

function lineElement(line, k, done) {
  const row = document.createElement("div");
  row.className = "line";
  row.dataset.line = String(k + 1);
  const chars = document.createElement("span");
  chars.className = "chars";
  for (const ch of line.text) {
    const s = document.createElement("span");
    s.className = "ch";
    s.textContent = ch;
    chars.append(s);
  }
  if (line.punct) { // inside the line's span: a narrow screen never wraps it onto a line of its own
    const p = document.createElement("span");
    p.className = "punct";
    p.textContent = line.punct;
    chars.append(p);
  }
  row.append(chars);
  if (done) {
    const redo = button("↻", "redo", () => rewriteFrom(k + 1));
    redo.title = `keep the lines above and write from line ${k + 1} again`;
    redo.setAttribute("aria-label", `rewrite from line ${k + 1}`);
    redo.disabled = state.busy;
    row.append(redo);
  }
  return row;
}

function button(label, cls, onClick) {
  const b = document.createElement("button");
  b.type = "button";
  b.className = cls;
  b.textContent = label;
  b.addEventListener("click", onClick);
  return b;
}

function pickCandidate(i) {
  state.picked = i;
  $("explanation").hidden = true;
  render();
  history.replaceState(null, "", shareURL());
}

function picked() {
  const c = state.candidates[state.picked];
  return c ? parts(c) : null;
}

function rewriteFrom(k) {
  // Keep lines 1..k-1 verbatim (the prompt carries them) and write the rest under the same settings.
  const p = picked();
  if (!p || !p.lines[k - 1]) return;
  const keep = p.body.slice(0, p.lines[k - 1].start);
  $("prompt").value = keep;
  if (model(state.request.model).title && p.title) $("title").value = p.title;
  $("seed").value = String(randomSeed());
  state.picked = 0;
  generate();
}

function randomSeed() { return Math.floor(Math.random() * 2 ** 31); }

// ---- explain ----

async function explain() {
  const p = picked();
  if (!p || !p.body.trim()) return;
  const req = state.request;
  const body = { text: p.body, rhyme_scheme: req.rhyme_scheme || model(req.model).rhyme_scheme || "pingshui" };
  if (req.form) body.form = req.form;
  if (req.tune) body.tune = req.tune;
  if (req.acrostic) body.acrostic = req.acrostic;
  clearErrors();
  let resp;
  try {
    resp = await fetch("/explain", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  } catch (e) { showError("Cannot reach the server.", "general"); return; }
  if (!resp.ok) { await reportHTTPError(resp); return; }
  showExplanation(await resp.json());
}

function showExplanation(ex) {
  const cardEl = document.querySelector(`.poem[data-index="${state.picked}"]`);
  const rows = cardEl ? cardEl.querySelectorAll(".line") : [];
  ex.lines.forEach((line, i) => {
    const spans = rows[i] ? rows[i].querySelectorAll(".ch") : [];
    [...line.tones].forEach((t, j) => {
      if (!spans[j]) return;
      spans[j].dataset.tone = t;
      spans[j].classList.add({ 平: "t-ping", 仄: "t-ze", 中: "t-zhong" }[t] || "t-unknown");
    });
    if (line.rhyme && spans.length) spans[spans.length - 1].classList.add("rhyme");
  });
  for (const f of ex.faults) {
    const span = f.line && rows[f.line - 1] ? rows[f.line - 1].querySelectorAll(".ch")[f.pos - 1] : null;
    if (span) { span.classList.add("fault"); span.title = f.message; }
  }
  cardEl && cardEl.classList.add("explained");

  const out = $("explain-body");
  out.replaceChildren();
  // What was asked for decides the verdict; the judge's other findings are shown as such.
  const req = state.request || {};
  const asked = { form: Boolean(req.form || req.acrostic || req.tune), rhyme: Boolean(req.rhyme), tones: Boolean(req.tones) };
  const kept = Object.keys(asked).filter((k) => asked[k]).every((k) => ex.checks[k] !== false);
  const verdict = document.createElement("p");
  verdict.id = "verdict";
  verdict.className = "verdict " + (kept ? "ok" : "bad");
  const what = ex.form ? `a ${formName(ex.form)}` : "free verse (no classical form)";
  verdict.textContent = ex.complies ? `Complies: ${what} that keeps every rule of the judge.`
    : kept && Object.values(asked).some(Boolean) ? `Keeps what you asked for: ${what}. The judge's other findings are below.`
    : kept ? `Read as ${what}; the judge's findings are below.` : `Misses what you asked for: ${what}, see below.`;
  out.append(verdict);
  const checks = document.createElement("ul");
  checks.className = "checks";
  const groups = ex.lines.filter((l) => l.rhyme).map((l) => l.groups);
  const shared = groups.length ? groups.reduce((a, g) => a.filter((x) => g.includes(x))) : [];
  const labels = { form: "form", rhyme: `rhyme${shared.length ? ` (韵: ${shared.join(" / ")})` : ""}`, tones: "tones 平仄" };
  for (const [key, label] of Object.entries(labels)) {
    const v = ex.checks[key];
    const li = document.createElement("li");
    li.className = v === null ? "na" : v ? "ok" : "bad";
    const note = v === null ? ": not applicable" : asked[key] ? " (asked for)" : " (not asked for)";
    li.textContent = `${v === null ? "–" : v ? "✓" : "✗"} ${label}${note}`;
    checks.append(li);
  }
  out.append(checks);
  if (ex.faults.length) {
    const list = document.createElement("ul");
    list.className = "faults";
    for (const f of ex.faults) {
      const li = document.createElement("li");
      li.textContent = f.message;
      list.append(li);
    }
    out.append(list);
  }
  const scheme = document.createElement("p");
  scheme.className = "scheme";
  scheme.textContent = `Tones and rhymes by ${ex.scheme === "xinyun" ? "中华新韵 (modern readings)" : "平水韵 (classical readings; 入声 counts as 仄)"}.`;
  out.append(scheme);
  $("explanation").hidden = false;
}

function formName(form) {
  return { wujue: "五言绝句", qijue: "七言绝句", wulv: "五言律诗", qilv: "七言律诗", acrostic: "藏头诗" }[form] || form;
}

// ---- copy, share, vertical ----

async function copy(text, what) {
  try {
    await navigator.clipboard.writeText(text);
  } catch (e) { // no clipboard API (plain http on another host): select and copy
    const area = document.createElement("textarea");
    area.value = text;
    document.body.append(area);
    area.select();
    const ok = document.execCommand && document.execCommand("copy");
    area.remove();
    if (!ok) { setStatus(`Copy this ${what}: ${text}`); return; }
  }
  setStatus(`Copied the ${what}.`);
}

function setVertical(on) {
  document.body.classList.toggle("vertical", on);
  $("vertical").setAttribute("aria-pressed", String(on));
}

// ---- start-up ----

function updateModelFields() {
  const m = model();
  $("title-field").hidden = !m.title;
  const tunes = m.tunes && state.config.tunes.length > 0;
  $("tune-field").hidden = !tunes;
  $("form-field").hidden = tunes && $("tune").value !== "";
}

async function init() {
  $("controls").addEventListener("submit", (e) => {
    e.preventDefault();
    if (state.busy) return;
    state.picked = 0;
    generate();
  });
  $("stop").addEventListener("click", () => state.controller && state.controller.abort());
  $("dice").addEventListener("click", () => { $("seed").value = String(randomSeed()); });
  $("temperature").addEventListener("input", () => { $("temperature-out").textContent = $("temperature").value; });
  $("model").addEventListener("change", updateModelFields);
  $("tune").addEventListener("change", updateModelFields);
  $("explain").addEventListener("click", explain);
  $("copy").addEventListener("click", () => {
    const p = picked();
    if (p) copy((p.title ? `${p.title}\n` : "") + p.body, "poem");
  });
  $("share").addEventListener("click", () => copy(shareURL(), "link"));
  $("vertical").addEventListener("click", () => {
    setVertical(!document.body.classList.contains("vertical"));
    if (state.request) history.replaceState(null, "", shareURL());
  });
  try {
    const resp = await fetch("/playground/config");
    if (!resp.ok) throw new Error(`HTTP ${resp.status}`);
    state.config = await resp.json();
  } catch (e) {
    showError(`Cannot load the models from the server (${e.message}).`, "general");
    return;
  }
  for (const m of state.config.models) $("model").append(new Option(m.id, m.id));
  for (const t of state.config.tunes) $("tune").append(new Option(t, t));
  const auto = readURL();
  if (!$("model").value && state.config.models.length) $("model").value = state.config.models[0].id;
  $("temperature-out").textContent = $("temperature").value;
  updateModelFields();
  document.body.dataset.ready = "1";
  if (auto) generate();
}

init();
