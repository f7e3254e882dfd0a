// The textgen playground, part 2: a candidate's title, body and lines; rendering them; picking one,
// rewriting from a line; the explanation (POST /explain) drawn on the poem. Loaded before app.js,
// which holds the state, the settings and the requests; both are plain scripts sharing globals.
"use strict";

// ---- poems: title, body, lines ----

function parts(c) {
  // The title, the body (the poem as text) and its lines with their offsets in the body.
  const req = state.request || {};
  const m = model(req.model);
  let title = req.title || "", body = (req.prompt || "") + c.text;
  const nl = c.text.indexOf("\n");
  if (m.title && !req.title) { // the model writes its own title line first (then the prompt)
    title = nl < 0 ? c.text : c.text.slice(0, nl);
    body = nl < 0 ? "" : c.text.slice(nl + 1);
  } else if (req.prompt && nl >= 0 && c.text.slice(nl + 1).startsWith(req.prompt)) {
    // A prompt opens the body: a model whose texts open with a header line (a ci's tune, a song's
    // artist) wrote that line first, and the prompt follows it in the text.
    title = c.text.slice(0, nl);
    body = c.text.slice(nl + 1);
  } else if (m.tunes && !req.tune && !req.form && !req.acrostic) { // a free ci opens with its tune line
    const nl = body.indexOf("\n");
    if (nl > 0 && ![...body.slice(0, nl)].some((ch) => BREAK.test(ch))) {
      title = body.slice(0, nl);
      body = body.slice(nl + 1);
    }
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
  return { title, body, lines, keywords: c.keywords || "" };
}

function render() {
  const box = $("poems");
  box.replaceChildren();
  state.candidates.forEach((c, i) => box.append(card(c, i)));
  box.classList.toggle("several", state.candidates.length > 1);
}

function card(c, i) {
  const { title, body, lines, keywords } = parts(c);
  const el = document.createElement("article");
  el.className = "poem" + (i === state.picked ? " picked" : "") + (state.stale ? " stale" : "");
  el.dataset.index = String(i);
  el.dataset.pieces = String(c.pieces);
  el.dataset.finish = c.finish || "";
  el.dataset.text = (title ? `${title}\n` : "") + body;
  el.dataset.body = body;
  el.setAttribute("aria-label", `Candidate ${i + 1}`);
  if (state.candidates.length > 1 && !state.stale) {
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
  if (keywords) { // the plan the poem was written to (never part of its text), small, under the title
    const kw = document.createElement("p");
    kw.className = "kw";
    kw.lang = "zh";
    kw.title = "the keyword plan this poem was written to";
    kw.textContent = `关键词 ${keywords}`;
    kw.dataset.keywords = keywords;
    text.append(kw);
  }
  lines.forEach((line, k) => text.append(lineElement(line, k, c.finish !== null && !state.stale)));
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
  writeAfter(p, p.body.slice(0, p.lines[k - 1].start));
}

function continueText() {
  // Free text only (a form's poem is complete): the whole text becomes the prompt.
  const p = picked();
  if (p) writeAfter(p, p.body);
}

function writeAfter(p, keep) {
  $("prompt").value = keep;
  if (model(state.request.model).title && p.title) $("title").value = p.title;
  if (model(state.request.model).keywords && p.keywords) $("keywords").value = p.keywords; // the same plan
  $("seed").value = String(randomSeed());
  state.picked = 0;
  generate();
}

function isFree(req) { return !(req.form || req.acrostic || req.tune); }

function randomSeed() { return Math.floor(Math.random() * 2 ** 31); }

// ---- explain ----

async function explain() {
  const p = picked();
  if (!p || !p.body.trim()) return;
  const req = state.request;
  const body = { text: p.body, rhyme_scheme: req.rhyme_scheme || model(req.model).rhyme_scheme || "pingshui" };
  if (req.form) body.form = req.form;
  const tune = req.tune || (model(req.model).tunes && state.config.tunes.includes(p.title) ? p.title : "");
  if (tune) body.tune = tune;
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
  // A rule the request left out is the model's default (which the page showed and did not send).
  const own = (k) => Boolean(k in req ? req[k] : defaults(model(req.model))[k]);
  const asked = { form: Boolean(req.form || req.acrostic || req.tune), rhyme: own("rhyme"), tones: own("tones") };
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
