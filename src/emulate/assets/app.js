// The emulator's page: rooms, the selected room's chat, integrations, live
// updates (the inspector is in inspector.js). Plain JavaScript over the
// control API (/_emulator/...) and its event stream; no build step.
"use strict";

const api = "/_emulator";
const state = {
  rooms: [],
  roomId: null,
  installs: [],
  exchanges: [],
  selectedExchange: null,
};

const $ = (id) => document.getElementById(id);

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children) {
    if (child === undefined || child === null) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

// Every control API error is {"error": {"message": ...}}; surface that text.
async function call(method, path, body) {
  const init = { method, headers: { Accept: "application/json" } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(api + path, init);
  const text = await response.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch (_) { data = text; }
  }
  if (!response.ok) {
    const message = data && data.error && data.error.message
      ? data.error.message
      : `${method} ${path} answered ${response.status}`;
    throw new Error(message);
  }
  return data;
}

function formatTime(when) {
  const date = new Date(when);
  return isNaN(date) ? "" : date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

function pretty(value) {
  if (value === undefined || value === null || value === "") return "";
  if (typeof value !== "string") return JSON.stringify(value, null, 2);
  try { return JSON.stringify(JSON.parse(value), null, 2); } catch (_) { return value; }
}

// ---- rooms ---------------------------------------------------------------

function renderRooms() {
  const list = $("rooms");
  list.replaceChildren(...state.rooms.map((room) =>
    el("li", { class: room.id === state.roomId ? "room selected" : "room" },
      el("a", { href: `#room-${room.id}`, "data-room-id": room.id }, el("span", { class: "hash" }, "#"), room.name))));
  const room = state.rooms.find((r) => r.id === state.roomId);
  $("room-name").textContent = room ? room.name : "No room";
  $("room-topic").textContent = room ? `room ${room.id}` : "";
}

async function createRoom(event) {
  event.preventDefault();
  const input = $("new-room-name");
  const name = input.value.trim();
  if (!name) return;
  try {
    const room = await call("POST", "/rooms", { name });
    input.value = "";
    await loadRooms();
    location.hash = `#room-${room.id}`;
  } catch (err) {
    input.setCustomValidity(err.message);
    input.reportValidity();
    setTimeout(() => input.setCustomValidity(""), 3000);
  }
}

function roomFromHash() {
  const match = /^#room-(\d+)$/.exec(location.hash);
  return match ? Number(match[1]) : null;
}

async function selectRoom(roomId) {
  state.roomId = roomId;
  renderRooms();
  renderInstalls();
  await loadMessages();
}

// ---- messages --------------------------------------------------------------

function messageNode(message) {
  const body = el("div", { class: "body" });
  if (typeof message.html === "string") {
    // `html` is rendered by the host: sanitised to HipChat's tag set for
    // html notifications, escaped for everything else.
    body.innerHTML = message.html;
    for (const link of body.querySelectorAll("a")) {
      link.target = "_blank";
      link.rel = "noopener noreferrer";
    }
  } else {
    body.textContent = message.message;
  }
  if (message.card && typeof message.card === "object") body.append(cardNode(message.card));
  const kind = message.kind === "notification" ? "notification" : "message";
  const color = message.color ? ` color-${message.color}` : "";
  return el("li", { class: `entry ${kind}${color}`, "data-id": message.id, "data-format": message.format },
    el("div", { class: "meta" },
      el("span", { class: "sender" }, message.sender || "unknown"),
      kind === "notification" ? el("span", { class: "badge" }, message.format || "html") : null,
      el("time", { datetime: message.date }, formatTime(message.date))),
    body);
}

// Only http(s) links from add-on data; anything else is shown as text.
function safeUrl(value) {
  try {
    const url = new URL(String(value));
    return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
  } catch (_) {
    return null;
  }
}

// A notification's card (title, description, link), as text: cards are
// add-on data and are not sanitised by the host.
function cardNode(card) {
  const href = safeUrl(card.url);
  const title = card.title ? String(card.title) : "";
  const description = typeof card.description === "string"
    ? card.description
    : (card.description && card.description.value) || "";
  return el("div", { class: "card" },
    title ? el("div", { class: "card-title" },
      href ? el("a", { href, target: "_blank", rel: "noopener noreferrer" }, title) : title) : null,
    description ? el("div", { class: "card-description" }, String(description)) : null,
    card.style ? el("div", { class: "card-style" }, `card: ${card.style}`) : null);
}

function appendMessage(message) {
  const list = $("messages");
  if (list.querySelector(`[data-id="${CSS.escape(String(message.id))}"]`)) return;
  const nearBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 80;
  list.append(messageNode(message));
  if (nearBottom) list.scrollTop = list.scrollHeight;
}

async function loadMessages() {
  const list = $("messages");
  list.replaceChildren();
  if (state.roomId === null) return;
  try {
    const messages = await call("GET", `/rooms/${state.roomId}/messages`);
    for (const message of messages) appendMessage(message);
    if (!messages.length) {
      list.append(el("li", { class: "empty" }, "No messages yet. Install an integration, then type a message below."));
    }
    list.scrollTop = list.scrollHeight;
  } catch (err) {
    list.append(el("li", { class: "error" }, err.message));
  }
}

// Under a typed message: which add-ons it reached and how they answered,
// so a silent add-on is not a mystery.
function noteDeliveries(messageId, deliveries) {
  const entry = $("messages").querySelector(`[data-id="${CSS.escape(String(messageId))}"]`);
  if (!entry) return;
  const note = el("div", { class: "deliveries" });
  if (!deliveries.length) {
    if (!state.installs.some((i) => i.roomId === state.roomId || i.roomId === null)) return;
    note.append(el("span", { class: "delivery none" }, "no integration's webhook pattern matched"));
  }
  for (const d of deliveries) {
    const failed = d.error || !d.status || d.status >= 300;
    const text = failed
      ? `${d.addon}: ${d.status ? `HTTP ${d.status}` : "no answer"}${d.error ? ` (${d.error})` : ""}`
      : `${d.addon}: HTTP ${d.status}${d.posted ? ", answered inline" : ""}`;
    note.append(el("span", { class: failed ? "delivery failed" : "delivery ok", title: d.url }, text));
  }
  entry.append(note);
}

async function sendMessage(event) {
  event.preventDefault();
  const input = $("message-input");
  const text = input.value.trim();
  if (!text || state.roomId === null) return;
  input.value = "";
  const empty = $("messages").querySelector(".empty");
  if (empty) empty.remove();
  try {
    const posted = await call("POST", `/rooms/${state.roomId}/messages`, { message: text });
    // The answer may beat the event stream: show the message now, then
    // say what each matching add-on made of it.
    appendMessage(posted.message);
    noteDeliveries(posted.message.id, posted.deliveries);
  } catch (err) {
    $("messages").append(el("li", { class: "error" }, err.message));
    input.value = text;
  }
}

// ---- integrations ---------------------------------------------------------

function renderInstalls() {
  const list = $("installs");
  const here = state.installs.filter((i) => i.roomId === state.roomId || i.roomId === null || i.roomId === undefined);
  if (!here.length) {
    list.replaceChildren(el("li", { class: "none" }, "No integrations in this room."));
    return;
  }
  list.replaceChildren(...here.map((install) =>
    el("li", { class: "install", "data-oauth-id": install.oauthId },
      el("div", { class: "install-name" }, install.name || install.key),
      el("div", { class: "install-key" }, install.key),
      el("div", { class: "install-url", title: install.descriptorUrl }, install.descriptorUrl),
      ...(install.webhooks || []).map((hook) =>
        el("div", { class: "install-hook", title: `${hook.url} (${hook.authentication})` },
          `${hook.event}${hook.pattern ? ` ${hook.pattern}` : ""}`)),
      el("button", { type: "button", class: "uninstall", onclick: () => uninstall(install) }, "Uninstall"))));
}

async function loadInstalls() {
  try {
    state.installs = await call("GET", "/installs");
  } catch (err) {
    setInstallStatus(err.message, true);
  }
  renderInstalls();
}

function setInstallStatus(text, isError) {
  const status = $("install-status");
  status.textContent = text;
  status.className = isError ? "status error" : "status";
}

async function install(event) {
  event.preventDefault();
  const input = $("descriptor-url");
  const descriptorUrl = input.value.trim();
  if (!descriptorUrl) return;
  const button = $("install-button");
  button.disabled = true;
  setInstallStatus("Installing…", false);
  try {
    const result = await call("POST", "/install", { descriptorUrl, roomId: state.roomId });
    setInstallStatus(`Installed (oauthId ${result.oauthId}).`, false);
    input.value = "";
    await loadInstalls();
  } catch (err) {
    setInstallStatus(err.message, true);
  } finally {
    button.disabled = false;
  }
}

async function uninstall(installRecord) {
  setInstallStatus(`Uninstalling ${installRecord.name || installRecord.key}…`, false);
  try {
    await call("DELETE", `/installs/${encodeURIComponent(installRecord.oauthId)}`);
    setInstallStatus("Uninstalled.", false);
  } catch (err) {
    setInstallStatus(err.message, true);
  }
  await loadInstalls();
}

// ---- live updates -----------------------------------------------------------

function connectEvents() {
  const indicator = $("connection");
  const source = new EventSource(`${api}/events`);
  let opened = false;
  source.addEventListener("open", () => {
    indicator.textContent = "live";
    indicator.className = "connection online";
    // After a reconnect, events may have been missed: reload everything.
    if (opened) refreshAll();
    opened = true;
  });
  source.addEventListener("error", () => {
    indicator.textContent = "reconnecting…";
    indicator.className = "connection offline";
  });
  source.addEventListener("message", (event) => {
    const message = JSON.parse(event.data);
    if (message.roomId === state.roomId) {
      const empty = $("messages").querySelector(".empty");
      if (empty) empty.remove();
      appendMessage(message);
    }
  });
  source.addEventListener("exchange", (event) => addExchange(JSON.parse(event.data)));
  source.addEventListener("installs", () => loadInstalls());
  source.addEventListener("rooms", () => loadRooms());
  source.addEventListener("resync", () => refreshAll());
}

async function loadRooms() {
  state.rooms = await call("GET", "/rooms");
  renderRooms();
}

async function refreshAll() {
  await loadRooms();
  const wanted = roomFromHash();
  const roomId = state.rooms.some((r) => r.id === wanted) ? wanted : (state.rooms[0] ? state.rooms[0].id : null);
  await Promise.all([selectRoom(roomId), loadInstalls(), loadExchanges()]);
}

window.addEventListener("hashchange", () => {
  const roomId = roomFromHash();
  if (roomId !== null && roomId !== state.roomId) selectRoom(roomId);
});

async function loadInfo() {
  try {
    const info = await call("GET", "");
    $("capabilities-link").href = info.capabilitiesUrl;
    $("capabilities-link").title = info.capabilitiesUrl;
  } catch (_) { /* the link keeps its default */ }
}

document.addEventListener("DOMContentLoaded", async () => {
  $("message-form").addEventListener("submit", sendMessage);
  loadInfo();
  $("install-form").addEventListener("submit", install);
  $("room-form").addEventListener("submit", createRoom);
  connectEvents();
  try {
    await refreshAll();
  } catch (err) {
    $("messages").append(el("li", { class: "error" }, err.message));
  }
  document.body.dataset.ready = "true";
});
