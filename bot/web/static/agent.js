/* PC Patrol agent console: the queue of handoffs and the conversation with one customer.
 * No libraries, no build step. Contract of the API and the WebSocket: docs/agent-console.md.
 * Safety rule: text from customers (and from the server) only ever becomes text nodes;
 * links are <a> elements built here with http(s) or mailto hrefs. Never innerHTML. */
(() => {
  "use strict";

  const BASE_TITLE = "PC Patrol \u2014 medewerkers";
  const BACKOFF_MIN = 500;
  const BACKOFF_MAX = 10000;
  const NOTICE_MS = 10000;
  const GUESS_MIN = 0.05; // guesses below this are noise, not worth the agent's attention
  const SUGGEST_MIN = 0.3; // a guessed article this likely is preselected in the picker

  // Dutch interface text. ASCII escapes keep the file safe in any encoding.
  const T = {
    waiting: "Wacht", with: (name) => "Bij " + name, closed: "Afgesloten",
    countOne: "1 wachtend", countMany: (n) => n + " wachtend", fresh: "Nieuw", unread: "Nieuw bericht",
    noQuestion: "(geen vraag)", online: "Online", connecting: "Verbinden\u2026", offline: "Niet verbonden",
    loading: "Gesprek laden\u2026", customer: "Klant", bot: "Bot", agent: "Medewerker", buttons: "Knoppen:",
    noGuesses: "De bot had geen idee.", article: "Artikel: ",
    loggedOut: "U bent uitgelogd. Herlaad de pagina om opnieuw in te loggen.",
    waitedFor: (d) => "wachttijd " + d, waitingFor: (d) => "wacht al " + d,
    hintWaiting: "Neem het gesprek over om de klant te antwoorden. Tot dan krijgt de klant zijn plaats in de wachtrij te zien.",
    hintOther: (name) => name + " helpt deze klant.",
    hintClosed: "Dit gesprek is afgesloten. De bot helpt de klant weer.",
    pickArticle: "Kies een artikel\u2026", pickLabel: "Kies een onderwerp\u2026", newTopic: "Nieuw onderwerp",
    labelSaved: (name) => "Onderwerp: " + name, labelDone: "Onderwerp opgeslagen.",
    confirmClose: "Gesprek afsluiten? De klant wordt weer door de bot geholpen.",
    closedDone: "Gesprek afgesloten. De bot helpt de klant weer.",
    announceNew: (n) => (n === 1 ? "Nieuwe klant" : n + " nieuwe klanten") + " in de wachtrij.",
    network: "Geen verbinding met de server. Probeer het zo opnieuw.",
    failed: (status) => "Er ging iets mis (fout " + status + "). Probeer het opnieuw.",
  };
  // Lookup tables without a prototype: a code such as "constructor" finds nothing.
  const ERRORS = {
    __proto__: null,
    404: "Dit gesprek bestaat niet (meer).",
    409: "Dit gesprek is al overgenomen door een collega.",
    422: "Dat kon niet worden verwerkt. Controleer de invoer.",
    429: "Te veel verzoeken. Wacht even en probeer het opnieuw.",
    // The server's error codes, where the status alone says too little.
    closed: "Dit gesprek is al afgesloten.",
    not_yours: "Neem het gesprek eerst over; misschien heeft een collega het al.",
  };
  const REASONS = {
    __proto__: null,
    request_human: "Vroeg om een medewerker", complaint: "Klacht",
    low_confidence: "Bot begreep de vraag niet",
    out_of_scope: "Geen artikel over dit onderwerp", not_helped: "Antwoord hielp niet",
    not_understood: "Bot kon het bericht niet lezen",
  };
  // Intents without an article of their own; the others are named by their article's title.
  const INTENT_NAMES = {
    __proto__: null,
    request_human: "Wil een medewerker", complaint: "Klacht", out_of_scope: "Buiten de artikelen",
    greet: "Begroeting",
    thanks: "Bedankje", goodbye: "Afscheid", affirm: "Ja", deny: "Nee", new_topic: T.newTopic,
  };

  const $ = (id) => document.getElementById(id);
  const ui = {
    connection: $("pca-connection"), me: $("pca-me"), logout: $("pca-logout"), offline: $("pca-offline"),
    count: $("pca-count"), list: $("pca-queue-list"), empty: $("pca-queue-empty"),
    notice: $("pca-notice"), noticeText: $("pca-notice-text"), noticeClose: $("pca-notice-close"),
    placeholder: $("pca-placeholder"), detail: $("pca-detail"), title: $("pca-detail-title"),
    status: $("pca-detail-status"), reason: $("pca-detail-reason"), wait: $("pca-detail-wait"),
    claim: $("pca-claim"), close: $("pca-close"), guesses: $("pca-guess-list"),
    transcript: $("pca-transcript"), handled: $("pca-handled"), main: $("pca-conversation"),
    composer: $("pca-composer"), reply: $("pca-reply"), send: $("pca-send"),
    articleForm: $("pca-article-form"), article: $("pca-article"),
    labelForm: $("pca-label-form"), label: $("pca-label"), labelSaved: $("pca-label-saved"),
    announce: $("pca-announce"),
  };
  if (!ui.list) return; // not the console page

  // ---- State ----------------------------------------------------------------

  let me = { username: "", display_name: "" };
  let csrf = "";
  let articles = [];
  let queue = []; // handoffs of the last queue frame
  let firstQueue = true; // what is waiting when the console opens is not "new"
  let skew = 0; // client clock minus server clock, in ms
  const known = new Set(); // handoff ids seen in a queue frame
  const fresh = new Map(); // id -> arrival time: came in while the console was open, not opened yet
  const unread = new Set(); // handoffs with a customer message the agent has not seen
  const items = new Map(); // id -> {li, button, time}: reused so keyboard focus survives updates
  const drafts = new Map(); // id -> unsent reply text
  let current = null; // the open handoff: {id, handoff, keys, pending, loading}
  let loadToken = 0;
  let stick = true; // the transcript shows its newest message
  let missed = false; // a customer wrote while this tab was in the background
  let leaving = false; // logging out: a closing socket is expected

  // ---- Helpers --------------------------------------------------------------

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

  // As in widget.js: URLs and e-mail addresses become links, the rest stays text.
  const LINK_RE = /\bhttps?:\/\/[^\s<>"']+|[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/g;
  function linkify(text) {
    const frag = document.createDocumentFragment();
    let last = 0;
    for (const match of text.matchAll(LINK_RE)) {
      let found = match[0];
      const trail = /[.,;:!?)\]'"]+$/.exec(found); // sentence punctuation is not part of a link
      if (trail && !(trail[0].startsWith(")") && found.includes("("))) found = found.slice(0, trail.index);
      if (!found) continue;
      frag.append(text.slice(last, match.index), /^https?:\/\//i.test(found)
        ? el("a", { href: found, target: "_blank", rel: "noopener noreferrer", text: found })
        : el("a", { href: "mailto:" + found, text: found }));
      last = match.index + found.length;
    }
    frag.append(text.slice(last));
    return frag;
  }

  function truncate(text, max) {
    text = String(text || "").replace(/\s+/g, " ").trim();
    return text.length <= max ? text : text.slice(0, max - 1).replace(/\s+\S*$/, "") + "\u2026";
  }

  function duration(seconds) {
    const s = Math.max(0, Math.floor(seconds));
    if (s < 60) return s + " s";
    if (s < 3600) return Math.floor(s / 60) + " min " + String(s % 60).padStart(2, "0") + " s";
    return Math.floor(s / 3600) + " u " + String(Math.floor(s / 60) % 60).padStart(2, "0") + " min";
  }

  function clock(iso) {
    const date = new Date(iso);
    if (isNaN(date)) return "";
    const time = date.toLocaleTimeString("nl-NL", { hour: "2-digit", minute: "2-digit" });
    if (date.toDateString() === new Date().toDateString()) return time;
    return date.toLocaleDateString("nl-NL", { day: "numeric", month: "short" }) + " " + time;
  }

  // Seconds since the handoff was created, on the server's clock.
  const age = (h) => (Date.now() - skew - Date.parse(h.created_at)) / 1000;

  // How long the customer waited for an agent: still counting while waiting.
  function waited(h) {
    if (h.status === "waiting") return age(h);
    if (h.assigned_at) return (Date.parse(h.assigned_at) - Date.parse(h.created_at)) / 1000;
    return h.waited_seconds || 0;
  }

  const isMine = (h) => !!h.agent && (h.agent === me.username || h.agent === me.display_name);
  const agentName = (h) => (isMine(h) ? me.display_name || h.agent : h.agent_name || h.agent || T.agent);
  const statusText = (h) => (h.status === "waiting" ? T.waiting : h.status === "closed" ? T.closed : T.with(agentName(h)));
  const statusClass = (h) => (h.status === "assigned" ? (isMine(h) ? "mine" : "other") : h.status);
  const reasonText = (reason) => REASONS[reason] || reason || "";

  function intentName(intent) {
    const article = articles.find((a) => Array.isArray(a.intents) && a.intents.includes(intent));
    return article ? article.title : INTENT_NAMES[intent] || intent;
  }

  function announce(text) {
    ui.announce.textContent = "";
    setTimeout(() => { ui.announce.textContent = text; }, 50); // a change is what gets read out
  }

  let noticeTimer = 0;
  function showNotice(text, kind = "error") {
    clearTimeout(noticeTimer);
    ui.noticeText.textContent = text;
    ui.notice.dataset.kind = kind;
    ui.notice.hidden = false;
    noticeTimer = setTimeout(() => { ui.notice.hidden = true; }, NOTICE_MS);
  }

  // ---- HTTP API ---------------------------------------------------------------

  const failure = (status, message) => Object.assign(new Error(message), { status });

  async function api(method, path, body, retried = false) {
    const init = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
    if (method !== "GET") {
      Object.assign(init.headers, { "X-CSRF-Token": csrf, "Content-Type": "application/json" });
      init.body = JSON.stringify(body || {});
    }
    let response;
    try { response = await fetch(path, init); } catch { throw failure(0, T.network); }
    if (response.status === 401) {
      toLogin();
      throw failure(401, T.loggedOut);
    }
    if (response.status === 403 && !retried && method !== "GET") { // stale CSRF token: renew it, once
      await loadMe();
      return api(method, path, body, true);
    }
    let data = {};
    if (response.status !== 204) try { data = await response.json(); } catch { /* not JSON */ }
    if (!response.ok) {
      throw failure(response.status, ERRORS[data && data.error] || ERRORS[response.status] || T.failed(response.status));
    }
    return data || {};
  }

  // The session ended: /agent shows the login form. Should /agent come from a cache and
  // be this page again, don't bounce between the two forever: say so, once.
  function toLogin() {
    leaving = true;
    let last = 0;
    try {
      last = Number(sessionStorage.getItem("pca-to-login")) || 0;
      sessionStorage.setItem("pca-to-login", String(Date.now()));
    } catch { /* no storage: no guard */ }
    if (Date.now() - last >= 5000) return location.assign("/agent");
    showNotice(T.loggedOut);
    clearTimeout(noticeTimer); // this one stays
  }

  async function loadMe() {
    me = await api("GET", "/agent/api/me");
    csrf = me.csrf_token || "";
    ui.me.textContent = me.display_name || me.username || "";
  }

  async function loadKnowledge() {
    const data = await api("GET", "/agent/api/knowledge");
    const byText = (a, b) => String(a.text).localeCompare(String(b.text), "nl");
    articles = Array.isArray(data.articles) ? data.articles : [];
    const options = articles.map((a) => ({ value: a.id, text: a.title })).sort(byText);
    ui.article.replaceChildren(el("option", { value: "", text: T.pickArticle }), ...options.map((o) => el("option", o)));
    const labels = (Array.isArray(data.intents) ? data.intents : []).filter((i) => i !== "new_topic")
      .map((i) => ({ value: i, text: intentName(i) })).sort(byText);
    // A new topic first: the question the bot could not place is most often one.
    ui.label.replaceChildren(el("option", { value: "", text: T.pickLabel }),
      el("option", { value: "new_topic", text: T.newTopic }), ...labels.map((o) => el("option", o)));
    if (current && current.handoff) resetPickers(current.handoff);
  }

  // ---- Queue ----------------------------------------------------------------

  function setQueue(list) {
    let newcomers = 0;
    for (const h of list) {
      // A waiting handoff's waited_seconds is "now" on the server: it tells our clock's skew.
      if (h.status === "waiting" && Number.isFinite(h.waited_seconds) && Date.parse(h.created_at)) {
        skew = Date.now() - (Date.parse(h.created_at) + h.waited_seconds * 1000);
      }
      if (!known.has(h.id) && !firstQueue && h.status === "waiting") { fresh.set(h.id, Date.now()); newcomers += 1; }
      if (h.status !== "waiting") fresh.delete(h.id); // a colleague took it: no longer news
      known.add(h.id);
    }
    firstQueue = false;
    queue = list;
    if (newcomers) announce(T.announceNew(newcomers));
    if (current && !current.loading) {
      const h = list.find((x) => x.id === current.id);
      if (h) { current.handoff = h; renderState(); }
      else if (current.handoff && current.handoff.status !== "closed") openHandoff(current.id, true); // closed elsewhere
    }
    renderQueue();
  }

  // Waiting customers first, the longest waiting on top; then mine; then colleagues'.
  function order(a, b) {
    const rank = (h) => (h.status === "waiting" ? 0 : isMine(h) ? 1 : 2);
    return rank(a) - rank(b) || Date.parse(a.created_at) - Date.parse(b.created_at);
  }

  function renderQueue() {
    const sorted = queue.slice().sort(order);
    for (const id of items.keys()) if (!sorted.some((h) => h.id === id)) items.delete(id);
    const nodes = sorted.map((h) => {
      let item = items.get(h.id);
      if (!item) {
        const button = el("button", { type: "button", class: "pca-item" });
        button.addEventListener("click", () => openHandoff(h.id));
        item = { li: el("li", {}, button), button, time: null };
        items.set(h.id, item);
      }
      const status = statusClass(h);
      // The pulse plays on arrival only; a re-inserted node would restart it later on.
      const arriving = fresh.has(h.id) && Date.now() - fresh.get(h.id) < 2000;
      item.button.className = "pca-item pca-item--" + status + (fresh.has(h.id) ? " pca-item--new" : "")
        + (arriving ? " pca-item--arriving" : "");
      item.button.setAttribute("aria-current", String(!!current && current.id === h.id));
      item.time = el("span", { class: "pca-item-time", text: duration(age(h)) });
      item.button.replaceChildren(
        el("span", { class: "pca-item-top" },
          el("span", { class: "pca-chip pca-chip--" + status, text: statusText(h) }),
          fresh.has(h.id) ? el("span", { class: "pca-flag", text: T.fresh }) : "",
          unread.has(h.id) && !fresh.has(h.id) ? el("span", { class: "pca-flag pca-flag--unread", text: T.unread }) : "",
          item.time),
        el("span", { class: "pca-item-question", text: truncate(h.question, 140) || T.noQuestion }),
        el("span", { class: "pca-item-reason", text: reasonText(h.reason) }));
      return item.li;
    });
    if (nodes.length !== ui.list.children.length || nodes.some((n, i) => ui.list.children[i] !== n)) {
      const focused = document.activeElement;
      ui.list.replaceChildren(...nodes);
      if (focused && ui.list.contains(focused)) focused.focus({ preventScroll: true }); // moving blurred it
    }
    ui.empty.hidden = nodes.length > 0;
    const waiting = queue.filter((h) => h.status === "waiting").length;
    ui.count.textContent = waiting === 1 ? T.countOne : T.countMany(waiting);
    ui.count.classList.toggle("pca-count--busy", waiting > 0);
    renderTitle(waiting);
  }

  // "(2) PC Patrol — medewerkers" while customers wait; a dot while a reply went unseen.
  function renderTitle(waiting = queue.filter((h) => h.status === "waiting").length) {
    document.title = (missed ? "\u2022 " : "") + (waiting ? "(" + waiting + ") " : "") + BASE_TITLE;
  }
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden && missed) { missed = false; renderTitle(); }
  });

  // Wait times count up here, between the server's updates.
  function tick() {
    for (const h of queue) {
      const item = items.get(h.id);
      if (item) item.time.textContent = duration(age(h));
    }
    if (current && current.handoff) renderWait(current.handoff);
  }

  // ---- The open conversation -------------------------------------------------

  // keep: reload the open handoff in place (after a reconnect or a conflict).
  async function openHandoff(id, keep = false) {
    const switching = !current || current.id !== id;
    if (current && switching) drafts.set(current.id, ui.reply.value);
    const token = ++loadToken;
    fresh.delete(id);
    unread.delete(id);
    current = { id, handoff: queue.find((h) => h.id === id) || null, keys: new Set(), pending: [], loading: true };
    renderQueue();
    ui.placeholder.hidden = true;
    ui.detail.hidden = false;
    if (switching) { ui.reply.value = drafts.get(id) || ""; autosize(); }
    if (!keep) ui.transcript.replaceChildren(el("p", { class: "pca-loading", text: T.loading }));
    if (current.handoff) renderState();
    let data;
    try {
      data = await api("GET", "/agent/api/handoffs/" + encodeURIComponent(id));
    } catch (err) {
      if (token !== loadToken) return;
      current.loading = false;
      if (!keep) ui.transcript.replaceChildren(el("p", { class: "pca-loading", text: err.message }));
      if (err.status !== 401) showNotice(err.message);
      return;
    }
    if (token !== loadToken) return; // another handoff was opened meanwhile
    Object.assign(current, { handoff: data.handoff, loading: false });
    const atBottom = nearBottom();
    ui.transcript.setAttribute("aria-live", "off"); // don't read the whole history aloud
    ui.transcript.replaceChildren();
    for (const entry of [...(Array.isArray(data.transcript) ? data.transcript : []), ...current.pending]) appendEntry(entry);
    current.pending = [];
    requestAnimationFrame(() => ui.transcript.setAttribute("aria-live", "polite"));
    if (!keep || atBottom) scrollDown();
    if (switching) resetPickers(current.handoff);
    renderState();
  }

  function resetPickers(h) {
    const top = (h.guesses || []).find((g) => g && g.article && g.article.id && g.confidence >= SUGGEST_MIN);
    ui.article.value = top ? top.article.id : "";
    if (ui.article.selectedIndex < 0) ui.article.value = "";
    ui.label.value = h.label || "";
    if (ui.label.selectedIndex < 0) ui.label.value = "";
  }

  function renderWait(h) {
    ui.wait.textContent = (h.status === "waiting" ? T.waitingFor : T.waitedFor)(duration(waited(h)));
  }

  // Header, guesses and the possible actions: follows every change of the handoff.
  function renderState() {
    const h = current.handoff;
    const mine = isMine(h);
    ui.title.textContent = truncate(h.question, 300) || T.noQuestion;
    ui.status.textContent = statusText(h);
    ui.status.className = "pca-chip pca-chip--" + statusClass(h);
    ui.reason.textContent = reasonText(h.reason);
    renderWait(h);
    const guesses = (Array.isArray(h.guesses) ? h.guesses : [])
      .filter((g, i) => i === 0 || Number(g.confidence) >= GUESS_MIN).slice(0, 3);
    ui.guesses.replaceChildren(...guesses.map((g) => el("li", { class: "pca-guess" },
      el("span", { class: "pca-guess-pct", text: Math.round((Number(g.confidence) || 0) * 100) + "%" }),
      el("span", { class: "pca-guess-intent", text: intentName(g.intent) }),
      g.article && g.article.title && g.article.title !== intentName(g.intent)
        ? el("span", { class: "pca-guess-article", text: T.article + g.article.title }) : "")));
    if (!guesses.length) ui.guesses.append(el("li", { class: "pca-guess pca-guess--none", text: T.noGuesses }));
    ui.claim.hidden = h.status !== "waiting";
    ui.close.hidden = ui.composer.hidden = ui.articleForm.hidden = !(h.status === "assigned" && mine);
    const hint = h.status === "waiting" ? T.hintWaiting : h.status === "closed" ? T.hintClosed
      : mine ? "" : T.hintOther(agentName(h));
    ui.handled.textContent = hint;
    ui.handled.hidden = !hint;
    ui.labelSaved.textContent = h.label ? T.labelSaved(intentName(h.label)) : "";
  }

  const nearBottom = () => ui.transcript.scrollHeight - ui.transcript.scrollTop - ui.transcript.clientHeight < 80;
  function scrollDown() {
    ui.transcript.scrollTop = ui.transcript.scrollHeight;
    stick = true;
  }
  // When the panes around the transcript grow (a notice, the composer), keep the newest
  // message in view if it was; once the agent scrolls up to read, leave the view alone.
  ui.transcript.addEventListener("scroll", () => { stick = nearBottom(); }, { passive: true });
  if (window.ResizeObserver) new ResizeObserver(() => { if (stick) scrollDown(); }).observe(ui.transcript);

  function appendEntry(entry) {
    if (!entry || typeof entry !== "object") return;
    const text = String(entry.text || "");
    // The same entry arrives as the POST's answer and on the socket: show it once.
    const key = [entry.from, entry.time, entry.id || "", text].join("\u0000");
    if (current.keys.has(key)) return;
    current.keys.add(key);
    const from = ["user", "bot", "agent"].includes(entry.from) ? entry.from : "bot";
    const who = from === "user" ? T.customer : from === "agent" ? entry.agent || T.agent : T.bot;
    const bubble = el("div", { class: "pca-bubble" });
    const article = entry.custom && entry.custom.article;
    if (article && article.title && text.startsWith(article.title)) { // an answer starts with its article's title
      bubble.append(el("strong", { class: "pca-bubble-title", text: article.title }),
        linkify(text.slice(article.title.length).replace(/^\s+/, "")));
    } else {
      bubble.append(linkify(text));
    }
    const node = el("div", { class: "pca-entry pca-entry--" + from },
      el("div", { class: "pca-entry-meta" }, el("span", { class: "pca-entry-who", text: who }),
        el("time", { datetime: entry.time || null, text: clock(entry.time) })),
      bubble);
    if (Array.isArray(entry.buttons) && entry.buttons.length) { // what the customer could click
      node.append(el("div", { class: "pca-entry-buttons" }, el("span", { text: T.buttons }),
        ...entry.buttons.map((b) => el("span", { class: "pca-entry-button", text: String(b.title || b.payload || "") }))));
    }
    ui.transcript.append(node);
  }

  // A live entry: follow along, unless the agent scrolled up to read.
  function liveEntry(entry) {
    const follow = stick || nearBottom();
    appendEntry(entry);
    if (follow) scrollDown();
  }

  function onEntry(id, entry) {
    if (entry && entry.from === "user" && document.hidden) { missed = true; renderTitle(); }
    if (current && current.id === id) {
      if (current.loading) current.pending.push(entry);
      else liveEntry(entry);
    } else if (entry && entry.from === "user" && queue.some((h) => h.id === id && (h.status === "waiting" || isMine(h)))) {
      // Colleagues' conversations are theirs: only waiting ones and mine get the flag.
      unread.add(id);
      renderQueue();
    }
  }

  // ---- Actions --------------------------------------------------------------

  // One request at a time per control; errors become a notice, a conflict reloads the truth.
  async function act(control, path, body, done) {
    if (!current || control.disabled) return;
    const id = current.id;
    control.disabled = true;
    try {
      const data = await api("POST", "/agent/api/handoffs/" + encodeURIComponent(id) + "/" + path, body);
      if (current && current.id === id) done(data);
    } catch (err) {
      if (err.status === 401) return;
      showNotice(err.message);
      if ((err.status === 409 || err.status === 404) && current && current.id === id) openHandoff(id, true);
    } finally {
      control.disabled = false;
    }
  }

  function updateHandoff(data) {
    if (!data.handoff) return;
    current.handoff = data.handoff;
    queue = queue.map((h) => (h.id === data.handoff.id ? data.handoff : h));
    renderState();
    renderQueue();
  }

  ui.claim.addEventListener("click", () => act(ui.claim, "claim", {}, (data) => {
    updateHandoff(data);
    ui.reply.focus();
  }));

  ui.composer.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = ui.reply.value.trim();
    if (!text) return;
    act(ui.send, "reply", { text }, (data) => {
      if (data.entry) liveEntry(data.entry);
      scrollDown();
      ui.reply.value = "";
      drafts.delete(current.id);
      autosize();
      ui.reply.focus();
    });
  });

  ui.reply.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      ui.composer.requestSubmit();
    }
  });

  // Grow with the text, up to a limit (the CSSOM is allowed by the page's CSP; style="" is not).
  function autosize() {
    ui.reply.style.height = "auto";
    ui.reply.style.height = Math.min(ui.reply.scrollHeight + 2, 220) + "px";
  }
  ui.reply.addEventListener("input", autosize);

  ui.articleForm.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!ui.article.value) return ui.article.focus();
    act(event.submitter || ui.article, "article", { article_id: ui.article.value }, (data) => {
      if (data.entry) liveEntry(data.entry);
      scrollDown();
    });
  });

  ui.labelForm.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!ui.label.value) return ui.label.focus();
    act(event.submitter || ui.label, "label", { label: ui.label.value }, (data) => {
      updateHandoff(data);
      announce(T.labelDone);
    });
  });

  ui.close.addEventListener("click", () => {
    if (!window.confirm(T.confirmClose)) return;
    act(ui.close, "close", {}, (data) => {
      updateHandoff(data);
      showNotice(T.closedDone, "info");
      ui.main.focus(); // the close button is gone
    });
  });

  ui.logout.addEventListener("click", async () => {
    ui.logout.disabled = true;
    try {
      await api("POST", "/agent/logout", {});
      toLogin();
    } catch (err) {
      if (err.status !== 401) showNotice(err.message);
      ui.logout.disabled = false;
    }
  });

  ui.noticeClose.addEventListener("click", () => { ui.notice.hidden = true; });

  // ---- Live updates ---------------------------------------------------------

  let socket = null;
  let backoff = BACKOFF_MIN;
  let retryTimer = 0;
  let lostConnection = false;

  function setConnection(state) {
    ui.connection.dataset.state = state;
    ui.connection.textContent = { online: T.online, offline: T.offline }[state] || T.connecting;
    ui.offline.hidden = state !== "offline";
  }

  function connect() {
    clearTimeout(retryTimer);
    if (socket) return;
    let ws;
    try {
      ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/agent/ws");
    } catch {
      return scheduleReconnect();
    }
    socket = ws;
    ws.addEventListener("open", () => {
      backoff = BACKOFF_MIN;
      setConnection("online");
      // Entries sent while we were away never reached us: reload the open conversation.
      if (lostConnection && current) openHandoff(current.id, true);
      if (lostConnection && !articles.length) loadKnowledge().catch(() => {});
      lostConnection = false;
    });
    ws.addEventListener("message", (event) => {
      let frame;
      try { frame = JSON.parse(event.data); } catch { return; }
      if (frame && frame.type === "queue" && Array.isArray(frame.handoffs)) setQueue(frame.handoffs);
      else if (frame && frame.type === "entry") onEntry(frame.handoff_id, frame.entry);
    });
    ws.addEventListener("close", () => { // error is always followed by close
      if (socket !== ws || leaving) return;
      socket = null;
      lostConnection = true;
      setConnection("offline");
      scheduleReconnect();
    });
  }

  function scheduleReconnect() {
    clearTimeout(retryTimer);
    retryTimer = setTimeout(async () => {
      // A socket refused for an ended session looks like any other close: /me tells
      // (its 401 goes to the login page) and renews the CSRF token.
      try { await loadMe(); } catch (err) { if (err.status === 401) return; }
      connect();
    }, backoff);
    backoff = Math.min(backoff * 2, BACKOFF_MAX);
  }

  window.addEventListener("online", () => { if (!socket) { backoff = BACKOFF_MIN; scheduleReconnect(); } });

  // ---- Start ----------------------------------------------------------------

  (async () => {
    setConnection("connecting");
    try {
      await loadMe();
    } catch (err) {
      if (err.status === 401) return;
      showNotice(err.message);
    }
    loadKnowledge().catch((err) => { if (err.status !== 401) showNotice(err.message); });
    connect();
    setInterval(tick, 1000);
  })();
})();
