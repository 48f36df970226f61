"""The word lists and labels behind the unanswerable questions of `training.unanswerable`: which entity labels are
swapped, the words that tell a name's kind, the spellings of one place, and the role, relation and direction words
with their counterparts."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass

DATE_LABELS = frozenset({"DATE", "TIME"})
NUMBER_LABELS = frozenset({"CARDINAL", "QUANTITY", "MONEY", "PERCENT"})
# Left out: ORDINAL, as a numbered list in the paragraph may still answer "the second ..."; NORP, as nationalities
# and faiths overlap (Byzantine artists were Greek, Armenians are Christians) and a read sample found them answerable.
NAME_LABELS = frozenset({"PERSON", "ORG", "GPE", "LOC", "EVENT", "WORK_OF_ART", "FAC", "PRODUCT", "LAW", "LANGUAGE"})
SWAPPABLE_LABELS = DATE_LABELS | NUMBER_LABELS | NAME_LABELS
PLACE_LABELS = frozenset({"GPE", "LOC", "FAC"})
# A token of these kinds after an entity means the entity modifies a noun ("the Tencent app").
PHRASE_GOES_ON = frozenset({"NOUN", "PROPN", "ADJ", "NUM"})
NAME_CONNECTORS = frozenset(
    {"of", "the", "and", "&", "for", "in", "on", "at", "de", "du", "des", "la", "le", "von", "van", "der", "da", "di"}
)
# Words a sentence opens with when it goes on about something the sentence before it named.
REFERRING_WORDS = frozenset(
    {"it", "its", "he", "his", "him", "she", "her", "they", "their", "them", "this", "these", "those", "such"}
)
# A place named with one of these is a part of another ("Jianye District" of Nanjing): no swap for a whole place.
SUBDIVISION_WORDS = frozenset(
    {"district", "county", "province", "prefecture", "borough", "ward", "township", "parish", "municipality", "region"}
)
WH_WORDS = frozenset({"what", "which", "who", "whom", "whose", "when", "where", "why", "how"})
MONTHS = frozenset(m.lower() for m in (*calendar.month_name[1:], *calendar.month_abbr[1:], "Sept"))
# fmt: off
NUMBER_WORDS = frozenset({
    "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve", "twenty",
    "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety", "hundred", "thousand", "million", "billion",
    "trillion", "dozen",
})
# fmt: on
# Words that say what kind of thing a name names: spaCy's small model labels "Ho Chi Minh City" a person now and then.
# fmt: off
ORG_WORDS = frozenset({
    "university", "college", "school", "foundation", "committee", "council", "bureau", "department", "party",
    "association", "society", "company", "corporation", "inc", "ltd", "group", "agency", "ministry", "institute",
    "organization", "organisation", "union", "league", "club", "army", "navy", "court", "church", "bank",
    "commission", "office", "board", "alliance", "museum", "embassy", "government", "news", "times", "post",
})
PLACE_WORDS = frozenset({
    "city", "county", "province", "district", "state", "street", "square", "town", "village", "island", "river",
    "mountain", "mount", "lake", "bay", "sea", "ocean", "valley", "airport", "station", "park", "bridge", "road",
    "avenue", "wharf", "palace", "temple", "tower", "hall", "stadium", "region", "fault", "ruins",
})
# fmt: on
# The kind words a name of each label must not hold.
WRONG_KIND_WORDS = {
    "PERSON": ORG_WORDS | PLACE_WORDS,
    "GPE": ORG_WORDS - {"state"},
    "LOC": ORG_WORDS,
    "ORG": PLACE_WORDS - {"hall", "palace", "temple", "museum", "state"},
}
# Names that spell one place several ways: swapping one for another would keep the question answerable.
ALIASES = (
    frozenset({"us", "u s", "usa", "u s a", "united states", "united states of america", "america", "states"}),
    frozenset({"uk", "u k", "britain", "great britain", "united kingdom", "england"}),
    frozenset({"ussr", "soviet union", "russia", "soviets"}),
    frozenset({"un", "u n", "united nations"}),
    frozenset({"eu", "e u", "european union", "europe"}),
)
YEAR = re.compile(r"^(1[0-9]{3}|20[0-9]{2})$")
YEAR_IN_TEXT = re.compile(r"\b(1[0-9]{3}|20[0-9]{2})\b")
INTEGER = re.compile(r"^\d{1,3}(,\d{3})+$|^\d+$")
TOKEN = re.compile(r"\w+|[^\w\s]")


@dataclass(frozen=True)
class RoleWord:
    """A role, relation or direction word and the words it may become (the tags it must carry in the question)."""

    replacements: tuple[str, ...]
    tags: frozenset[str]


_NOUN = frozenset({"NN", "NNS"})
_DIRECTION = frozenset({"JJ", "NN", "RB"})
_SUPERLATIVE = frozenset({"JJS"})
ROLE_WORDS: dict[str, RoleWord] = {
    "largest": RoleWord(("smallest",), _SUPERLATIVE),
    "biggest": RoleWord(("smallest",), _SUPERLATIVE),
    "smallest": RoleWord(("largest",), _SUPERLATIVE),
    "highest": RoleWord(("lowest",), _SUPERLATIVE),
    "lowest": RoleWord(("highest",), _SUPERLATIVE),
    "longest": RoleWord(("shortest",), _SUPERLATIVE),
    "shortest": RoleWord(("longest",), _SUPERLATIVE),
    "oldest": RoleWord(("newest",), _SUPERLATIVE),
    "earliest": RoleWord(("latest",), _SUPERLATIVE),
    "north": RoleWord(("south",), _DIRECTION),
    "south": RoleWord(("north",), _DIRECTION),
    "east": RoleWord(("west",), _DIRECTION),
    "west": RoleWord(("east",), _DIRECTION),
    "northern": RoleWord(("southern",), _DIRECTION),
    "southern": RoleWord(("northern",), _DIRECTION),
    "eastern": RoleWord(("western",), _DIRECTION),
    "western": RoleWord(("eastern",), _DIRECTION),
    "father": RoleWord(("mother",), _NOUN),
    "mother": RoleWord(("father",), _NOUN),
    "son": RoleWord(("daughter",), _NOUN),
    "daughter": RoleWord(("son",), _NOUN),
    "brother": RoleWord(("sister",), _NOUN),
    "sister": RoleWord(("brother",), _NOUN),
    "husband": RoleWord(("wife",), _NOUN),
    "wife": RoleWord(("husband",), _NOUN),
    "founder": RoleWord(("CEO", "chairman"), _NOUN),
    "ceo": RoleWord(("founder", "chairman"), _NOUN | {"NNP"}),
    "chairman": RoleWord(("founder", "CEO"), _NOUN),
    "maximum": RoleWord(("minimum",), frozenset({"JJ", "NN"})),
    "minimum": RoleWord(("maximum",), frozenset({"JJ", "NN"})),
    "first": RoleWord(("last",), frozenset({"JJ"})),
    "most": RoleWord(("least",), frozenset({"RBS"})),  # only in "the most ...", see role_swaps
}
# A replacement word is only safe when the paragraph says none of these (it might answer the new question).
ROLE_FORBIDDEN: dict[str, tuple[str, ...]] = {
    "ceo": ("ceo", "chief executive", "executive"),
    "chairman": ("chairman", "chair", "chairwoman", "chairperson"),
    "founder": ("founder", "founders", "founded", "co founder", "cofounder", "established"),
    "last": ("last", "final", "latest", "most recent"),
    "latest": ("latest", "last", "most recent"),
    "newest": ("newest", "latest", "youngest", "most recent"),
    "mother": ("mother", "mothers", "mom", "parents"),
    "father": ("father", "fathers", "dad", "parents"),
    "son": ("son", "sons", "children", "child"),
    "daughter": ("daughter", "daughters", "children", "child"),
    "wife": ("wife", "wives", "married", "spouse"),
    "husband": ("husband", "husbands", "married", "spouse"),
    "sister": ("sister", "sisters", "siblings"),
    "brother": ("brother", "brothers", "siblings"),
    "least": ("least", "fewest"),
}
