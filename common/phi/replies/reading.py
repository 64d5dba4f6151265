"""How a sentence reads: about someone in particular or anyone, something that happened or policy.

These cues decide which rules apply and are also given to the learned model (``CONTEXT_FEATURES``)."""

from __future__ import annotations

import re

from common.phi.replies.vocabulary import _CONDITIONS, _DIAGNOSES, _I, _PROCEDURES

# What a sentence is about: the reviewer ("you", "your"), or someone else in particular.
_PERSON = re.compile(
    r"\b(?:you|your|yours|yourself|you're|you've|you'd|he|she|his|her|hers|him|himself|herself|"
    r"(?:this|the|that)\s+(?:reviewer|gentleman|lady|woman|man|individual|person|client|patient"
    # "the patient portal", "the patient advocate": the practice's things, not a person
    r"(?!\s+(?:portal|advocate|coordinator|experience|relations|services|resources|forms?|line|liaison|navigator|"
    r"representative|education|lounge|entrance|parking))))\b",
    _I,
)


# "you" that addresses the reader without saying anything about them.
_HARMLESS_YOU = re.compile(
    r"\b(?:thank\s+you|did\s+you\s+know|your\s+(?:own|ordering|referring)\s+(?:doctor|physician|provider|clinician)|thanks?\s+you|if\s+you\b[^,.;!?]*|should\s+you\b[^,.;!?]*|whenever\s+you\b[^,.;!?]*|"
    r"when\s+you\s+(?:call|contact|reach|book|schedule|arrive|check\s+in|come\s+in)\b(?!\s+(?:last|that|on))|"
    r"you(?:'ll|'d|\s+(?:can|may|could|will|would|might))\s+(?:\w+\s+)?(?:call|reach|contact|email|ask|speak|"
    r"talk|visit|get\s+in\s+touch|give\s+us)|"
    r"(?:call|reach|contact|email|ask|hear\s+from|speak\s+(?:with|to)|talk\s+(?:with|to)|help|assist|see|welcome|"
    r"serve|invite|encourage|thank|connect|support|update|tell|get\s+back\s+to)\s+you\b|you\s+(?:are|'re)\s+welcome|for\s+you\s+to\s+call|"
    # an offer: "call us and we'll check for you"
    r"\b(?:we'll|we\s+will|we\s+can|we'd\s+be\s+(?:happy|glad)\s+to|happy\s+to|glad\s+to)\s+(?:[\w-]+\s+){1,3}?for\s+you\b|"
    # the review's own words, and walking anyone through something
    r"\b(?:you're|you\s+are)\s+(?:describing|referring\s+to|asking\s+about)|"
    r"(?:can|will|'ll|would)\s+(?:be\s+(?:happy|glad)\s+to\s+)?walk\s+you\s+through|"
    r"you\s+(?:always\s+|absolutely\s+)?have\s+(?:the|a)\s+right(?:\s+to\s+(?:(?:see|obtain|get|request)\s+)?"
    r"(?:a\s+copy\s+of\s+)?your\s+(?:results|records|images|reports?|chart))?|(?:right|best|suitable)\s+for\s+you\b|you(?:'re|\s+are)\s+(?:absolutely\s+|so\s+|quite\s+)?right\b(?!\s+on\s+(?:track|schedule|time))|"
    r"what\s+you(?:'ll|\s+will)\s+(?:feel|hear|need|experience|see)|"
    r"we\s+hear\s+you|your\s+(?:feedback|review|comments?|kind\s+words|words|post|message|note|input|"
    r"perspective|concerns?|frustration|patience|time|trust|understanding|suggestions?|thoughts|praise|"
    r"recommendation|rating|experience|privacy|rights?|questions?|call(?!\s+(?:on|last|yesterday|this|that|earlier)\b))\b)",
    _I,
)


_WHEN = re.compile(
    # "on Tuesday and Thursday mornings", "on Mondays": a schedule, not someone's visit
    r"\b(?:on|last|this|next|that)\s+(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day\b"
    r"(?!s|\s+(?:and|or|through|to|-)\s+\w+days?\b)|"
    r"\b(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day(?:'s)?\s+(?:morning|afternoon|evening|appointment|visit)\b"
    r"(?!\s+(?:clinics?|hours|slots?|sessions?|shifts?|walk-?ins?))|"
    r"\b(?:yesterday|this\s+(?:morning|afternoon|past\s+week)|last\s+(?:week|month|night|visit)|"
    r"earlier\s+(?:today|this\s+week)|two\s+weeks\s+ago|a\s+(?:few\s+)?(?:days|weeks)\s+ago)\b|"
    # "8-4:30", "8:00 to 4:30": opening hours, not someone's visit
    # "our doors open at 7:00 a.m.", "appointments start at 7:30": a timetable
    r"(?<!open\s)(?<!opens\s)(?<!start\s)(?<!starts\s)(?<!close\s)(?<!closes\s)(?<!begin\s)(?<!begins\s)"
    r"\bat\s+\d{1,2}(?::\d\d)?\s*(?:a\.?m\.?|p\.?m\.?)(?!\s+(?:each|every|daily|on\s+weekdays|sharp\s+each))|"
    r"(?<![-–])(?<!\d\s)(?<!to\s)(?<!open\sat\s)(?<!opens\sat\s)(?<!start\sat\s)(?<!starts\sat\s)(?<!closes\sat\s)"
    r"\b\d{1,2}:\d\d(?:[ap]m)?\b(?!\s*(?:-|–|to)\s*\d)|"
    r"\b(?:on|since|from|for)\s+the\s+\d{1,2}(?:st|nd|rd|th)\b|\bon\s+that\s+day\b|"
    r"\b(?:\d+|a|an|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|a\s+few|several)\s+"
    r"(?:days?|weeks?|months?|years?)\s+ago\b",
    _I,
)


_POLICY_MARKER = re.compile(
    r"\b(?:generally|typically|usually|normally|in\s+general|most\s+people|for\s+most|anyone|everyone|"
    r"(?:is|are)\s+(?:required|available|recommended|needed|listed|posted|released|sent)|"
    r"we\s+(?:always\s+)?(?:recommend|encourage|suggest|ask)|our\s+policy|as\s+a\s+rule|"
    r"no\s+(?:appointment|referral|order|prescription)\s+(?:is\s+)?(?:needed|necessary|required)|"
    # explaining how an exam goes for anyone: "for some exams you go in feet-first", "a breast MRI is painless"
    r"for\s+(?:some|most|many|all|certain|a\s+lot\s+of)\b|as\s+a\s+general\s+(?:guide|rule|matter|policy)|"
    r"generally\s+speaking|in\s+most\s+cases|most\s+routine|an?\s+typical|is\s+standard|standard\s+practice|"
    r"walk-?ins?|open\s+(?:till|until|from)|every\s+(?:appointment|visit|exam|scan)|in\s+most\b|like\s+ours|"
    r"plenty\s+of|(?:many|some|most|certain)\s+(?:[\w-]+\s+)?(?:plans|insurers|carriers|people|patients|"
    r"exams|scans)|many\s+of\s+our\s+(?:locations|offices|sites|centers|centres|clinics)|"
    # what something depends on, and statements that hold only sometimes: "scan length varies by the
    # type of MRI", "you don't always need an order"
    r"var(?:y|ies)\s+(?:\w+\s+){0,3}?(?:by|with|from|depending)|depends?\s+on|"
    r"(?:don't|doesn't|do\s+not|does\s+not|isn't|aren't|won't|not)\s+always|requires?\b|"
    r"our\s+(?:[\w-]+\s+){1,2}polic(?:y|ies)|as\s+a\s+matter\s+of\s+(?:policy|practice|course)|"
    r"prices?\s+(?:start|starts|begin|begins|range|ranges)|starting\s+(?:at|from)\s+\$|self-pay\s+(?:prices?|rates?)\s+(?:are|start|starts|begin|begins|range|ranges)\b|"
    r"at\s+most\s+(?:[\w-]+\s+)?(?:centers|centres|practices|offices|clinics|places|facilities)|"
    r"(?:women|men|adults|children|kids|people|anyone)\s+(?:\d+|over|under|aged?|ages|between|starting)\b|"
    r"under\s+(?:federal\s+|state\s+)?(?:privacy\s+)?law|privacy\s+law\s+(?:means|requires|allows|prevents)|"
    r"^\W*(?:an?|most)\s+(?:[\w-]+\s+){0,2}?(?:MRIs?|CTs?|scans?|exams?|ultrasounds?|x-?rays?|DEXA|mammograms?|"
    r"biops(?:y|ies)|studies|study)\s+(?:only\s+|usually\s+|typically\s+|just\s+)?(?:is|are|measures?|uses?|takes?|"
    r"involves?|lasts?|requires?|can)\b)\b",
    _I,
)


_EVENT = re.compile(
    r"\b(?:was|were|had|did|didn't|came|went|got|took|felt|happened|received|told|said|asked|waited|arrived|"
    r"left|called|saw|seen|missed|wrote|posted|claimed|claims|stated|described|reported|mentioned|stand\s+by)\b",
    _I,
)


# Words of continuing care: a sentence with them speaks of someone's next step, not of how an exam goes.
_CONTINUING_CARE = re.compile(
    r"\b(?:another|again|next|repeat|follow-?up|come\s+back|return|still|anymore|keep\s+taking)\b", _I
)


_IRREGULAR_PAST_WORDS = """
was were had did came went got took felt saw left told said made gave found kept knew lost met paid put ran
    sent spent stood thought understood brought bought caught taught began broke chose drove fell fought forgot grew
    heard held hurt led meant rode rang rose sang sank shook slept spoke stole struck swam tore threw woke wore won
    shrank sat bled became beat bit blew built dealt drew drank ate fed fled flew froze hid hung laid lay lit quit
    shot shut slid split spread stuck stung swore swept swung wept wound"""


_IRREGULAR_PAST = frozenset(_IRREGULAR_PAST_WORDS.split())


# words ending in -ed that are not (or rarely) a past tense in a reply
_NOT_PAST_WORDS = """
indeed speed need needed feed breed exceed proceed succeed based related dedicated experienced qualified
    licensed trained skilled detailed advanced limited automated certified accredited committed concerned
    interested pleased delighted thrilled honored honoured excited talented devoted valued appreciated
    unneeded unlimited unrelated red bed shed seed weed embed"""


_NOT_PAST = frozenset(_NOT_PAST_WORDS.split())


# after these a verb is in its base form: "doesn't hurt", "will cost" (an "-n't" ends in the word "t")
_TAKES_BASE_FORM_WORDS = "do does will can may might should would could must shall to let lets not"


_TAKES_BASE_FORM = frozenset(_TAKES_BASE_FORM_WORDS.split())


_TAKES_BASE_FORM_NT_WORDS = "don doesn won can shouldn wouldn couldn mustn"


_TAKES_BASE_FORM_NT = frozenset(_TAKES_BASE_FORM_NT_WORDS.split())


# "-ed" after these is a present passive or an adjective: "parents are encouraged", "the signed
# report", "you stay fully clothed"
_NOT_BEFORE_PAST_WORDS = """
is are be been being am get gets the a an our your their its any
    fully properly completely partially highly specially stay stays remain remains feel feels look looks"""


_NOT_BEFORE_PAST = frozenset(_NOT_BEFORE_PAST_WORDS.split())


_DEFINITE_CLINICAL = re.compile(
    r"(?<!ordered\s)(?<!requested\s)(?<!referred\s)"
    rf"\b(?:the|that(?!\s+[a-z]+(?<![ious])s\b)|this|those|these)\s+(?!(?:every|each|all|any)\b)(?:[\w-]+\s+){{0,2}}?"
    rf"(?:{_PROCEDURES}|{_CONDITIONS})\b"
    r"(?!\s+(?:[\w-]+\s+)?(?:machines?|scanners?|units?|suites?|rooms?|team|department|center|centre|schedule|"
    r"waiting|area|desk|staff|technologists?|techs?|coordinator|navigator|program|process|policy|plans?|forms?|"
    r"instructions|options|line|portal|equipment|table|guidelines))",
    _I,
)


_GENERIC_PEOPLE = re.compile(
    r"\b(?:anyone|anybody|everyone|everybody|someone|somebody|whoever|people|patients|families|parents|others|"
    r"women|men|adults|children|kids|teens|seniors|individuals|those\s+who|"
    r"(?:a|each|every|any|all)\s+(?:patient|person|client|parent|family|individual)s?)\b",
    _I,
)


def _is_policy(sentence: str) -> bool:
    """A general statement of how things work ("results are usually ready in two days"), not an event.

    Policy sentences address any reader as "you"; they are recognised by a generic marker and the
    absence of anything that happened (past tense, a day or time).
    """
    sentence = sentence.strip()
    if _WHEN.search(sentence):
        return False
    announced = _GENERAL_OPENER.match(sentence) and not _PRONOUN.search(_HARMLESS_YOU.sub(" ", sentence))
    return bool(announced or (_POLICY_MARKER.search(sentence) and not _EVENT.search(sentence)))


# 'In general, "no acute findings" means the scan did not show an urgent problem': an explanation
# announced as such, even where its example has a past tense
_PRONOUN = re.compile(r"\b(?:you|your|yours|you're|you've|he|she|his|her|him)\b", _I)


_GENERAL_OPENER = re.compile(
    r"\W*(?:in\s+general|generally(?:\s+speaking)?|as\s+a\s+(?:general\s+)?rule|as\s+a\s+matter\s+of\s+policy)(?:,|\s)",
    _I,
)


# Cues the rules already compute, given to the learned classifier beside the sentence embedding.
# A linear head on a frozen embedding hears "results" and "MRI" alike in "results are usually ready
# in two days" and "your results were ready in two days"; whether a sentence speaks of a particular
# person, of something that happened, or of policy for anyone is what tells the two apart.
CONTEXT_FEATURES = ("about_someone", "event", "when", "policy", "generic_people", "addresses_reader", "past_tense")


def context_features(sentence: str) -> list[float]:
    """The ``CONTEXT_FEATURES`` of one sentence (or window), each 0.0 or 1.0."""
    return [
        float(_about_someone(sentence)),
        float(bool(_EVENT.search(sentence))),
        float(bool(_WHEN.search(sentence))),
        float(_is_policy(sentence)),
        float(bool(_GENERIC_PEOPLE.search(sentence))),
        float(bool(_PERSON.search(sentence))),
        float(_past_tense(sentence)),
    ]


def _something_happened(sentence: str) -> bool:
    """An event, a past tense, or a day or time."""
    return bool(_EVENT.search(sentence) or _past_tense(sentence) or _WHEN.search(sentence))


def _tells_nothing_that_happened(sentence: str) -> bool:
    """No event, past tense, day or time, and no definite clinical thing ("the MRI", "those results")."""
    return not (_something_happened(sentence) or _DEFINITE_CLINICAL.search(sentence))


def _continues_explainer(sentence: str) -> bool:
    """Whether a sentence after a general explanation goes on with it ("You lie on your stomach, and an
    IV is placed for the contrast"): it tells nothing that happened, names no diagnosis or finding and
    speaks of no next step in someone's care.  "The scan" and "the neck" are the explained exam's."""
    return not (_something_happened(sentence) or _DIAGNOSES.search(sentence) or _CONTINUING_CARE.search(sentence))


def _past_tense(sentence: str) -> bool:
    """Whether a verb in the past tense occurs: something happened ("the tumour shrank")."""
    words = re.findall(r"[a-z]+(?:-[a-z]+)*", sentence.lower())  # "image-guided" is one (adjective) word
    for before2, before, w in zip(["", "", *words], ["", *words], words, strict=False):
        if w.rsplit("-", 1)[-1] in _IRREGULAR_PAST:  # "sent", "re-sent"
            # "doesn't hurt", "will cost", "you can put": the same word as a present or base form
            if before in _TAKES_BASE_FORM or (before == "t" and before2 in _TAKES_BASE_FORM_NT):
                continue
            return True
        # "-ed" after "is/are" or a determiner is a present passive or an adjective ("parents are
        # encouraged", "the signed report"), not something that happened
        compound = "-" in w and not w.startswith("re-")  # "image-guided" is an adjective, "re-sent" a verb
        if w.endswith("ed") and len(w) > 4 and not compound and w not in _NOT_PAST and before not in _NOT_BEFORE_PAST:
            return True
    return False


def _about_someone(sentence: str) -> bool:
    """Whether the sentence speaks about the reviewer or another particular person.

    "The patient" in how things work ("the physician reviews the risks with the patient") is anyone."""
    text = _HARMLESS_YOU.sub(" ", sentence)
    if _tells_nothing_that_happened(sentence) or (_ANY_THING.search(sentence) and not _EVENT.search(sentence)):
        text = _ANY_PATIENT.sub(" ", text)
    return bool(_PERSON.search(text))


# "every study performed in our center", "any imaging result": no one's in particular
_ANY_THING = re.compile(
    r"\b(?:any|every|each)\s+(?:[\w-]+\s+){0,2}?(?:results?|reports?|stud(?:y|ies)|exams?|scans?|images?|treatments?|"
    r"plans?|requests?|referrals?|procedures?)\b",
    _I,
)


_ANY_PATIENT = re.compile(r"\bthe\s+(?:patient|client|person|individual)\b", _I)
