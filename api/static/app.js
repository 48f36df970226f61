// The chat page: asks POST /ask, shows answers with their quoted passage, keeps the conversation in localStorage.
// A conversation is cut into topics: the turns of the current topic go with each question as `history`, so a
// follow-up ("What did he say?") can refer back; "New topic" or another document scope starts a new one.
// Every string from the user, the documents or the API goes into the page as a text node, never as HTML.
import { $, el, formatDate, icon, plural, srOnly } from "./dom.js";
import { createLibrary } from "./documents.js";

const STORAGE_KEY = "docqa.conversation.v1";
const SCOPE_KEY = "docqa.scope.v1";
const ASK_TIMEOUT_MS = 20000;
const MAX_QUESTION_CHARS = 1000; // the server's default limit; the server still has the last word
const MAX_HISTORY_TURNS = 10; // the most earlier turns POST /ask takes
const MAX_STORED_TURNS = 200;
const MAX_EXAMPLES = 4;
const MAX_INPUT_HEIGHT = 200; // px, as in style.css
const ALL = ""; // the scope value for all documents

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
  newTopic: $("new-topic"),
  scope: $("scope"),
  status: $("status"),
  statusText: $("status-text"),
  charCount: $("char-count"),
};
const reducedMotion = window.matchMedia("(prefers-reduced-motion: reduce)");
const touchScreen = window.matchMedia("(pointer: coarse)");

let turns = loadTurns(); // everything shown: questions, replies, errors and topic dividers
const nodes = new WeakMap(); // turn -> its element, to add "Read as" to a question once the reply says so
let pending = null; // {controller} while a question is on its way
let chat = 0; // bumped by "New chat" so a late reply to the old conversation is dropped
let info = null; // the last GET /documents
let scope = loadScope(); // ALL or the id of the one document asked
let documentsRetry = 0; // timer of the next GET /documents while the service is not ready
const library = createLibrary({ refresh: () => loadDocuments() });

// ---- storage ---------------------------------------------------------------------------------

function loadTurns() {
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
  if (turn.type === "topic") return typeof turn.text === "string";
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

function saveTurns() {
  turns = turns.slice(-MAX_STORED_TURNS);
  try {
    localStorage.setItem(STORAGE_KEY, JSON.stringify(turns));
  } catch {
    // storage full or disabled: the conversation still lives on this page
  }
}

function loadScope() {
  try {
    return localStorage.getItem(SCOPE_KEY) || ALL;
  } catch {
    return ALL;
  }
}

function saveScope() {
  try {
    localStorage.setItem(SCOPE_KEY, scope);
  } catch {
    // as above
  }
}

// ---- rendering turns -------------------------------------------------------------------------

function renderTurn(turn) {
  if (turn.type === "question") return renderQuestion(turn);
  if (turn.type === "error") return renderError(turn);
  if (turn.type === "topic") return renderTopic(turn);
  return turn.data.answer && turn.data.answer.trim() ? renderAnswer(turn.data) : renderNotFound(turn.data);
}

function renderQuestion(turn) {
  const article = el("article", "turn turn-user");
  const bubble = el("div", "bubble");
  bubble.append(srOnly("You asked: "), el("p", "question-text", turn.text));
  article.append(bubble);
  if (turn.readAs) article.append(readAs(turn.readAs));
  return article;
}

// The standalone question the server actually answered, when it read a follow-up against the earlier turns.
function readAs(question) {
  const line = el("p", "read-as");
  line.append(icon("read-as"), el("span", "read-as-label", "Read as:"), " ", el("span", "read-as-text", question));
  return line;
}

function renderTopic(turn) {
  const divider = el("div", "turn turn-topic");
  divider.append(el("p", "topic-label", turn.text));
  return divider;
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
  const alternatives = Array.isArray(data.alternatives) ? data.alternatives.filter(isAnswer) : [];
  const runnerUp = alternatives.length ? alternatives[0].score : undefined;
  bubble.append(srOnly("Answer: "), el("p", "answer-text", data.answer), confidence(data.score, runnerUp));
  bubble.append(sourceFigure(data, true));
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

// `score` is the calibrated probability that the answer is right (of answers scored 0.8, about 8 in 10 are right),
// so the labels are cut on it directly; an answer barely ahead of the next one is shown as uncertain whatever its
// score, since the two could as well have swapped.
const NEAR_TIE = 0.1;

function confidence(score, runnerUp) {
  const tied = typeof runnerUp === "number" && score - runnerUp < NEAR_TIE;
  const level = tied ? "uncertain" : score >= 0.8 ? "high" : score >= 0.5 ? "medium" : "low";
  const box = el("div", `confidence confidence-${level}`);
  const bar = el("span", "confidence-bar");
  bar.setAttribute("aria-hidden", "true");
  const fill = el("span", "confidence-fill");
  fill.style.width = `${Math.max(4, Math.round(Math.max(0, Math.min(1, score)) * 100))}%`;
  bar.append(fill);
  const label = tied ? "Uncertain: another answer scores almost as high" : `${level[0].toUpperCase()}${level.slice(1)} confidence`;
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
  // Passages count from 1, as the API gives them; 0 means no passage.
  if (Number.isInteger(where.passage) && where.passage > 0) {
    parent.append(el("span", "source-passage", `Passage ${where.passage}`));
  }
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

// ---- conversation ----------------------------------------------------------------------------

function showWelcome() {
  ui.welcome.hidden = turns.length > 0;
}

function scrollToNewest(node, instant) {
  const view = ui.conversation;
  const behavior = instant || reducedMotion.matches ? "auto" : "smooth";
  // A long reply is shown from its start; a short one brings the view to the bottom.
  const tall = node && node.offsetHeight > view.clientHeight - 48;
  view.scrollTo({ top: tall ? node.offsetTop - 16 : view.scrollHeight, behavior });
}

function addTurn(turn) {
  turns.push(turn);
  saveTurns();
  const node = renderTurn(turn);
  nodes.set(turn, node);
  ui.turns.append(node);
  showWelcome();
  updateTopicButton();
  scrollToNewest(node, false);
  return node;
}

function renderTurns() {
  // Turns brought back from storage are there at once; only new turns rise into view.
  const rendered = turns.map((turn) => {
    const node = renderTurn(turn);
    nodes.set(turn, node);
    node.classList.add("turn-restored");
    return node;
  });
  ui.turns.replaceChildren(...rendered);
  showWelcome();
  updateTopicButton();
  requestAnimationFrame(() => scrollToNewest(ui.turns.lastElementChild, true));
}

// The turns since the last topic divider.
function topicTurns() {
  const start = turns.map((t) => t.type).lastIndexOf("topic") + 1;
  return turns.slice(start);
}

// What POST /ask takes as `history`: the answered questions of this topic, oldest first, each with the
// answer given (null when the documents did not say); a question whose reply was an error is left out.
function askedHistory() {
  const pairs = [];
  let question = null;
  for (const turn of topicTurns()) {
    if (turn.type === "question") {
      question = turn.text;
    } else if (turn.type === "answer" && question !== null) {
      const answer = turn.data.answer && turn.data.answer.trim() ? turn.data.answer.slice(0, MAX_QUESTION_CHARS) : null;
      pairs.push({ question, answer });
      question = null;
    } else {
      question = null;
    }
  }
  return pairs.slice(-MAX_HISTORY_TURNS);
}

// Ends the current topic with a divider, unless it has no turns yet.
function newTopic(text) {
  if (!topicTurns().length || pending) return;
  addTurn({ type: "topic", text });
}

function updateTopicButton() {
  ui.newTopic.disabled = !!pending || topicTurns().length === 0;
}

function setPending(on) {
  ui.input.disabled = on;
  ui.scope.disabled = on;
  ui.conversation.classList.toggle("is-waiting", on);
  for (const button of ui.exampleList.querySelectorAll("button")) button.disabled = on;
  updateComposer();
  updateTopicButton();
}

async function ask(question, { retry = false } = {}) {
  if (pending || !question) return;
  const returnFocus = document.activeElement === ui.input || document.activeElement === ui.send;
  const history = askedHistory();
  if (!retry) addTurn({ type: "question", text: question });
  const questionTurn = turns.findLast((t) => t.type === "question");
  const controller = new AbortController();
  const myChat = chat;
  pending = { controller };
  setPending(true);
  const typing = renderTyping();
  ui.turns.append(typing);
  scrollToNewest(typing, false);

  let reply;
  try {
    reply = { type: "answer", data: await postQuestion({ question, history, controller }) };
  } catch (error) {
    reply = errorTurn(question, error);
  }
  if (myChat !== chat) return; // "New chat" was pressed while waiting
  typing.remove();
  pending = null;
  setPending(false);
  if (reply.type === "answer") showReadAs(questionTurn, reply.data.interpreted_question);
  addTurn(reply);
  if (!info && reply.type === "answer") loadDocuments();
  // Back to the question box, except on touch screens where that would pop up the keyboard unasked.
  if (returnFocus || (document.activeElement === document.body && !touchScreen.matches)) ui.input.focus();
}

function showReadAs(questionTurn, interpreted) {
  if (!questionTurn || typeof interpreted !== "string") return;
  const reading = interpreted.trim();
  if (!reading || reading === questionTurn.text.trim() || reading === questionTurn.readAs) return;
  questionTurn.readAs = reading;
  const node = nodes.get(questionTurn);
  if (node) {
    node.querySelector(".read-as")?.remove();
    node.append(readAs(reading));
  }
}

class AskError extends Error {
  constructor(kind, message, status = 0) {
    super(message);
    this.kind = kind;
    this.status = status;
  }
}

async function postQuestion({ question, history, controller }) {
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, ASK_TIMEOUT_MS);
  const body = { question };
  if (scope !== ALL) body.documents = [scope];
  if (history.length) body.history = history;
  try {
    let response;
    let reply = null;
    try {
      response = await fetch("/ask", {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify(body),
        signal: controller.signal,
      });
      reply = await response.json().catch(() => null);
    } catch {
      throw new AskError(timedOut ? "timeout" : "network", "");
    }
    if (!response.ok) {
      const detail = reply && typeof reply.detail === "string" ? reply.detail : "";
      throw new AskError("http", detail, response.status);
    }
    if (!isAnswer(reply)) throw new AskError("bad-response", "");
    return reply;
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
  turns = turns.filter((t) => t !== turn);
  saveTurns();
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
  turns = [];
  saveTurns();
  ui.turns.replaceChildren();
  setPending(false);
  showWelcome();
  ui.conversation.scrollTo({ top: 0 });
  ui.input.focus();
}

// A question left without a reply (the page was closed while waiting) gets an error turn to retry.
function closeUnansweredQuestion() {
  const last = turns[turns.length - 1];
  if (last && last.type === "question") {
    turns.push({
      type: "error",
      question: last.text,
      retryable: true,
      title: "No answer arrived",
      message: "The page was closed or reloaded while waiting for this answer.",
    });
    saveTurns();
  }
}

// ---- what the bot knows ----------------------------------------------------------------------

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
    if (!info) ui.intro.textContent = "I can't reach the server right now. I'll keep trying.";
    retryIn(Math.min(30, 2 ** Math.min(attempt, 5)));
    return;
  }
  const body = await response.json().catch(() => null);
  if (response.ok && body && Array.isArray(body.documents)) {
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

function indexedDocuments() {
  const docs = info ? info.documents : [];
  return docs.filter((d) => d && typeof d.id === "string" && d.status === "indexed");
}

function showDocuments(body) {
  info = body;
  const docs = indexedDocuments();
  setStatus("ready", docs.length ? `Ready · ${plural(docs.length, "document")}` : "No documents");
  ui.intro.replaceChildren(...introText(docs, body.writes));
  showScopes(docs);
  showExamples();
  library.show(body);
}

function introText(docs, writes) {
  if (!docs.length) {
    const canAdd = writes === "open" || writes === "token";
    const text = canAdd
      ? "No documents yet. Drop a file on this page, or add one under Documents, and ask me about it."
      : "No documents are indexed yet, so I can't answer anything.";
    return [document.createTextNode(text)];
  }
  const shown = docs.slice(0, 3);
  const parts = [document.createTextNode(docs.length === 1 ? "I answer questions from " : `I answer questions from ${docs.length} documents: `)];
  shown.forEach((doc, i) => {
    if (i > 0) parts.push(document.createTextNode(i === shown.length - 1 && docs.length <= 3 ? " and " : ", "));
    parts.push(el("strong", "doc-name", doc.id));
    const date = formatDate(doc.date);
    if (date) parts.push(document.createTextNode(` (${date})`));
  });
  if (docs.length > 3) parts.push(document.createTextNode(` and ${docs.length - 3} more`));
  const quoting = docs.length === 1 ? " and quote the passage every answer comes from." : ". Every answer quotes its passage.";
  parts.push(document.createTextNode(quoting));
  return parts;
}

// ---- scope: all documents or one ------------------------------------------------------------

function showScopes(docs) {
  const options = [new Option("All documents", ALL)];
  for (const doc of docs) options.push(new Option(doc.name || doc.id, doc.id));
  ui.scope.replaceChildren(...options);
  // The document asked about is gone (removed, or failed when re-sent): back to all documents.
  if (scope !== ALL && !docs.some((d) => d.id === scope)) changeScope(ALL);
  ui.scope.value = scope;
  ui.input.placeholder = scope === ALL ? "Ask about the documents…" : `Ask about ${scopeName()}…`;
}

function scopeName() {
  const doc = indexedDocuments().find((d) => d.id === scope);
  return doc ? doc.name || doc.id : "all documents";
}

function changeScope(value) {
  if (value === scope) return;
  scope = value;
  saveScope();
  newTopic(scope === ALL ? "New topic · all documents" : `New topic · ${scopeName()}`);
  ui.input.placeholder = scope === ALL ? "Ask about the documents…" : `Ask about ${scopeName()}…`;
  showExamples();
}

// The example questions of the document asked about, or of all documents; none for a document without any.
function showExamples() {
  if (!info) return;
  const doc = indexedDocuments().find((d) => d.id === scope);
  const source = scope === ALL ? info.examples : doc && doc.examples;
  const examples = Array.isArray(source) ? source.filter((q) => typeof q === "string") : [];
  ui.exampleList.replaceChildren(...examples.slice(0, MAX_EXAMPLES).map(exampleButton));
  ui.examples.hidden = examples.length === 0;
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

// ---- composer --------------------------------------------------------------------------------

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
ui.newTopic.addEventListener("click", () => {
  newTopic("New topic");
  ui.input.focus();
});
ui.scope.addEventListener("change", () => changeScope(ui.scope.value));

closeUnansweredQuestion();
renderTurns();
updateComposer();
loadDocuments();
