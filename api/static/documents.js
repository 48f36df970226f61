// The documents panel: lists the documents, adds files (picked, or dropped anywhere on the page) with their
// progress, and removes documents after a confirmation. Hidden when the server takes no writes from this client.
import { $, el, formatAdded, icon, plural, sentence, wait } from "./dom.js";

const SUFFIXES = [".txt", ".md", ".html", ".htm", ".pdf", ".docx"];
const MAX_UPLOAD_MB = 20; // the server's default QA_MAX_UPLOAD_MB; the server still has the last word
const TOKEN_KEY = "docqa.token"; // sessionStorage: kept for this tab only
const POLL_MS = [400, 800, 1000, 1500, 2000]; // between GET /documents/{id} while a large upload is indexed
const TOAST_MS = 6000;

export function createLibrary({ refresh }) {
  const ui = {
    open: $("open-library"),
    count: $("library-count"),
    dialog: $("library"),
    close: $("library-close"),
    tokenForm: $("token-form"),
    token: $("token"),
    tokenState: $("token-state"),
    dropzone: $("dropzone"),
    add: $("add-document"),
    fileInput: $("file-input"),
    uploads: $("uploads"),
    message: $("library-message"),
    list: $("doc-list"),
    empty: $("doc-list-empty"),
    confirm: $("confirm-remove"),
    confirmTitle: $("confirm-title"),
    confirmText: $("confirm-text"),
    overlay: $("drop-overlay"),
    toast: $("toast"),
  };
  let writes = "closed";
  let known = [];
  const queue = []; // uploads waiting their turn: the server writes one document at a time anyway
  let sending = false;
  let dragDepth = 0;
  let toastTimer = 0;
  let indexingRefresh = 0;

  // ---- the list ------------------------------------------------------------------------------

  function show(info) {
    writes = ["open", "token"].includes(info.writes) ? info.writes : "closed";
    known = info.documents.filter((d) => d && typeof d.id === "string");
    ui.open.hidden = writes === "closed";
    if (writes === "closed" && ui.dialog.open) ui.dialog.close();
    ui.tokenForm.hidden = writes !== "token";
    ui.count.textContent = known.length ? String(known.length) : "";
    // The list is drawn anew; a remove button that had the focus keeps it.
    const focused = ui.list.contains(document.activeElement) ? document.activeElement.closest(".doc") : null;
    ui.list.replaceChildren(...known.map(documentRow));
    if (focused) ui.list.querySelector(`.doc[data-id="${CSS.escape(focused.dataset.id)}"] .doc-remove`)?.focus();
    ui.empty.hidden = known.length > 0;
    // A document still indexing (uploaded from another tab, or before a reload) is shown until it is done.
    clearTimeout(indexingRefresh);
    if (known.some((d) => d.status === "indexing")) indexingRefresh = setTimeout(refresh, 2000);
  }

  function documentRow(doc) {
    const row = el("li", `doc doc-${doc.status}`);
    row.dataset.id = doc.id;
    const badge = el("span", "doc-icon");
    badge.append(icon("document"));
    const main = el("div", "doc-main");
    const meta = el("p", "doc-meta");
    if (doc.status === "indexing") meta.append(el("span", "doc-status", "Indexing…"), " · ");
    meta.append(documentMeta(doc));
    main.append(el("p", "doc-name", doc.name || doc.id), meta);
    if (doc.status === "failed") main.append(el("p", "doc-reason", `Failed: ${sentence(doc.reason || "unknown reason")}`));
    const remove = el("button", "icon-button doc-remove");
    remove.type = "button";
    remove.setAttribute("aria-label", `Remove ${doc.name || doc.id}`);
    remove.title = "Remove";
    remove.append(icon("trash"));
    remove.addEventListener("click", () => confirmRemoval(doc, remove));
    row.append(badge, main, remove);
    return row;
  }

  function documentMeta(doc) {
    const parts = [];
    if (doc.status === "indexed") parts.push(plural(Number(doc.passages) || 0, "passage"));
    const added = formatAdded(doc.added);
    if (added) parts.push(`added ${added}`);
    parts.push(doc.source === "upload" ? "uploaded" : "from the server's folder");
    return parts.join(" · ");
  }

  // ---- opening and closing -------------------------------------------------------------------

  function openPanel() {
    if (writes === "closed" || ui.dialog.open) return;
    ui.dialog.showModal();
    refresh();
  }

  ui.open.addEventListener("click", openPanel);
  ui.close.addEventListener("click", () => ui.dialog.close());
  // A click on the backdrop (the dialog itself, outside its content) closes it.
  ui.dialog.addEventListener("click", (event) => {
    if (event.target === ui.dialog) ui.dialog.close();
  });

  // ---- the token -----------------------------------------------------------------------------

  function savedToken() {
    try {
      return sessionStorage.getItem(TOKEN_KEY) || "";
    } catch {
      return "";
    }
  }

  function authorization() {
    const token = writes === "token" ? savedToken() : "";
    return token ? { Authorization: `Bearer ${token}` } : {};
  }

  function setTokenState(text, wrong = false) {
    ui.tokenState.textContent = text;
    ui.tokenState.classList.toggle("is-wrong", wrong);
    if (wrong) ui.token.setAttribute("aria-invalid", "true");
    else ui.token.removeAttribute("aria-invalid");
  }

  ui.token.value = savedToken();
  if (ui.token.value) setTokenState("Saved for this tab.");
  ui.tokenForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const token = ui.token.value.trim();
    try {
      if (token) sessionStorage.setItem(TOKEN_KEY, token);
      else sessionStorage.removeItem(TOKEN_KEY);
    } catch {
      // storage disabled: the token cannot be kept
    }
    setTokenState(token ? "Saved for this tab." : "No token saved.");
  });

  function tokenRefused() {
    setTokenState("The server refused this token. Check it and save it again.", true);
    return "The access token is wrong or missing: enter the right one above.";
  }

  function tokenMissing() {
    if (writes !== "token" || savedToken()) return "";
    setTokenState("Enter the access token first.", true);
    return "This server needs an access token to change documents: enter it above.";
  }

  // ---- adding files --------------------------------------------------------------------------

  ui.add.addEventListener("click", () => ui.fileInput.click());
  ui.fileInput.addEventListener("change", () => {
    addFiles(ui.fileInput.files);
    ui.fileInput.value = ""; // picking the same file again is a new upload
  });

  function addFiles(files) {
    if (writes === "closed" || !files || !files.length) return;
    if (!ui.dialog.open) openPanel();
    for (const file of files) {
      const item = uploadItem(file.name);
      const problem = tokenMissing() || precheck(file);
      if (problem) item.failed(problem);
      else queue.push({ file, item });
    }
    sendNext();
  }

  // What the server would refuse for sure, said at once; the server still checks everything.
  function precheck(file) {
    const dot = file.name.lastIndexOf(".");
    const suffix = dot > 0 ? file.name.slice(dot).toLowerCase() : "";
    if (!SUFFIXES.includes(suffix)) {
      return `This kind of file can't be added. Add a text (.txt, .md), web page (.html, .htm), PDF or Word (.docx) file.`;
    }
    if (file.size > MAX_UPLOAD_MB * 1024 * 1024) {
      return `It is ${(file.size / 1024 / 1024).toFixed(1)} MB; the limit is ${MAX_UPLOAD_MB} MB.`;
    }
    return "";
  }

  async function sendNext() {
    if (sending || !queue.length) return;
    sending = true;
    const { file, item } = queue.shift();
    item.start();
    const { status, body } = await post(file, item);
    await settle(status, body, item);
    sending = false;
    sendNext();
  }

  function post(file, item) {
    return new Promise((resolve) => {
      const xhr = new XMLHttpRequest();
      xhr.open("POST", "/documents");
      xhr.responseType = "json";
      xhr.setRequestHeader("Accept", "application/json");
      for (const [name, value] of Object.entries(authorization())) xhr.setRequestHeader(name, value);
      xhr.upload.addEventListener("progress", (event) => {
        if (event.lengthComputable) item.progress(event.loaded / event.total);
      });
      xhr.upload.addEventListener("load", () => item.reading());
      xhr.addEventListener("load", () => resolve({ status: xhr.status, body: xhr.response }));
      xhr.addEventListener("error", () => resolve({ status: 0, body: null }));
      xhr.addEventListener("abort", () => resolve({ status: 0, body: null }));
      const form = new FormData();
      form.append("file", file, file.name);
      xhr.send(form);
    });
  }

  async function settle(status, body, item) {
    if (status === 201 && isDocument(body)) {
      item.ready(body);
      await refresh();
    } else if (status === 202 && isDocument(body)) {
      item.indexing(body);
      await refresh();
      await follow(body.id, item);
      await refresh();
    } else {
      item.failed(uploadError(status, body));
    }
  }

  function isDocument(body) {
    return !!body && typeof body === "object" && typeof body.id === "string";
  }

  function uploadError(status, body) {
    const detail = body && typeof body.detail === "string" ? sentence(body.detail) : "";
    if (status === 0) return "Can't reach the server. Check your connection, then try again.";
    if (status === 401) return tokenRefused();
    if (status === 413) return detail || "The file is larger than the server accepts.";
    if (status === 503) return detail || "The assistant is not ready yet. Try again in a few seconds.";
    return detail || `The server refused it (error ${status}).`;
  }

  // Polls a large upload until it is indexed or has failed.
  async function follow(id, item) {
    for (let attempt = 0; ; attempt += 1) {
      await wait(POLL_MS[Math.min(attempt, POLL_MS.length - 1)]);
      let response;
      try {
        response = await fetch(`/documents/${encodeURIComponent(id)}`, { headers: { Accept: "application/json" } });
      } catch {
        continue; // offline for a moment: the server goes on indexing
      }
      if (response.status === 404) {
        item.failed("It was removed before it was ready.");
        return;
      }
      const doc = response.ok ? await response.json().catch(() => null) : null;
      if (!isDocument(doc) || doc.status === "indexing") continue;
      if (doc.status === "indexed") item.ready(doc);
      else item.failed(`Indexing failed: ${sentence(doc.reason || "unknown reason")}`);
      return;
    }
  }

  // One upload's card: name, what is happening, a progress bar while sending, and a close button when done.
  function uploadItem(name) {
    const card = el("li", "upload");
    const badge = el("span", "upload-icon");
    badge.append(icon("document"));
    const main = el("div", "upload-main");
    const title = el("p", "upload-name", name);
    const state = el("p", "upload-state", "Waiting…");
    const bar = el("progress", "upload-bar");
    bar.max = 100;
    bar.setAttribute("aria-label", `Upload of ${name}`);
    main.append(title, state, bar);
    const dismiss = el("button", "icon-button upload-dismiss");
    dismiss.type = "button";
    dismiss.setAttribute("aria-label", `Dismiss ${name}`);
    dismiss.title = "Dismiss";
    dismiss.hidden = true;
    dismiss.append(icon("close"));
    dismiss.addEventListener("click", () => {
      const next = card.nextElementSibling || card.previousElementSibling;
      card.remove();
      ((next && next.querySelector(".upload-dismiss:not([hidden])")) || ui.add).focus();
    });
    card.append(badge, main, dismiss);
    ui.uploads.prepend(card);

    const set = (phase, text) => {
      card.dataset.state = phase;
      state.textContent = text;
    };
    const done = (phase, text, news) => {
      set(phase, text);
      bar.hidden = true;
      dismiss.hidden = false;
      if (!ui.dialog.open) toast(news); // the panel was closed meanwhile: say it where the user is
    };
    return {
      start: () => set("sending", "Uploading…"),
      progress: (fraction) => {
        bar.value = Math.round(fraction * 100);
      },
      reading: () => {
        bar.removeAttribute("value"); // indeterminate: the server is reading and indexing it
        set("reading", "Reading and indexing…");
      },
      indexing: () => {
        bar.removeAttribute("value");
        set("indexing", "Indexing… it can be asked about once ready.");
      },
      ready: (doc) => {
        const passages = plural(Number(doc.passages) || 0, "passage");
        done("ready", `Ready: ${passages}.`, `${name} is ready: ${passages}.`);
      },
      failed: (text) => done("failed", text, `Couldn't add ${name}. ${text}`),
    };
  }

  function toast(text) {
    clearTimeout(toastTimer);
    ui.toast.textContent = text;
    ui.toast.hidden = false;
    toastTimer = setTimeout(() => {
      ui.toast.hidden = true;
    }, TOAST_MS);
  }

  // ---- dropping files anywhere ---------------------------------------------------------------

  const carriesFiles = (event) => !!event.dataTransfer && Array.from(event.dataTransfer.types).includes("Files");

  function setDragging(on) {
    const panel = ui.dialog.open;
    ui.dropzone.classList.toggle("is-dragging", on && panel);
    ui.overlay.hidden = !(on && !panel);
  }

  document.addEventListener("dragenter", (event) => {
    if (!carriesFiles(event)) return;
    event.preventDefault();
    dragDepth += 1;
    if (writes !== "closed") setDragging(true);
  });
  document.addEventListener("dragover", (event) => {
    if (!carriesFiles(event)) return;
    event.preventDefault(); // else the browser opens the file in place of the page
    event.dataTransfer.dropEffect = writes === "closed" ? "none" : "copy";
  });
  document.addEventListener("dragleave", (event) => {
    if (!carriesFiles(event)) return;
    dragDepth = Math.max(0, dragDepth - 1);
    if (!dragDepth) setDragging(false);
  });
  document.addEventListener("drop", (event) => {
    if (!carriesFiles(event)) return;
    event.preventDefault();
    dragDepth = 0;
    setDragging(false);
    addFiles(event.dataTransfer.files);
  });

  // ---- removing ------------------------------------------------------------------------------

  function confirmRemoval(doc, button) {
    const name = doc.name || doc.id;
    ui.confirmTitle.textContent = `Remove ${name}?`;
    ui.confirmText.textContent =
      doc.status === "indexed"
        ? `Its ${plural(Number(doc.passages) || 0, "passage")} will no longer be searched. This can't be undone.`
        : "It will no longer be listed. This can't be undone.";
    ui.confirm.returnValue = "";
    ui.confirm.addEventListener(
      "close",
      () => {
        if (ui.confirm.returnValue === "remove") remove(doc, button);
      },
      { once: true },
    );
    ui.confirm.showModal();
  }

  async function remove(doc, button) {
    const name = doc.name || doc.id;
    const position = known.findIndex((d) => d.id === doc.id);
    button.disabled = true;
    setMessage("");
    let response;
    try {
      response = await fetch(`/documents/${encodeURIComponent(doc.id)}`, {
        method: "DELETE",
        headers: { Accept: "application/json", ...authorization() },
      });
    } catch {
      button.disabled = false;
      setMessage(`Can't reach the server, so ${name} was not removed. Try again.`, true);
      return;
    }
    if (response.status === 204 || response.status === 404) {
      setMessage(`Removed ${name}.`);
    } else {
      const body = await response.json().catch(() => null);
      const detail = body && typeof body.detail === "string" ? sentence(body.detail) : "";
      const why = response.status === 401 ? tokenRefused() : detail || `The server refused (error ${response.status}).`;
      setMessage(`${name} was not removed. ${why}`, true);
    }
    await refresh();
    // Focus stays in the list: on the row that took the removed one's place, else on "Add a document".
    const buttons = ui.list.querySelectorAll(".doc-remove");
    (buttons[Math.min(position, buttons.length - 1)] || ui.add).focus();
  }

  function setMessage(text, problem = false) {
    ui.message.textContent = text;
    ui.message.classList.toggle("is-problem", problem);
  }

  return { show };
}
