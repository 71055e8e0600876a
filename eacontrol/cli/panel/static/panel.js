// The practitioner's panel: draws what the server sends and sends what the practitioner asks.
// No control logic here: every command is a Session call made by the server's session loop.
"use strict";

const token = new URLSearchParams(location.search).get("token") || "";
const $ = (id) => document.getElementById(id);
let ws = null;
let role = "viewer";
let profiles = [];
let view = { phase: "idle" };
let simulatedDevice = false; // the panel's device is the built-in simulator (from hello)
let showSetup = true;
let showHistory = false; // after a session ends, until "New session"
let lastPhase = "idle";

function send(message) {
  if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(message));
}

function clock(seconds) {
  if (seconds === null || seconds === undefined) return "–";
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  const mm = String(m).padStart(2, "0"), ss = String(r).padStart(2, "0");
  return h ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

function mA(value, digits) {
  return value === null || value === undefined ? "?" : `${value.toFixed(digits)} mA`;
}

// A number as eactl show writes it: up to `digits` decimals, no trailing zeros, small values
// with their significant digits.
function num(value, digits = 3) {
  if (Number.isInteger(value)) return String(value);
  const text = value.toFixed(digits).replace(/\.?0+$/, "");
  return text === "0" || text === "-0" ? String(Number(value.toPrecision(digits))) : text;
}

function table(caption, headers, rows) {
  const t = el("table");
  t.append(el("caption", caption));
  const head = el("tr");
  for (const h of headers) head.append(el("th", h));
  t.append(head);
  for (const cells of rows) {
    const tr = el("tr");
    for (const c of cells) tr.append(el("td", c));
    t.append(tr);
  }
  const box = el("div", undefined, "scroll");
  box.append(t);
  return box;
}

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}

function connect() {
  ws = new WebSocket(`ws://${location.host}/ws?token=${encodeURIComponent(token)}`);
  ws.onopen = () => { $("link").textContent = "connected"; };
  ws.onclose = () => {
    $("link").textContent = "NOT CONNECTED: reconnecting…";
    role = "viewer";
    drawRole(false);
    setTimeout(connect, 1000);
  };
  ws.onmessage = (e) => {
    const m = JSON.parse(e.data);
    if (m.type === "hello") {
      profiles = m.profiles;
      $("port").textContent = m.port;
      $("layers").textContent = m.layers || "the standard layer and the profile's own (no site or patient options given)";
      simulatedDevice = m.simulated;
      fillProfiles();
    } else if (m.type === "view") {
      role = m.role;
      view = m;
      drawRole(m.controlled);
      draw();
    } else if (m.type === "history") {
      drawHistory(m.sessions, m.patient);
    } else if (m.type === "report") {
      const pre = $("report");
      pre.textContent = m.markdown;
      pre.hidden = false;
      pre.scrollIntoView();
    } else if (m.type === "handover") {
      $("handover-text").textContent = `${m.from} asks for control of the session.`;
      $("handover").hidden = false;
    } else if (m.type === "reply") {
      const msg = $("message");
      msg.textContent = m.text;
      msg.className = m.ok ? "message" : "message refused";
      if (m.ok && m.text.startsWith("note recorded")) $("note").value = "";
      // A start refused before its record began ends at once: its views may all have come
      // while the setup screen was up; the session's screen shows the refusal (the reply is
      // sent before the views that follow it).
      if (m.ok && m.text.startsWith("starting ")) { showSetup = false; draw(); }
      if (!m.ok && $("setup").hidden === false) $("detail").prepend(el("p", m.text, "refusal"));
    }
  };
}

function drawRole(controlled) {
  const controller = role === "controller";
  $("role").textContent = controller ? "THIS PAGE CONTROLS" : "VIEW ONLY";
  $("take").hidden = controller;
  $("take").textContent = controlled ? "Ask for control" : "Take control";
  if (!controller) $("handover").hidden = true;
  const boxes = [...document.querySelectorAll("input.placed")];
  $("start").disabled = !controller || !$("profile").value || boxes.some((b) => !b.checked);
  $("zero").disabled = $("pause").disabled = $("end").disabled = $("note").disabled =
    $("add-note").disabled = !controller || view.phase !== "running";
}

function fillProfiles() {
  const select = $("profile");
  const chosen = select.value;
  select.replaceChildren();
  for (const p of profiles) {
    const o = el("option", `${p.title} (${p.name})`);
    o.value = p.name;
    select.append(o);
  }
  select.value = chosen || (profiles[0] && profiles[0].name) || "";
  drawDetail();
}

function drawDetail() {
  const p = profiles.find((x) => x.name === $("profile").value);
  const d = $("detail");
  d.replaceChildren();
  if (!p) return;
  d.append(el("h2", p.title), el("p", `Indication: ${p.indication}`),
    el("p", `Duration: ${clock(p.duration_s)} in ${(p.steps || []).length} step(s)`));
  const needles = el("table");
  needles.append(el("caption", "Needles per channel: confirm each placement before the start"));
  for (const c of p.channels) {
    const tr = el("tr");
    const box = el("input");
    box.type = "checkbox";
    box.id = `placed-${c.channel}`;
    box.className = "placed";
    box.value = c.channel;
    box.onchange = () => drawRole(view.controlled);
    const label = el("label", `placed: channel ${c.channel} at ${c.points}`);
    label.htmlFor = box.id;
    const cell = el("td");
    cell.append(box, label);
    tr.append(el("th", `channel ${c.channel}`), el("td", c.points), cell);
    needles.append(tr);
  }
  const plan = el("table");
  plan.append(el("caption", "Plan"));
  const head = el("tr");
  for (const h of ["step", "mode", "intensity", "length", "ramps"]) head.append(el("th", h));
  plan.append(head);
  for (const s of p.steps || []) {
    const tr = el("tr");
    tr.append(el("td", s.label), el("td", s.mode), el("td", s.intensity),
      el("td", clock(s.duration_s)), el("td", `up ${s.ramp_up_s} s, down ${s.ramp_down_s} s`));
    plan.append(tr);
  }
  const dose = table("Derived dose at the target intensity, per step and channel (eactl show's)",
    ["step", "channel", "at", "ceiling", "pulses", "phase charge", "net charge", "rms"],
    (p.dose || []).map((r) => [String(r.step + 1), String(r.channel), `${num(r.intensity_mA)} mA`,
      `${num(r.ceiling_mA)} mA (${r.ceiling_layer})`, String(r.pulses), `${num(r.phase_charge_uC)} µC`,
      `${num(r.net_charge_uC)} µC`, `${num(r.rms_mA)} mA`]));
  const more = table("Over the step and at the needle (densities need the channel's needle geometry)",
    ["step", "channel", "mean rms", "duty", "time per rate", "Shannon k", "current density", "power density"],
    (p.dose || []).map((r) => [String(r.step + 1), String(r.channel), `${num(r.mean_rms_mA)} mA`,
      `${num(r.duty_percent, 1)} %`, r.seconds_per_rate.map(([hz, t]) => `${num(hz)} Hz: ${num(t, 1)} s`).join(", "),
      r.shannon_k === null ? "–" : num(r.shannon_k, 2),
      r.current_density_mA_per_cm2 === null ? "–" : `${num(r.current_density_mA_per_cm2)} mA/cm²`,
      r.power_density_W_per_cm2 === null ? "–" : `${num(r.power_density_W_per_cm2, 4)} W/cm²`]));
  d.append(needles, plan, dose, more);
  if ((p.dose || []).every((r) => r.shannon_k === null)) {
    d.append(el("p", "This profile gives no needle geometry: no charge or current density, no Shannon k.", "device"));
  }
  for (const a of p.advisories) d.append(el("p", `Advisory: ${a}`, "advisory"));
  for (const r of p.refusals) d.append(el("p", `Refused: ${r}`, "refusal"));
  drawRole(view.controlled);
}

function draw() {
  const phase = view.phase;
  // The session's result (the device's confirmation of a STOP) is shown at the top: the page
  // is scrolled there once, when the session ends.
  if (phase === "ended" && lastPhase !== "ended") window.scrollTo(0, 0);
  lastPhase = phase;
  const live = phase === "starting" || phase === "running";
  if (live) showSetup = showHistory = false; // a running session is always on screen
  $("show-history").disabled = live;
  $("history").hidden = !showHistory;
  $("setup").hidden = !showSetup || showHistory;
  $("running").hidden = showSetup || showHistory;
  $("sim").hidden = !(view.simulated ?? simulatedDevice);
  if (showSetup) return;
  $("title").textContent = view.title || view.profile || "";
  $("who").textContent = `patient ${view.patient || "not given"} · operator ${view.operator || "not given"}` +
    (view.session_id ? ` · session ${view.session_id}` : "");
  $("device").textContent = view.device || "";
  $("state").textContent = phase === "starting" ? "STARTING: checks before stimulation" :
    phase === "ended" ? "ENDED" : (view.state_text || "").toUpperCase();
  $("remaining").textContent = clock(view.remaining_s);
  $("elapsed").textContent = clock(view.t_s);
  const s = view.step;
  $("step").textContent = s ? `step ${s.index + 1}/${s.count}: ${s.name} · ${clock(s.elapsed_s)} of ${clock(s.duration_s)}` : "";
  const alarms = $("alarms");
  alarms.replaceChildren(...(view.alarms || []).map((a) => el("div", a)));
  drawChannels(view.channels || []);
  $("guidance").textContent = (view.guidance || []).join(" · ");
  $("pause").textContent = view.state === "paused" ? "Resume (from zero)" : "Pause";
  $("events").replaceChildren(...(view.events || []).slice().reverse().map((t) => el("li", t)));
  const result = $("result");
  const r = view.result;
  result.hidden = !r;
  if (!r) { result.className = "result"; result.textContent = ""; }
  $("again").hidden = phase !== "ended";
  if (r) {
    const words = r.not_started ? "NOT STARTED: nothing was stimulated." :
      r.confirmed ? "STOP CONFIRMED BY THE DEVICE: every output at zero." :
      `ALARM: OUTPUTS NOT CONFIRMED OFF: use the device's own stop. ${r.alarm || ""}`;
    result.textContent = `${words} ${r.text}` + (r.session_id ? ` (session ${r.session_id})` : "");
    result.className = `result ${r.not_started ? "" : r.confirmed ? "confirmed" : "unconfirmed"}`;
  }
  // Notes are the running session's (eactl run's n): once it has ended, eactl annotate adds them.
  $("noting").hidden = phase === "ended";
  const after = $("after");
  after.hidden = !(r && r.session_id);
  after.textContent = r && r.session_id ? "A note or the patient's response after the session: " +
    `eactl annotate ${r.session_id} --note TEXT (or --response de_qi, twitch, comfortable, …)` : "";
  drawRole(view.controlled);
}

function drawChannels(channels) {
  const box = $("channels");
  const live = view.phase === "running";
  if (box.children.length !== channels.length) {
    box.replaceChildren(...channels.map(channelCard));
  }
  channels.forEach((c, i) => {
    const card = box.children[i];
    card.className = `channel ${c.state === "HELD" ? "held" : c.state === "UNKNOWN" ? "unknown" : ""}`;
    card.querySelector(".pts").textContent = c.points;
    card.querySelector(".mode").textContent = c.now ? `${c.mode} · now ${c.now}` : c.mode;
    card.querySelector(".set").textContent = mA(c.set_mA, 2);
    card.querySelector(".target").textContent = mA(c.target_mA, 1);
    card.querySelector(".meas").textContent = mA(c.measured_mA, 2);
    card.querySelector(".imp").textContent = c.impedance_ohm === null ? "open/unknown" : `${c.impedance_ohm} Ω`;
    card.querySelector(".st").textContent = c.state;
    const ceiling = c.ceiling_mA || 10;
    card.querySelector(".bar span").style.width = `${Math.min(100, 100 * (c.set_mA || 0) / ceiling)}%`;
    for (const b of card.querySelectorAll("button")) b.disabled = role !== "controller" || !live;
    card.querySelector(".again").hidden = c.state !== "HELD";
  });
}

function channelCard(c) {
  const card = el("div", undefined, "channel");
  card.dataset.channel = c.channel;
  card.append(el("h3", `Channel ${c.channel}`), el("div", "", "pts"), el("div", "", "mode"));
  card.append(el("div", "", "set"));
  const bar = el("div", undefined, "bar");
  bar.append(el("span"));
  const nums = el("div", undefined, "nums");
  for (const [label, cls] of [["target", "target"], ["measured", "meas"], ["impedance", "imp"], ["state", "st"]]) {
    nums.append(el("span", label, "label"), el("span", "", cls));
  }
  const btns = el("div", undefined, "btns");
  const lower = el("button", "−");
  lower.type = "button";
  lower.setAttribute("aria-label", `lower channel ${c.channel} by 0.5 mA`);
  lower.onclick = () => send({ type: "lower", channel: c.channel });
  const raise = el("button", "+");
  raise.type = "button";
  raise.setAttribute("aria-label", `raise channel ${c.channel} by 0.5 mA`);
  raise.onclick = () => send({ type: "raise", channel: c.channel });
  btns.append(lower, raise);
  const more = el("div", undefined, "more");
  const mark = el("button", "Mark level");
  mark.type = "button";
  mark.className = "mark";
  mark.setAttribute("aria-label", `mark channel ${c.channel}'s level (treatment intensity or threshold)`);
  mark.onclick = () => send({ type: "mark", channel: c.channel });
  const again = el("button", "Resume channel (re-clipped)");
  again.type = "button";
  again.className = "again";
  again.hidden = true;
  again.onclick = () => send({ type: "resume_channel", channel: c.channel });
  more.append(mark, again);
  card.append(bar, nums, btns, more);
  return card;
}

function drawHistory(sessions, patient) {
  $("history-of").textContent = patient ? `Sessions of patient ${patient} (simulated ones marked)` :
    "Sessions of every patient";
  const table = $("sessions");
  const head = el("tr");
  for (const h of ["session", "started (UTC)", "profile", "patient", "operator", "outcome", ""]) {
    head.append(el("th", h));
  }
  const rows = sessions.map((s) => {
    const tr = el("tr");
    const open = el("button", "Report");
    open.type = "button";
    open.onclick = () => send({ type: "report", session_id: s.session_id });
    const cell = el("td");
    cell.append(open);
    tr.append(el("td", String(s.session_id)), el("td", s.started_at), el("td", s.profile),
      el("td", s.patient || "–"), el("td", s.operator || "–"),
      el("td", s.outcome + (s.simulated ? " (simulated)" : "")), cell);
    return tr;
  });
  table.replaceChildren(head, ...rows);
  if (!sessions.length) table.append(el("tr", patient ? `no session of patient ${patient}` : "no session in the record yet"));
}

function sendNote() {
  const text = $("note").value.trim();
  if (text) send({ type: "note", text });
}

function showSessions(patient) {
  $("report").hidden = true;
  send({ type: "history", patient });
}

function stop() {
  send({ type: "stop" });
  $("message").textContent = "STOP sent: waiting for the device to confirm every output off";
}

window.addEventListener("DOMContentLoaded", () => {
  $("profile").onchange = drawDetail;
  $("start").onclick = () => send({
    type: "start", profile: $("profile").value,
    placement: [...document.querySelectorAll("input.placed:checked")].map((b) => Number(b.value)),
    patient: $("patient").value.trim(), operator: $("operator").value.trim(),
  });
  $("stop").onclick = stop;
  $("zero").onclick = () => send({ type: "zero_all" });
  $("end").onclick = () => send({ type: "end" });
  $("pause").onclick = () => send({ type: view.state === "paused" ? "resume" : "pause" });
  $("take").onclick = () => send({ type: "take_control" });
  $("accept").onclick = () => { $("handover").hidden = true; send({ type: "accept_handover" }); };
  $("refuse").onclick = () => { $("handover").hidden = true; send({ type: "refuse_handover" }); };
  $("again").onclick = () => { showSetup = true; draw(); };
  $("show-history").onclick = () => {
    showHistory = true;
    showSessions($("history-patient").value.trim());
    draw();
  };
  $("filter-history").onclick = () => showSessions($("history-patient").value.trim());
  $("all-history").onclick = () => { $("history-patient").value = ""; showSessions(""); };
  $("history-patient").onkeydown = (e) => { if (e.key === "Enter") $("filter-history").click(); };
  $("add-note").onclick = sendNote;
  $("note").onkeydown = (e) => { if (e.key === "Enter") sendNote(); };
  $("close-history").onclick = () => { showHistory = false; draw(); };
  document.addEventListener("keydown", (e) => {
    // Space and Escape are STOP while a session runs, wherever the focus is; in the note box
    // Space types a space (a note has words, as in eactl run's note prompt) and Escape is STOP.
    if (e.key === " " && e.target === $("note")) return;
    if ((e.key === " " || e.key === "Escape") && view.phase !== "ended" && !showSetup) {
      e.preventDefault();
      stop();
    } else if (e.key === "Escape") {
      stop();
    }
  }, true);
  setInterval(() => send({ type: "heartbeat" }), 250);
  connect();
});
