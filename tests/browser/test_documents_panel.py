"""The documents panel in Chromium: adding files (picked or dropped), their progress and errors, removing with a
confirmation, and who may do it. The server is the canned one (tests/browser/canned.py): no model needed."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

from tests.browser.canned import BROKEN, SLOW, CannedServer
from tests.browser.conftest import DESKTOP, PHONE, TOKEN, ChatPage

NOTE = "The pilot programme starts in March in Leeds. It runs for six weeks and ends with a report."
UPLOAD_S = 15

# Files as a user drags them from the desktop; the page sees the same events and DataTransfer.
DRAG = """
const [names, texts, kinds] = arguments;
window.dropped = new DataTransfer();
names.forEach((name, i) => window.dropped.items.add(new File([texts[i]], name)));
const target = document.getElementById('conversation');
for (const kind of kinds) {
  target.dispatchEvent(new DragEvent(kind, {dataTransfer: window.dropped, bubbles: true, cancelable: true}));
}
"""


def open_panel(chat: ChatPage) -> None:
    chat.wait_ready()
    chat.find("#open-library").click()
    chat.wait(lambda: chat.find("#library").is_displayed() and chat.settled(), timeout=5, message="no panel")


def pick_file(chat: ChatPage, path: Path) -> None:
    """Choose a file as "Add a document" lets one (Selenium types the path into the file input)."""
    chat.find("#file-input").send_keys(str(path))


def drop_files(chat: ChatPage, files: dict[str, str]) -> None:
    chat.driver.execute_script(DRAG, list(files), list(files.values()), ["dragenter", "dragover"])
    assert chat.find("#drop-overlay").is_displayed(), "no drop zone while dragging"
    chat.driver.execute_script(DRAG, list(files), list(files.values()), ["drop"])
    assert not chat.find("#drop-overlay").is_displayed()


def upload_card(chat: ChatPage, name: str, done: bool = True, timeout: float = UPLOAD_S):
    """The upload's card in the panel, once it says ready or failed (with `done`)."""

    def card():
        newest = next((c for c in chat.find_all("#uploads .upload") if c.text.startswith(name + "\n")), None)
        finished = newest is not None and newest.get_attribute("data-state") in {"ready", "failed"}
        return newest if finished or not done else None

    return chat.wait(card, timeout=timeout, message=f"no finished upload card for {name}")


def listed(chat: ChatPage) -> list[str]:
    return chat.driver.execute_script(
        "return [...document.querySelectorAll('#doc-list .doc-name')].map(e => e.textContent)"
    )


def server_documents(server: CannedServer) -> dict[str, dict]:
    with urllib.request.urlopen(server.url + "documents") as response:
        return {d["id"]: d for d in json.load(response)["documents"]}


def upload_by_api(server: CannedServer, name: str, text: str) -> None:
    body = json.dumps({"name": name, "text": text}).encode()
    request = urllib.request.Request(server.url + "documents", body, {"Content-Type": "application/json"})
    urllib.request.urlopen(request).close()


def test_a_picked_text_file_becomes_ready_and_can_be_asked(canned_chat: ChatPage, tmp_path: Path) -> None:
    chat = canned_chat
    path = tmp_path / "pilot-plan.txt"
    path.write_text(NOTE)
    open_panel(chat)
    assert chat.find("#add-document").text == "Add a document"

    pick_file(chat, path)
    card = upload_card(chat, "pilot-plan.txt")
    assert card.get_attribute("data-state") == "ready"
    assert card.find_element("css selector", ".upload-state").text == "Ready: 1 passage."
    chat.wait(lambda: "pilot-plan.txt" in listed(chat), timeout=5, message="the list was not refreshed")
    row = chat.find('#doc-list .doc[data-id="pilot-plan.txt"]')
    assert "1 passage" in row.text and "added today" in row.text and "uploaded" in row.text
    assert chat.find("#library-count").text == "3"
    options = [o.text for o in chat.find_all("#scope option")]
    assert options[0] == "All documents" and "pilot-plan.txt" in options
    assert chat.console_errors() == []


def test_dropping_a_mislabelled_file_shows_the_servers_415_message(canned_chat: ChatPage) -> None:
    chat = canned_chat
    chat.wait_ready()
    drop_files(chat, {"report.pdf": NOTE})

    card = upload_card(chat, "report.pdf")  # dropping opens the panel where the upload shows
    assert card.get_attribute("data-state") == "failed"
    assert "'report.pdf' is named .pdf but its content is plain text" in card.text
    assert "report.pdf" not in listed(chat)


def test_files_the_server_would_refuse_are_refused_at_once(canned_chat: ChatPage, canned_server: CannedServer) -> None:
    chat = canned_chat
    open_panel(chat)
    chat.driver.execute_script(
        "const big = new File([new Uint8Array(21 * 1024 * 1024)], 'huge.txt');"
        "const data = new DataTransfer(); data.items.add(big); data.items.add(new File(['x'], 'sheet.xlsx'));"
        "document.getElementById('dropzone').dispatchEvent("
        "  new DragEvent('drop', {dataTransfer: data, bubbles: true, cancelable: true}));"
    )
    assert "the limit is 20 MB" in upload_card(chat, "huge.txt", timeout=2).text
    assert "can't be added" in upload_card(chat, "sheet.xlsx", timeout=2).text
    assert set(server_documents(canned_server)) == {"tencent-uk-partnership-2018.txt", "lunar-rover-2031.txt"}


def test_a_large_upload_shows_indexing_until_ready_or_failed(
    canned_chat: ChatPage, canned_server: CannedServer, tmp_path: Path
) -> None:
    chat = canned_chat
    paragraphs = [
        f"Paragraph {i} of the field report. " + "The survey team measured the river. " * 25 for i in range(5)
    ]
    large = tmp_path / "field-report.md"
    large.write_text(f"{SLOW}\n\n" + "\n\n".join(paragraphs))
    broken = tmp_path / "broken-report.md"
    broken.write_text(f"{BROKEN}\n\n" + "\n\n".join(paragraphs))
    open_panel(chat)

    pick_file(chat, large)
    card = upload_card(chat, "field-report.md", done=False)
    chat.wait(lambda: card.get_attribute("data-state") == "indexing", timeout=UPLOAD_S, message="no 202 shown")
    assert "Indexing…" in card.find_element("css selector", ".upload-state").text
    chat.screenshot("documents-indexing-desktop")
    chat.wait(lambda: "Indexing…" in chat.find('#doc-list .doc[data-id="field-report.md"]').text, timeout=5)
    card = upload_card(chat, "field-report.md")
    assert card.get_attribute("data-state") == "ready"
    assert card.find_element("css selector", ".upload-state").text.startswith("Ready: ")
    assert server_documents(canned_server)["field-report.md"]["status"] == "indexed"

    pick_file(chat, broken)
    card = upload_card(chat, "broken-report.md")
    assert card.get_attribute("data-state") == "failed"
    assert "Indexing failed: RuntimeError: the embedder ran out of memory" in card.text
    chat.wait(lambda: chat.find_all('#doc-list .doc-failed[data-id="broken-report.md"]'), timeout=5)
    assert "Failed: RuntimeError" in chat.find('#doc-list .doc[data-id="broken-report.md"]').text


def test_removing_asks_first_and_then_refreshes_the_list(canned_chat: ChatPage, canned_server: CannedServer) -> None:
    chat = canned_chat
    upload_by_api(canned_server, "old-notes.txt", NOTE)
    open_panel(chat)
    remove = chat.find('#doc-list .doc[data-id="old-notes.txt"] .doc-remove')
    assert remove.get_attribute("aria-label") == "Remove old-notes.txt"

    remove.click()
    dialog = chat.find("#confirm-remove")
    chat.wait(lambda: dialog.is_displayed() and chat.settled(), timeout=5, message="no confirmation")
    assert "Remove old-notes.txt?" in dialog.text
    assert chat.driver.switch_to.active_element.text == "Cancel", "the safe choice should have the focus"
    chat.driver.switch_to.active_element.click()
    assert not dialog.is_displayed()
    assert "old-notes.txt" in server_documents(canned_server)

    chat.find('#doc-list .doc[data-id="old-notes.txt"] .doc-remove').click()
    chat.find("#confirm-remove-button").click()
    chat.wait(lambda: "old-notes.txt" not in listed(chat), timeout=5, message="the list still shows it")
    assert "old-notes.txt" not in server_documents(canned_server)
    assert chat.find("#library-message").text == "Removed old-notes.txt."
    assert chat.find("#library").is_displayed(), "the panel closed with the confirmation"
    assert chat.driver.switch_to.active_element.get_attribute("class") == "icon-button doc-remove"
    assert chat.console_errors() == []  # the confirmation's form (method=dialog) passes the CSP


def test_nothing_to_change_documents_when_writes_are_closed(canned_chat: ChatPage, remote_server) -> None:
    chat = canned_chat
    chat.open(remote_server.url)
    chat.wait_ready()
    assert not chat.find("#open-library").is_displayed()
    chat.driver.execute_script(DRAG, ["notes.txt"], [NOTE], ["dragenter", "dragover", "drop"])
    assert not chat.find("#drop-overlay").is_displayed()
    assert not chat.find("#library").is_displayed()
    assert "Shenzhen" in chat.ask("Where is Tencent based?").text, "asking still works"


def test_a_token_server_takes_the_token_and_says_when_it_is_wrong(
    canned_chat: ChatPage, token_server: CannedServer, tmp_path: Path
) -> None:
    chat = canned_chat
    path = tmp_path / "memo.txt"
    path.write_text(NOTE)
    chat.open(token_server.url)
    open_panel(chat)
    assert chat.find("#token-form").is_displayed()

    chat.find("#token").send_keys("not-the-token\n")
    pick_file(chat, path)
    card = upload_card(chat, "memo.txt")
    assert "access token is wrong" in card.text
    assert chat.find("#token").get_attribute("aria-invalid") == "true"
    chat.screenshot("documents-token-desktop")

    chat.find("#token").clear()
    chat.find("#token").send_keys(TOKEN + "\n")
    assert chat.driver.execute_script("return sessionStorage.getItem('docqa.token')") == TOKEN
    pick_file(chat, path)
    chat.wait(lambda: len(chat.find_all("#uploads .upload")) == 2, timeout=5)
    assert upload_card(chat, "memo.txt").get_attribute("data-state") == "ready"
    assert "memo.txt" in server_documents(token_server)


def test_panel_layout_at_desktop_and_phone_width(canned_chat: ChatPage, canned_server: CannedServer) -> None:
    chat = canned_chat
    upload_by_api(canned_server, "quarterly-review-2031.md", NOTE)
    open_panel(chat)
    drop_on_panel = "document.getElementById('dropzone')"
    chat.driver.execute_script(
        f"const data = new DataTransfer(); data.items.add(new File(['x'], 'slides.pptx'));"
        f"{drop_on_panel}.dispatchEvent(new DragEvent('drop', {{dataTransfer: data, bubbles: true}}));"
    )
    upload_card(chat, "slides.pptx", timeout=2)
    chat.screenshot("documents-desktop")
    chat.find('#doc-list .doc[data-id="quarterly-review-2031.md"] .doc-remove').click()
    chat.wait(lambda: chat.find("#confirm-remove").is_displayed(), timeout=5, message="no confirmation")
    chat.screenshot("documents-confirm-desktop")
    chat.find("#confirm-remove button[value=cancel]").click()

    for dark in (False, True):
        chat.viewport(PHONE, dark=dark)
        overflow = chat.driver.execute_script("return document.documentElement.scrollWidth")
        assert overflow <= PHONE[0], f"page is {overflow} px wide at phone width"
        chat.screenshot("documents-phone-dark" if dark else "documents-phone")
    chat.viewport(DESKTOP, dark=True)
    chat.screenshot("documents-desktop-dark")
    chat.find("#library-close").click()
    chat.driver.execute_script(DRAG, ["notes.txt"], [NOTE], ["dragenter", "dragover"])
    chat.screenshot("drop-zone-desktop-dark")
    chat.driver.execute_script(DRAG, ["notes.txt"], [NOTE], ["dragleave"])
    assert not chat.find("#drop-overlay").is_displayed()
