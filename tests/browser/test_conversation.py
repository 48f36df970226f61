"""Topics and scope in Chromium: the earlier turns go with a follow-up as `history`, "Read as" shows how it was
read, "New topic" and another document scope start afresh, and the examples follow the document asked about.
The server is the canned one (tests/browser/canned.py), whose double records what the page sent."""

from __future__ import annotations

import json
import urllib.request

from selenium.webdriver.support.ui import Select

from qa.answer import Turn
from tests.browser.canned import ROVER, ROVER_EXAMPLES, SEED, CannedServer
from tests.browser.conftest import DESKTOP, PHONE, ChatPage


def examples(chat: ChatPage) -> list[str]:
    return [b.text for b in chat.find_all("#example-list button")] if chat.find("#examples").is_displayed() else []


def dividers(chat: ChatPage) -> list[str]:
    chat.wait(chat.settled, timeout=5)  # a divider fading in has no text yet for Selenium
    return [d.text for d in chat.find_all("#turns .turn-topic")]


def test_a_follow_up_sends_the_earlier_turns_and_shows_how_it_was_read(
    canned_chat: ChatPage, canned_server: CannedServer
) -> None:
    chat, asked = canned_chat, canned_server.answerer.asked
    chat.ask("Where is Tencent based?")
    chat.ask("What is the capital of France?")  # the canned reader abstains on France
    chat.ask("What is it famous for?")

    assert [a.history for a in asked] == [
        (),
        (Turn("Where is Tencent based?", "Shenzhen"),),
        (Turn("Where is Tencent based?", "Shenzhen"), Turn("What is the capital of France?", None)),
    ]
    read_as = chat.find_all("#turns .turn-user .read-as")
    assert [r.text for r in read_as] == ["Read as: What is Shenzhen famous for?"]
    assert chat.find("#turns .turn-user:nth-last-child(2) .read-as") == read_as[0], "not under the follow-up"

    chat.driver.refresh()
    chat.wait_ready()
    assert [r.text for r in chat.find_all("#turns .read-as")] == ["Read as: What is Shenzhen famous for?"]
    assert chat.console_errors() == []


def test_new_topic_clears_the_history_and_says_so(canned_chat: ChatPage, canned_server: CannedServer) -> None:
    chat, asked = canned_chat, canned_server.answerer.asked
    chat.wait_ready()
    assert not chat.find("#new-topic").is_enabled(), "nothing to start afresh from"
    chat.ask("Where is Tencent based?")

    chat.find("#new-topic").click()
    assert dividers(chat) == ["New topic"]
    assert not chat.find("#new-topic").is_enabled()
    assert chat.driver.switch_to.active_element == chat.find("#question")
    chat.ask("What is it famous for?")

    assert asked[-1].history == ()
    assert not chat.find_all("#turns .read-as")
    assert len(chat.questions()) == 2, "the earlier turns stay on screen"

    chat.driver.refresh()  # the divider is kept, and the history stays cut there
    chat.wait_ready()
    assert dividers(chat) == ["New topic"]
    chat.ask("And what else?")
    assert asked[-1].history == (Turn("What is it famous for?", "Shenzhen"),)


def test_the_scope_is_sent_and_the_examples_follow_it(canned_chat: ChatPage, canned_server: CannedServer) -> None:
    chat, asked = canned_chat, canned_server.answerer.asked
    chat.wait_ready()
    scope = Select(chat.find("#scope"))
    assert [o.text for o in scope.options] == ["All documents", ROVER, SEED.name]
    with urllib.request.urlopen(canned_server.url + "documents") as response:
        assert examples(chat) == json.load(response)["examples"][:4]  # of all documents

    scope.select_by_visible_text(ROVER)
    assert examples(chat) == ROVER_EXAMPLES
    assert chat.find("#question").get_attribute("placeholder") == f"Ask about {ROVER}…"
    chat.find("#example-list button").click()
    chat.wait_reply(0)
    assert asked[-1].documents == (ROVER,) and asked[-1].question == ROVER_EXAMPLES[0]

    scope.select_by_visible_text(SEED.name)  # another scope is another topic
    assert dividers(chat) == [f"New topic · {SEED.name}"]
    chat.ask("What is it famous for?")
    assert asked[-1].documents == (SEED.name,) and asked[-1].history == ()

    scope.select_by_visible_text("All documents")
    chat.ask("Who is Lau Seng Yee?")
    assert asked[-1].documents is None
    assert dividers(chat)[-1] == "New topic · all documents"
    chat.driver.refresh()
    chat.wait_ready()
    assert Select(chat.find("#scope")).first_selected_option.text == "All documents"


def test_a_document_without_examples_offers_none(canned_chat: ChatPage, canned_server: CannedServer) -> None:
    chat = canned_chat
    chat.wait_ready()
    chat.driver.execute_script(
        "return fetch('/documents', {method: 'POST', headers: {'Content-Type': 'application/json'},"
        "  body: JSON.stringify({name: 'memo.txt', text: 'The memo says the launch moved to May.'})})"
    )
    chat.driver.refresh()
    chat.wait_ready()
    Select(chat.find("#scope")).select_by_value("memo.txt")
    assert examples(chat) == []
    assert chat.find("#welcome").is_displayed()


def test_conversation_layout_at_desktop_and_phone_width(canned_chat: ChatPage) -> None:
    chat = canned_chat
    chat.ask("Where is Tencent based?")
    chat.ask("What is it famous for?")
    chat.find("#new-topic").click()
    chat.ask("What is the capital of France?")
    chat.screenshot("topics-desktop")

    for dark in (False, True):
        chat.viewport(PHONE, dark=dark)
        overflow = chat.driver.execute_script("return document.documentElement.scrollWidth")
        assert overflow <= PHONE[0], f"page is {overflow} px wide at phone width"
        chat.screenshot("topics-phone-dark" if dark else "topics-phone")
    chat.viewport(DESKTOP, dark=True)
    chat.screenshot("topics-desktop-dark")
