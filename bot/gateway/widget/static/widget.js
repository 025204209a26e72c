/* Account assistant chat widget. One tag on the page:
 *   <script src="https://GATEWAY/widget.js" async data-token="JWT" data-greeting="..."></script>
 * Attributes (all optional): data-token (the vendor's signed JWT for a logged-in customer),
 * data-greeting + data-greeting-delay (ms) (a proactive greeting on this page), data-title,
 * data-accent (a CSS colour), data-theme ("light" | "dark"; default: the system's),
 * data-position ("left"), data-nonce (a CSP nonce for the style fallback; else the tag's own),
 * data-gateway (default: where this script came from).
 * API: window.AccountAssistant.open() / close() / send(text) / greet(text) / login(jwt) / logout();
 * events on window: "account-assistant:ready", "account-assistant:signin-refused" (detail.reason:
 * "expired" | "invalid": give the widget a fresh token with login()).
 * No framework, no eval, no inline script or style attributes, no innerHTML: every message is
 * built from text nodes, so nothing a message says is ever parsed as HTML. */
(function () {
  "use strict";
  if (window.AccountAssistant && window.AccountAssistant.loaded) return;

  var CSS = "__WIDGET_CSS__";
  var script = document.currentScript || document.querySelector("script[src*='widget.js']");
  var ds = (script && script.dataset) || {};
  var base = (ds.gateway || (script && script.src ? new URL(script.src, location.href).origin : location.origin)).replace(/\/+$/, "");
  var WS_URL = base.replace(/^http/, "ws") + "/widget/ws";
  var nonce = ds.nonce || (script && script.nonce) || "";
  var FATAL = { 4001: 1, 4003: 1 };
  var PING_MS = 25000;

  // -- storage that never throws (private modes, blocked storage) --------------------------------
  function store(kind) {
    var s = null;
    try { s = window[kind]; s.setItem("aa:t", "1"); s.removeItem("aa:t"); } catch (e) { s = null; }
    var mem = {};
    return {
      get: function (k) { try { return s ? s.getItem(k) : (k in mem ? mem[k] : null); } catch (e) { return null; } },
      set: function (k, v) { try { if (s) s.setItem(k, v); else mem[k] = v; } catch (e) { mem[k] = v; } },
      del: function (k) { try { if (s) s.removeItem(k); delete mem[k]; } catch (e) { delete mem[k]; } }
    };
  }
  var local = store("localStorage");
  var session = store("sessionStorage");

  // -- DOM helpers --------------------------------------------------------------------------------
  function h(tag, attrs, kids) {
    var el = document.createElement(tag);
    for (var k in attrs || {}) {
      if (attrs[k] === null || attrs[k] === undefined || attrs[k] === false) continue;
      if (k === "text") el.textContent = attrs[k];
      else if (k === "on") for (var ev in attrs.on) el.addEventListener(ev, attrs.on[ev]);
      else el.setAttribute(k, attrs[k] === true ? "" : attrs[k]);
    }
    (kids || []).forEach(function (c) { if (c) el.appendChild(typeof c === "string" ? document.createTextNode(c) : c); });
    return el;
  }
  var SVG = "http://www.w3.org/2000/svg";
  function icon(d) {
    var svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    var p = document.createElementNS(SVG, "path");
    p.setAttribute("d", d);
    svg.appendChild(p);
    return svg;
  }

  // -- the small markdown subset: **bold**, *bold*, _italic_, `code`, [text](url), bare links,
  //    phone numbers (tel:), "• " / "- " list lines, line breaks. Text nodes only. -----------------
  var INLINE = /\*\*([^*\n]+)\*\*|\*([^*\s][^*\n]*?)\*|(^|[\s(])_([^_\n]+)_(?=[\s.,;:!?)]|$)|`([^`\n]+)`|\[([^\]\n]+)\]\(((?:https?:\/\/|mailto:|tel:)[^\s)]+)\)|(https?:\/\/[^\s<>"']+)|((?:\+?1[-. ])?\(?\d{3}\)?[-. ]\d{3}[-. ]\d{4})(?![\d-])/g;

  function link(url, label) {
    var ext = /^https?:/i.test(url);
    var a = h("a", { href: url, target: ext ? "_blank" : null, rel: ext ? "noopener noreferrer nofollow" : null,
      title: label !== url ? url : null }, [label]);
    if (ext) a.appendChild(h("span", { "class": "sr", text: " (opens in a new tab)" }));
    return a;
  }
  function shorten(url) {
    var bare = url.replace(/^https?:\/\//i, "");
    return bare.length > 42 ? bare.slice(0, 40) + "\u2026" : bare;
  }
  function inline(el, s) {
    var at = 0, m;
    INLINE.lastIndex = 0;
    while ((m = INLINE.exec(s))) {
      var start = m.index, node = null, lead = "";
      if (m[1] !== undefined) node = h("strong", { text: m[1] });
      else if (m[2] !== undefined) node = h("strong", { text: m[2] });
      else if (m[4] !== undefined) { lead = m[3]; node = h("em", { text: m[4] }); }
      else if (m[5] !== undefined) node = h("code", { text: m[5] });
      else if (m[6] !== undefined) node = link(m[7], m[6]);
      else if (m[8] !== undefined) {
        var url = m[8], tail = (/[.,;:!?)\]]+$/.exec(url) || [""])[0];
        url = url.slice(0, url.length - tail.length);
        INLINE.lastIndex = start + url.length;
        node = link(url, shorten(url));
      } else if (m[9] !== undefined) {
        if (start > 0 && /[\w\-\/]/.test(s.charAt(start - 1))) continue;
        var digits = m[9].replace(/\D/g, "");
        node = link("tel:+" + (digits.length === 10 ? "1" + digits : digits), m[9]);
      }
      if (start > at || lead) el.appendChild(document.createTextNode(s.slice(at, start) + lead));
      el.appendChild(node);
      at = INLINE.lastIndex;
    }
    if (at < s.length) el.appendChild(document.createTextNode(s.slice(at)));
    return el;
  }
  function markdown(text) {
    var frag = document.createDocumentFragment(), list = null, para = null;
    String(text).split(/\r?\n/).forEach(function (line) {
      var item = /^\s*(?:[•\-]|\*(?=\s))\s+(.*)$/.exec(line);
      if (item) {
        if (!list) frag.appendChild(list = h("ul"));
        list.appendChild(inline(h("li"), item[1]));
        para = null;
        return;
      }
      list = null;
      if (!line.trim()) { para = null; return; }
      if (para) para.appendChild(h("br")); else frag.appendChild(para = h("p"));
      inline(para, line);
    });
    return frag;
  }

  // -- time ---------------------------------------------------------------------------------------
  function time(ts) {
    var d = ts ? new Date(ts) : new Date();
    if (isNaN(d)) d = new Date();
    var t = d.toLocaleTimeString([], { hour: "numeric", minute: "2-digit" });
    var today = new Date().toDateString() === d.toDateString();
    return { iso: d.toISOString(), label: today ? t : d.toLocaleDateString([], { month: "short", day: "numeric" }) + ", " + t };
  }
  function newId() {
    var b = new Uint8Array(16);
    (window.crypto || window.msCrypto).getRandomValues(b);
    return Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
  }

  // -- build the widget ---------------------------------------------------------------------------
  var host = h("div", { id: "account-assistant", "data-state": "loading" });
  if (ds.theme === "dark" || ds.theme === "light") host.setAttribute("data-theme", ds.theme);
  if (ds.position === "left") host.setAttribute("data-position", "left");
  if (ds.accent) host.style.setProperty("--aa-accent", ds.accent);
  var root = host.attachShadow({ mode: "open" });
  if (root.adoptedStyleSheets && window.CSSStyleSheet && CSSStyleSheet.prototype.replaceSync) {
    var sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS);
    root.adoptedStyleSheets = [sheet];
  } else if (nonce) {
    var st = h("style", { nonce: nonce });
    st.textContent = CSS;
    root.appendChild(st);
  } else {
    root.appendChild(h("link", { rel: "stylesheet", href: base + "/widget/static/widget.css" }));
  }

  var title = ds.title || "Chat with us";
  var badge = h("span", { "class": "badge", hidden: true, "aria-hidden": "true" });
  var launcher = h("button", { type: "button", "class": "launcher", "aria-haspopup": "dialog", "aria-expanded": "false",
    "aria-controls": "aa-panel", "aria-label": "Open chat" }, [icon("M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H8l-5 4V5a2 2 0 0 1 1-2zm3 6v2h10V9H7zm0-3v2h10V6H7zm0 6v2h7v-2H7z"), badge]);
  var greetText = h("button", { type: "button", "class": "greet-text" });
  var greetBox = h("div", { "class": "greet", role: "note", hidden: true }, [greetText,
    h("button", { type: "button", "class": "greet-x", "aria-label": "Dismiss the greeting", text: "\u00d7",
      on: { click: function () { greetBox.hidden = true; } } })]);
  var who = h("span", { "class": "who", hidden: true });
  var closeBtn = h("button", { type: "button", "class": "close", "aria-label": "Close chat", text: "\u00d7" });
  var stateLine = h("div", { "class": "state", role: "status", hidden: true });
  var log = h("div", { "class": "log", tabindex: "0", role: "region", "aria-label": "Conversation" });
  var typing = h("div", { "class": "typing", hidden: true, "aria-hidden": "true" }, [h("span"), h("span"), h("span")]);
  var live = h("div", { "class": "sr", "aria-live": "polite", "aria-atomic": "true" });
  var input = h("textarea", { id: "aa-input", rows: "1", placeholder: "Type a message\u2026", "aria-describedby": "aa-count aa-error",
    autocomplete: "off", enterkeyhint: "send" });
  var sendBtn = h("button", { type: "submit", "class": "send", "aria-label": "Send" }, [icon("M3 20.5 21 12 3 3.5V10l12 2-12 2z")]);
  var count = h("div", { "class": "count", id: "aa-count", hidden: true });
  var errorLine = h("div", { "class": "error-line", id: "aa-error", role: "alert" });
  var form = h("form", { "class": "composer" }, [h("label", { "class": "sr", "for": "aa-input", text: "Message" }), input, sendBtn]);
  var panel = h("div", { "class": "panel", id: "aa-panel", role: "dialog", "aria-modal": "false", "aria-labelledby": "aa-title", hidden: true }, [
    h("div", { "class": "head" }, [h("div", { "class": "title" }, [h("h2", { id: "aa-title", text: title }), who]), closeBtn]),
    stateLine, log, live, count, errorLine, form]);
  root.appendChild(h("div", { "class": "aa" }, [greetBox, panel, launcher]));
  log.appendChild(typing);

  // -- state --------------------------------------------------------------------------------------
  var jwt = ds.token || null;
  var maxChars = 1000;
  var ws = null, ready = false, fatal = false, attempt = 0, retryTimer = null, pingTimer = null, pongTimer = null;
  var lastSeq = 0;
  var outbox = [];          // {id, text, payload} sent but not confirmed, in order
  var rows = {};            // client id -> row element of the user's own pending messages
  var seen = {};            // seq -> true
  var isOpen = false;
  var unread = 0;
  var convKey = null;       // whose "seen up to" mark: per visitor or signed-in customer
  var greeting = null;
  var lastDay = "";

  function setState(text, bad) {
    stateLine.hidden = !text;
    stateLine.textContent = text || "";
    stateLine.className = "state" + (bad ? " bad" : "");
  }
  // Unread = the bot's and people's messages after the last one seen in any tab (a stored mark,
  // so tabs agree and a reload keeps the count).
  function seenKey() { return convKey ? "aa:seen:" + convKey : null; }
  function countUnread() {
    var key = seenKey();
    if (!key) return;
    if (isOpen && !document.hidden) {
      if (lastSeq > (parseInt(local.get(key) || "0", 10) || 0)) local.set(key, String(lastSeq));
      unread = 0;
    } else {
      var seen = parseInt(local.get(key) || "0", 10) || 0, n = 0;
      var got = log.querySelectorAll(".row.bot[data-seq], .row.agent[data-seq]");
      for (var i = 0; i < got.length; i++) if (+got[i].getAttribute("data-seq") > seen) n++;
      unread = n;
    }
    setBadge();
  }
  function setBadge() {
    badge.hidden = !unread || isOpen;
    badge.textContent = unread > 9 ? "9+" : String(unread);
    launcher.setAttribute("aria-label", unread && !isOpen ? "Open chat, " + unread + " unread message" + (unread > 1 ? "s" : "") : "Open chat");
  }
  function atBottom() { return log.scrollHeight - log.scrollTop - log.clientHeight < 60; }
  function scrollDown() { log.scrollTop = log.scrollHeight; }

  // -- messages -----------------------------------------------------------------------------------
  function dropQuickReplies() {
    var groups = log.querySelectorAll(".buttons.quick");
    for (var i = 0; i < groups.length; i++) groups[i].parentNode.removeChild(groups[i]);
  }
  function buttons(list) {
    var quick = [], lasting = [];
    list.forEach(function (b) {
      if (/^https?:\/\//i.test(b.payload)) {
        var a = link(b.payload, b.title);
        a.className = "btn";
        lasting.push(a);
      } else {
        quick.push(h("button", { type: "button", "class": "btn", text: b.title, on: { click: function () {
          send(b.title, b.payload);
          input.focus();
        } } }));
      }
    });
    return [quick.length ? h("div", { "class": "buttons quick", role: "group", "aria-label": "Suggested replies" }, quick) : null,
      lasting.length ? h("div", { "class": "buttons" }, lasting) : null];
  }
  // A rating offer (bot/gateway/ratings.py): its taps go to the gateway as "rate" frames, never to
  // the assistant as text. Quick replies like any other: gone once the user says something else.
  function ratingButtons(m) {
    var choices = m.rating_step === "comment" ? [["skip", "Skip", "Skip the comment"]]
      : [["helpful", "\ud83d\udc4d Helpful", "Rate this: helpful"], ["not_helpful", "\ud83d\udc4e Not helpful", "Rate this: not helpful"]];
    var group = h("div", { "class": "buttons quick rating", role: "group", "aria-label": m.rating_step === "comment" ? "Comment" : "Rate this answer" },
      choices.map(function (c) {
        return h("button", { type: "button", "class": "btn", "data-value": c[0], "aria-label": c[2], text: c[1], on: { click: function () {
          if (!ws || ws.readyState !== 1) { setState("Not connected. Please try again in a moment.", true); return; }
          ws.send(JSON.stringify({ type: "rate", offer: m.rating, value: c[0] }));
          if (group.parentNode) group.parentNode.removeChild(group);
          input.focus();
        } } });
      }));
    return group;
  }
  function dayMark(t) {
    var day = t.iso.slice(0, 10);
    if (day !== lastDay) {
      lastDay = day;
      var d = new Date(t.iso);
      var label = new Date().toDateString() === d.toDateString() ? "Today" : d.toLocaleDateString([], { weekday: "short", month: "short", day: "numeric" });
      log.insertBefore(h("div", { "class": "day", text: label }), typing);
    }
  }
  function render(m) {
    var from = m.from === "user" ? "user" : m.from === "agent" ? "agent" : "bot";
    var t = time(m.ts);
    var bubble = h("div", { "class": "bubble" });
    if (m.text) bubble.appendChild(markdown(m.text));
    if (m.image) bubble.appendChild(h("img", { src: m.image, alt: "", loading: "lazy", referrerpolicy: "no-referrer" }));
    var extra = m.buttons && m.buttons.length ? buttons(m.buttons) : m.rating ? [ratingButtons(m)] : [];
    var row = h("div", { "class": "row " + from + (m.error ? " error" : "") + (m.pending ? " pending" : ""), "data-seq": m.seq || null },
      [from === "agent" ? h("div", { "class": "name", text: m.name || "Our team" }) : null,
        h("span", { "class": "sr", text: from === "user" ? "You said: " : (m.name || (from === "agent" ? "Our team" : "Assistant")) + " said: " }),
        bubble, extra[0], extra[1], h("time", { "class": "meta", datetime: t.iso, text: t.label })]);
    dayMark(t);
    log.insertBefore(row, typing);
    return row;
  }
  function plain(m) { return (m.text || "").replace(/\*\*?|`/g, ""); }
  function announce(m) {
    live.textContent = "";
    var speaker = m.from === "agent" ? (m.name || "Our team") : "Assistant";
    setTimeout(function () { live.textContent = speaker + ": " + plain(m); }, 50);
  }

  // A stored message from the server (history, this tab's own echo, another tab, a reply).
  function receive(m, isHistory) {
    if (m.seq && seen[m.seq]) return;
    if (m.seq) { seen[m.seq] = true; lastSeq = Math.max(lastSeq, m.seq); }
    var stick = atBottom();
    if (m.from === "user") {
      dropQuickReplies();
      var mine = m.cid && rows[m.cid];
      if (mine) {  // the server's copy of what this tab sent: confirmed (and possibly redacted)
        mine.classList.remove("pending", "failed");
        mine.setAttribute("data-seq", m.seq);
        var p = mine.querySelector(".bubble");
        p.textContent = "";
        p.appendChild(markdown(m.text || ""));
        var f = mine.querySelector(".fail");
        if (f) f.parentNode.removeChild(f);
        delete rows[m.cid];
        outbox = outbox.filter(function (o) { return o.id !== m.cid; });
        return;
      }
      render(m);
    } else {
      if (isHistory && greeting && greeting.parentNode) greeting.parentNode.removeChild(greeting);
      render(m);
      if (!isHistory) {
        announce(m);
        countUnread();
      }
    }
    if (stick || m.from === "user" || isHistory) scrollDown();
  }

  function fail(id, text, canRetry) {
    var row = rows[id];
    outbox = outbox.filter(function (o) { return o.id !== id; });
    if (!row) { errorLine.textContent = text; return; }
    row.classList.remove("pending");
    row.classList.add("failed");
    var old = row.querySelector(".fail");
    if (old) old.parentNode.removeChild(old);
    var note = h("div", { "class": "fail" }, ["Not sent: " + text]);
    if (canRetry) {
      note.appendChild(h("button", { type: "button", text: "Retry", on: { click: function () {
        note.parentNode.removeChild(note);
        row.classList.remove("failed");
        row.classList.add("pending");
        errorLine.textContent = "";
        // a new id: the failed one was never taken, and must not be mistaken for a resend
        var item = { id: newId(), text: row.getAttribute("data-text"), payload: row.getAttribute("data-payload") || undefined };
        delete rows[id];
        rows[item.id] = row;
        outbox.push(item);
        transmit(item);
      } } }));
    }
    row.appendChild(note);
    errorLine.textContent = text;
  }

  // -- the connection -----------------------------------------------------------------------------
  function transmit(item) {
    if (ready && ws && ws.readyState === 1) ws.send(JSON.stringify({ type: "message", id: item.id, text: item.text, payload: item.payload }));
    else connect();
  }
  function send(text, payload) {
    text = String(text || "").trim();
    if (!text) return false;
    if (text.length > maxChars) {
      errorLine.textContent = "That message is too long (" + text.length.toLocaleString() + " characters); the limit is " + maxChars.toLocaleString() + ". Please shorten it or send it in parts.";
      return false;
    }
    errorLine.textContent = "";
    dropQuickReplies();
    var item = { id: newId(), text: text, payload: payload || undefined };
    var row = render({ from: "user", text: text, pending: true });
    row.setAttribute("data-text", text);
    if (payload) row.setAttribute("data-payload", payload);
    rows[item.id] = row;
    scrollDown();
    outbox.push(item);
    transmit(item);
    return true;
  }
  function hello() {
    ws.send(JSON.stringify({ type: "hello", visitor: local.get("aa:visitor"), jwt: jwt, since: lastSeq,
      page_url: location.href.split("#")[0], timezone: (Intl.DateTimeFormat().resolvedOptions() || {}).timeZone }));
  }
  function connect() {
    if (fatal || ws) return;
    clearTimeout(retryTimer);
    if (attempt) setState("Reconnecting\u2026");
    try { ws = new WebSocket(WS_URL); } catch (e) { ws = null; retry(); return; }
    var sock = ws;
    sock.onopen = function () { hello(); };
    sock.onmessage = function (ev) {
      var m;
      try { m = JSON.parse(ev.data); } catch (e) { return; }
      frame(m);
    };
    sock.onclose = function (ev) {
      if (ws !== sock) return;
      ws = null; ready = false;
      clearInterval(pingTimer); clearTimeout(pongTimer);
      typing.hidden = true;
      if (FATAL[ev.code]) { fatal = true; input.disabled = sendBtn.disabled = true; return; }
      retry();
    };
  }
  function retry() {
    if (fatal) return;
    var delay = Math.min(15000, 500 * Math.pow(2, attempt++));
    delay = delay / 2 + Math.random() * delay / 2;
    setState(navigator.onLine === false ? "You're offline. I'll reconnect when you're back." : "Connection lost. Reconnecting\u2026");
    retryTimer = setTimeout(connect, delay);
  }
  function frame(m) {
    switch (m.type) {
      case "welcome":
        ready = true; attempt = 0;
        if (m.visitor) local.set("aa:visitor", m.visitor);
        if (m.max_chars) maxChars = m.max_chars;
        if (m.user) { who.hidden = false; who.textContent = "Signed in as " + (m.user.name || m.user.email); }
        convKey = m.user ? "u:" + m.user.email : "v:" + String(local.get("aa:visitor") || "").split(".")[1];
        var fresh = !Object.keys(seen).length;
        (m.history || []).forEach(function (x) { receive(x, fresh); });
        if (local.get(seenKey()) === null) local.set(seenKey(), String(lastSeq));  // a new device: history is not news
        countUnread();
        if (fresh && (m.history || []).length) dropStaleQuickReplies();
        typing.hidden = !m.typing;
        setState("");
        outbox.forEach(function (item) { ws.send(JSON.stringify({ type: "message", id: item.id, text: item.text, payload: item.payload })); });
        clearInterval(pingTimer);
        pingTimer = setInterval(ping, PING_MS);
        markReady();
        break;
      case "msg": receive(m, false); break;
      case "typing":
        var stick = atBottom();
        typing.hidden = !m.on;
        if (stick) scrollDown();
        break;
      case "ack":
        if (m.dup && rows[m.id]) { rows[m.id].classList.remove("pending"); delete rows[m.id]; }
        outbox = outbox.filter(function (o) { return o.id !== m.id; });
        break;
      case "pong": clearTimeout(pongTimer); break;
      case "error":
        if (m.id) fail(m.id, m.message, m.code === "rate_limited" || m.code === "unavailable");
        else { setState(m.message, true); errorLine.textContent = m.message; }
        if (m.code === "auth") {  // the page can sign in again: AccountAssistant.login(freshToken)
          try { window.dispatchEvent(new CustomEvent("account-assistant:signin-refused", { detail: { reason: m.reason } })); } catch (e) { /* old browsers */ }
        }
        break;
    }
  }
  // History restored on a fresh page: quick replies stay only after the last thing the user said.
  function dropStaleQuickReplies() {
    var all = log.querySelectorAll(".row");
    var lastUser = -1;
    for (var i = 0; i < all.length; i++) if (all[i].classList.contains("user")) lastUser = i;
    for (var j = 0; j <= lastUser; j++) {
      var q = all[j].querySelector(".buttons.quick");
      if (q) q.parentNode.removeChild(q);
    }
  }
  function ping() {
    if (!ws || ws.readyState !== 1) return;
    ws.send('{"type":"ping"}');
    clearTimeout(pongTimer);
    pongTimer = setTimeout(function () { if (ws) ws.close(); }, 10000);
  }
  var readyDone = false;
  function markReady() {
    if (readyDone) return;
    readyDone = true;
    host.setAttribute("data-state", "ready");
    api.ready = true;
    try { window.dispatchEvent(new CustomEvent("account-assistant:ready")); } catch (e) { /* old browsers */ }
  }

  // -- open, close, greet -------------------------------------------------------------------------
  function setOpen(open, byUser) {
    isOpen = open;
    panel.hidden = !open;
    launcher.setAttribute("aria-expanded", String(open));
    if (open) host.setAttribute("data-open", ""); else host.removeAttribute("data-open");
    local.set("aa:open", open ? "1" : "0");
    if (open) {
      greetBox.hidden = true;
      if (!Object.keys(seen).length && greeting === null && greetMessage) {
        greeting = render({ from: "bot", text: greetMessage });
        greeting.classList.add("greeting");
      }
      connect();
      scrollDown();
      if (byUser) input.focus();
    } else if (byUser) {
      launcher.focus();
    }
    countUnread();
    setBadge();
  }
  var greetMessage = ds.greeting || "";
  function greet(text) {
    greetMessage = text;
    var key = "aa:greeted:" + location.pathname;
    if (isOpen || session.get(key)) return;
    session.set(key, "1");
    greetText.textContent = text;
    greetBox.hidden = false;
  }

  launcher.addEventListener("click", function () { setOpen(!isOpen, true); });
  closeBtn.addEventListener("click", function () { setOpen(false, true); });
  greetText.addEventListener("click", function () { setOpen(true, true); });
  panel.addEventListener("keydown", function (e) { if (e.key === "Escape") { e.preventDefault(); setOpen(false, true); } });
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    if (send(input.value)) { input.value = ""; grow(); }
    input.focus();
  });
  function grow() {
    input.style.height = "auto";
    input.style.height = Math.min(120, input.scrollHeight + 2) + "px";
    var n = input.value.length;
    count.hidden = n < maxChars * 0.8;
    count.textContent = n.toLocaleString() + " / " + maxChars.toLocaleString();
    count.className = "count" + (n > maxChars ? " over" : "");
  }
  input.addEventListener("input", grow);
  input.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      if (typeof form.requestSubmit === "function") form.requestSubmit();
      else form.dispatchEvent(new Event("submit", { cancelable: true }));
    }
  });
  window.addEventListener("online", function () { if (!ws && !fatal) { attempt = 0; connect(); } });
  window.addEventListener("storage", function (e) { if (e.key && e.key === seenKey()) countUnread(); });
  document.addEventListener("visibilitychange", function () {
    countUnread();
    if (!document.hidden && !ws && !fatal && (isOpen || lastSeq)) { attempt = 0; connect(); }
  });

  function reset() {
    if (ws) { var old = ws; ws = null; old.close(); }
    ready = false; fatal = false; attempt = 0; lastSeq = 0; seen = {}; outbox = []; rows = {}; lastDay = "";
    convKey = null; unread = 0; setBadge();
    greeting = null;
    var all = log.querySelectorAll(".row, .day");
    for (var i = 0; i < all.length; i++) all[i].parentNode.removeChild(all[i]);
    who.hidden = true;
    input.disabled = sendBtn.disabled = false;
    setState("");
  }

  var api = {
    loaded: true, ready: false,
    open: function () { setOpen(true, true); },
    close: function () { setOpen(false, true); },
    toggle: function () { setOpen(!isOpen, true); },
    send: function (text) { if (!isOpen) setOpen(true, false); return send(text); },
    greet: greet,
    login: function (token) { jwt = token || null; reset(); connect(); },
    logout: function () { jwt = null; reset(); connect(); }
  };
  window.AccountAssistant = api;

  function start() {
    document.body.appendChild(host);
    setBadge();
    if (local.get("aa:open") === "1") setOpen(true, false);
    // Connect now when there is a conversation to restore; a first-time visitor connects on open.
    if (isOpen || jwt || local.get("aa:visitor")) connect(); else markReady();
    if (greetMessage && !isOpen) setTimeout(function () { greet(greetMessage); }, parseInt(ds.greetingDelay || "1500", 10) || 0);
  }
  if (document.body) start(); else document.addEventListener("DOMContentLoaded", start);
})();
