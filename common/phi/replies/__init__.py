"""The reply guard: checks a draft public reply to a review for disclosures of PHI.

Answering a review with anything that confirms the reviewer is a patient, or with their
condition, treatment, dates, insurance or costs, is a disclosure under HIPAA even when the
patient posted first (HHS OCR settled with Elite Dental, New Vision Dental and Manasa Health
Center and fined Dr. Igbinadolor for exactly that).  The guard reads the reply sentence by
sentence with rules for each kind of disclosure, adds every identifier the PHI detector finds,
and proposes a safer rewrite: the sentences that disclose nothing, the standard "we can't
discuss any individual's care online" line and an invitation to call the office.

Rules first: every rule finding comes with the words that triggered it and why, so a marketer
learns what to avoid, and the false alarms can be read and fixed.  Rules do not generalise to new
phrasings, so a learned sentence classifier (``services/search/replies/classifier.py``, injected
as ``classifier``) also reads every sentence no rule fired on; a sentence it flags becomes a
finding of its most probable category whose span is the whole sentence and whose explanation says
it comes from the learned model.  A reply is unsafe when the rules OR the model find something.
Recall matters more than precision here (a missed disclosure costs a fine, a false alarm costs a
rewrite).

The package: ``vocabulary`` (the words the rules look for), ``sentences`` (sentences and the model's
word windows), ``reading`` (about someone or anyone, an event or policy: the cues the rules and the
model share), ``people`` (staff, the practice's contacts, the reviewer's chosen name), ``rules``
(the categories and one sentence's rule findings), ``model_view`` (what the classifier reads) and
``guard`` (``ReplyGuard``: rules and model over a whole reply, and the rewrite).
"""

from common.phi.replies.guard import (
    MAX_MODEL_WINDOWS,
    STANDARD_LINE,
    ReplyCheck,
    ReplyGuard,
    ReplyTooLongToCheck,
    SentenceClassifier,
)
from common.phi.replies.model_view import model_input
from common.phi.replies.reading import CONTEXT_FEATURES, context_features
from common.phi.replies.rules import (
    APPOINTMENT,
    CLINICAL,
    CONFIRMATION,
    FINANCIAL,
    IDENTIFIER,
    NAMING,
    PUBLIC,
    Finding,
)
from common.phi.replies.sentences import WINDOW_WORDS, sentence_windows, split_sentences

__all__ = [
    "APPOINTMENT",
    "CLINICAL",
    "CONFIRMATION",
    "CONTEXT_FEATURES",
    "FINANCIAL",
    "IDENTIFIER",
    "MAX_MODEL_WINDOWS",
    "NAMING",
    "PUBLIC",
    "STANDARD_LINE",
    "WINDOW_WORDS",
    "Finding",
    "ReplyCheck",
    "ReplyGuard",
    "ReplyTooLongToCheck",
    "SentenceClassifier",
    "context_features",
    "model_input",
    "sentence_windows",
    "split_sentences",
]
