// The chat page: asks POST /ask, shows answers with their quoted passage, keeps the conversation in localStorage.
// Every string from the user, the documents or the API goes into the page as a text node, never as HTML.
"use strict";

(() => {
  const STORAGE_KEY = "docqa.conversation.v1";
  const ASK_TIMEOUT_MS = 20000;
  const MAX_QUESTION_CHARS = 1000; // the server's default limit; the server still has the last word
  const MAX_STORED_TURNS = 200;
  const MAX_EXAMPLES = 4;
  const MAX_INPUT_HEIGHT = 200; // px, as in style.css

  const $ = (id) => document.getElementById(id);
  const ui = {
    conversation: $("conversation"),
    turns: $("turns"),
    welcome: $("welcome"),
    intro: $("welcome-intro"),
    examples: $("examples"),
    exampleList: $("example-list"),
    form: $("composer"),
    input: $("question"),
    send: $("send"),
    newChat: $("new-chat"),
    status: $("status"),
    statusText: $("status-text"),
    charCount: $("char-count"),
  };
  const reducedMotion = window.matchMedia("(prefers-reduced-motion: reduce)");
  const touchScreen = window.matchMedia("(pointer: coarse)");

  let history = loadHistory();
  let pending = null; // {controller, chat} while a question is on its way
  let chat = 0; // bumped by "New chat" so a late reply to the old conversation is dropped
  let documentsKnown = false;
  let documentsRetry = 0; // timer of the next GET /documents while the service is not ready

  // ---- storage -------------------------------------------------------------------------------

  function loadHistory() {
    try {
      const stored = JSON.parse(localStorage.getItem(STORAGE_KEY) || "[]");
      return Array.isArray(stored) ? stored.filter(isTurn) : [];
    } catch {
      return [];
    }
  }

  function isTurn(turn) {
    if (!turn || typeof turn !== "object") return false;
    if (turn.type === "question") return typeof turn.text === "string";
    if (turn.type === "answer") return isAnswer(turn.data);
    if (turn.type === "error") return typeof turn.title === "string" && typeof turn.message === "string";
    return false;
  }

  function isAnswer(data) {
    return (
      !!data &&
      typeof data === "object" &&
      (data.answer === null || typeof data.answer === "string") &&
      typeof data.context === "string" &&
      typeof data.score === "number"
    );
  }

  function saveHistory() {
    history = history.slice(-MAX_STORED_TURNS);
    try {
      localStorage.setItem(STORAGE_KEY, JSON.stringify(history));
    } catch {
      // storage full or disabled: the conversation still lives on this page
    }
  }

  // ---- small DOM helpers ---------------------------------------------------------------------

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function icon(name) {
    return $(`icon-${name}`).content.firstElementChild.cloneNode(true);
  }

  function srOnly(text) {
    return el("span", "visually-hidden", text);
  }

  function plural(n, word) {
    return `${n.toLocaleString()} ${word}${n === 1 ? "" : "s"}`;
  }

  // ---- rendering turns -----------------------------------------------------------------------

  function renderTurn(turn) {
    if (turn.type === "question") return renderQuestion(turn.text);
    if (turn.type === "error") return renderError(turn);
    return turn.data.answer && turn.data.answer.trim() ? renderAnswer(turn.data) : renderNotFound(turn.data);
  }

  function renderQuestion(text) {
    const article = el("article", "turn turn-user");
    const bubble = el("div", "bubble");
    bubble.append(srOnly("You asked: "), el("p", "question-text", text));
    article.append(bubble);
    return article;
  }

  function botTurn(kind, iconName) {
    const article = el("article", `turn turn-bot turn-${kind}`);
    const avatar = el("div", "avatar");
    avatar.append(icon(iconName));
    const bubble = el("div", "bubble");
    article.append(avatar, bubble);
    return { article, bubble };
  }

  function renderAnswer(data) {
    const { article, bubble } = botTurn("answer", "bot");
    bubble.append(srOnly("Answer: "), el("p", "answer-text", data.answer), confidence(data.score));
    bubble.append(sourceFigure(data, true));
    const alternatives = Array.isArray(data.alternatives) ? data.alternatives.filter(isAnswer) : [];
    if (alternatives.length) bubble.append(alternativesList(alternatives));
    return article;
  }

  function renderNotFound(data) {
    const { article, bubble } = botTurn("not-found", "not-found");
    bubble.append(
      el("p", "reply-title", "Not in the document"),
      el("p", "reply-text", "The documents I have don't answer this. Try rephrasing, or ask about something they cover."),
    );
    if (data.context) {
      const details = el("details", "closest");
      details.append(el("summary", null, "Show the closest passage"), sourceFigure(data, false));
      const guess = Array.isArray(data.alternatives) ? data.alternatives.find(isAnswer) : null;
      if (guess && guess.answer) {
        const note = el("p", "rejected-guess");
        note.append(
          document.createTextNode("My best guess was "),
          el("q", null, guess.answer),
          document.createTextNode(` (${percent(guess.score)} sure), too unsure to give as an answer.`),
        );
        details.append(note);
      }
      bubble.append(details);
    }
    return article;
  }

  function renderError(turn) {
    const { article, bubble } = botTurn("error", "error");
    bubble.append(srOnly("Error: "), el("p", "reply-title", turn.title), el("p", "reply-text", turn.message));
    const actions = el("div", "turn-actions");
    if (turn.retryable) {
      const retry = el("button", "button button-small");
      retry.type = "button";
      retry.append(icon("retry"), el("span", null, "Try again"));
      retry.addEventListener("click", () => retryQuestion(turn, article));
      actions.append(retry);
    } else if (turn.question) {
      const edit = el("button", "button button-small", "Edit question");
      edit.type = "button";
      edit.addEventListener("click", () => editQuestion(turn.question));
      actions.append(edit);
    }
    if (actions.childElementCount) bubble.append(actions);
    return article;
  }

  function renderTyping() {
    const { article, bubble } = botTurn("typing", "bot");
    const dots = el("div", "typing-dots");
    dots.setAttribute("aria-hidden", "true");
    dots.append(el("span"), el("span"), el("span"));
    bubble.append(dots, srOnly("Looking for the answer…"));
    return article;
  }

  function percent(score) {
    const p = Math.round(Math.max(0, Math.min(1, score)) * 100);
    return p < 1 ? "under 1%" : `${p}%`;
  }

  function confidence(score) {
    const level = score >= 0.7 ? "high" : score >= 0.4 ? "medium" : "low";
    const box = el("div", `confidence confidence-${level}`);
    const bar = el("span", "confidence-bar");
    bar.setAttribute("aria-hidden", "true");
    const fill = el("span", "confidence-fill");
    fill.style.width = `${Math.max(4, Math.round(Math.max(0, Math.min(1, score)) * 100))}%`;
    bar.append(fill);
    const label = `${level[0].toUpperCase()}${level.slice(1)} confidence`;
    box.append(bar, el("span", "confidence-label", `${label} · ${percent(score)}`));
    return box;
  }

  // The passage an answer is quoted from; with `highlight`, only the paragraph holding the answer until expanded.
  function sourceFigure(data, highlight) {
    const figure = el("figure", "source");
    const caption = el("figcaption", "source-meta");
    appendSourceName(caption, data.source);
    const start = highlight ? data.answer_start : 0;
    const end = highlight ? data.answer_end : 0;
    const { quote, hidden } = passageQuote(data.context, start, end, highlight);
    figure.append(caption, quote);
    if (hidden) {
      figure.classList.add("is-collapsed");
      const toggle = el("button", "link-button", "Show full passage");
      toggle.type = "button";
      toggle.setAttribute("aria-expanded", "false");
      toggle.addEventListener("click", () => {
        const collapsed = figure.classList.toggle("is-collapsed");
        toggle.setAttribute("aria-expanded", String(!collapsed));
        toggle.textContent = collapsed ? "Show full passage" : "Show less";
      });
      caption.append(toggle);
    }
    return figure;
  }

  function appendSourceName(parent, source) {
    const where = source && typeof source === "object" ? source : {};
    parent.append(icon("document"), el("span", "source-document", String(where.document || "Document")));
    if (Number.isInteger(where.passage)) parent.append(el("span", "source-passage", `Passage ${where.passage + 1}`));
  }

  function passageQuote(text, start, end, focus) {
    const quote = el("blockquote", "passage");
    const s = clampOffset(start, text);
    const e = clampOffset(end, text);
    let hidden = 0;
    for (const [from, to] of paragraphs(text)) {
      const paragraph = el("p", "passage-paragraph");
      appendHighlighted(paragraph, text.slice(from, to), s - from, e - from);
      if (focus && e > s && !(s < to && e > from)) {
        paragraph.classList.add("passage-more");
        hidden += 1;
      }
      quote.append(paragraph);
    }
    return { quote, hidden };
  }

  // [start, end) of each paragraph; paragraphs are separated by blank lines.
  function paragraphs(text) {
    const spans = [];
    const gap = /\n\s*\n/g;
    let from = 0;
    for (let match = gap.exec(text); match; match = gap.exec(text)) {
      spans.push([from, match.index]);
      from = match.index + match[0].length;
    }
    spans.push([from, text.length]);
    return spans.filter(([a, b]) => b > a);
  }

  function appendHighlighted(parent, text, start, end) {
    const s = clampOffset(start, text);
    const e = clampOffset(end, text);
    if (e <= s) {
      parent.append(document.createTextNode(text));
      return;
    }
    parent.append(document.createTextNode(text.slice(0, s)), el("mark", null, text.slice(s, e)));
    parent.append(document.createTextNode(text.slice(e)));
  }

  function clampOffset(offset, text) {
    return Number.isInteger(offset) ? Math.max(0, Math.min(text.length, offset)) : 0;
  }

  function alternativesList(alternatives) {
    const details = el("details", "alternatives");
    details.append(el("summary", null, `${plural(alternatives.length, "other possible answer")}`));
    const list = el("ol", "alternative-list");
    for (const alt of alternatives) {
      const item = el("li", "alternative");
      const head = el("div", "alternative-head");
      head.append(el("span", "alternative-answer", alt.answer || "(no answer)"), confidence(alt.score));
      const excerpt = el("p", "alternative-excerpt");
      appendExcerpt(excerpt, alt);
      const where = el("p", "source-meta");
      appendSourceName(where, alt.source);
      item.append(head, excerpt, where);
      list.append(item);
    }
    details.append(list);
    return details;
  }

  // A window of the passage around the answer, cut at word boundaries.
  function appendExcerpt(parent, alt) {
    const text = alt.context;
    const s = clampOffset(alt.answer_start, text);
    const e = Math.max(s, clampOffset(alt.answer_end, text));
    let from = Math.max(0, s - 90);
    let to = Math.min(text.length, e + 90);
    if (from > 0) from = text.indexOf(" ", from) + 1 || from;
    if (to < text.length) to = text.lastIndexOf(" ", to) > e ? text.lastIndexOf(" ", to) : to;
    const excerpt = text.slice(from, to);
    parent.append(document.createTextNode(from > 0 ? "…" : ""));
    appendHighlighted(parent, excerpt, s - from, e - from);
    parent.append(document.createTextNode(to < text.length ? "…" : ""));
  }

  // ---- conversation --------------------------------------------------------------------------

  function showWelcome() {
    ui.welcome.hidden = history.length > 0;
  }

  function scrollToNewest(node, instant) {
    const view = ui.conversation;
    const behavior = instant || reducedMotion.matches ? "auto" : "smooth";
    // A long reply is shown from its start; a short one brings the view to the bottom.
    const tall = node && node.offsetHeight > view.clientHeight - 48;
    view.scrollTo({ top: tall ? node.offsetTop - 16 : view.scrollHeight, behavior });
  }

  function addTurn(turn) {
    history.push(turn);
    saveHistory();
    const node = renderTurn(turn);
    ui.turns.append(node);
    showWelcome();
    scrollToNewest(node, false);
    return node;
  }

  function renderHistory() {
    // Turns brought back from storage are there at once; only new turns rise into view.
    const nodes = history.map(renderTurn);
    for (const node of nodes) node.classList.add("turn-restored");
    ui.turns.replaceChildren(...nodes);
    showWelcome();
    requestAnimationFrame(() => scrollToNewest(ui.turns.lastElementChild, true));
  }

  function setPending(on) {
    ui.input.disabled = on;
    ui.conversation.classList.toggle("is-waiting", on);
    for (const button of ui.exampleList.querySelectorAll("button")) button.disabled = on;
    updateComposer();
  }

  async function ask(question, { retry = false } = {}) {
    if (pending || !question) return;
    const returnFocus = document.activeElement === ui.input || document.activeElement === ui.send;
    if (!retry) addTurn({ type: "question", text: question });
    const controller = new AbortController();
    const myChat = chat;
    pending = { controller };
    setPending(true);
    const typing = renderTyping();
    ui.turns.append(typing);
    scrollToNewest(typing, false);

    let reply;
    try {
      reply = { type: "answer", data: await postQuestion(question, controller) };
    } catch (error) {
      reply = errorTurn(question, error);
    }
    if (myChat !== chat) return; // "New chat" was pressed while waiting
    typing.remove();
    pending = null;
    setPending(false);
    addTurn(reply);
    if (!documentsKnown && reply.type === "answer") loadDocuments();
    // Back to the question box, except on touch screens where that would pop up the keyboard unasked.
    if (returnFocus || (document.activeElement === document.body && !touchScreen.matches)) ui.input.focus();
  }

  class AskError extends Error {
    constructor(kind, message, status = 0) {
      super(message);
      this.kind = kind;
      this.status = status;
    }
  }

  async function postQuestion(question, controller) {
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, ASK_TIMEOUT_MS);
    try {
      let response;
      let body = null;
      try {
        response = await fetch("/ask", {
          method: "POST",
          headers: { "Content-Type": "application/json", Accept: "application/json" },
          body: JSON.stringify({ question }),
          signal: controller.signal,
        });
        body = await response.json().catch(() => null);
      } catch {
        throw new AskError(timedOut ? "timeout" : "network", "");
      }
      if (!response.ok) {
        const detail = body && typeof body.detail === "string" ? body.detail : "";
        throw new AskError("http", detail, response.status);
      }
      if (!isAnswer(body)) throw new AskError("bad-response", "");
      return body;
    } finally {
      clearTimeout(timer);
    }
  }

  function errorTurn(question, error) {
    const turn = { type: "error", question, retryable: true };
    const kind = error instanceof AskError ? error.kind : "bad-response";
    const status = error.status || 0;
    if (kind === "network") {
      turn.title = "Can't reach the server";
      turn.message = "Check your connection, then try again. Your conversation is kept.";
    } else if (kind === "timeout") {
      turn.title = "No answer in time";
      turn.message = `The server did not answer within ${ASK_TIMEOUT_MS / 1000} seconds. Try again in a moment.`;
    } else if (kind === "http" && status === 503) {
      turn.title = "The assistant is unavailable right now";
      turn.message = error.message || "Try again in a few seconds.";
    } else if (kind === "http" && status >= 500) {
      turn.title = "Something went wrong on the server";
      turn.message = error.message || `The server answered with error ${status}. Try again in a moment.`;
    } else if (kind === "http") {
      turn.title = "I couldn't take that question";
      turn.message = error.message || `The server refused it (error ${status}).`;
      turn.retryable = status === 408 || status === 429;
    } else {
      turn.title = "Unexpected reply";
      turn.message = "The server's reply was not an answer I can show. Try again in a moment.";
    }
    return turn;
  }

  function retryQuestion(turn, node) {
    if (pending) return;
    history = history.filter((t) => t !== turn);
    saveHistory();
    node.remove();
    ask(turn.question, { retry: true });
  }

  function editQuestion(question) {
    ui.input.value = question;
    updateComposer();
    ui.input.focus();
  }

  function newChat() {
    chat += 1;
    if (pending) pending.controller.abort();
    pending = null;
    history = [];
    saveHistory();
    ui.turns.replaceChildren();
    setPending(false);
    showWelcome();
    ui.conversation.scrollTo({ top: 0 });
    ui.input.focus();
  }

  // A question left without a reply (the page was closed while waiting) gets an error turn to retry.
  function closeUnansweredQuestion() {
    const last = history[history.length - 1];
    if (last && last.type === "question") {
      history.push({
        type: "error",
        question: last.text,
        retryable: true,
        title: "No answer arrived",
        message: "The page was closed or reloaded while waiting for this answer.",
      });
      saveHistory();
    }
  }

  // ---- what the bot knows --------------------------------------------------------------------

  function setStatus(state, text) {
    ui.status.dataset.state = state;
    ui.statusText.textContent = text;
  }

  async function loadDocuments(attempt = 0) {
    clearTimeout(documentsRetry);
    const retryIn = (seconds) => {
      documentsRetry = setTimeout(() => loadDocuments(attempt + 1), seconds * 1000);
    };
    let response;
    try {
      response = await fetch("/documents", { headers: { Accept: "application/json" } });
    } catch {
      setStatus("offline", "Offline · retrying");
      if (!documentsKnown) ui.intro.textContent = "I can't reach the server right now. I'll keep trying.";
      retryIn(Math.min(30, 2 ** Math.min(attempt, 5)));
      return;
    }
    const body = await response.json().catch(() => null);
    if (response.ok && body && Array.isArray(body.documents)) {
      documentsKnown = true;
      showDocuments(body);
      return;
    }
    if (response.status === 503 && (await startFailed())) return;
    setStatus("loading", "Starting up…");
    ui.intro.textContent = "I'm still reading the documents. This takes a few seconds.";
    retryIn(Number(response.headers.get("Retry-After")) || 2);
  }

  // True (and says so) when the service gave up loading its models; waiting would not help.
  async function startFailed() {
    try {
      const health = await (await fetch("/health", { headers: { Accept: "application/json" } })).json();
      if (health && health.status === "error") {
        setStatus("error", "Unavailable");
        ui.intro.textContent = `The assistant could not start: ${health.detail || "unknown error"}`;
        return true;
      }
    } catch {
      // fall through: treat it as still loading
    }
    return false;
  }

  function showDocuments(info) {
    const docs = info.documents.filter((d) => d && typeof d.id === "string");
    setStatus("ready", docs.length ? `Ready · ${plural(docs.length, "document")}` : "No documents");
    ui.intro.replaceChildren(...introText(docs));
    const examples = Array.isArray(info.examples) ? info.examples.filter((q) => typeof q === "string") : [];
    ui.exampleList.replaceChildren(...examples.slice(0, MAX_EXAMPLES).map(exampleButton));
    ui.examples.hidden = examples.length === 0;
  }

  function introText(docs) {
    if (!docs.length) return [document.createTextNode("No documents are indexed yet, so I can't answer anything.")];
    const shown = docs.slice(0, 3);
    const nodes = [document.createTextNode(docs.length === 1 ? "I answer questions from " : `I answer questions from ${docs.length} documents: `)];
    shown.forEach((doc, i) => {
      if (i > 0) nodes.push(document.createTextNode(i === shown.length - 1 && docs.length <= 3 ? " and " : ", "));
      nodes.push(el("strong", "doc-name", doc.id));
      const date = formatDate(doc.date);
      if (date) nodes.push(document.createTextNode(` (${date})`));
    });
    if (docs.length > 3) nodes.push(document.createTextNode(` and ${docs.length - 3} more`));
    const quoting = docs.length === 1 ? " and quote the passage every answer comes from." : ". Every answer quotes its passage.";
    nodes.push(document.createTextNode(quoting));
    return nodes;
  }

  function formatDate(value) {
    if (typeof value !== "string" || !/^\d{4}-\d{2}-\d{2}$/.test(value)) return "";
    const date = new Date(`${value}T00:00:00Z`);
    return Number.isNaN(date.getTime()) ? "" : date.toLocaleDateString(undefined, { dateStyle: "medium", timeZone: "UTC" });
  }

  function exampleButton(question) {
    const item = el("li");
    const button = el("button", "example", question);
    button.type = "button";
    button.disabled = !!pending;
    button.addEventListener("click", () => ask(question));
    item.append(button);
    return item;
  }

  // ---- composer ------------------------------------------------------------------------------

  function updateComposer() {
    const length = ui.input.value.length;
    ui.send.disabled = !!pending || ui.input.value.trim() === "";
    const near = length > MAX_QUESTION_CHARS * 0.8;
    ui.charCount.textContent = near ? `${length.toLocaleString()} / ${MAX_QUESTION_CHARS.toLocaleString()}` : "";
    ui.charCount.classList.toggle("over", length > MAX_QUESTION_CHARS);
    // Grow with the text up to a limit; an empty box stays one line whatever the placeholder's length.
    ui.input.style.height = "auto";
    if (ui.input.value) ui.input.style.height = `${Math.min(ui.input.scrollHeight, MAX_INPUT_HEIGHT)}px`;
    ui.input.classList.toggle("is-scrolling", ui.input.scrollHeight > MAX_INPUT_HEIGHT);
  }

  function submit(event) {
    if (event) event.preventDefault();
    const question = ui.input.value.trim();
    if (!question || pending) return;
    ui.input.value = "";
    updateComposer();
    ask(question);
  }

  ui.form.addEventListener("submit", submit);
  ui.input.addEventListener("input", updateComposer);
  ui.input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) submit(event);
  });
  ui.newChat.addEventListener("click", newChat);

  closeUnansweredQuestion();
  renderHistory();
  updateComposer();
  loadDocuments();
})();
