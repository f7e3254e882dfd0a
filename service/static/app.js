// The textgen playground: settings -> POST /generate (Server-Sent Events) -> poems, line by line.
// Explain (POST /explain), rewrite from a line, share (the URL holds every setting and the seed).
// Plain browser JavaScript, no build step, no libraries; served by `textgen serve` at /. The poems
// themselves (lines, rewrite, explanation) are drawn by poems.js, loaded first.
"use strict";

const $ = (id) => document.getElementById(id);
const BREAK = /[，。！？；、,.!?;]/; // split_lines' separators (textgen.poetry.check), newline apart
// Request fields that errors may name -> the id of the field to show the message next to.
const FIELD_OF = {
  acrostic: "acrostic", title: "title", tune: "tune", max_new_tokens: "max", prompt: "prompt",
  form: "form", rhyme_scheme: "rhyme", rhyme: "rhyme", tones: "tones", temperature: "temperature",
  top_p: "top_p", search: "search", keywords: "keywords", seed: "seed", n: "n", model: "model",
};
const ERROR_IDS = ["model", "form", "tune", "acrostic", "rhyme", "tones", "search", "title", "keywords",
  "prompt", "temperature", "top_p", "seed", "n", "max", "general"];
// URL parameter -> [field id, kind]; the share link is these, plus pick and v (vertical).
const URL_FIELDS = {
  model: ["model", "text"], form: ["form", "text"], tune: ["tune", "text"],
  acrostic: ["acrostic", "text"], rhyme: ["rhyme", "bool"], tones: ["tones", "bool"],
  search: ["search", "bool"], scheme: ["scheme", "text"], title: ["title", "text"],
  keywords: ["keywords", "text"], prompt: ["prompt", "text"], t: ["temperature", "knob"],
  p: ["top_p", "knob"], seed: ["seed", "text"], n: ["n", "text"], max: ["max", "text"],
};
// The knobs whose untouched value is the model's own (its generation defaults, /playground/config):
// the page shows that value and sends the knob only when the user changed it, so the model decides.
const SWITCHES = ["rhyme", "tones", "search"];
const SLIDERS = ["temperature", "top_p"];
const LIBRARY_DEFAULTS = { temperature: 1, top_p: 1, rhyme: false, tones: false, search: false };

// Field id -> request field, where the names differ.
const REQUEST_FIELD = { scheme: "rhyme_scheme", max: "max_new_tokens" };

const state = {
  config: null, // GET /playground/config
  request: null, // the body of the last /generate
  candidates: [], // {text, finish, pieces}
  picked: 0,
  controller: null, // AbortController of the running request
  busy: false,
  stale: false, // the settings were refused since these poems: their actions would repeat that
  frame: 0,
};

function model(id = $("model").value) {
  return (state.config && state.config.models.find((m) => m.id === id)) || { id, title: false, tunes: false };
}

function defaults(m = model()) { return { ...LIBRARY_DEFAULTS, ...(m.defaults || {}) }; }

// ---- settings <-> request <-> URL ----

function numberOrRaw(value) {
  // Numbers as JSON numbers (the schema is strict); anything else as typed, for the server to name.
  if (value.trim() === "") return undefined;
  const x = Number(value);
  return Number.isFinite(x) ? x : value;
}

function changed(id) {
  // A switch the user set against the model's default, or a slider the user moved off it.
  const d = defaults()[id];
  if (SWITCHES.includes(id)) return $(id).checked !== Boolean(d);
  return $(id).dataset.touched === "1" && Number($(id).value) !== d;
}

function applyDefaults() {
  // The knobs show the model's own settings, untouched.
  const d = defaults();
  for (const id of SWITCHES) $(id).checked = Boolean(d[id]);
  for (const id of SLIDERS) {
    $(id).value = String(d[id]);
    delete $(id).dataset.touched;
    showKnob(id);
  }
}

function showKnob(id) {
  // An untouched slider shows the model's value itself (the slider may round it to its step).
  $(`${id}-out`).textContent = $(id).dataset.touched === "1" ? $(id).value : String(defaults()[id]);
}

function hasLines() {
  // A form, a tune or an acrostic: rows the line-level search can write.
  return Boolean((model().tunes && $("tune").value) || $("form").value || $("acrostic").value.trim());
}

function requestBody(overrides = {}) {
  const m = model();
  const body = {
    model: m.id, prompt: $("prompt").value, stream: true,
    n: numberOrRaw($("n").value), max_new_tokens: numberOrRaw($("max").value),
    // Always a seed (a random one when the field is blank): the request is then reproducible and
    // cached, so its share link answers at once.
    seed: numberOrRaw($("seed").value) ?? randomSeed(),
  };
  // Knobs left as the model has them are left out: the model's generation defaults apply.
  for (const id of SLIDERS) if (changed(id)) body[id] = numberOrRaw($(id).value);
  for (const id of ["rhyme", "tones"]) if (changed(id)) body[id] = $(id).checked;
  if (hasLines() && changed("search")) body.search = $("search").checked;
  if (m.tunes && $("tune").value) body.tune = $("tune").value; // a tune sets the form
  else if ($("form").value) body.form = $("form").value;
  if ($("acrostic").value.trim()) body.acrostic = $("acrostic").value.trim();
  if ($("scheme").value) body.rhyme_scheme = $("scheme").value;
  if (m.title && $("title").value.trim()) body.title = $("title").value.trim();
  if (m.keywords && $("keywords").value.trim()) body.keywords = $("keywords").value.trim();
  Object.assign(body, overrides);
  for (const k of Object.keys(body)) if (body[k] === undefined) delete body[k];
  return body;
}

function shareURL() {
  // The request that wrote the poems on show (not the fields, which may have changed since).
  const req = state.request;
  if (!req) return location.href;
  const p = new URLSearchParams();
  for (const [key, [field]] of Object.entries(URL_FIELDS)) {
    const v = req[REQUEST_FIELD[field] || field];
    // A switch is in the request only when set against the model's default: off is "0".
    if (typeof v === "boolean") p.set(key, v ? "1" : "0");
    else if (v !== undefined && v !== "") p.set(key, String(v));
  }
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
    if (kind === "knob") { $(id).dataset.touched = "1"; showKnob(id); }
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
  // Otherwise the field named first: the subject of "rhyme needs a form (--form) or an acrostic…".
  let best = "general", at = Infinity;
  for (const [word, id] of Object.entries(FIELD_OF)) {
    const m = word === "n" ? null : new RegExp(`\\b${word}\\b`, "i").exec(message);
    if (m && m.index < at) [best, at] = [id, m.index];
  }
  return best;
}

function showError(message, id) {
  if (id !== "general" && $(id) && $(id).offsetParent === null) id = "general"; // a hidden field
  const slot = $(`${id}-error`);
  slot.textContent = slot.textContent ? `${slot.textContent} ${message}` : message;
  const field = $(id);
  if (field && id !== "general") field.setAttribute("aria-invalid", "true");
}

async function reportHTTPError(resp) {
  let body = {};
  try { body = await resp.json(); } catch (e) { /* not JSON: a proxy's page */ }
  const message = typeof body.error === "string" ? body.error : (body.error && body.error.message) || `HTTP ${resp.status}`;
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
  const ready = !busy && state.candidates.length > 0 && !state.stale;
  for (const id of ["explain", "copy", "share"]) $(id).disabled = !ready;
  $("continue").disabled = !ready || !isFree(state.request || {});
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
    state.stale = true;
    $("explanation").hidden = true;
    finish(controller);
    return;
  }
  state.request = body;
  state.stale = false;
  state.candidates = Array.from({ length: body.n || 1 }, () => ({ text: "", finish: null, pieces: 0, keywords: "" }));
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
    setStatus(`Done${ev.cached ? " (from the cache)" : ""}: seed ${ev.seed}, ${ev.usage.completion_tokens} characters.`);
    history.replaceState(null, "", shareURL());
    return;
  }
  const c = state.candidates[ev.index];
  if (!c) return;
  if (ev.finish_reason) { c.finish = ev.finish_reason; c.keywords = ev.keywords || ""; }
  else { c.text += ev.text; c.pieces += 1; }
  if (!state.frame) state.frame = requestAnimationFrame(() => { state.frame = 0; render(); });
}

function finish(controller, message, isError) {
  if (state.controller !== controller) return; // a newer request took over
  state.controller = null;
  if (message) (isError ? showError(message, "general") : setStatus(message));
  if (state.frame) { cancelAnimationFrame(state.frame); state.frame = 0; }
  setBusy(false); // before drawing: a stopped poem has no cursor
  render();
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

function switchModel() {
  // A model starts from its own settings: a Tang acrostic, form or title is not a ci's, and an error
  // about them is not one the user made. Its knobs start at its generation defaults.
  for (const id of ["form", "tune", "acrostic", "title", "keywords"]) $(id).value = "";
  applyDefaults();
  clearErrors();
  updateModelFields();
}

function defaultModel(models) {
  // The Tang model (the one the page's forms, acrostics and rules are for), not the first by name.
  return models.find((m) => m.id === "tang") || models.find((m) => m.title) || models[0];
}

function updateModelFields() {
  const m = model();
  $("title-field").hidden = !m.title;
  $("keywords-field").hidden = !m.keywords;
  const tunes = m.tunes && state.config.tunes.length > 0;
  $("tune-field").hidden = !tunes;
  $("form-field").hidden = tunes && $("tune").value !== "";
  $("search-field").hidden = !hasLines();
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
  for (const id of SLIDERS) {
    $(id).addEventListener("input", () => { $(id).dataset.touched = "1"; showKnob(id); });
  }
  $("model").addEventListener("change", switchModel);
  $("tune").addEventListener("change", updateModelFields);
  $("form").addEventListener("change", updateModelFields);
  $("acrostic").addEventListener("input", updateModelFields);
  $("explain").addEventListener("click", explain);
  $("continue").addEventListener("click", continueText);
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
  // The model first (the link's, else tang), its defaults, then what the link sets over them.
  const given = new URLSearchParams(location.search).get("model");
  if (given) $("model").value = given;
  else if (state.config.models.length) $("model").value = defaultModel(state.config.models).id;
  applyDefaults();
  const auto = readURL();
  updateModelFields();
  document.body.dataset.ready = "1";
  if (auto) generate();
}

init();
