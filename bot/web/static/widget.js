/* PC Patrol helpcenter chat widget.
 * Self-contained: no libraries, no build step, no requests except to the chat server.
 * Protocol and embedding: docs/channels.md.
 *
 *   <script src="https://chat.example.nl/static/widget.js" defer
 *           data-server="https://chat.example.nl" data-title="PC Patrol helpdesk"
 *           data-color="#1f5fa8"></script>
 */
(() => {
  "use strict";

  // currentScript is only set while this file runs, so capture it now.
  const script = document.currentScript || document.querySelector('script[src*="widget.js"]');
  if (!script || window.PCPatrolChat) return; // loaded twice: keep the first

  // ---- Settings -------------------------------------------------------------

  const SERVER = (script.dataset.server || new URL(script.src, location.href).origin).replace(/\/+$/, "");
  const TITLE = script.dataset.title || "PC Patrol helpcenter";
  const COLOR = validColor(script.dataset.color) || "#1f5fa8";
  const WS_URL = SERVER.replace(/^http/i, "ws") + "/ws";
  const SENDER_KEY = "pcpatrol-chat-sender";
  const OPEN_KEY = "pcpatrol-chat-open"; // sessionStorage: stay open while browsing the helpcenter
  const MAX_LENGTH = 2000;
  const TYPING_TIMEOUT = 15000;
  const BACKOFF_MIN = 500;
  const BACKOFF_MAX = 8000;

  // Interface text in the conversation's language (the server names it with the greeting
  // and with each reply; Dutch until the customer has written). ASCII escapes only: a host
  // page without a UTF-8 charset would otherwise decode this file wrongly ("\u2026" is the
  // ellipsis).
  const TEXTS = {};
  TEXTS.nl = {
    open: "Open de chat",
    openUnread: "Open de chat (nieuw bericht)",
    close: "Sluit de chat",
    intro: "Hallo! Ik ben de digitale assistent van PC Patrol. Stel uw vraag, dan zoek ik het antwoord voor u op.",
    typing: "De assistent typt\u2026",
    offline: "Verbinding verbroken. Opnieuw verbinden\u2026",
    placeholder: "Stel uw vraag\u2026",
    inputLabel: "Uw bericht",
    send: "Verstuur",
    mail: "Mail uw vraag",
    readMore: "Lees het artikel",
    refused: "Dit bericht kon niet worden verwerkt.",
    slowDown: "U stuurt veel berichten kort na elkaar. Uw bericht wordt zo verstuurd.",
    you: "U:",
    bot: "Assistent:",
    colleague: "(medewerker)",
    readOn: "Lees meer",
    readLess: "Lees minder",
  };
  TEXTS.en = {
    open: "Open the chat",
    openUnread: "Open the chat (new message)",
    close: "Close the chat",
    intro: "Hello! I am PC Patrol's digital assistant. Ask your question and I will look up the answer for you.",
    typing: "The assistant is typing\u2026",
    offline: "Connection lost. Reconnecting\u2026",
    placeholder: "Ask your question\u2026",
    inputLabel: "Your message",
    send: "Send",
    mail: "E-mail your question",
    readMore: "Read the article",
    refused: "This message could not be processed.",
    slowDown: "You are sending many messages in a row. Your message will be sent shortly.",
    you: "You:",
    bot: "Assistant:",
    colleague: "(staff)",
    readOn: "Read more",
    readLess: "Read less",
  };
  let T = TEXTS.nl;
  // An answer longer than this collapses to its first lines, so the question after it
  // ("Heeft dit antwoord u geholpen?") is in view without scrolling.
  const LONG_ANSWER = 420;

  function validColor(value) {
    return value && window.CSS && CSS.supports("color", value) ? value : null;
  }

  // Dark text on a light brand colour, white on a dark one (WCAG relative luminance).
  function textOn(color) {
    const m = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(color);
    if (!m) return "#fff";
    const hex = m[1].length === 3 ? m[1].replace(/./g, "$&$&") : m[1];
    const [r, g, b] = [0, 2, 4].map((i) => {
      const c = parseInt(hex.slice(i, i + 2), 16) / 255;
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.179 ? "#1a1a1a" : "#fff";
  }

  // Storage can throw (privacy modes, blocked cookies): the chat still works without it.
  function store(area, key, value) {
    try {
      if (value === undefined) return window[area].getItem(key);
      if (value === null) window[area].removeItem(key);
      else window[area].setItem(key, value);
    } catch { /* not available */ }
    return null;
  }

  function newId() {
    if (window.crypto && crypto.randomUUID) {
      try { return crypto.randomUUID(); } catch { /* insecure context */ }
    }
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  // ---- DOM helpers ----------------------------------------------------------

  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs)) {
      if (name === "class") node.className = value;
      else if (name === "text") node.textContent = value;
      else if (value === true) node.setAttribute(name, "");
      else if (value !== false && value != null) node.setAttribute(name, value);
    }
    node.append(...children);
    return node;
  }

  const SVG_NS = "http://www.w3.org/2000/svg";
  function icon(path, cls) {
    const svg = document.createElementNS(SVG_NS, "svg");
    const attrs = { class: "pcp-icon " + cls, viewBox: "0 0 24 24", "aria-hidden": "true", focusable: "false" };
    for (const [name, value] of Object.entries(attrs)) svg.setAttribute(name, value);
    svg.appendChild(document.createElementNS(SVG_NS, "path")).setAttribute("d", path);
    return svg;
  }
  const ICON_CHAT = "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z";
  const ICON_CLOSE = "M6 6l12 12M18 6L6 18";
  const ICON_SEND = "M3 20.5l18-8.5L3 3.5 3 10l12 2-12 2z";

  // URLs and e-mail addresses become links; everything else stays a text node.
  const LINK_RE = /\bhttps?:\/\/[^\s<>"']+|[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/g;

  // A long URL may wrap after a slash, dot, question mark, ampersand or equals sign,
  // never in the middle of a word.
  function breakable(url) {
    const parts = [];
    for (const piece of url.split(/(?<=[/.?&=])/)) parts.push(piece, el("wbr"));
    parts.pop();
    return parts;
  }

  function linkify(text) {
    const frag = document.createDocumentFragment();
    let last = 0;
    for (const match of text.matchAll(LINK_RE)) {
      let found = match[0];
      // Sentence punctuation after a link is not part of it ("zie https://x.nl/a.").
      const trail = /[.,;:!?)\]'"]+$/.exec(found);
      if (trail && !(trail[0].startsWith(")") && found.includes("("))) found = found.slice(0, trail.index);
      if (!found) continue;
      frag.append(text.slice(last, match.index));
      const isUrl = /^https?:\/\//i.test(found);
      frag.append(isUrl
        ? el("a", { href: found, target: "_blank", rel: "noopener noreferrer" }, ...breakable(found))
        : el("a", { href: "mailto:" + found, text: found }));
      last = match.index + found.length;
    }
    frag.append(text.slice(last));
    return frag;
  }

  // ---- Building the widget --------------------------------------------------

  const root = el("div", { class: "pcp-root", hidden: true });
  root.style.setProperty("--pcp-color", COLOR);
  root.style.setProperty("--pcp-on-color", textOn(COLOR));
  // Links and outlines on white need a dark enough colour; a light brand colour is not.
  root.style.setProperty("--pcp-accent", textOn(COLOR) === "#fff" ? COLOR : "#1a1a1a");

  const launcher = el("button", {
    type: "button", class: "pcp-launcher", "aria-label": T.open,
    "aria-expanded": "false", "aria-controls": "pcp-panel",
  }, icon(ICON_CHAT, "pcp-icon-chat"), icon(ICON_CLOSE, "pcp-icon-close"),
  el("span", { class: "pcp-badge", "aria-hidden": "true" }));

  const closeBtn = el("button", { type: "button", class: "pcp-close", "aria-label": T.close, title: T.close }, icon(ICON_CLOSE, "pcp-icon-close"));
  const log = el("div", { class: "pcp-log", role: "log", "aria-live": "polite", "aria-relevant": "additions" });
  const intro = el("div", { class: "pcp-bubble", text: T.intro }); // replaced by the server's greeting
  const typing = el("div", { class: "pcp-typing", hidden: true },
    el("span", { class: "pcp-dots", "aria-hidden": "true" }, el("span"), el("span"), el("span")),
    el("span", { class: "pcp-typing-text", text: T.typing }));
  const typingText = typing.querySelector(".pcp-typing-text");
  const scroller = el("div", { class: "pcp-scroll" },
    el("div", { class: "pcp-msg pcp-msg--bot pcp-intro" }, intro),
    log, typing);
  const status = el("div", { class: "pcp-status", role: "status", hidden: true }, T.offline);
  const input = el("textarea", {
    class: "pcp-input", rows: "1", maxlength: String(MAX_LENGTH),
    placeholder: T.placeholder, "aria-label": T.inputLabel, autocomplete: "off",
  });
  const sendText = el("span", { class: "pcp-send-text", text: T.send });
  const sendBtn = el("button", { type: "submit", class: "pcp-send" }, icon(ICON_SEND, "pcp-icon-send"), sendText);
  const form = el("form", { class: "pcp-form" }, input, sendBtn);
  const panel = el("div", { id: "pcp-panel", class: "pcp-panel", role: "dialog", "aria-modal": "true", "aria-label": TITLE, hidden: true },
    el("div", { class: "pcp-header" }, el("h2", { class: "pcp-title", text: TITLE }), closeBtn),
    scroller, status, form);
  root.append(panel, launcher);

  // Show the widget only once its stylesheet is in, so the page never flashes raw elements.
  const css = el("link", { rel: "stylesheet", href: SERVER + "/static/widget.css" });
  css.addEventListener("load", () => {
    root.hidden = false;
    scrollDown();
  });
  document.head.append(css);
  // With defer the body exists; without it (a script in <head>) wait for it.
  if (document.body) document.body.append(root);
  else document.addEventListener("DOMContentLoaded", () => document.body.append(root));

  // ---- Rendering messages ---------------------------------------------------

  function scrollDown() {
    scroller.scrollTop = scroller.scrollHeight;
  }

  // A long answer is read from its start: scroll to the bottom, but not past its top.
  function reveal(node) {
    scroller.scrollTop = Math.min(node.offsetTop - 12, scroller.scrollHeight - scroller.clientHeight);
  }

  function disableAllButtons() {
    for (const b of log.querySelectorAll(".pcp-reply")) b.disabled = true;
  }

  function renderUser(text, pending) {
    const msg = el("div", { class: "pcp-msg pcp-msg--user" + (pending ? " pcp-pending" : "") },
      el("span", { class: "pcp-sr", text: T.you }),
      el("div", { class: "pcp-bubble" }, linkify(text)));
    log.append(msg);
    return msg;
  }

  // A long article shows its first lines and a "Lees meer" button that unfolds the rest.
  function collapse(bubble, content) {
    content.id = "pcp-body-" + newId();
    content.classList.add("pcp-collapsed");
    const more = el("button", {
      type: "button", class: "pcp-more", "aria-expanded": "false", "aria-controls": content.id, text: T.readOn,
    });
    more.addEventListener("click", () => {
      const open = content.classList.toggle("pcp-collapsed") === false;
      more.setAttribute("aria-expanded", String(open));
      more.textContent = open ? T.readLess : T.readOn;
    });
    bubble.append(more);
  }

  function renderBot(message, buttonsActive) {
    const bubble = el("div", { class: "pcp-bubble" });
    const text = String(message.text || "");
    const article = message.custom && message.custom.article;
    // An answer starts with the article's title: show it as a heading of the bubble.
    if (article && article.title && text.startsWith(article.title)) {
      const body = text.slice(article.title.length).replace(/^\s+/, "");
      const content = el("div", { class: "pcp-article-body" }, linkify(body));
      bubble.append(el("strong", { class: "pcp-article-title", text: article.title }), content);
      if (body.length > LONG_ANSWER) collapse(bubble, content);
    } else {
      bubble.append(linkify(text));
    }
    // A colleague's message (livechat) carries their name; show it above the bubble.
    const agent = message.custom && message.custom.agent && message.custom.agent.name;
    const msg = typeof agent === "string"
      ? el("div", { class: "pcp-msg pcp-msg--bot pcp-msg--agent" },
        el("span", { class: "pcp-agent-name", text: agent + " " + T.colleague }), bubble)
      : el("div", { class: "pcp-msg pcp-msg--bot" }, el("span", { class: "pcp-sr", text: T.bot }), bubble);

    const actions = [];
    if (article && typeof article.url === "string" && /^https?:\/\//i.test(article.url)) {
      actions.push(el("a", { class: "pcp-action", href: article.url, target: "_blank", rel: "noopener noreferrer", text: T.readMore }));
    }
    // A handoff gives a mailto link at once; a long wait in the queue gives one later.
    const custom = message.custom || {};
    const mailto = (custom.escalation && custom.escalation.mailto) || (custom.handoff && custom.handoff.mailto);
    if (typeof mailto === "string" && /^mailto:/i.test(mailto)) {
      actions.push(el("a", { class: "pcp-action pcp-action--mail", href: mailto, text: T.mail }));
    }
    if (actions.length) msg.append(el("div", { class: "pcp-actions" }, ...actions));

    if (Array.isArray(message.buttons) && message.buttons.length) {
      const group = el("div", { class: "pcp-replies", role: "group" });
      for (const b of message.buttons) {
        const title = String(b.title || b.payload || "");
        const reply = el("button", { type: "button", class: "pcp-reply", text: title, disabled: !buttonsActive });
        reply.addEventListener("click", () => {
          for (const other of group.querySelectorAll("button")) other.disabled = true;
          reply.classList.add("pcp-chosen");
          send(String(b.payload || title), title);
          input.focus(); // the pressed button is disabled now: keep the keyboard in the panel
        });
        group.append(reply);
      }
      msg.append(group);
    }
    log.append(msg);
    return msg;
  }

  // History: only the last bot message keeps live buttons, and only if nobody answered it.
  // The live region is muted meanwhile, so a reconnect does not read the whole history aloud.
  function renderHistory(entries) {
    log.setAttribute("aria-live", "off");
    requestAnimationFrame(() => requestAnimationFrame(() => log.setAttribute("aria-live", "polite")));
    log.replaceChildren();
    let live = -1;
    entries.forEach((e, i) => { if (e.from === "bot") live = i; });
    if (entries.slice(live + 1).some((e) => e.from === "user")) live = -1;
    shown.clear();
    entries.forEach((e, i) => {
      if (e.from === "user") {
        renderUser(String(e.text || ""), false);
        if (typeof e.id === "string") shown.add(e.id);
      } else renderBot(e, i === live);
    });
    scrollDown();
  }

  function renderNotice(text) {
    reveal(log.appendChild(el("div", { class: "pcp-notice", text })));
  }

  // ---- Typing indicator -----------------------------------------------------

  let typingTimer = 0;
  function setTyping(on) {
    clearTimeout(typingTimer);
    typing.hidden = !on;
    if (on) {
      typingTimer = setTimeout(() => { typing.hidden = true; }, TYPING_TIMEOUT);
      scrollDown();
    }
  }

  // ---- Connection -----------------------------------------------------------

  let socket = null;
  let ready = false; // welcome received on the current socket
  let backoff = BACKOFF_MIN;
  let retryTimer = 0;
  const outbox = new Map(); // client message id -> {frame, node}; kept until the server's ack
  const shown = new Set(); // ids of the user messages in the log, so none is shown twice

  function connect() {
    clearTimeout(retryTimer);
    if (socket) return;
    let ws;
    try {
      ws = new WebSocket(WS_URL);
    } catch {
      scheduleReconnect();
      return;
    }
    socket = ws;
    ws.addEventListener("open", () => sendHello(ws));
    ws.addEventListener("message", (event) => {
      let frame;
      try { frame = JSON.parse(event.data); } catch { return; }
      if (frame && typeof frame === "object") handle(frame);
    });
    // error is always followed by close; reconnect there only, once.
    ws.addEventListener("close", () => {
      if (socket !== ws) return;
      socket = null;
      ready = false;
      status.hidden = false;
      setTyping(false); // nobody is typing while we are offline; shown again after the resend
      scheduleReconnect();
    });
  }

  function sendHello(ws) {
    const sender = store("localStorage", SENDER_KEY);
    ws.send(JSON.stringify(sender ? { type: "hello", sender } : { type: "hello" }));
  }

  // Over a rate limit nothing is lost: the same frame goes again after retry_after
  // seconds (after a reconnect meanwhile, the welcome resends the outbox anyway).
  function retryLater(frame, notice) {
    const ws = socket;
    const wait = Math.max(1, Number(frame.retry_after) || 1) * 1000;
    if (ready && notice) renderNotice(notice);
    setTimeout(() => {
      if (!ws || socket !== ws || ws.readyState !== WebSocket.OPEN) return;
      if (!ready) sendHello(ws);
      else if (outbox.has(frame.id)) ws.send(JSON.stringify(outbox.get(frame.id).frame));
    }, wait);
  }

  function scheduleReconnect() {
    clearTimeout(retryTimer);
    retryTimer = setTimeout(connect, backoff);
    backoff = Math.min(backoff * 2, BACKOFF_MAX);
  }

  function handle(frame) {
    switch (frame.type) {
      case "welcome": {
        if (typeof frame.sender === "string") store("localStorage", SENDER_KEY, frame.sender);
        setLanguage(frame.language);
        ready = true;
        backoff = BACKOFF_MIN;
        status.hidden = true;
        if (typeof frame.greeting === "string" && frame.greeting) intro.textContent = frame.greeting;
        const history = Array.isArray(frame.history) ? frame.history : [];
        renderHistory(history);
        // Resend what was never acknowledged (the server skips ids it already handled).
        // A message whose ack was lost is already in the history: don't show it twice.
        let waiting = false;
        for (const [id, item] of outbox) {
          const stored = shown.has(id);
          item.node = stored ? null : renderUser(item.frame.display || item.frame.text, true);
          if (!stored) shown.add(id);
          waiting ||= !stored;
          socket.send(JSON.stringify(item.frame));
        }
        setTyping(waiting);
        scrollDown();
        break;
      }
      case "ack": {
        const item = outbox.get(frame.id);
        if (item) {
          item.node?.classList.remove("pcp-pending");
          outbox.delete(frame.id);
        }
        break;
      }
      case "messages": {
        setTyping(false);
        setLanguage(frame.language);
        const messages = Array.isArray(frame.messages) ? frame.messages : [];
        const question = frame.reply_to;
        if (question && typeof question.text === "string" && !shown.has(question.id)) {
          renderUser(question.text, false); // asked in another tab, or over REST
          if (typeof question.id === "string") shown.add(question.id);
        }
        if (!messages.length) break;
        disableAllButtons();
        reveal(messages.map((m) => renderBot(m, true))[0]);
        if (panel.hidden) markUnread(true);
        break;
      }
      case "error": {
        if (frame.error === "rate_limited") {
          retryLater(frame, T.slowDown);
          break;
        }
        if (frame.error === "busy") { // held up on the server a moment: just send it again
          retryLater(frame, null);
          break;
        }
        // A refusal names its message; drop it, or it would be refused again after every
        // reconnect. Without an id it is for the oldest unacked one (frames are answered in order).
        const [id, item] = outbox.has(frame.id) ? [frame.id, outbox.get(frame.id)]
          : outbox.entries().next().value || [];
        if (id) {
          outbox.delete(id);
          item.node?.classList.replace("pcp-pending", "pcp-failed");
        }
        setTyping(false);
        renderNotice(T.refused);
        break;
      }
    }
  }

  function send(text, display) {
    // Control characters (other than tab and newlines) would get the message refused.
    text = text.replace(/[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]/g, "").trim().slice(0, MAX_LENGTH);
    if (!text) return;
    disableAllButtons();
    const frame = { type: "message", id: newId(), text };
    if (display) frame.display = display;
    outbox.set(frame.id, { frame, node: renderUser(display || text, true) });
    shown.add(frame.id);
    setTyping(true);
    scrollDown();
    if (ready) socket.send(JSON.stringify(frame));
    else connect(); // sent after the welcome
  }

  // ---- Open, close, input ---------------------------------------------------

  function markUnread(on) {
    launcher.classList.toggle("pcp-unread", on);
    launcher.setAttribute("aria-label", on ? T.openUnread : T.open);
  }

  // The widget's own words follow the conversation's language.
  function setLanguage(language) {
    const texts = TEXTS[language];
    if (!texts || texts === T) return;
    T = texts;
    root.lang = language;
    markUnread(launcher.classList.contains("pcp-unread"));
    closeBtn.setAttribute("aria-label", T.close);
    closeBtn.title = T.close;
    typingText.textContent = T.typing;
    status.textContent = T.offline;
    input.placeholder = T.placeholder;
    input.setAttribute("aria-label", T.inputLabel);
    sendText.textContent = T.send;
    for (const more of log.querySelectorAll(".pcp-more")) {
      more.textContent = more.getAttribute("aria-expanded") === "true" ? T.readLess : T.readOn;
    }
  }

  // The open panel is a dialog: Tab and Shift+Tab go round inside it.
  function keepFocusInside(event) {
    const inside = [...panel.querySelectorAll("button, a[href], textarea")]
      .filter((node) => !node.disabled && node.getClientRects().length);
    if (!inside.length) return;
    const first = inside[0];
    const last = inside[inside.length - 1];
    if (event.shiftKey && document.activeElement === first) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && document.activeElement === last) {
      event.preventDefault();
      first.focus();
    }
  }

  function show(on) {
    panel.hidden = !on;
    root.classList.toggle("pcp-is-open", on);
    launcher.setAttribute("aria-expanded", String(on));
    store("sessionStorage", OPEN_KEY, on ? "1" : null);
  }

  function open() {
    connect();
    show(true);
    markUnread(false);
    scrollDown();
    input.focus();
  }

  function close() {
    const hadFocus = panel.contains(document.activeElement);
    show(false);
    if (hadFocus) launcher.focus(); // Escape or the close button: focus back where it came from
  }

  function autosize() {
    input.style.height = "auto";
    input.style.height = Math.min(input.scrollHeight, 140) + "px";
  }

  launcher.addEventListener("click", () => (panel.hidden ? open() : close()));
  closeBtn.addEventListener("click", close);
  panel.addEventListener("keydown", (event) => {
    if (event.key === "Escape") { event.preventDefault(); close(); }
    else if (event.key === "Tab") keepFocusInside(event);
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!input.value.trim()) return;
    send(input.value);
    input.value = "";
    autosize();
    input.focus();
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  input.addEventListener("input", autosize);

  // Any element with data-pcpatrol-chat opens the chat, also ones added later.
  document.addEventListener("click", (event) => {
    const trigger = event.target instanceof Element && event.target.closest("[data-pcpatrol-chat]");
    if (trigger && !root.contains(trigger)) {
      event.preventDefault();
      open();
    }
  });

  // Back online: try now instead of waiting out the backoff.
  window.addEventListener("online", () => { if (!socket) { backoff = BACKOFF_MIN; connect(); } });

  // Returning visitors connect at once (replies can arrive while closed); new ones on first open.
  if (store("sessionStorage", OPEN_KEY)) show(true);
  if (!panel.hidden || store("localStorage", SENDER_KEY)) connect();

  window.PCPatrolChat = Object.freeze({ open, close });
})();
