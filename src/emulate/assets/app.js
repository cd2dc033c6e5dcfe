// The emulator's page: rooms, the selected room's chat, its topic and
// people, integrations, the current user, live updates. The inspector is
// in inspector.js, the add-on UI (glances, sidebars, dialogs, actions,
// the JavaScript API's host side) in host.js. Plain JavaScript over the
// control API (/_emulator/...) and its event stream; no build step.
"use strict";

const api = "/_emulator";
const USER_KEY = "connect-emulate-user";
const state = {
  rooms: [],
  roomId: null,
  room: null,
  users: [],
  userId: Number(localStorage.getItem(USER_KEY)) || 1,
  installs: [],
  exchanges: [],
  selectedExchange: null,
  confirmUninstall: null,
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
    if (child === undefined || child === null || child === false) continue;
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

// The host side of add-on pages (host.js) listens here.
const hooks = { roomChanged: [], installsChanged: [], userChanged: [], messageAdded: [], decorateMessage: [] };
function emit(name, ...args) {
  for (const hook of hooks[name]) {
    try { hook(...args); } catch (err) { console.error(`${name} hook:`, err); }
  }
}

function currentUser() {
  return state.users.find((u) => u.id === state.userId) || { id: state.userId, name: `User ${state.userId}` };
}

// ---- users ----------------------------------------------------------------

async function loadUsers() {
  state.users = await call("GET", "/users");
  if (!state.users.some((u) => u.id === state.userId) && state.users.length) state.userId = state.users[0].id;
  const select = $("user-select");
  select.replaceChildren(...state.users.map((u) =>
    el("option", { value: u.id, selected: u.id === state.userId },
      `${u.name}${u.isAdmin ? " (admin)" : ""}${u.isGuest ? " (guest)" : ""}`)));
}

function changeUser() {
  state.userId = Number($("user-select").value);
  localStorage.setItem(USER_KEY, String(state.userId));
  renderRoomHeader();
  renderInstalls();
  loadPrivate();
  emit("userChanged");
}

// ---- rooms ---------------------------------------------------------------

function renderRooms() {
  const list = $("rooms");
  list.replaceChildren(...state.rooms.map((room) =>
    el("li", { class: room.id === state.roomId ? "room selected" : "room" },
      el("a", { href: `#room-${room.id}`, "data-room-id": room.id }, el("span", { class: "hash" }, "#"), room.name))));
  renderRoomHeader();
}

function renderRoomHeader() {
  const room = state.rooms.find((r) => r.id === state.roomId);
  $("room-name").textContent = room ? room.name : "No room";
  const details = state.room && state.room.id === state.roomId ? state.room : null;
  const topic = details ? details.topic : "";
  $("room-topic").textContent = topic || "Set a topic";
  $("room-topic").classList.toggle("unset", !topic);
  const people = details ? details.participants : [];
  $("participants").textContent = people.length ? `${people.length} here: ${people.map((p) => p.name).join(", ")}` : "nobody here";
  const inRoom = people.some((p) => p.id === state.userId);
  const presence = $("presence-button");
  presence.hidden = !room;
  presence.textContent = inRoom ? "Leave room" : "Enter room";
  presence.title = inRoom
    ? `${currentUser().name} leaves the room (add-ons hear room_exit)`
    : `${currentUser().name} enters the room (add-ons hear room_enter)`;
}

async function loadRoomDetails() {
  if (state.roomId === null) {
    state.room = null;
  } else {
    try {
      state.room = await call("GET", `/rooms/${state.roomId}`);
    } catch (_) {
      state.room = null;
    }
  }
  renderRoomHeader();
}

async function togglePresence() {
  const inRoom = state.room && state.room.participants.some((p) => p.id === state.userId);
  try {
    if (inRoom) await call("DELETE", `/rooms/${state.roomId}/participants/${state.userId}`);
    else await call("POST", `/rooms/${state.roomId}/participants`, { userId: state.userId });
  } catch (err) {
    setInstallStatus(err.message, true);
  }
  await loadRoomDetails();
}

function editTopic() {
  $("room-topic").hidden = true;
  $("topic-form").hidden = false;
  const input = $("topic-input");
  input.value = state.room ? state.room.topic : "";
  input.focus();
}

function closeTopic() {
  $("topic-form").hidden = true;
  $("room-topic").hidden = false;
}

async function saveTopic(event) {
  event.preventDefault();
  const input = $("topic-input");
  try {
    await call("PUT", `/rooms/${state.roomId}/topic`, { topic: input.value, userId: state.userId });
    closeTopic();
    await loadRoomDetails();
  } catch (err) {
    input.setCustomValidity(err.message);
    input.reportValidity();
    setTimeout(() => input.setCustomValidity(""), 3000);
  }
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
  emit("roomChanged");
  await Promise.all([loadMessages(), loadRoomDetails()]);
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
  const fromAddon = kind === "message" && message.oauthId;
  const color = message.color ? ` color-${message.color}` : "";
  const node = el("li", { class: `entry ${kind}${fromAddon ? " from-addon" : ""}${color}`, "data-id": message.id, "data-format": message.format },
    el("div", { class: "meta" },
      el("span", { class: "sender" }, message.sender || "unknown"),
      kind === "notification" ? el("span", { class: "badge" }, message.format || "html") : null,
      fromAddon ? el("span", { class: "badge" }, "integration") : null,
      message.parentId ? el("span", { class: "reply-to", title: `reply to ${message.parentId}` }, "↳ reply") : null,
      el("time", { datetime: message.date }, formatTime(message.date))),
    body);
  if (Array.isArray(message.deliveries)) node.append(deliveriesNode(message.deliveries));
  emit("decorateMessage", node, message);
  return node;
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

function textOf(value) {
  if (value === undefined || value === null) return "";
  if (typeof value === "string") return value;
  if (typeof value === "object" && "value" in value) return String(value.value);
  return String(value);
}

// A notification's card (PROTOCOL.md: style, title, description, icon,
// thumbnail, attributes, activity), built from text: cards are add-on data
// and nothing in them is trusted as HTML.
function cardNode(card) {
  const href = safeUrl(card.url);
  const title = textOf(card.title);
  const description = textOf(card.description);
  const icon = card.icon && safeUrl(card.icon.url || card.icon);
  const thumbnail = card.thumbnail && safeUrl(card.thumbnail.url || card.thumbnail);
  const activity = card.activity && textOf(card.activity.html || card.activity);
  const attributes = Array.isArray(card.attributes) ? card.attributes : [];
  return el("div", { class: `card card-${String(card.style || "link").replace(/[^a-z]/g, "")}` },
    el("div", { class: "card-head" },
      icon ? el("img", { class: "card-icon", src: icon, alt: "" }) : null,
      title ? el("div", { class: "card-title" },
        href ? el("a", { href, target: "_blank", rel: "noopener noreferrer" }, title) : title) : null),
    activity ? el("div", { class: "card-activity" }, activity.replace(/<[^>]*>/g, "")) : null,
    description ? el("div", { class: "card-description" }, description) : null,
    thumbnail ? el("img", { class: "card-thumbnail", src: thumbnail, alt: "" }) : null,
    attributes.length ? el("ul", { class: "card-attributes" }, ...attributes.map((a) => {
      const value = a && a.value ? a.value : {};
      const style = String(value.style || "").replace(/[^a-z-]/g, "");
      const link = safeUrl(value.url);
      const label = textOf(value.label !== undefined ? value.label : value);
      return el("li", {},
        a && a.label ? el("span", { class: "card-attribute-label" }, `${textOf(a.label)}: `) : null,
        link ? el("a", { href: link, target: "_blank", rel: "noopener noreferrer", class: style }, label)
             : el("span", { class: style ? `card-lozenge ${style}` : "" }, label));
    })) : null,
    el("div", { class: "card-style" }, `card: ${card.style || "link"}`));
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
function deliveriesNode(deliveries) {
  const note = el("div", { class: "deliveries" });
  if (!deliveries.length) {
    note.append(el("span", { class: "delivery none" }, "no integration's webhook pattern matched"));
  }
  for (const d of deliveries) {
    const failed = d.error || !d.status || d.status >= 300;
    const text = failed
      ? `${d.addon}: ${d.status ? `HTTP ${d.status}` : "no answer"}${d.error ? ` (${d.error})` : ""}`
      : `${d.addon}: HTTP ${d.status}${d.posted ? ", answered inline" : ""}`;
    note.append(el("span", { class: failed ? "delivery failed" : "delivery ok", title: d.url }, text));
  }
  return note;
}

function noteDeliveries(messageId, deliveries) {
  const entry = $("messages").querySelector(`[data-id="${CSS.escape(String(messageId))}"]`);
  if (!entry || entry.querySelector(".deliveries")) return;
  if (!deliveries.length && !state.installs.some((i) => i.roomId === state.roomId || i.roomId === null)) return;
  entry.append(deliveriesNode(deliveries));
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
    const posted = await call("POST", `/rooms/${state.roomId}/messages`, { message: text, userId: state.userId });
    // The answer may beat the event stream: show the message now, then
    // say what each matching add-on made of it.
    appendMessage(posted.message);
    noteDeliveries(posted.message.id, posted.deliveries);
  } catch (err) {
    $("messages").append(el("li", { class: "error" }, err.message));
    input.value = text;
  }
}

// ---- private messages ------------------------------------------------------

async function loadPrivate() {
  const list = $("private");
  try {
    const messages = await call("GET", `/users/${state.userId}/messages`);
    $("private-section").hidden = !messages.length;
    list.replaceChildren(...messages.slice(-20).map((m) => {
      const body = el("div", { class: "private-body" });
      body.innerHTML = m.html;
      return el("li", { class: "private-message", "data-id": m.id },
        el("span", { class: "sender" }, m.sender), body);
    }));
  } catch (_) {
    $("private-section").hidden = true;
  }
}

// ---- integrations ---------------------------------------------------------

function modulesOf(install, kind) {
  return (install.modules || []).filter((m) => m.kind === kind).sort((a, b) => a.weight - b.weight);
}

function installsHere() {
  return state.installs.filter((i) => i.roomId === state.roomId || i.roomId === null || i.roomId === undefined);
}

function renderInstalls() {
  const list = $("installs");
  const here = installsHere();
  if (!here.length) {
    list.replaceChildren(el("li", { class: "none" }, "No integrations in this room."));
    emit("installsChanged");
    return;
  }
  list.replaceChildren(...here.map((install) => {
    const health = install.health || { up: true };
    const confirming = state.confirmUninstall === install.oauthId;
    const configurable = modulesOf(install, "configurable")[0];
    const pages = modulesOf(install, "externalPage");
    return el("li", { class: `install${health.up ? "" : " down"}`, "data-oauth-id": install.oauthId },
      el("div", { class: "install-name" },
        el("span", { class: health.up ? "health up" : "health down", title: health.up ? "answering" : `not answering: ${health.reason || "no answer"}` }),
        install.name || install.key),
      confirming
        ? el("span", { class: "confirm" },
            el("button", { type: "button", class: "uninstall-confirm", onclick: () => uninstall(install) }, "Uninstall"),
            el("button", { type: "button", class: "uninstall-keep secondary", onclick: () => { state.confirmUninstall = null; renderInstalls(); } }, "Keep"))
        : el("button", { type: "button", class: "uninstall", onclick: () => { state.confirmUninstall = install.oauthId; renderInstalls(); } }, "Uninstall"),
      confirming ? el("div", { class: "install-warning" }, `Uninstall ${install.name || install.key}? The add-on is told and forgets this installation.`) : null,
      health.up ? null : el("div", { class: "install-down" }, `Not answering: ${health.reason || "no answer"}`),
      el("div", { class: "install-key" }, install.key),
      el("div", { class: "install-url", title: install.descriptorUrl }, install.descriptorUrl),
      ...(install.webhooks || []).map((hook) =>
        el("div", { class: "install-hook", title: `${hook.url} (${hook.authentication})` },
          `${hook.event}${hook.pattern ? ` ${hook.pattern}` : ""}`)),
      configurable || pages.length ? el("div", { class: "install-links" },
        configurable ? el("button", { type: "button", class: "configure secondary", onclick: () => window.connectHost && connectHost.configure(install) }, "Configure") : null,
        ...pages.map((page) => el("button", { type: "button", class: "external-page secondary", "data-key": page.key,
          onclick: () => window.connectHost && connectHost.openExternal(install, page) }, `${page.name} ↗`))) : null);
  }));
  emit("installsChanged");
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
  state.confirmUninstall = null;
  setInstallStatus(`Uninstalling ${installRecord.name || installRecord.key}…`, false);
  try {
    await call("DELETE", `/installs/${encodeURIComponent(installRecord.oauthId)}`);
    setInstallStatus("Uninstalled.", false);
  } catch (err) {
    setInstallStatus(err.message, true);
  }
  await loadInstalls();
}

function setHealth(change) {
  const install = state.installs.find((i) => i.oauthId === change.oauthId);
  if (!install) return;
  install.health = { up: change.up, reason: change.reason };
  renderInstalls();
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
      emit("messageAdded", message);
    }
  });
  source.addEventListener("private", (event) => {
    const message = JSON.parse(event.data);
    if (message.toUser === state.userId) loadPrivate();
  });
  source.addEventListener("topic", (event) => {
    const change = JSON.parse(event.data);
    if (change.roomId === state.roomId) loadRoomDetails();
  });
  source.addEventListener("participants", (event) => {
    const change = JSON.parse(event.data);
    if (change.roomId === state.roomId) loadRoomDetails();
  });
  source.addEventListener("health", (event) => setHealth(JSON.parse(event.data)));
  source.addEventListener("glance", (event) => window.connectHost && connectHost.glancePushed(JSON.parse(event.data)));
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
  await Promise.all([loadRooms(), loadUsers()]);
  const wanted = roomFromHash();
  const roomId = state.rooms.some((r) => r.id === wanted) ? wanted : (state.rooms[0] ? state.rooms[0].id : null);
  await loadInstalls();
  await Promise.all([selectRoom(roomId), loadExchanges(), loadPrivate()]);
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
  $("user-select").addEventListener("change", changeUser);
  $("room-topic").addEventListener("click", editTopic);
  $("topic-form").addEventListener("submit", saveTopic);
  $("topic-cancel").addEventListener("click", closeTopic);
  $("presence-button").addEventListener("click", togglePresence);
  $("clear-exchanges").addEventListener("click", clearExchanges);
  connectEvents();
  try {
    await refreshAll();
  } catch (err) {
    $("messages").append(el("li", { class: "error" }, err.message));
  }
  document.body.dataset.ready = "true";
});
