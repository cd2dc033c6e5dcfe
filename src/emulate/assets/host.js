// The other half of HipChat Connect in the emulator's page: glances in the
// room's sidebar, web panels, dialogs, input and message actions,
// configuration pages, external pages, and the host side of HipChat's
// JavaScript API (the simple-xdm postMessage protocol; the add-on side is
// /atlassian-connect/all.js). Loaded after app.js, whose helpers (state,
// call, el, $, hooks, installsHere, modulesOf, currentUser) it uses.
//
// Add-on pages are shown through their forwarding origin
// (http://<add-on>.localhost:<port>, see src/emulate/forward.rs), signed by
// the emulator for the current user and room.
"use strict";

(function () {
  // Events sent before a page registered for them wait this long.
  const EVENT_TTL_MS = 30000;
  const LOZENGES = ["default", "success", "error", "current", "new", "moved"];
  const DIALOG_SIZES = {
    small: ["400px", "300px"],
    medium: ["600px", "400px"],
    large: ["800px", "600px"],
    xlarge: ["968px", "700px"],
  };
  // What the page offers add-on frames, by module and function.
  const API_SPEC = {
    auth: { withToken: {} },
    room: { getRoomDetails: {}, getParticipants: {}, open: {} },
    user: { getCurrentUser: {}, open: {} },
    dialog: { open: {}, close: {}, update: {}, updatePrimaryAction: {}, updateSecondaryAction: {} },
    sidebar: { openView: {}, closeView: {} },
    chat: { appendMessage: {}, focus: {} },
  };

  const frames = new Map();
  const glances = new Map();
  let sidebar = null;
  let dialog = null;

  const randomId = () => Math.floor(Math.random() * 1e9).toString(16);
  const glanceId = (oauthId, key) => `${oauthId} ${key}`;

  function installById(oauthId) {
    return state.installs.find((i) => i.oauthId === oauthId);
  }

  function moduleOf(install, key) {
    return (install.modules || []).find((m) => m.key === key);
  }

  function problem(text) {
    setInstallStatus(text, true);
  }

  // ---- conditions -----------------------------------------------------------

  function conditionHolds(condition, context) {
    if (Array.isArray(condition.conditions)) {
      const results = condition.conditions.map((c) => conditionHolds(c, context));
      return condition.any ? results.some(Boolean) : results.every(Boolean);
    }
    const params = condition.params || {};
    const user = currentUser();
    const message = context.message;
    let holds;
    switch (condition.condition) {
      case "room_is_public": holds = true; break;
      case "user_is_admin": holds = Boolean(user.isAdmin); break;
      case "user_is_guest": holds = Boolean(user.isGuest); break;
      case "user_is_room_owner": holds = Boolean(user.isAdmin); break;
      case "message_matches":
        holds = Boolean(message) && safeRegex(params.regex).test(message.message || ""); break;
      case "message_contains_link":
        holds = Boolean(message) && (/https?:\/\//i.test(message.message || "") || /<a\s/i.test(message.html || "")); break;
      case "message_sent_by_current_user":
        holds = Boolean(message) && message.userId === state.userId; break;
      case "card_matches":
        holds = Boolean(message && message.card) && safeRegex(params.regex).test(JSON.stringify(message.card)); break;
      case "glance_matches": {
        const metadata = context.metadata || {};
        const rules = Array.isArray(params.metadata) ? params.metadata : [];
        holds = rules.every((rule) => {
          const value = metadata[rule.attr];
          if ("eq" in rule) return value === rule.eq;
          if ("gt" in rule) return value > rule.gt;
          if ("lt" in rule) return value < rule.lt;
          return value !== undefined;
        });
        break;
      }
      default: holds = true;
    }
    return condition.invert ? !holds : holds;
  }

  function safeRegex(source) {
    try { return new RegExp(source || ""); } catch (_) { return /$^/; }
  }

  function visible(module, context) {
    return (module.conditions || []).every((c) => conditionHolds(c, context || {}));
  }

  // ---- frames and the postMessage protocol ----------------------------------

  async function signedUrl(install, key) {
    return call("POST", `/installs/${encodeURIComponent(install.oauthId)}/modules/${encodeURIComponent(key)}/url`,
      { roomId: state.roomId, userId: state.userId, theme: "light" });
  }

  function windowName(eid, install, module) {
    return JSON.stringify({
      extension_id: eid,
      api: API_SPEC,
      origin: location.origin,
      options: { globalOptions: {}, addon_key: install.key, key: module.key },
    });
  }

  // An iframe for a module's page in `holder`, registered for messages.
  function mountFrame(holder, install, module, signed) {
    const eid = `${install.key}__${module.key}__${randomId()}`;
    const iframe = document.createElement("iframe");
    iframe.className = "addon-frame";
    // window.name must hold the host data before the page loads.
    iframe.name = windowName(eid, install, module);
    iframe.dataset.eid = eid;
    iframe.dataset.key = module.key;
    iframe.dataset.oauthId = install.oauthId;
    iframe.title = module.name;
    iframe.src = signed.url;
    const frame = { eid, install, module, iframe, origin: signed.origin, roomId: signed.roomId,
                    events: null, queue: [], callbacks: new Map() };
    frames.set(eid, frame);
    holder.replaceChildren(iframe);
    return frame;
  }

  function unmount(frame) {
    if (!frame) return;
    frames.delete(frame.eid);
    if (frame.iframe) frame.iframe.remove();
  }

  function windowOf(frame) {
    return frame.window || (frame.iframe && frame.iframe.contentWindow);
  }

  function post(frame, message) {
    const win = windowOf(frame);
    if (win) win.postMessage(message, frame.origin);
  }

  function deliver(frame, entry) {
    const message = { type: "evt", etyp: entry.name, evnt: entry.payload };
    if (entry.callback) {
      message.mid = randomId();
      frame.callbacks.set(message.mid, entry.callback);
    }
    post(frame, message);
  }

  function listens(frame, name) {
    return Boolean(frame.events) && (frame.events.has(name) || frame.events.has("_any"));
  }

  // Sends an event to a page, or keeps it for when the page registers.
  function sendEvent(frame, name, payload, callback) {
    const entry = { name, payload, callback, at: Date.now() };
    if (listens(frame, name)) deliver(frame, entry);
    else frame.queue.push(entry);
  }

  function flush(frame) {
    const now = Date.now();
    frame.queue = frame.queue.filter((entry) => {
      if (now - entry.at > EVENT_TTL_MS) return false;
      if (!listens(frame, entry.name)) return true;
      deliver(frame, entry);
      return false;
    });
  }

  window.addEventListener("message", (event) => {
    const data = event.data;
    if (!data || typeof data !== "object" || typeof data.eid !== "string") return;
    const frame = frames.get(data.eid);
    // Only the frame's own window, from the origin it was given.
    if (!frame || event.source !== windowOf(frame) || event.origin !== frame.origin) return;
    switch (data.type) {
      case "init":
        frame.ready = true;
        post(frame, { type: "init_received" });
        break;
      case "event_query":
        frame.events = new Set(Array.isArray(data.args) ? data.args : []);
        flush(frame);
        break;
      case "req":
        handleRequest(frame, data);
        break;
      case "resp": {
        const callback = frame.callbacks.get(data.mid);
        if (callback) {
          frame.callbacks.delete(data.mid);
          callback(...(Array.isArray(data.args) ? data.args : []));
        }
        break;
      }
      case "unload":
        frame.ready = false;
        frame.events = null;
        break;
      default:
        break;
    }
  });

  function handleRequest(frame, data) {
    const respond = (...args) => {
      if (data.mid) post(frame, { type: "resp", mid: data.mid, forPlugin: true, args });
    };
    const module = HOST_API[data.mod];
    const fn = module && Object.prototype.hasOwnProperty.call(module, data.fn) ? module[data.fn] : null;
    if (!fn) {
      const text = `HipChat.${data.mod}.${data.fn} is not part of HipChat's JavaScript API`;
      console.warn(`${frame.install.key}: ${text}`);
      respond(text);
      return;
    }
    Promise.resolve()
      .then(() => fn(frame, Array.isArray(data.args) ? data.args : [], respond))
      .catch((err) => respond(String((err && err.message) || err)));
  }

  // Calls the host answers (token, room, users): the callback gets
  // (error) or (null, result), as HipChat's did.
  async function hostCall(frame, name, respond) {
    try {
      const answer = await call("POST", `/installs/${encodeURIComponent(frame.install.oauthId)}/call`,
        { call: name, roomId: frame.roomId || state.roomId, userId: state.userId });
      if (answer.error) respond(answer.error);
      else respond(null, answer.result);
    } catch (err) {
      respond(err.message);
    }
  }

  const HOST_API = {
    auth: {
      withToken: (frame, args, respond) => hostCall(frame, "auth.withToken", respond),
    },
    room: {
      getRoomDetails: (frame, args, respond) => hostCall(frame, "room.getRoomDetails", respond),
      getParticipants: (frame, args, respond) => hostCall(frame, "room.getParticipants", respond),
      open: (frame, [options]) => openChat(options || {}),
    },
    user: {
      getCurrentUser: (frame, args, respond) => hostCall(frame, "user.getCurrentUser", respond),
      open: (frame, [options]) => openChat(options || {}),
    },
    dialog: {
      open: (frame, [options]) => {
        const o = options || {};
        return openDialog(frame.install, o.key, { options: o.options, parameters: o.parameters });
      },
      close: () => closeDialog(),
      update: (frame, [options]) => updateDialog(options || {}),
      updatePrimaryAction: (frame, [action]) => updateDialog({ options: { primaryAction: action || {} } }),
      updateSecondaryAction: (frame, [action]) => updateSecondary(action || {}),
    },
    sidebar: {
      openView: (frame, [options]) => {
        const o = options || {};
        return openSidebar(frame.install, o.key, o.parameters);
      },
      closeView: () => closeSidebar(),
    },
    chat: {
      appendMessage: (frame, [text]) => {
        const input = $("message-input");
        const addition = String(text === undefined ? "" : text);
        input.value = input.value ? `${input.value} ${addition}` : addition;
        input.focus();
      },
      focus: () => $("message-input").focus(),
    },
  };

  function openChat(options) {
    const room = state.rooms.find((r) => r.id === Number(options.roomId) || r.name === options.roomName);
    if (room) location.hash = `#room-${room.id}`;
    if (options.message) HOST_API.chat.appendMessage(null, [options.message]);
  }

  // ---- opening modules ------------------------------------------------------

  // What a glance or action opens: its target webPanel, dialog or page,
  // then (for actions) the action's key as an event with its payload.
  async function openTarget(install, target, actionKey, payload) {
    if (!target) return;
    const module = moduleOf(install, target.key);
    if (!module) {
      problem(`${install.name}: "${target.key}" is not a module of the add-on`);
      return;
    }
    let frame = null;
    if (module.kind === "webPanel") frame = await openSidebar(install, module.key);
    else if (module.kind === "dialog") frame = await openDialog(install, module.key, { options: target.options });
    else if (module.kind === "externalPage") frame = await openExternal(install, module);
    if (frame && actionKey) sendEvent(frame, actionKey, payload || {});
  }

  async function openSidebar(install, key, parameters) {
    const module = moduleOf(install, key);
    if (!module || module.kind !== "webPanel") {
      problem(`${install.name}: sidebar.openView names "${key}", which is not a webPanel of the add-on`);
      return null;
    }
    let signed;
    try {
      signed = await signedUrl(install, key);
    } catch (err) {
      problem(err.message);
      return null;
    }
    closeSidebar();
    $("glance-panel").hidden = true;
    $("sidebar-view").hidden = false;
    $("sidebar-title").textContent = module.name;
    sidebar = mountFrame($("sidebar-frame"), install, module, signed);
    if (parameters !== undefined) sendEvent(sidebar, "receive-parameters", parameters);
    return sidebar;
  }

  function closeSidebar() {
    unmount(sidebar);
    sidebar = null;
    $("sidebar-frame").replaceChildren();
    $("sidebar-view").hidden = true;
    $("glance-panel").hidden = false;
  }

  function dialogSize(size) {
    if (size && typeof size === "object" && size.width && size.height) return [size.width, size.height];
    return DIALOG_SIZES[size] || DIALOG_SIZES.medium;
  }

  function renderDialogButtons() {
    const options = dialog.options;
    const buttons = [];
    for (const action of options.secondaryActions || []) {
      buttons.push(el("button", { type: "button", class: "secondary dialog-action", "data-key": action.key,
        disabled: action.enabled === false, onclick: () => buttonClicked(action.key) }, action.name));
    }
    if (options.primaryAction) {
      const primary = options.primaryAction;
      buttons.push(el("button", { type: "button", id: "dialog-primary",
        class: `dialog-action primary${options.style === "warning" ? " warning" : ""}`, "data-key": primary.key,
        disabled: primary.enabled === false, onclick: () => buttonClicked(primary.key) }, primary.name));
    }
    $("dialog-buttons").replaceChildren(...buttons);
  }

  function applyDialogOptions() {
    const options = dialog.options;
    const [width, height] = dialogSize(options.size);
    const box = $("dialog-box");
    box.style.width = `min(${width}, 95vw)`;
    $("dialog-frame").style.height = `min(${height}, 75vh)`;
    box.classList.toggle("warning", options.style === "warning");
    $("dialog-title").textContent = dialog.title;
    $("dialog-hint").textContent = options.hint || "";
    const filter = $("dialog-filter");
    filter.hidden = options.filter === undefined || options.filter === null;
    filter.placeholder = options.filter || "Filter";
    renderDialogButtons();
  }

  // Descriptor names are {"value": "..."}; pages may send either shape.
  const nameOf = (value) => (value && typeof value === "object" ? value.value : value);

  function normaliseButton(button) {
    if (!button) return null;
    return { key: button.key, name: nameOf(button.name) || button.key, enabled: button.enabled !== false };
  }

  async function openDialog(install, key, extra) {
    const module = key === "configurable"
      ? modulesOf(install, "configurable")[0]
      : moduleOf(install, key);
    if (!module || (module.kind !== "dialog" && module.kind !== "configurable")) {
      problem(`${install.name}: dialog.open names "${key}", which is not a dialog of the add-on`);
      return null;
    }
    let signed;
    try {
      signed = await signedUrl(install, module.key);
    } catch (err) {
      problem(err.message);
      return null;
    }
    closeDialog();
    const base = module.dialog || { size: "large", style: "normal", secondaryActions: [] };
    const given = (extra && extra.options) || {};
    const options = {
      style: given.style || base.style,
      size: given.size || base.size,
      primaryAction: given.primaryAction ? normaliseButton(given.primaryAction) : base.primaryAction,
      secondaryActions: given.secondaryActions ? given.secondaryActions.map(normaliseButton) : (base.secondaryActions || []),
      hint: given.hint !== undefined ? nameOf(given.hint) : base.hint,
      filter: given.filter !== undefined ? (nameOf(given.filter.placeholder) || "") : base.filter,
    };
    const title = nameOf(given.title) || (module.kind === "configurable" ? `Configure ${install.name}` : module.name);
    $("dialog").hidden = false;
    $("dialog-box").dataset.key = module.key;
    $("dialog-box").dataset.oauthId = install.oauthId;
    dialog = { install, module, options, title, frame: mountFrame($("dialog-frame"), install, module, signed) };
    applyDialogOptions();
    $("dialog-filter").value = "";
    if (extra && extra.parameters !== undefined) sendEvent(dialog.frame, "receive-parameters", extra.parameters);
    return dialog.frame;
  }

  function updateDialog(update) {
    if (!dialog) return;
    if (update.title !== undefined) dialog.title = nameOf(update.title) || dialog.title;
    const given = update.options || {};
    if (given.primaryAction) {
      const current = dialog.options.primaryAction || { key: given.primaryAction.key };
      dialog.options.primaryAction = {
        key: given.primaryAction.key || current.key,
        name: nameOf(given.primaryAction.name) || current.name,
        enabled: given.primaryAction.enabled === undefined ? current.enabled : given.primaryAction.enabled !== false,
      };
    }
    for (const key of ["size", "style"]) if (given[key]) dialog.options[key] = given[key];
    if (given.hint !== undefined) dialog.options.hint = nameOf(given.hint);
    applyDialogOptions();
  }

  function updateSecondary(action) {
    if (!dialog) return;
    dialog.options.secondaryActions = (dialog.options.secondaryActions || []).map((b) =>
      b.key === action.key
        ? { key: b.key, name: nameOf(action.name) || b.name, enabled: action.enabled === undefined ? b.enabled : action.enabled !== false }
        : b);
    renderDialogButtons();
  }

  function closeDialog() {
    if (!dialog) return;
    unmount(dialog.frame);
    dialog = null;
    $("dialog-frame").replaceChildren();
    $("dialog").hidden = true;
  }

  // HipChat's rule: the page that registered dialog-button-click decides
  // (closed unless it answers false); with no such page, close at once.
  function buttonClicked(key) {
    if (!dialog) return;
    const current = dialog;
    if (!listens(current.frame, "dialog-button-click")) {
      closeDialog();
      return;
    }
    sendEvent(current.frame, "dialog-button-click", { action: key }, (result) => {
      if (result !== false && dialog === current) closeDialog();
    });
  }

  async function openExternal(install, module) {
    // Opened at once (a later window.open would be blocked as a pop-up),
    // pointed at the signed page when it is known.
    const eid = `${install.key}__${module.key}__${randomId()}`;
    const win = window.open("about:blank", windowName(eid, install, module));
    if (!win) {
      problem("The browser blocked the new window; allow pop-ups for this page");
      return null;
    }
    try {
      const signed = await signedUrl(install, module.key);
      const frame = { eid, install, module, window: win, origin: signed.origin, roomId: signed.roomId,
                      events: null, queue: [], callbacks: new Map() };
      frames.set(eid, frame);
      win.location.href = signed.url;
      return frame;
    } catch (err) {
      win.close();
      problem(err.message);
      return null;
    }
  }

  // ---- glances ----------------------------------------------------------------

  // Only b, strong, em and i survive; the rest becomes text.
  function glanceLabel(html) {
    const doc = new DOMParser().parseFromString(`<body>${html}</body>`, "text/html");
    const out = document.createElement("span");
    const copy = (from, to) => {
      for (const node of from.childNodes) {
        if (node.nodeType === Node.TEXT_NODE) to.append(node.textContent);
        else if (node.nodeType === Node.ELEMENT_NODE) {
          const tag = node.tagName.toLowerCase();
          if (tag === "script" || tag === "style") continue;
          if (["b", "strong", "em", "i"].includes(tag)) {
            const kept = document.createElement(tag);
            copy(node, kept);
            to.append(kept);
          } else {
            copy(node, to);
          }
        }
      }
    };
    copy(doc.body, out);
    return out;
  }

  // A queryUrl's answer in HipChat's glance shape, or why not.
  function readGlance(json) {
    if (!json || typeof json !== "object" || !json.label || typeof json.label.value !== "string") {
      throw new Error('the answer has no label: {"label": {"type": "html", "value": "..."}} is needed');
    }
    if (json.label.value.length > 1000) throw new Error("its label is over 1000 characters");
    const content = { labelHtml: json.label.type === "text" ? null : json.label.value, labelText: json.label.value,
                      status: null, metadata: json.metadata || null };
    const status = json.status;
    if (status && status.type === "lozenge" && status.value) {
      const type = LOZENGES.includes(status.value.type) ? status.value.type : "default";
      content.status = { type: "lozenge", value: { label: String(status.value.label || "").slice(0, 20), type } };
    } else if (status && status.type === "icon" && status.value && status.value.url) {
      content.status = { type: "icon", value: { url: status.value.url } };
    }
    return content;
  }

  function glanceNode(install, module) {
    const known = glances.get(glanceId(install.oauthId, module.key)) || {};
    const content = known.content;
    const icon = module.icon && module.icon.url;
    const label = el("span", { class: "glance-label" });
    if (content) {
      if (content.labelHtml !== null && content.labelHtml !== undefined) label.append(glanceLabel(content.labelHtml));
      else label.textContent = content.labelText;
    } else {
      label.textContent = module.name;
    }
    let status = null;
    if (content && content.status && content.status.type === "lozenge") {
      status = el("span", { class: `lozenge lozenge-${content.status.value.type}` }, content.status.value.label);
    } else if (content && content.status && content.status.type === "icon") {
      status = el("img", { class: "glance-status-icon", src: content.status.value.url, alt: "" });
    }
    return el("li", {
      class: `glance${known.error ? " failed" : ""}${module.target ? " clickable" : ""}`,
      "data-key": module.key, "data-oauth-id": install.oauthId,
      title: known.error ? `${module.name}: ${known.error}` : module.name,
      onclick: () => openTarget(install, module.target),
    },
      icon ? el("img", { class: "glance-icon", src: icon, alt: "" }) : el("span", { class: "glance-icon none" }),
      label, status);
  }

  function glanceModules() {
    const out = [];
    for (const install of installsHere()) {
      for (const module of modulesOf(install, "glance")) {
        const known = glances.get(glanceId(install.oauthId, module.key)) || {};
        const metadata = known.content && known.content.metadata;
        if (visible(module, { metadata })) out.push([install, module]);
      }
    }
    return out;
  }

  function renderGlances() {
    const list = $("glances");
    const shown = glanceModules();
    if (!shown.length) {
      list.replaceChildren(el("li", { class: "none" }, "No glances. Integrations with a glance show here."));
      return;
    }
    list.replaceChildren(...shown.map(([install, module]) => glanceNode(install, module)));
  }

  async function queryGlance(install, module) {
    const id = glanceId(install.oauthId, module.key);
    try {
      const signed = await signedUrl(install, module.key);
      // Cross-origin, as HipChat's page did: the add-on must send CORS headers.
      const response = await fetch(signed.url, { headers: { Accept: "application/json" } });
      if (!response.ok) throw new Error(`the queryUrl answered HTTP ${response.status}`);
      const content = readGlance(await response.json());
      glances.set(id, { content, source: "query" });
    } catch (err) {
      const reason = err instanceof TypeError
        ? "the queryUrl could not be fetched (is the add-on running, and does it send CORS headers?)"
        : err.message;
      glances.set(id, { error: reason, source: "query" });
    }
    renderGlances();
  }

  function fromPushed(content) {
    return { labelHtml: content.labelHtml, labelText: content.labelHtml, status: content.status,
             metadata: content.metadata || null };
  }

  let glanceGeneration = 0;
  async function refreshGlances() {
    const generation = ++glanceGeneration;
    glances.clear();
    if (state.roomId === null) {
      renderGlances();
      return;
    }
    let pushed = [];
    try {
      pushed = await call("GET", `/glances?roomId=${state.roomId}&userId=${state.userId}`);
    } catch (_) { /* queried instead */ }
    if (generation !== glanceGeneration) return;
    for (const p of pushed) glances.set(glanceId(p.oauthId, p.key), { content: fromPushed(p.content), source: "push" });
    renderGlances();
    for (const install of installsHere()) {
      for (const module of modulesOf(install, "glance")) {
        if (module.url && !glances.has(glanceId(install.oauthId, module.key))) queryGlance(install, module);
      }
    }
  }

  function scopeApplies(scope) {
    if (!scope || scope.kind === "group") return true;
    if (scope.kind === "room") return scope.id === state.roomId;
    if (scope.kind === "user") return scope.id === state.userId;
    return false;
  }

  // Pushed content arrived: show it, and tell the add-on's open pages.
  function glancePushed(change) {
    const install = installById(change.oauthId);
    if (!install || !scopeApplies(change.scope)) return;
    const module = moduleOf(install, change.key);
    if (!module) return;
    if (change.content) {
      glances.set(glanceId(install.oauthId, change.key), { content: fromPushed(change.content), source: "push" });
      renderGlances();
    } else {
      refreshGlances();
    }
    for (const frame of frames.values()) {
      if (frame.install.oauthId !== install.oauthId || !listens(frame, "glance-update")) continue;
      deliver(frame, { name: "glance-update", payload: {
        addon_key: install.key, module_key: change.key, key: change.key,
        metadata: change.content ? change.content.metadata || {} : {},
      } });
    }
  }

  // ---- actions ----------------------------------------------------------------

  function actions(location, message) {
    const out = [];
    for (const install of installsHere()) {
      for (const module of modulesOf(install, "action")) {
        if (module.location === location && visible(module, { message })) out.push([install, module]);
      }
    }
    return out;
  }

  function closeMenus(except) {
    for (const menu of document.querySelectorAll(".menu")) if (menu !== except) menu.hidden = true;
  }

  function renderInputActions() {
    const found = actions("hipchat.input.action");
    const button = $("actions-button");
    button.hidden = !found.length;
    $("actions-menu").replaceChildren(...found.map(([install, module]) =>
      el("li", { role: "menuitem", class: "action", "data-key": module.key,
        onclick: () => { closeMenus(); openTarget(install, module.target, module.key, {}); } },
        module.name, el("span", { class: "action-addon" }, install.name))));
  }

  // What a message action's target gets as the action's event.
  function messagePayload(message) {
    return {
      body: message.message,
      message: message.message,
      mid: message.id,
      id: message.id,
      date: message.date,
      timestamp: message.date,
      message_format: message.format,
      type: message.kind,
      card: message.card || null,
      roomId: message.roomId,
      sender: { id: message.userId || message.oauthId || null, name: message.sender, mention: message.sender },
    };
  }

  function decorateMessage(node, message) {
    node._message = message;
    const old = node.querySelector(".message-actions");
    if (old) old.remove();
    const found = actions("hipchat.message.action", message);
    if (!found.length) return;
    const menu = el("ul", { class: "menu message-menu", role: "menu", hidden: true },
      ...found.map(([install, module]) => el("li", { role: "menuitem", class: "action", "data-key": module.key,
        onclick: (event) => {
          event.stopPropagation();
          closeMenus();
          openTarget(install, module.target, module.key, messagePayload(message));
        } }, module.name, el("span", { class: "action-addon" }, install.name))));
    const button = el("button", { type: "button", class: "message-actions-button secondary", title: "Integration actions",
      onclick: (event) => { event.stopPropagation(); closeMenus(menu); menu.hidden = !menu.hidden; } }, "⋯");
    node.querySelector(".meta").append(el("span", { class: "message-actions" }, button, menu));
  }

  function redecorateMessages() {
    for (const node of document.querySelectorAll("#messages .entry")) {
      if (node._message) decorateMessage(node, node._message);
    }
  }

  // ---- reacting to the page ---------------------------------------------------

  function closeGone() {
    for (const frame of [...frames.values()]) {
      if (installById(frame.install.oauthId)) continue;
      if (sidebar === frame) closeSidebar();
      else if (dialog && dialog.frame === frame) closeDialog();
      else frames.delete(frame.eid);
    }
  }

  hooks.roomChanged.push(() => {
    closeDialog();
    closeSidebar();
    refreshGlances();
    renderInputActions();
  });
  hooks.userChanged.push(() => {
    // Open pages were signed for the previous user.
    closeDialog();
    const open = sidebar;
    closeSidebar();
    if (open) openSidebar(open.install, open.module.key);
    refreshGlances();
    renderInputActions();
    redecorateMessages();
  });
  hooks.installsChanged.push(() => {
    closeGone();
    renderInputActions();
    redecorateMessages();
    refreshGlances();
  });
  hooks.decorateMessage.push(decorateMessage);
  hooks.messageAdded.push((message) => {
    for (const frame of frames.values()) {
      if (listens(frame, "message-received")) deliver(frame, { name: "message-received", payload: messagePayload(message) });
    }
  });

  document.addEventListener("DOMContentLoaded", () => {
    $("sidebar-back").addEventListener("click", closeSidebar);
    $("sidebar-close").addEventListener("click", closeSidebar);
    $("dialog-close").addEventListener("click", closeDialog);
    $("dialog-cancel").addEventListener("click", closeDialog);
    $("dialog").addEventListener("click", (event) => { if (event.target === $("dialog")) closeDialog(); });
    document.addEventListener("keydown", (event) => { if (event.key === "Escape") { closeMenus(); closeDialog(); } });
    $("dialog-filter").addEventListener("input", () => {
      if (dialog) sendEvent(dialog.frame, "dialog-filter-changed", { value: $("dialog-filter").value });
    });
    $("actions-button").addEventListener("click", (event) => {
      event.stopPropagation();
      const menu = $("actions-menu");
      closeMenus(menu);
      menu.hidden = !menu.hidden;
    });
    document.addEventListener("click", () => closeMenus());
  });

  window.connectHost = {
    configure: (install) => openDialog(install, "configurable", {}),
    openExternal: (install, module) => openExternal(install, module),
    glancePushed,
    frames,
  };
})();
