"""Person names without a language model: US Census name lists plus context rules.

No English NER model can be installed from the registries here (spaCy's models are not on
PyPI), so names are found the way a careful human skims a review:

* after a title ("Mrs. Alvarez") or a relation ("my husband Robert", "our daughter, Ana"),
  or after words that introduce a name ("named", "my name is", "patient"), any capitalised
  word is a name;
* elsewhere, a capitalised word counts only if it is a first name in the 1990 US Census lists
  (shipped by the ``names`` package) or in Faker's locales, and not a common word that happens to
  be a name
  ("Will", "May", "Grace"); a following capitalised surname from the Census surname list
  joins it ("Maria Gonzalez");
* "Jake was my tech", "Thanks, Dana" and signature lines ("- Karen T.") are names too.

The practice's own staff are not PHI: every candidate whose words all belong to one configured
staff name or alias is dropped (``StaffAllowList``).  The lists load on first use (~0.3 s).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from common.phi.spans import PhiType, Span

# Words capitalised in reviews that are also in the Census first-name list, or that a name rule
# would otherwise take: never names on their own.
# First names that are also everyday words: a name only where the context says so ("my husband Mark").
_AMBIGUOUS = """
comfort dignity mercy patience faith hope charity justice
will may june april august march bill mark grant faith hope joy rose pat sue art dean frank gene guy jack
jean ray rich rob sandy dawn page major king young long golden iris ivy holly lily penny ruby amber crystal
honey star sky storm summer autumn winter robin chase chance cole dale christian precious sunny angel
mercy patience prince princess royal sterling sage sharon miles myles lane brook brooks wood woods hill
hills field fields green brown white black gray grey price cash case carter moore
"""
# Words that are never names, whatever the context.
_NON_NAMES = """
a an the i i'm i've i'd we they he she it you my our your his her their this that these those there here
what when where why how who which if so but and or not no yes ok okay also just very really too
christmas easter baby love lovely more best good great nice kind sweet clean fast quick easy
tech nurse doctor dr mr mrs ms miss staff team front desk office center centre clinic hospital imaging
radiology medical health care urgent open closed parking lot check call called thanks thank please
monday tuesday wednesday thursday friday saturday sunday january february july september october
november december mri ct pet scan xray x-ray ultrasound mammogram dexa biopsy google yelp healthgrades
facebook zocdoc bbb overall everyone everything nothing someone somebody anyone always never highly
would could should can cannot didn't don't won't wouldn't couldn't shouldn't wasn't weren't isn't
five four three two one stars star ten first last next after before during since until then now
north south east west northside southside downtown main street avenue road suite
reading lab labs service services billing insurance results report appointment appointments
portal resources relations advocate experience education forms information coordinator manager
access administration diagnostic diagnostics outreach department made
director administrator privacy safety officer liaison navigator representative quality compliance
"""
# Places that are also first names in some locale ("Florida", "Dallas", "India"): not names
# unless the context says so ("my daughter Georgia").  Towns are identifiers too, but the address
# recogniser takes them where a state follows.
_PLACES = """
alabama alaska arizona arkansas california colorado connecticut delaware florida georgia hawaii idaho
illinois indiana iowa kansas kentucky louisiana maine maryland massachusetts michigan minnesota
mississippi missouri montana nebraska nevada hampshire jersey mexico york carolina dakota ohio oklahoma
oregon pennsylvania rhode tennessee texas utah vermont virginia washington wisconsin wyoming
america american china india japan korea brazil canada israel ireland england france germany italy
spain russia berlin paris london boston dallas houston austin denver phoenix memphis cleveland richmond
columbia alexandria brooklyn bronx queens manhattan angeles francisco diego jose antonio orlando
charlotte madison jackson nashville atlanta miami tampa seattle portland savannah sydney metro orange
doc doctors jesus god lord christ salud
"""
NON_NAMES = frozenset(_NON_NAMES.split()) | frozenset(["in", "on", "at", "to", "of", "is"])
COMMON_WORDS = NON_NAMES | frozenset(_AMBIGUOUS.split()) | frozenset(_PLACES.split())
TITLES = r"(?:Mr|Mrs|Ms|Miss|Mx|Mister|Dr|Doctor|Nurse|Prof|Professor)"
RELATIONS = (
    r"(?:husband|wife|spouse|partner|son|daughter|child|kid|boy|girl|baby|mother|mom|mum|father|dad|"
    r"brother|sister|grandmother|grandma|granny|grandfather|grandpa|grandson|granddaughter|aunt|uncle|"
    r"niece|nephew|cousin|friend|neighbou?r|boyfriend|girlfriend|fianc[ée]e?|stepson|stepdaughter|"
    r"mother-in-law|father-in-law|sister-in-law|brother-in-law|patient|caregiver|roommate|coworker)"
)
_CAP = r"[A-Z][a-z]+(?:[-'][A-Z]?[a-z]+)?"  # "Anne-Marie", "O'Neil"
_INITIAL = r"[A-Z]\."
_NAME_TOKENS = rf"(?:{_CAP}|{_INITIAL})(?:\s+(?:{_CAP}|{_INITIAL}))*"

_AFTER_TITLE = re.compile(rf"\b{TITLES}\.?\s+({_CAP}(?:\s+{_CAP})?)")
_AFTER_RELATION = re.compile(
    rf"\b(?i:my|our|her|his|their|your|the)\s+(?:\w+\s+)?(?i:{RELATIONS}),?\s+({_CAP}(?:\s+(?:{_CAP}|{_INITIAL}))?)"
)
_AFTER_INTRO = re.compile(
    rf"\b(?i:named|name\s+is|name's|called|patient|pt\.?|signed|sincerely|regards|spoke\s+(?:to|with)|"
    rf"asked\s+for)[,:]?\s+({_CAP}(?:\s+(?:{_CAP}|{_INITIAL}))?)"
)
_WEAK_INTRO = re.compile(
    rf"\b(?i:thanks|thank\s+you|i\s+am|i'm|this\s+is|love|cheers|hi|hello|dear|with)[,:!]?\s+({_CAP}(?:\s+{_CAP})?)"
)
# A lone first name opening a sentence is a name only when a verb follows ("Grace was lovely", not
# "Grace under pressure").
_NAME_VERB = re.compile(
    r"(?:'s|’s|\s+(?:was|is|were|did|does|has|had|made|makes|helped|took|explained|called|told|said|and|kept|gave|"
    r"went|came|knew|answered|got|handled|greeted|checked|drew|walked|stayed|asked|needed|wanted|loved|hated|"
    r"felt|could|would|can|will|never|always|also|just|really|even)\b"
    # "Chidi at the front desk", "Rosa from billing"
    r"|,?\s+(?:at|from|in|on)\s+(?:the\s+)?(?:front|desk|billing|scheduling|check-?in|reception|registration|"
    r"intake|radiology|imaging|x-?ray|mri|ct|ultrasound|mammography|records|phones?)\b)"
)
_BEFORE_ROLE = re.compile(
    rf"\b({_CAP}(?:\s+{_CAP})?),?\s+(?:was|is|were)\s+(?:my|our|the|her|his)\s+"
    rf"(?:\w+\s+)?(?i:tech|technologist|nurse|sonographer|radiologist|receptionist|doctor|physician|"
    rf"{RELATIONS})\b"
)
_SIGNATURE = re.compile(rf"(?:^|\n)\s*(?:[-–—~]\s*)({_CAP}(?:\s+(?:{_CAP}|{_INITIAL}))?)\s*$")
_CANDIDATE = re.compile(rf"\b{_CAP}(?:\s+(?:{_CAP}|{_INITIAL}(?=\s|$)))*")
_STREET_AFTER = re.compile(
    # the full words in any case ("Linden street"); abbreviations and words with everyday meanings
    # ("way", "place", "square") only capitalised
    r"\s+(?:(?i:street|avenue|road|boulevard|lane|drive|parkway|highway)|St\.?|Ave\.?|Rd\.?|Blvd\.?|Ln\.?|Way|Court|"
    r"Ct\.?|Place|Pkwy\.?|Hwy\.?|Square|Plaza)\b"
)
_STREET_END = re.compile(
    r"\s(?:Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Court|Ct|Parkway|Pkwy|Highway|Hwy|Plaza)\.?$"
)
_TEAM_AFTER = re.compile(r"\s+(?i:team|department|dept\b|office|desk|unit|services|line|portal|staff)\b")
_HOLIDAY_BEFORE = re.compile(r"\b(?:Christmas|Year['’]?s)\s+$")
_SENTENCE_START = re.compile(r"(?:^|[.!?]\s+|\n\s*|[\"“(]\s*)$")


@dataclass(frozen=True)
class NameLists:
    first: frozenset[str]
    last: frozenset[str]


@lru_cache(maxsize=1)
def census_names() -> NameLists:
    """First names and surnames: the 1990 Census files in ``names`` plus Faker's locales.

    The 1990 Census knows 5,494 first names, mostly of the time's Anglo and Hispanic America;
    Faker's person providers add the SSA-based US list and some ninety locales (Indian, West
    African, Spanish, Vietnamese, Polish... names), about 16,000 first names in Latin letters.
    Names of two letters come only from the Census list ("Al", "Jo"), to spare abbreviations.
    """
    package = resources.files("names")

    def read(name: str) -> frozenset[str]:
        text = package.joinpath(name).read_text(encoding="ascii")
        return frozenset(line.split(maxsplit=1)[0].lower() for line in text.splitlines() if line.strip())

    return NameLists(
        first=read("dist.male.first") | read("dist.female.first") | _faker_first_names(),
        last=read("dist.all.last"),
    )


def _faker_first_names() -> frozenset[str]:
    import importlib
    import pkgutil

    import faker.providers.person as person

    found: set[str] = set()
    for module in pkgutil.iter_modules(person.__path__):
        try:
            provider = importlib.import_module(f"{person.__name__}.{module.name}").Provider
        except (ImportError, AttributeError):  # pragma: no cover - a locale without a person provider
            continue
        for attr in ("first_names", "first_names_male", "first_names_female", "first_names_nonbinary"):
            values = next((vars(k)[attr] for k in provider.__mro__ if attr in vars(k)), ())
            if isinstance(values, list | tuple | dict | set | frozenset):
                found.update(
                    v.lower() for v in values if isinstance(v, str) and v.isascii() and v.isalpha() and len(v) > 2
                )
    return frozenset(found)


def _words(name: str) -> frozenset[str]:
    return frozenset(w for w in re.findall(r"[a-z][a-z'-]*", name.lower()) if len(w) > 1 or "." not in w)


class StaffAllowList:
    """The practice's own people: a name found here is not a patient's and is never PHI."""

    def __init__(self, names: Iterable[str] = ()) -> None:
        self._entries = [w for w in (_words(n) for n in names) if w]

    def __contains__(self, candidate: str) -> bool:
        words = {w for w in _words(candidate) if len(w) > 1}
        return bool(words) and any(words <= entry for entry in self._entries)

    def __len__(self) -> int:
        return len(self._entries)


class NameRecogniser:
    """Finds person names; ``staff`` names are left alone."""

    def __init__(self, staff: StaffAllowList | None = None, lists: NameLists | None = None) -> None:
        self.staff = staff or StaffAllowList()
        self._lists = lists

    @property
    def lists(self) -> NameLists:
        if self._lists is None:
            self._lists = census_names()
        return self._lists

    def __call__(self, text: str) -> Iterator[Span]:
        for span in self._find(text):
            # "my husband Jake" is a relative even when a technologist is called Jake too.
            if _STREET_AFTER.match(text, span.end) or _STREET_END.search(text, span.start, span.end):
                continue  # "Linden Avenue", "Mercer Street", "Delmar Ave": a street, not a person
            if text[span.start : span.end] == "Eve" and _HOLIDAY_BEFORE.search(text, 0, span.start):
                continue  # "Christmas Eve", "New Year's Eve"
            if _TEAM_AFTER.match(text, span.end):
                continue  # "our Patient Accounts team", "the Harbor office": a department or a site
            if span.source == "names.relation" or text[span.start : span.end] not in self.staff:
                yield span

    def _find(self, text: str) -> Iterator[Span]:
        first, last = self.lists.first, self.lists.last
        for pattern, confidence, source in (
            (_AFTER_TITLE, 0.9, "names.title"),
            (_AFTER_RELATION, 0.9, "names.relation"),
            (_AFTER_INTRO, 0.85, "names.intro"),
            (_BEFORE_ROLE, 0.8, "names.role"),
            (_SIGNATURE, 0.8, "names.signature"),
        ):
            for m in pattern.finditer(text):
                span = self._trim(text, m.start(1), m.end(1), NON_NAMES)
                if span is not None:
                    yield Span(span[0], span[1], PhiType.NAME, confidence, source)
        for m in _WEAK_INTRO.finditer(text):
            token = m.group(1).split()[0].lower()
            if token in first and token not in COMMON_WORDS:
                span = self._trim(text, m.start(1), m.end(1), COMMON_WORDS)
                if span is not None:
                    yield Span(span[0], span[1], PhiType.NAME, 0.75, "names.intro")
        for m in _CANDIDATE.finditer(text):
            yield from self._from_lists(text, m.start(), m.group(), first, last)

    def _from_lists(
        self, text: str, offset: int, phrase: str, first: frozenset[str], last: frozenset[str]
    ) -> Iterator[Span]:
        """Runs of capitalised words: a Census first name (plus surname or initial) is a name."""
        tokens = [(m.start() + offset, m.group()) for m in re.finditer(r"\S+", phrase)]
        i = 0
        while i < len(tokens):
            start, word = tokens[i]
            key = word.lower().rstrip(".")
            if key in first and key not in COMMON_WORDS:
                j = i + 1
                while j < len(tokens) and j - i < 3:
                    nxt = tokens[j][1].lower().rstrip(".")
                    if (nxt in last or len(nxt) == 1) and nxt not in COMMON_WORDS:
                        j += 1
                    else:
                        break
                end = tokens[j - 1][0] + len(tokens[j - 1][1])
                at_start = bool(_SENTENCE_START.search(text, 0, start))
                if at_start and j - i == 1 and not _NAME_VERB.match(text, end):
                    i = j
                    continue
                if j - i > 1:
                    confidence = 0.75
                elif at_start:
                    confidence = 0.55
                else:
                    confidence = 0.65
                span = self._trim(text, start, end, COMMON_WORDS)
                if span is not None:
                    yield Span(span[0], span[1], PhiType.NAME, confidence, "names.census")
                i = j
            else:
                i += 1

    @staticmethod
    def _trim(text: str, start: int, end: int, common: frozenset[str]) -> tuple[int, int] | None:
        """Drop a trailing possessive and leading/trailing ``common`` words ("Thanks Maria Today")."""
        words = [(m.start() + start, m.end() + start) for m in re.finditer(r"\S+", text[start:end])]
        while words and text[words[-1][0] : words[-1][1]].lower().rstrip(".") in common:
            words.pop()
        while words and text[words[0][0] : words[0][1]].lower().rstrip(".") in common:
            words.pop(0)
        if not words:
            return None
        s, e = words[0][0], words[-1][1]
        if text[s:e].endswith(("'s", "’s")):
            e -= 2
        return (s, e) if e > s else None
