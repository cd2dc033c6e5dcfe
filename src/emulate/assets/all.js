// HipChat's JavaScript API for add-on pages, as served by `connect emulate`
// at /atlassian-connect/all.js (and all-debug.js). It is the add-on side of
// the simple-xdm postMessage protocol HipChat used:
//
//   the host puts {"extension_id", "api": {module: {fn: {}}}, "origin",
//   "options"} in the frame's window.name; this script answers
//   {eid, type: "init"}, calls {eid, type: "req", mid, mod, fn, args}
//   (a trailing callback stays here, keyed by mid), registers events with
//   {eid, type: "event_query", args: [names]}; the host answers
//   {type: "resp", mid, args} and sends {type: "evt", etyp, evnt, mid},
//   which this script answers {eid, mid, type: "resp", args}.
//
// Exposed as window.HipChat and, when free, window.AP:
//   HipChat.register({"dialog-button-click": function (event, closeDialog) {...}})
//   HipChat.auth.withToken(function (err, token) {...})
//   HipChat.room.getRoomDetails(cb), .getParticipants(cb), .open({roomId})
//   HipChat.user.getCurrentUser(cb), HipChat.dialog.open({key, parameters}),
//   HipChat.sidebar.openView({key}), HipChat.chat.appendMessage(text), ...
// The modules and functions are the ones the host lists in window.name.
(function () {
  "use strict";
  if (window.HipChat && window.HipChat.__emulated) return;

  var NOT_IN_HOST =
    "This page was not opened by a HipChat host (no HipChat data in window.name): " +
    "open it from the emulator's page, or through a URL from POST /_emulator/installs/{oauthId}/modules/{key}/url.";

  function parseData() {
    try {
      var data = JSON.parse(window.name || "");
      return data && typeof data === "object" && data.extension_id && data.origin ? data : null;
    } catch (_) {
      return null;
    }
  }

  var data = parseData();
  // An iframe talks to its parent; an external page (a new window) to the
  // page that opened it.
  var host = window.parent !== window ? window.parent : window.opener;
  var pending = {};
  var handlers = {};
  var warned = false;

  function randomId() {
    return Math.floor(Math.random() * 1e9).toString(16);
  }

  function post(message) {
    if (!data || !host) return false;
    host.postMessage(message, data.origin);
    return true;
  }

  // What postMessage can carry: functions, DOM nodes and cycles are dropped.
  function cloneable(args) {
    var seen = [];
    return JSON.parse(JSON.stringify(args, function (key, value) {
      if (typeof value === "function") return undefined;
      if (typeof Node !== "undefined" && value instanceof Node) return undefined;
      if (value && typeof value === "object") {
        if (seen.indexOf(value) >= 0) return undefined;
        seen.push(value);
      }
      return value;
    }) || "[]");
  }

  function method(mod, fn) {
    return function () {
      var args = Array.prototype.slice.call(arguments);
      var callback = args.length && typeof args[args.length - 1] === "function" ? args.pop() : null;
      if (!data) {
        if (!warned && window.console) console.warn("HipChat." + mod + "." + fn + ": " + NOT_IN_HOST);
        warned = true;
        if (callback) callback(NOT_IN_HOST);
        return;
      }
      var message = { eid: data.extension_id, type: "req", mod: mod, fn: fn, args: cloneable(args) };
      if (callback) {
        message.mid = randomId();
        pending[message.mid] = callback;
      }
      post(message);
    };
  }

  // Without host data, the documented modules still exist so a page
  // opened on its own fails with a clear message instead of a TypeError.
  var DEFAULT_API = {
    auth: { withToken: {} },
    room: { getRoomDetails: {}, getParticipants: {}, open: {} },
    user: { getCurrentUser: {}, open: {} },
    dialog: { open: {}, close: {}, update: {}, updatePrimaryAction: {}, updateSecondaryAction: {} },
    sidebar: { openView: {}, closeView: {} },
    chat: { appendMessage: {}, focus: {} },
  };

  var api = {
    __emulated: true,
    register: function (events) {
      events = events || {};
      for (var name in events) {
        if (Object.prototype.hasOwnProperty.call(events, name) && typeof events[name] === "function") {
          handlers[name] = events[name];
        }
      }
      if (data) post({ eid: data.extension_id, type: "event_query", args: Object.keys(handlers) });
    },
    require: function (modules, callback) {
      var names = Array.isArray(modules) ? modules : [modules];
      var found = names.map(function (name) { return api[name]; });
      if (typeof callback === "function") callback.apply(window, found);
      return found.length === 1 ? found[0] : found;
    },
  };
  var spec = (data && data.api) || DEFAULT_API;
  Object.keys(spec).forEach(function (mod) {
    if (mod === "register" || mod === "require") return;
    var target = mod === "_globals" ? api : (api[mod] = api[mod] || {});
    Object.keys(spec[mod] || {}).forEach(function (fn) {
      target[fn] = method(mod, fn);
    });
  });

  window.addEventListener("message", function (event) {
    if (!data || event.origin !== data.origin || event.source !== host) return;
    var message = event.data;
    if (!message || typeof message !== "object") return;
    if (message.type === "resp") {
      var callback = pending[message.mid];
      if (callback) {
        delete pending[message.mid];
        callback.apply(window, message.args || []);
      }
    } else if (message.type === "evt") {
      var mid = message.mid;
      var replied = false;
      var reply = function () {
        if (replied || !mid) return;
        replied = true;
        post({ eid: data.extension_id, mid: mid, type: "resp", args: cloneable(Array.prototype.slice.call(arguments)) });
      };
      var handler = handlers[message.etyp] || handlers._any;
      // As HipChat's own script did: a handler answers when it is ready
      // (closeDialog after an AJAX call); with none, answer at once.
      if (handler) handler(message.evnt, reply);
      else reply();
    }
  });

  if (data) {
    post({ eid: data.extension_id, type: "init" });
    window.addEventListener("pagehide", function () {
      post({ eid: data.extension_id, type: "unload" });
    });
  }

  window.HipChat = api;
  if (!window.AP) window.AP = api;
})();
