// The emulator page's inspector: every exchange with add-ons (request,
// response, status, timing, decoded JWT claims), newest first. Loaded
// after app.js, whose helpers (state, el, call, pretty, formatTime) it uses.
"use strict";

const MAX_EXCHANGES = 500;

function statusClass(exchange) {
  // A refusal the protocol expects (an add-on checking, while it is being
  // uninstalled, that its credentials were revoked) is not a failure.
  if (exchange.note && exchange.note.startsWith("expected")) return "expected";
  if (exchange.error || !exchange.status) return "failed";
  if (exchange.status >= 500) return "failed";
  if (exchange.status >= 400) return "rejected";
  return "ok";
}

function exchangeNode(exchange) {
  let path = exchange.url || "";
  try { const u = new URL(exchange.url); path = u.pathname + u.search; } catch (_) { /* keep as is */ }
  const selected = state.selectedExchange === exchange.id ? " selected" : "";
  return el("li", { class: `exchange ${statusClass(exchange)}${selected}`, "data-id": exchange.id,
                    onclick: () => showExchange(exchange.id) },
    el("span", { class: "direction", title: exchange.direction }, exchange.direction === "toHost" ? "←" : "→"),
    el("span", { class: "method" }, exchange.method),
    el("span", { class: "kind" }, exchange.kind || ""),
    el("span", { class: "path", title: exchange.url }, path),
    el("span", { class: "code" }, exchange.status || "ERR"),
    el("span", { class: "duration" }, exchange.durationMs !== undefined ? `${exchange.durationMs} ms` : ""));
}

function renderExchanges() {
  const list = $("exchanges");
  if (!state.exchanges.length) {
    list.replaceChildren(el("li", { class: "none" }, "No exchanges yet."));
    return;
  }
  list.replaceChildren(...state.exchanges.map(exchangeNode));
}

function addExchange(exchange) {
  state.exchanges = state.exchanges.filter((e) => e.id !== exchange.id);
  state.exchanges.unshift(exchange);
  state.exchanges.length = Math.min(state.exchanges.length, MAX_EXCHANGES);
  renderExchanges();
}

function section(title, content) {
  if (content === undefined || content === null || content === "") return null;
  return el("section", {}, el("h3", {}, title), el("pre", {}, content));
}

// Claims as JSON, with iat and exp also as readable times.
function claimsText(claims) {
  if (!claims) return "";
  const when = (secs) => new Date(secs * 1000).toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
  const times = ["iat", "exp"].filter((k) => typeof claims[k] === "number").map((k) => `${k}: ${when(claims[k])}`);
  return pretty(claims) + (times.length ? `\n\n${times.join("\n")}` : "");
}

function headerText(headers) {
  if (!headers) return "";
  const pairs = Array.isArray(headers) ? headers : Object.entries(headers);
  return pairs.map(([name, value]) => `${name}: ${value}`).join("\n");
}

function showExchange(id) {
  state.selectedExchange = state.selectedExchange === id ? null : id;
  renderExchanges();
  const detail = $("exchange-detail");
  const exchange = state.exchanges.find((e) => e.id === state.selectedExchange);
  if (!exchange) {
    detail.hidden = true;
    return;
  }
  const request = exchange.request || {};
  const response = exchange.response || {};
  // replaceChildren would print a null as the text "null": drop absent sections.
  const parts = [
    el("header", {},
      el("strong", {}, `${exchange.method} ${exchange.url}`),
      el("button", { type: "button", class: "close", onclick: () => showExchange(exchange.id) }, "×")),
    el("p", { class: "summary" },
      `${exchange.kind || "exchange"} · ${exchange.status || "no answer"} · ${exchange.durationMs ?? "?"} ms · ${formatTime(exchange.startedAt)}`),
    exchange.error ? el("p", { class: "error" }, exchange.error) : null,
    exchange.note ? el("p", { class: "note" }, exchange.note) : null,
    section("JWT claims", claimsText(exchange.jwtClaims)),
    section("Request headers", headerText(request.headers)),
    section("Request body", pretty(request.body)),
    section("Response headers", headerText(response.headers)),
    section("Response body", pretty(response.body)),
  ];
  detail.replaceChildren(...parts.filter((part) => part !== null));
  detail.hidden = false;
}

// Empties the inspector, here and on the emulator (other pages too, after
// their next reload).
async function clearExchanges() {
  try {
    await call("DELETE", "/exchanges");
  } catch (_) { /* cleared here anyway */ }
  state.exchanges = [];
  state.selectedExchange = null;
  $("exchange-detail").hidden = true;
  renderExchanges();
}

async function loadExchanges() {
  try {
    const exchanges = await call("GET", "/exchanges");
    state.exchanges = exchanges.slice().reverse().slice(0, MAX_EXCHANGES);
  } catch (_) {
    state.exchanges = [];
  }
  renderExchanges();
}
