"""The chat page end to end: the real service, a real headless Chromium, what a user sees."""

from __future__ import annotations

import json
import urllib.request

import pytest
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.keys import Keys

from tests.browser.conftest import DESKTOP, PHONE, ChatPage, Server

pytestmark = pytest.mark.slow  # needs the shipped reader

XSS = "<img src=x onerror=alert(1)>"


def _reply_kind(reply) -> str:
    classes = reply.get_attribute("class").split()
    return next(c.removeprefix("turn-") for c in classes if c in {"turn-answer", "turn-not-found", "turn-error"})


def check_highlighted_answer(chat: ChatPage, question: str, expected: str) -> None:
    reply = chat.ask(question)
    assert _reply_kind(reply) == "answer", f"expected an answer, got: {reply.text}"
    marks = [m.text for m in chat.find_all(".turn-answer .source .passage mark")]
    assert any(expected in m for m in marks), f"{expected} not highlighted; highlighted: {marks}"
    assert expected in chat.find(".turn-answer .answer-text").text
    assert "tencent-uk-partnership-2018.txt" in chat.find(".turn-answer .source-document").text
    assert "confidence" in chat.find(".turn-answer .confidence").text.lower()


def test_answer_is_highlighted_in_its_passage(chat: ChatPage) -> None:
    check_highlighted_answer(chat, "How many views did Blue Planet II get?", "220 million")


# The shipped 6-layer reader answers "BBC" (withheld 2026-12-06 19:40-21:40 UTC, "UK" before): it does not
# follow that "the Shenzhen-based company" is Tencent (issue 9, distillation from a bigger teacher). strict: this
# fails as soon as the reader gets it right.
@pytest.mark.xfail(strict=True, reason="reader coreference limit, issue 9")
def test_where_is_tencent_based_highlights_shenzhen(chat: ChatPage) -> None:
    check_highlighted_answer(chat, "Where is Tencent based?", "Shenzhen")


def test_question_the_document_does_not_answer_gets_not_found_reply(chat: ChatPage) -> None:
    reply = chat.ask("What is the capital of France?")

    assert _reply_kind(reply) == "not-found", f"expected 'not in the document', got: {reply.text}"
    assert "Not in the document" in reply.text
    assert not chat.find_all(".turn-not-found .answer-text")


def test_markup_in_a_question_is_shown_as_text_and_never_run(chat: ChatPage) -> None:
    question = f"What about {XSS}?"
    chat.ask(question)

    assert chat.questions() == [question]
    assert not chat.find_all("#turns img"), "the question's markup became an element"
    with pytest.raises(NoAlertPresentException):
        chat.driver.switch_to.alert  # noqa: B018
    assert chat.console_errors() == []  # a blocked inline handler or style would show here


def test_reload_keeps_the_conversation_and_new_chat_clears_it(chat: ChatPage) -> None:
    chat.ask("Who is Lau Seng Yee?")
    before = chat.turn_texts()

    chat.driver.refresh()
    chat.wait_ready()
    assert chat.turn_texts() == before
    assert not chat.find("#welcome").is_displayed()
    restored_animations = chat.driver.execute_script(
        "return [...document.querySelectorAll('#turns > .turn')].map(t => getComputedStyle(t).animationName)"
    )
    assert restored_animations == ["none", "none"], "restored turns should be there at once, not rise into view"

    chat.find("#new-chat").click()
    assert chat.turn_texts() == []
    assert chat.find("#welcome").is_displayed()
    chat.driver.refresh()
    chat.wait_ready()
    assert chat.turn_texts() == []


def test_enter_sends_shift_enter_adds_a_line_and_input_waits(chat: ChatPage) -> None:
    chat.type("Which British institutions")
    chat.find("#question").send_keys(Keys.SHIFT, Keys.ENTER)
    chat.type("will Tencent work with?")
    assert chat.find("#question").get_attribute("value") == "Which British institutions\nwill Tencent work with?"
    assert chat.turn_texts() == []

    # a slow network keeps the question in flight long enough to see the page wait
    chat.driver.execute_cdp_cmd(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 1500, "downloadThroughput": -1, "uploadThroughput": -1},
    )
    try:
        chat.find("#question").send_keys(Keys.ENTER)
        chat.wait(lambda: chat.find_all(".turn-typing"), timeout=5, message="no typing indicator")
        assert not chat.find("#question").is_enabled()
        chat.wait_reply(0)
    finally:
        chat.driver.execute_cdp_cmd(
            "Network.emulateNetworkConditions",
            {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
        )
    assert chat.questions() == ["Which British institutions\nwill Tencent work with?"]
    assert chat.find("#question").is_enabled()
    assert chat.driver.switch_to.active_element == chat.find("#question")


def test_network_down_shows_an_error_turn_and_retry_recovers(chat: ChatPage) -> None:
    chat.ask("Who is Lau Seng Yee?")
    chat.driver.execute_cdp_cmd("Network.setBlockedURLs", {"urls": ["*/ask"]})

    reply = chat.ask("How many views did Blue Planet II get?")
    assert _reply_kind(reply) == "error"
    assert "Can't reach the server" in reply.text
    assert len(chat.questions()) == 2, "the conversation was lost"

    chat.driver.execute_cdp_cmd("Network.setBlockedURLs", {"urls": []})
    reply.find_element("css selector", "button").click()
    chat.wait(lambda: not chat.find_all(".turn-error"), message="the error turn stayed after retrying")
    chat.wait_reply(1)
    assert len(chat.questions()) == 2
    assert _reply_kind(chat.replies()[-1]) in {"answer", "not-found"}


def test_question_too_long_shows_the_servers_message(chat: ChatPage) -> None:
    chat.driver.execute_script(
        "const box = document.getElementById('question');"
        "box.value = 'x'.repeat(1001); box.dispatchEvent(new Event('input'));"
    )
    assert "1,001 / 1,000" in chat.find("#char-count").text
    chat.find("#question").send_keys(Keys.ENTER)
    reply = chat.wait_reply(0)

    assert _reply_kind(reply) == "error"
    assert "at most 1000 characters" in reply.text
    reply.find_element("css selector", "button").click()  # "Edit question" puts it back
    assert len(chat.find("#question").get_attribute("value")) == 1001


def test_server_failure_shows_in_the_chat(chat: ChatPage, broken_server: Server) -> None:
    chat.open(broken_server.url)
    chat.wait(lambda: chat.find("#status").get_attribute("data-state") == "error", message="no failure status")
    assert "could not start" in chat.find("#welcome-intro").text

    reply = chat.ask("Where is Tencent based?")
    assert _reply_kind(reply) == "error"
    assert "not ready" in reply.text
    assert chat.find_all(".turn-error button"), "no way to try again"


def test_examples_are_offered_and_clicking_one_asks_it(chat: ChatPage, server: Server) -> None:
    with urllib.request.urlopen(server.url + "documents") as response:
        examples = json.load(response)["examples"][:4]
    chat.wait_ready()
    buttons = chat.find_all("#example-list button")

    assert 3 <= len(buttons) <= 4
    assert [b.text for b in buttons] == examples
    assert "tencent-uk-partnership-2018.txt" in chat.find("#welcome-intro").text
    buttons[1].click()
    chat.wait_reply(0)
    assert chat.questions() == [examples[1]]


def test_keyboard_alone_can_ask_an_example(chat: ChatPage) -> None:
    chat.wait_ready()
    keyboard = ActionChains(chat.driver)
    for _ in range(8):
        keyboard.send_keys(Keys.TAB).perform()
        focused = chat.driver.switch_to.active_element
        if "example" in (focused.get_attribute("class") or "").split():
            break
    else:
        pytest.fail("Tab never reached an example question")
    assert focused.value_of_css_property("outline-style") != "none", "no visible focus"
    question = focused.text
    keyboard.send_keys(Keys.ENTER).perform()
    chat.wait_reply(0)
    assert chat.questions() == [question]


def test_layout_at_desktop_and_phone_width(chat: ChatPage) -> None:
    chat.wait_ready()
    chat.screenshot("welcome-desktop")
    chat.ask("Where is Tencent based?")
    chat.ask("What is the capital of France?")
    chat.screenshot("chat-desktop")

    chat.viewport(PHONE)
    chat.ask("How many views did Blue Planet II get?")
    chat.wait(chat.newest_turn_in_view, timeout=5, message="the newest turn was not scrolled into view")

    for dark in (False, True):
        chat.viewport(PHONE, dark=dark)
        overflow = chat.driver.execute_script("return document.documentElement.scrollWidth")
        assert overflow <= PHONE[0], f"page is {overflow} px wide at phone width"
        chat.screenshot("chat-phone-dark" if dark else "chat-phone")
    chat.viewport(DESKTOP, dark=True)
    chat.screenshot("chat-desktop-dark")
