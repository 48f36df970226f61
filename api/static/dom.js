// Small helpers shared by the chat (app.js) and the documents panel (documents.js).
// Every string from the user, the documents or the API goes into the page as a text node, never as HTML.

export const $ = (id) => document.getElementById(id);

export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

// A copy of the SVG in <template id="icon-NAME">.
export function icon(name) {
  return $(`icon-${name}`).content.firstElementChild.cloneNode(true);
}

export function srOnly(text) {
  return el("span", "visually-hidden", text);
}

export function plural(n, word) {
  return `${n.toLocaleString()} ${word}${n === 1 ? "" : "s"}`;
}

// A server message such as "'a.pdf' is named .pdf but its content is plain text" as a sentence to show.
export function sentence(text) {
  const trimmed = String(text || "").trim();
  if (!trimmed) return "";
  const capital = trimmed[0].toUpperCase() + trimmed.slice(1);
  return /[.!?…]$/.test(capital) ? capital : `${capital}.`;
}

// A document's date line (YYYY-MM-DD) as the reader's locale writes it; "" for anything else.
export function formatDate(value) {
  if (typeof value !== "string" || !/^\d{4}-\d{2}-\d{2}$/.test(value)) return "";
  const date = new Date(`${value}T00:00:00Z`);
  return Number.isNaN(date.getTime()) ? "" : date.toLocaleDateString(undefined, { dateStyle: "medium", timeZone: "UTC" });
}

// When a document was added (ISO 8601): "today, 16:30", "yesterday, 09:05" or "7 Dec 2026", in the reader's locale.
export function formatAdded(value) {
  const date = new Date(typeof value === "string" ? value : NaN);
  if (Number.isNaN(date.getTime())) return "";
  const time = date.toLocaleTimeString(undefined, { timeStyle: "short" });
  const days = Math.round((startOfDay(new Date()) - startOfDay(date)) / 86400000);
  if (days === 0) return `today, ${time}`;
  if (days === 1) return `yesterday, ${time}`;
  return date.toLocaleDateString(undefined, { dateStyle: "medium" });
}

function startOfDay(date) {
  return new Date(date.getFullYear(), date.getMonth(), date.getDate()).getTime();
}

export function wait(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
