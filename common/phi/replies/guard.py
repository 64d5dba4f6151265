"""The reply guard: rules and the learned model over a whole reply, findings and a safer rewrite."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from common.phi.detector import PhiDetector
from common.phi.names import _words
from common.phi.replies.model_view import model_input
from common.phi.replies.people import (
    _CONTACT,
    _ORGANISATION_AFTER,
    _ROLE_MAILBOX,
    _THEIRS,
    _contact_key,
    _display_name_pattern,
    _domain,
    _introduced_as_staff,
)
from common.phi.replies.reading import _continues_explainer, _is_policy
from common.phi.replies.rules import (
    APPOINTMENT,
    CLINICAL,
    CONFIRMATION,
    EXPLANATIONS,
    FINANCIAL,
    IDENTIFIER,
    NAMING,
    PUBLIC,
    Finding,
    _finding,
    sentence_findings,
)
from common.phi.replies.sentences import sentence_windows, split_sentences
from common.phi.replies.vocabulary import _I
from common.phi.spans import PhiType, Span

STANDARD_LINE = (
    "To protect everyone's privacy, we can't discuss any individual's care online; "
    "please call our office{at_phone} so we can talk with you directly."
)


OPENING = "Thank you for taking the time to share your feedback."


MODEL_EXPLANATION = (
    "Flagged by the learned model (not a rule): this sentence reads like a {category} "
    "(probability {probability:.2f} that it is unsafe). {why}"
)


CATEGORY_NAMES = {
    CONFIRMATION: "confirmation of a patient relationship",
    CLINICAL: "clinical, procedure or results detail",
    APPOINTMENT: "detail of a visit or appointment date",
    FINANCIAL: "detail of insurance, billing or cost",
    NAMING: "mention of a particular person",
    PUBLIC: "public discussion of a case",
}


MAX_MODEL_WINDOWS = 300


_LETTER = re.compile(r"[^\W\d_]")


class ReplyTooLongToCheck(ValueError):
    """The reply has more distinct sentences than the learned model reads for one check."""


class SentenceVerdictLike(Protocol):
    @property
    def category(self) -> str: ...
    @property
    def unsafe_probability(self) -> float: ...
    @property
    def flagged(self) -> bool: ...


class SentenceClassifier(Protocol):
    """What the guard needs of the learned model: one verdict per sentence."""

    def classify(self, sentences: Sequence[str]) -> Sequence[SentenceVerdictLike]: ...


@dataclass(frozen=True)
class ReplyCheck:
    safe: bool
    findings: list[Finding] = field(default_factory=list)
    suggestion: str = ""


class ReplyGuard:
    """Checks draft replies; ``detector`` knows the staff, ``practice_phone`` goes in the suggestion.

    ``practice_contacts`` are the other phone numbers, e-mail and web addresses the practice
    publishes (a billing line, a patient advocate), and ``practice_website`` its site: an address
    at the site's domain is the practice's too.  They are never a patient's identifier.
    """

    def __init__(
        self,
        detector: PhiDetector,
        practice_phone: str | None = None,
        classifier: SentenceClassifier | None = None,
        *,
        practice_contacts: Sequence[str] = (),
        practice_website: str | None = None,
    ) -> None:
        self.detector = detector
        self.classifier = classifier
        self.practice_phone = (practice_phone or "").strip() or None
        self._own_contacts = {_contact_key(c) for c in (self.practice_phone, *practice_contacts) if c and c.strip()}
        self._own_contacts.discard("")
        # A site with a path ("facebook.com/ourpractice") lives on a shared host: only its own
        # address is the practice's, not everything at that host.
        website = (practice_website or "").strip()
        if website:
            self._own_contacts.add(_contact_key(website))
        shared_host = "/" in re.sub(r"^[a-z][a-z0-9+.-]*://", "", website.lower()).rstrip("/")
        self._own_domain = "" if shared_host else _domain(website)

    def check(self, reply: str, review: str | None = None, reviewer_display_name: str | None = None) -> ReplyCheck:
        findings = _dedupe(reply, self._findings(reply, review, reviewer_display_name))
        model_findings = self._model_findings(reply, findings, reviewer_display_name)
        findings = sorted(findings + model_findings, key=lambda f: (f.start, f.end, f.type))
        if not findings:
            return ReplyCheck(True, [], reply)
        return ReplyCheck(False, findings, self.suggest(reply, findings))

    # --- findings ---------------------------------------------------------------------------

    def _findings(self, reply: str, review: str | None, display_name: str | None) -> Iterator[Finding]:
        explained = False  # an earlier sentence explained how things go for anyone
        name_pattern = _display_name_pattern(display_name)
        for sentence in split_sentences(reply):
            policy = _is_policy(sentence.text) or (explained and _continues_explainer(sentence.text))
            yield from sentence_findings(reply, sentence, policy, name_pattern, self.detector.staff)
            explained = explained or policy
        yield from self._identifier_findings(reply, review, display_name)

    def _model_findings(self, reply: str, rule_findings: list[Finding], display_name: str | None) -> list[Finding]:
        """The classifier's findings, on the sentences no rule fired on (span: the sentence)."""
        if self.classifier is None:
            return []
        todo: dict[str, list[tuple[int, int]]] = {}  # identical windows are classified once
        for s in split_sentences(reply):
            lead = len(s.text) - len(s.text.lstrip())
            start, end = s.start + lead, s.start + len(s.text.rstrip())
            if not _LETTER.search(s.text) or any(f.start < end and start < f.end for f in rule_findings):
                continue
            for window in sentence_windows(self.model_view(reply[start:end], display_name)):
                todo.setdefault(window, []).append((start, end))
        if len(todo) > MAX_MODEL_WINDOWS:
            raise ReplyTooLongToCheck(f"{len(todo)} distinct sentences; at most {MAX_MODEL_WINDOWS} are checked")
        if not todo:
            return []
        out = []
        flagged: dict[tuple[int, int], SentenceVerdictLike] = {}  # sentence span -> its most unsafe window
        verdicts = self.classifier.classify(list(todo))
        for spans, verdict in zip(todo.values(), verdicts, strict=True):
            if not verdict.flagged:
                continue
            for span in spans:
                if span not in flagged or verdict.unsafe_probability > flagged[span].unsafe_probability:
                    flagged[span] = verdict
        for (start, end), verdict in sorted(flagged.items()):
            explanation = MODEL_EXPLANATION.format(
                category=CATEGORY_NAMES.get(verdict.category, verdict.category),
                probability=verdict.unsafe_probability,
                why=EXPLANATIONS[verdict.category],
            )
            out.append(Finding(verdict.category, start, end, reply[start:end], explanation, "model"))
        return out

    def model_view(self, sentence: str, display_name: str | None = None) -> str:
        """The sentence as the classifier reads it: the practice's people written "our colleague" and
        the reviewer's chosen display name written "friend".

        The guard knows both names are allowed; the classifier does not, and a name in a sentence is
        a cue it has learned for naming a patient ("Kelsey will be so happy", "Carl, we're sorry")."""
        return model_input(sentence, self.detector.staff, display_name)

    def _identifier_findings(self, reply: str, review: str | None, display_name: str | None) -> Iterator[Finding]:
        chosen = _words(display_name or "")
        chosen = chosen | {part for word in chosen for part in word.split("-") if part}
        # "ZoeyB", "marcus_j": the name part of a handle
        chosen = chosen | {w.lower() for w in re.findall(r"[A-Z]?[a-z]{2,}", display_name or "")}
        # "tonyb", "bigmike", "jen_k22": a first name inside a lower-case handle
        handles = [w for w in re.findall(r"[a-z]+", display_name or "") if len(w) >= 4]
        review_names = set()
        if review:
            spans = self.detector.detect(review, [PhiType.NAME])
            review_names = {w for span in spans for w in _words(review[span.start : span.end])}
        seen_names: list[Span] = []
        for span in self.detector.detect(reply):
            text = reply[span.start : span.end]
            if span.type is PhiType.NAME:
                seen_names.append(span)
                named = {w for w in _words(text) if len(w) > 1}
                if chosen and all(w in chosen or (len(w) >= 3 and any(w in h for h in handles)) for w in named):
                    continue  # the display name the reviewer chose
                initial = re.match(r"(.*?\b[A-Z]\.)\s+[A-Z]", text)  # "Helene V. Every CT scanner..."
                if chosen and initial and {w for w in _words(initial.group(1)) if len(w) > 1} <= chosen:
                    continue
                if _introduced_as_staff(reply, span) or _ORGANISATION_AFTER.match(reply, span.end):
                    continue  # "Delta Dental", "Ridgeview Imaging": an organisation, not a person
                yield _finding(reply, NAMING, span.start, span.end)
            elif span.type is PhiType.DATE:
                yield _finding(reply, APPOINTMENT, span.start, span.end)
            elif span.type in (PhiType.PHONE, PhiType.FAX, PhiType.EMAIL, PhiType.URL) and self._is_contact(
                reply, span
            ):
                continue
            else:
                yield _finding(reply, IDENTIFIER, span.start, span.end, span.type.value)
        # A name from the review repeated in the reply, even where the detector alone would not see it.
        if review_names:
            for m in re.finditer(r"\b[A-Z][a-z]+(?:[-'][A-Za-z]+)?\b", reply):
                word = m.group().lower()
                if (
                    word in review_names
                    and word not in chosen
                    and not any(s.start <= m.start() < s.end for s in seen_names)
                    and m.group() not in self.detector.staff
                ):
                    yield _finding(reply, NAMING, m.start(), m.end())

    def _is_contact(self, reply: str, span: Span) -> bool:
        """The practice's own phone, email or site, offered so the reviewer can get in touch."""
        text = reply[span.start : span.end]
        if _contact_key(text) in self._own_contacts:
            return True
        if self._own_domain and span.type in (PhiType.EMAIL, PhiType.URL):
            domain = _domain(text)
            if domain == self._own_domain or domain.endswith("." + self._own_domain):
                return True
        if span.type is PhiType.EMAIL and _ROLE_MAILBOX.match(text):
            return True
        before = reply[max(0, span.start - 80) : span.start]
        clause = re.split(r"[.!?\n;]", before)[-1]
        last_part = re.split(r",", clause)[-1]
        return bool(_CONTACT.search(clause)) and not _THEIRS.search(last_part) and not _THEIRS.search(clause)

    # --- the rewrite --------------------------------------------------------------------------

    def suggest(self, reply: str, findings: list[Finding]) -> str:
        """The sentences that disclose nothing, the standard privacy line, and an invitation to call."""
        kept = []
        for s in split_sentences(reply):
            if any(f.start < s.end and s.start < f.end for f in findings):
                continue
            text = s.text.strip()
            if text and not _CALL_INVITE.search(text):
                kept.append(text if text[-1] in ".!?" else text + ".")
        greeting = kept and re.match(r"^(?:hi|hello|dear|hey)\b[^.!?]*[,!]?$", kept[0], _I)
        if not any(re.search(r"\b(?:thank|thanks|appreciate|grateful)\b", k, _I) for k in kept):
            kept.insert(1 if greeting else 0, OPENING)
        at_phone = f" at {self.practice_phone}" if self.practice_phone else ""
        kept.append(STANDARD_LINE.format(at_phone=at_phone))
        return " ".join(kept)


_CALL_INVITE = re.compile(r"\b(?:call|contact|reach)\b[^.!?]*\b(?:us|our|office|team|manager)\b", _I)


def _dedupe(reply: str, findings: Iterator[Finding]) -> list[Finding]:
    """One finding per category and stretch of text: overlapping ones of a category merge."""
    by_kind: dict[str, list[Finding]] = {}
    for f in sorted(findings, key=lambda f: (f.type, f.start, -f.end)):
        group = by_kind.setdefault(f.type, [])
        if group and f.start < group[-1].end:
            last = group[-1]
            if f.end > last.end:
                group[-1] = Finding(
                    last.type, last.start, f.end, reply[last.start : f.end], last.explanation, last.source
                )
            continue
        group.append(f)
    return [f for group in by_kind.values() for f in group]
