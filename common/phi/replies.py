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
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from common.phi.detector import PhiDetector
from common.phi.names import StaffAllowList, _words
from common.phi.spans import PhiType, Span

CONFIRMATION = "patient_confirmation"
CLINICAL = "clinical_detail"
APPOINTMENT = "appointment_detail"
FINANCIAL = "financial_detail"
NAMING = "naming"
PUBLIC = "public_discussion"
IDENTIFIER = "phi"

EXPLANATIONS = {
    CONFIRMATION: "Confirms that the reviewer is or was a patient (their chart, records, visit or care); "
    "a reply must neither confirm nor deny a patient relationship.",
    CLINICAL: "Mentions a condition, procedure or result in connection with the reviewer or another person.",
    APPOINTMENT: "Gives the date or time of someone's visit or appointment.",
    FINANCIAL: "Mentions the reviewer's insurance, bill, balance, payments or costs.",
    NAMING: "Names a person who is not on staff: the reviewer beyond the display name they chose, or another "
    "patient or relative.",
    PUBLIC: "Offers to discuss the case publicly, disputes the facts of it, or asks for personal details in public.",
    IDENTIFIER: "Contains an identifier that HIPAA's Safe Harbor rule lists ({kind}).",
}

_I = re.IGNORECASE

# --- vocabulary -------------------------------------------------------------------------------

_PROCEDURES = (
    r"MRIs?|MRAs?|CTs?|CAT\s+scans?|PET(?:/CT)?(?:\s+scans?)?|scans?|ultrasounds?|sonograms?|mammograms?|mammography|"
    r"x-?rays?|DEXA|bone\s+density|biops(?:y|ies)|contrast|gadolinium|sedation|sedated|fluoroscopy|"
    r"echocardiograms?|angiograms?|arthrograms?|myelograms?|injections?|IV|"
    r"imaging(?!\s+(?:team|center|centre|staff|department|services?|group|practice|professionals|coordinator|"
    r"navigator|manager|director|specialists?|suite|location|office))|"
    r"exams?|tests?|screenings?|"
    r"studies|study|procedures?|surgery|surgeries|treatment|therapy|counsell?ing|medications?|prescriptions?|"
    r"\w+(?:plasty|ectomy|otomy|oscopy)|night\s+guard|grinding|crowns?|fillings?|cavit(?:y|ies)|root\s+canal|"
    r"extractions?|dentures?|aligners|retainer|stents?|(?<!flu\s)(?<!booster\s)shots|CPAP|BiPAP|Holter|cryo\w*|"
    r"re-?checks?|spot\s+checks?|wisdom\s+(?:tooth|teeth)|ablations?|embolizations?|tubes|EKGs?|ECGs?|mammos?"
)
_CONDITIONS = (
    r"tumou?rs?|cancer|malignan\w*|benign|mass(?:es)?|lesions?|nodules?|cysts?|fractures?|broken|torn|tears?|"
    r"herniat\w+|discs?|stenosis|aneurysms?|strokes?|blood\s+clots?|pregnan\w*|miscarriage|depress\w*|anxiety|"
    r"anxious|bipolar|schizo\w*|PTSD|ADHD|HIV|STDs?|STIs?|hepatitis|diabet\w*|dementia|alzheimer\w*|addict\w*|"
    r"substance|opioids?|overdose|diagnos\w*|conditions?|symptoms?|(?<!being\sa\s)(?<!such\sa\s)(?<!real\s)pain|results?|findings|reports?|"
    r"(?<!good\s)(?<!great\s)(?<!first\s)(?<!lasting\s)(?<!wrong\s)impression|"
    r"positive|abnormal|normal|claustrophob\w*|panic|implants?|pacemakers?|allerg\w*|kidneys?|infection|"
    r"inflammation|arthritis|injur(?:y|ies)|illness|disease|disorder|mental\s+health|psychiatric|dose|"
    r"a\s+follow-?up|"
    # the body, recovery and the specialists whose names reveal a condition
    # (words with everyday meanings only in their medical phrases: "get back to you" is not a back)
    r"heal(?!th)\w*|recover\w*|feeling\s+better|get\s+well|(?:a|the|her|his|your)\s+fall|fell\s+(?:down|and|on|off)|"
    r"broke\s+(?:a|her|his|your)|sprain\w*|wheelchair|walker|crutches|brain|neck|spine|spinal|"
    r"(?:lower|upper|mid)\s+back|back\s+(?:pain|injury|surgery|problems?)|shoulders?|elbows?|wrists?|chest|"
    r"lungs?|heart\s+(?:condition|attack|disease|problems?|failure|rate|monitor)|"
    r"(?:your|her|his|their|the)\s+(?:left\s+|right\s+)?(?:hands?|arms?|head|feet|foot|legs?|fingers?|toes?|baby)|"
    r"breasts?(?!\s+(?:imaging|center|centre|clinic|health|care|team|services?|coordinator|navigator))|abdomen|abdominal|stomach|pelvis|pelvic|hips?|knees?|ankles?|liver|"
    r"gallbladder|thyroid|prostate|ovar\w+|uter\w+|bladder|bones?|joints?|ligaments?|tendons?|muscles?|veins?|"
    r"needles?|blood|weeks\s+along|trimester|due\s+date|iodine|penicillin|latex|"
    r"oncolog\w*|cardiolog\w*|neurolog\w*|urolog\w*|orthopedi\w*|OB(?:/GYN)?|GYN|gynecolog\w*|psychiatr\w*|"
    r"therapist|surgeon|specialist|GI|arrhythmi\w*|a-?fib|wheez\w*|asthma|inhalers?|stitches|sutures|"
    r"chemo\w*|radiation\s+(?:therapy|treatment|sessions?)|pneumonia|hernia|migraines?|seizures?|"
    r"cholesterol|blood\s+pressure|insulin|eczema|rash|acne|psoriasis|"
    r"melanoma|carcinoma|lymphoma|sarcoma|myeloma|glioma|lipoma|adenoma|hematoma|fibroids?|plaque|margins|"
    r"prognosis|apnea|PVCs?|A1c|sober\w*|sobriety|swelling|aspirin|ibuprofen|tylenol|tretinoin|antibiotics?|"
    r"wear\s+and\s+tear|degenerative|BRCA|mutations?|heartbeat|Ativan|Valium|Xanax|lorazepam|diazepam|"
    r"Zoloft|Lexapro|Prozac|sertraline|Adderall|ear\s+infections?|valves?|PSA|stones?|glaucoma|cataracts?|"
    r"macular|retina\w*|eye\s+drops|basal\s+cell|squamous|Mohs|ACL|rotator\s+cuff|SSRIs?"
)
_FINANCE = (
    r"insurance|insurer|(?<!phone\s)(?<!staff\s)(?<!weekend\s)(?<!our\s)coverage|covered|co-?pays?|co-?insurance|deductibles?|out-of-pocket|balances?|bills?|"
    r"billed|billing|invoices?|statements?|charges?|charged|refund(?:ed)?|payments?|paid|pay|owe[sd]?|collections|"
    r"claims?|prior\s+auth\w*|pre-?auth\w*|authori[sz]ation|Medicare|Medicaid|Aetna|Cigna|United\s?Healthcare|"
    r"Humana|Blue\s+Cross|BCBS|Blue\s+Shield|Kaiser|Tricare|HMO|PPO|out-of-network|in-network|self-pay|"
    r"HSA|FSA|health\s+savings|flexible\s+spending|credit\s+card|debit\s+card|declined|"
    r"price|cost|costs|fees?|estimate|plan"
)
_MONEY = re.compile(r"\$\s?\d[\d,]*(?:\.\d\d)?|\b\d[\d,]*(?:\.\d\d)?\s*(?:dollars|USD)\b", _I)

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

_RULES: list[tuple[str, re.Pattern[str]]] = [
    # --- confirming a patient relationship ---
    (
        CONFIRMATION,
        re.compile(
            r"(?<!\bright\sto\s)\b(?:your|her|his|their|the\s+patient's|this\s+patient's)\s+(?:(?:medical|dental|imaging|health|"
            r"last|recent|first|previous|latest|prior|initial|most\s+recent|follow-?up|scheduled|upcoming|"
            r"patient|morning|afternoon|evening|early|late|\d{1,2}(?::\d\d)?\s?(?:a\.?m\.?|p\.?m\.?|o'clock)?|"
            r"(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day|weekly|monthly|annual|yearly|next)\s+)*"
            r"(?:chart|records?|file|account|visits?|appointments?|exams?|scans?|stud(?:y|ies)|"
            r"procedures?|results?|report|images?|films?|referral|order|orders|prescription|treatment|diagnosis|"
            r"care\s+team|doctor|physician|radiologist|technologist|tech|check-?in|stay|wait|waiting\s+time|"
            r"bill|balance|claim|co-?pay|deductible|insurance|plan|session|consult\w*|mammogram|MRI|CT|"
            r"ultrasound|x-?ray|biopsy|surgery|condition|case|history|portal|scores?|numbers|levels?|cleanings?|crown|slot|booking|"
            r"check-?ups?|re-?checks?|sessions|annual(?=\s*[.!,;?]|\s*$)|"
            r"filling|root\s+canal|extraction|implant|braces|aligners|adjustment|day\s+(?:here|with\s+us)|"
            r"time\s+(?:here|with\s+us))\b",
            _I,
        ),
    ),
    (
        CONFIRMATION,
        re.compile(
            r"\b(?:our|the)\s+(?:records?|files?|system|notes|chart|logs?|schedules?|sign-?in\s+sheet)\s+"
            r"(?:show|shows|indicate|indicates|say|says|reflect|reflects|confirm|confirms|"
            # "our schedule has limited openings" is about the schedule; "has you down" is about someone
            r"(?:has|have)(?=\s+(?:you|your|her|him|his|them|their|no\s+record|a\s+record|record|the\s+patient)))\b|"
            r"\baccording\s+to\s+(?:our|your|the)\s+(?:[\w-]+\s+)?(?:records?|chart|files?|system|notes)\b|"
            r"\bwe\s+(?:have\s+)?(?:reviewed|checked|looked\s+(?:at|into|through)|pulled|went\s+(?:through|over)|"
            r"investigated|audited|read)\s+(?:your|her|his|the\s+patient's|this\s+patient's)\b|"
            r"\b(?:when|while|after|before|since|the\s+day|the\s+time)\s+(?:you|she|he)\s+(?:came|were|was|visited|"
            r"checked|arrived|had|got|left|saw|stopped|called|came\s+in|waited)\b|"
            r"\b(?:you|she|he)\s+(?:were|was)\s+(?:seen|scanned|treated|examined|imaged|called\s+back|here|in\s+(?:our|the)\s+"
            r"(?:office|clinic|center|centre|suite)|last\s+(?:here|in)|scheduled|booked|checked\s+in|a\s+patient)\b|"
            r"\b(?:you|she|he)\s+(?:came|come)\s+(?:in|to\s+(?:us|our|see))\b|"
            r"\bduring\s+(?:your|her|his)\b|"
            r"\bas\s+(?:a|our|one\s+of\s+our)\s+(?:valued\s+|long-?time\s+|loyal\s+|new\s+|former\s+)?patients?\b|"
            r"\b(?:long-?time|loyal|regular|returning|former|existing)\s+patients?\b|"
            r"\b(?:you|she|he)(?:\s+(?:are|is|were|was|have\s+been|has\s+been)|'re|'s)\s+(?:\w+\s+)?(?:a|an|our|one\s+of\s+our)\s+"
            r"(?:[\w-]+\s+)?patients?\b|\bone\s+of\s+our\s+(?:favou?rite|best|sweetest|bravest|youngest|oldest)\s+"
            r"(?:patients|clients|families|regulars)\b|"
            r"\b(?:we|our\s+(?:staff|team|techs?|technologists?|radiologists?|doctors?|physicians?|nurses?|front\s+"
            r"desk|office|billing\s+(?:team|office|department)|scheduler|schedulers))\s+(?:\w+\s+)?(?:treated|scanned|saw|"
            r"examined|imaged|called|billed|informed|told|gave|explained\s+to|helped|took\s+care\s+of|"
            r"performed|rescheduled|contacted|reminded|notified|sent|mailed|emailed|scheduled|booked|checked|"
            r"accommodated|tried\s+to\s+reach|spoke\s+(?:to|with)|cared\s+for|rebooked)\s+(?:you|her|him)\b|"
            r"\bwe\s+(?:have|had)\s+(?:you|her|him)\s+(?:down|scheduled|booked|on\s+file|in\s+our)\b|"
            r"\b(?:you|she|he)\s+(?:missed|cancell?ed|rescheduled|no-?showed|arrived|were\s+late|was\s+late|"
            r"declined|refused|left\s+before|signed|requested|received|underwent|completed)\b|"
            r"\b(?:seeing|treating|scanning|serving|caring\s+for)\s+(?:you|her|him)\b|"
            r"\b(?:you|she|he)\s+(?:had|got|needed|wanted)\s+(?:an?|your|her|his|the)\s+(?:\w+\s+){0,2}?(?:"
            + _PROCEDURES
            + r")\b|"
            r"\bin\s+(?:this|your|her|his)\s+case\b|\bthis\s+patient\b|"
            r"\bremembers?\s+(?:you|her|him|your)\b|\bno\s+record\s+of\b|"
            r"\b(?:pleasure|privilege|honou?r|nice|great|good|lovely|wonderful)\s+(?:to\s+)?(?:meet|meeting|see|seeing|"
            r"have|having|work\s+with|working\s+with|care\s+for|caring\s+for|serve|serving|treat|treating|scan|"
            r"scanning)\s+(?:you|her|him)\b|"
            r"\b(?:looked\s+at|checked|pulled|reviewed|went\s+(?:back\s+)?through|audited)\s+(?:the|our)\s+"
            r"(?:[\w-]+\s+){0,2}?(?:logs?|records?|notes|files?|footage|recordings?|sign-?in\s+sheets?)\b|"
            r"\b(?:a\s+)?(?:note|flag|alert|reminder)\s+(?:on|in|to)\s+(?:the|your|her|his)\s+(?:chart|file|record|"
            r"account|profile)\b|"
            r"\bfor\s+(?:being|staying)\s+(?:with\s+us|part\s+of\s+our\s+(?:practice|family|clinic|center|centre))\b|"
            r"\b(?:your|her|his)\s+(?:intake|registration|consent|history|screening|insurance)\s+forms?\b|"
            r"\b(?:see|seeing|saw|seen|was|were|is|nice|good|great|lovely|always)\s+(?:\w+\s+)?(?:a\s+)?familiar\s+faces?\b|"
            r"\bfamiliar\s+faces?\s+(?:in|at|around|back)\b|\b(?:our|a)\s+(?:\w+\s+)?regulars?\b|"
            r"\b(?:loved|enjoyed|love|enjoy)\s+having\s+(?:you|her|him)\b|\bwelcome\s+to\s+(?:the|our)\s+(?:[\w-]+\s+){0,3}?family\b|"
            r"\b(?:you're|you\s+are|she's|he's|she\s+is|he\s+is)\s+due\s+(?:back|for|in)\b|"
            r"\b(?:good|smart|great)\s+(?:call|choice|idea|move)\s+(?:on\s+)?(?:booking|scheduling|coming|picking|choosing)\b|"
            r"\bit\s+was\s+(?:my|our|a\s+real|a)\s+pleasure\s*(?=[.!,]|$)|\bwelcome\s+(?:you|her|him)\s+back\b|\bsee\s+(?:you|her|him)\s+(?:again|back|at\s+your\s+next)\b|"
            r"\bsee\s+(?:you|ya|her|him|them)(?:\s+(?:both|all))?\s+(?:in\s+(?:a\s+few|a|an|one|two|three|four|six|twelve|\d+)\s+"
            r"(?:weeks?|months?|years?)|next\s+(?:week|month|year|time|spring|summer|fall|autumn|winter))\b|"
            r"\bnext\s+time\s+(?:you(?:'re|\s+are)|she's|he's)\s+(?:in|here|back)\b|"
            r"\b(?:you|she|he)\s+caught\s+us\s+(?:on|at|in)\b|"
            r"\bper\s+(?:our|the)\s+(?:records?|system|chart|notes|files?|logs?|check-?in\s+system|schedule)\b|"
            r"\b(?:part\s+of)\s+(?:your|her|his)\s+(?:journey|care|recovery|story|treatment)\b|"
            r"\b(?:people|women|men|patients|kids|families|those)\s+like\s+(?:you|her|him)\s+(?:with|who)\b|"
            r"\bwe\s+know\s+(?:this|that)\s+(?:is|was)\s+[A-Z]|"
            r"\bcome\s+see\s+us\s+again\b|\bvisiting\s+us\s+again\b|"
            r"\b(?:love|loves|loved|enjoy|enjoys|enjoyed)\s+(?:seeing|having)\s+(?:you|your|her|him|them|"
            r"the\s+[A-Z]\w+\s+(?:family|kids|crew|twins))\b|"
            r"\b(?:thanks?|thank\s+you)\s+(?:so\s+much\s+)?for\s+visiting(?:\s+us)?\b(?!\s+(?:our|the|this)\s+(?:page|profile|"
            r"site|website|listing|booth|table|event))|"
            r"\b(?:I|we)\s+(?:really\s+)?(?:enjoyed|appreciated|loved)\s+(?:our|the)\s+(?:conversation|chat|talk|visit)\b|"
            r"\b(?:I|we)\s+(?:did\s+)?(?:notice|noticed|could\s+see|could\s+tell)\s+(?:that\s+)?(?:you|she|he)\s+"
            r"(?:seemed|were|was|looked)\b|"
            r"\basked\s+for\s+(?:her|him|me|us)\s+by\s+name\b|"
            r"\b(?:call\s+)?recording\s+(?:of|from)\s+(?:your|her|his)\b|"
            r"\b(?:pleasure|privilege|honou?r)\s+(?:to\s+)?(?:\w+ing|\w+)\s+(?:[\w-]+\s+){0,4}?with\s+(?:you|her|him)\b|"
            r"\b(?:pleasure|privilege|honou?r)\s+to\s+(?:care\s+for|treat|scan|look\s+after)\s+(?:a|an|such\s+a)\s+"
            r"(?!(?:community|neighbou?rhood|city|town|region|area)\b)|"
            r"\btell\s+your\s+(?:mom|mum|dad|mother|father|wife|husband|son|daughter|kids|grandma|grandpa|sister|"
            r"brother)\s+(?:we|I)\s+said\b|"
            r"\b(?:love|loved|enjoy|enjoyed)\s+(?:it\s+)?when\s+(?:you|she|he)\s+(?:stop|come|drop|visit|came|stopped|"
            r"dropped|visited)\b|"
            r"\b(?:could|were\s+able\s+to|managed\s+to)\s+get\s+(?:you|her|him)\s+(?:scanned|seen|in\b|checked|imaged|"
            r"x-?rayed|patched\s+up|fitted|booked)|"
            r"\b(?:you|she|he)\s+(?:were|was)\s+in\s+and\s+out\b|"
            r"\b(?:I|we)\s+(?:can\s+)?see\s+(?:that\s+)?(?:you|she|he)\s+(?:called|came|were|was|visited|had|missed)\b|"
            r"\bsee\s+(?:you|her|him|them)(?:\s+(?:both|all|two))?\s+(?:at|after|for|before)\s+(?:the|your|her|his)\s+"
            r"(?:next\s+|[\w-]+\s+){0,2}?"
            r"(?:check-?up|visit|appointment|follow-?up|exam|scan|echo|cleaning|annual)s?\b|"
            r"\bsee\s+(?:you|ya)\s+(?:on\s+)?(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day\b|"
            r"\bsorry\s+(?:that\s+)?(?:you|she|he)\s+(?:had\s+to\s+)?wait(?:ed)?\b|"
            r"\b(?:for|after)\s+(?:coming|coming\s+back)\s+to\s+(?:us|see\s+us)\b|"
            r"\b(?:good|great|perfect|smart|lucky)\s+timing\s+on\s+(?:your|her|his)\s+part\b|"
            r"\bas\s+(?:we\s+)?(?:discussed|agreed)\b|\bas\s+(?:the\s+|your\s+)?doctor\s+(?:said|advised|recommended|explained)\b|"
            r"\b(?:involved\s+in|responsible\s+for)\s+(?:your|her|his)\s+(?:care|treatment|exam|visit|procedure)\b|"
            # having them in, caring for them, their visit seen from the practice's side
            r"\b(?:take|took|taking)\s+care\s+of\s+(?:you|her|him|them)\b|"
            r"\b(?:for|after)\s+(?:coming|stopping|dropping)\s+(?:in|by)\b"
            r"(?!\s+(?:our|the|this)\s+(?:page|profile|site|website|listing|booth|table|event))|"
            r"\b(?:good\s+luck|best\s+wishes|all\s+the\s+best)\s+(?:with|for|on)\s+(?:the|your|her|his)\b|"
            r"\b(?:on\s+our\s+end|on\s+our\s+side)\b|\bportal\s+messages?\b|"
            r"\bwe\s+(?:can\s+)?see\s+(?:in|from|on)\s+(?:our|the)\s+(?:system|portal|records?|logs?|schedule)\b|"
            # staff reporting on the reviewer's visit
            r"\b(?:told|informed|mentioned\s+to|let)\s+(?:me|us)\s+(?:know\s+)?(?:that\s+)?(?:you|she|he)\b|"
            r"\b(?:mentioned|says|said|noted|recalls|tells\s+(?:me|us))\s+(?:that\s+)?(?:you|she|he)\s+"
            r"(?!(?:can|could|may|might|should|will|would)\b)\w+",
            _I,
        ),
    ),
    # --- a particular result spoken of as a fact ("the biopsy results were upsetting") ---
    (
        CLINICAL,
        re.compile(
            r"\b(?:the|those|these)\s+(?:[\w-]+\s+){0,2}?(?:results?|findings|reports?|diagnos[ie]s|images?|"
            r"films?|readings?|biops(?:y|ies))\s+(?:were|was|came\s+back|showed|show|revealed|confirmed|"
            # "the final reading is made by a radiologist": how it works, not what it showed
            r"(?:are|is)(?!\s+(?:made|done|written|sent|read|performed|interpreted|reviewed|released|posted|available|"
            r"ready|usually|generally|typically|normally|often|always|never|not|shared|processed|finalized|signed|"
            r"stored|kept|only|then|also|meant|for|clearer|sharper|crisper|taken|obtained|acquired|completed)\b))\b|"
            # an outcome told in the past tense: "it turned out to be nothing", "it came back clear"
            r"\b(?:turned\s+out\s+to\s+be|came\s+back)\s+(?:(?:an?|just\s+an?)\s+(?:harmless|benign|simple|small|"
            r"tiny|minor)\b|nothing|normal|clear|fine|negative|benign|positive|low|high|elevated|borderline|"
            r"cancer|malignant)\b",
            _I,
        ),
    ),
    (
        CLINICAL,
        re.compile(
            # good wishes about a new treatment: "hope the new night guard is helping"
            r"\b(?:hope|hoping|glad|happy)\b[^.!?]*\b(?:the|your|her|his)\s+new\s+[\w.+-]+(?:\s+[\w-]+)?\s+"
            r"(?:is|are|has\s+been|have\s+been)\s+(?:helping|working|doing\s+the\s+trick)\b|"
            rf"\b(?:the|your|her|his)\s+(?:[\w-]+\s+)?(?:{_PROCEDURES})\s+(?:keeps|continues\s+to\s+be|"
            r"(?:is|are|has\s+been|have\s+been)\s+(?:still|finally)?)\s*(?:working|helping|paying\s+off)\b|"
            # pregnancy progress: "8 weeks already", "everything measuring right on track"
            r"\b(?:\d+|[a-z]+(?:-[a-z]+)?)\s+weeks\s+(?:already|along|pregnant)\b|"
            r"\bmeasuring\s+(?:right\s+)?(?:on\s+track|ahead|behind|small|big|large)\b|"
            r"\b(?:\w+\s+)?(?:days?|weeks?|months?|years?)\s+sober\b|\bcan't\s+wait\s+to\s+meet\s+(?:baby|the\s+baby|your\s+"
            r"(?:little|baby|new))\b|"
            r"\b(?:keep|continue)\s+(?:taking|using|applying|wearing)\s+(?:the|your|that|those)\s+"
            r"(?!(?:portal|app|website|site|form|parking)\b)|"
            r"\b(?:improvement|recovery|healing|progress)\s+(?:you\s+(?:describe|mention)\s+)?is\s+(?:right\s+)?on\s+track\b|"
            rf"\b(?:the|your|her|his|that)\s+(?:[\w-]+\s+){{0,2}}?(?:{_CONDITIONS})\s+(?:is|was|looks|looked)\s+(?:very\s+|quite\s+)?"
            r"(?:small|tiny|large|stable|unchanged|healing|improving|resolved|gone|benign)\b|"
            r"\b(?:keep\s+up|stick\s+with)\s+(?:the|those|your|that)\s+(?:[\w-]+\s+){0,2}?(?:stretches|exercises|walking|diet|"
            r"drops|meds|medications?|PT|therapy|protocol|routine|home\s+program)\b|"
            r"(?<!Dr\.\s)(?<!Dr\s)\b[A-Z][a-z]+'s\s+(?:[\w-]+\s+)?(?:asthma|allerg\w+|diabet\w+|cancer|ADHD|anxiety|"
            r"depression|autism|seizures?|eczema|ear\s+infections?|fracture|surgery|pregnancy|braces)\b|"
            r"\b(?:your|her|his)\s+(?:[\w-]+\s+)?(?:cancer|tumou?r|malignan\w*|bipolar|schizo\w*|PTSD|ADHD|HIV|hepatitis|"
            r"diabet\w*|dementia|alzheimer\w*|addiction|depression|substance\s+use|eating\s+disorder|BRCA|miscarriage|"
            r"pregnancy)\b|"
            # a diagnosis quoted and explained: '"mild degenerative disc disease" is just normal wear'
            rf"[\"“][^\"”]*\b(?:{_CONDITIONS})\b[^\"”]*[\"”]\s+(?:is|was|means|just\s+means)\b|"
            rf"[\"“][^\"”]{{3,80}}[\"”]\s+(?:(?:just|simply|only|basically)\s+)?means\b[^.!?]*\b(?:{_CONDITIONS})\b|"
            # "gallbladder is fine", "the liver ultrasound show fatty liver": a result
            rf"\b(?:{_CONDITIONS})\s+(?:is|was|looks?|looked|came\s+back)\s+(?:fine|normal|clear|good|healthy|ok(?:ay)?)\b"
            r"(?!\s+(?:for|to|with|if|in\s+general))|"
            rf"\b(?:the|those|these)\s+(?:[\w-]+\s+){{0,2}}?(?:{_PROCEDURES})\s+(?:showed|revealed|confirmed|came\s+back|"
            rf"shows?\s+(?:[\w-]+\s+){{0,3}}?(?:{_CONDITIONS}))\b|"
            # "your Holter showed only occasional PVCs": someone's result
            r"\b(?:your|her|his)\s+(?!(?:feedback|review|comments?|words|post|message|note|experience|story|"
            r"letter|call|email|survey)\b)(?:[\w-]+\s+){0,2}?(?:showed|revealed|came\s+back|confirmed)\b(?!\s+(?:us|me)\b)|"
            # "a stress test result like the one described"
            r"\b(?:results?|findings?|scans?|tests?|reports?|diagnos[ie]s|conditions?|readings?|images?|symptoms?|"
            r"injur(?:y|ies)|fractures?)\s+like\s+the\s+one\s+(?:you\s+)?(?:described|mentioned|had|got|received)\b|"
            # "findings like that little kidney cyst": the reviewer's own finding
            rf"\blike\s+(?:that|this|your|her|his)\s+(?:[\w-]+\s+){{0,2}}?(?:{_CONDITIONS})\b",
            _I,
        ),
    ),
    # --- publicly discussing or disputing the case ---
    (
        PUBLIC,
        re.compile(
            r"\b(?:happy|glad|willing|like|want|wish|able|going|need|must)\s+to\s+(?:publicly\s+)?"
            r"(?:discuss|explain|go\s+over|clarify|share|address|respond\s+to|correct|detail|lay\s+out|walk\s+through)"
            r"\b[^.!?]*\b(?:here|publicly|public|online|in\s+this\s+(?:forum|thread|reply|response|post|space)|"
            r"in\s+(?:a|another)\s+(?:follow-?up|separate)\s+(?:comment|reply|response|post)|"
            r"for\s+(?:everyone|all|other\s+readers|the\s+public|others))\b|"
            # "we will lay out the timeline of the exam in a follow-up comment"
            r"\b(?:we\s+will|we'll|we\s+are\s+going\s+to|we\s+intend\s+to|let\s+(?:us|me))\s+(?:publicly\s+)?"
            r"(?:discuss|explain|go\s+over|clarify|share|address|detail|lay\s+out|walk\s+through|post|outline|describe)"
            r"\s+(?:[\w-]+\s+){0,4}?(?:timeline|details|facts|what\s+happened|sequence\s+of\s+events|"
            r"(?:the|your|her|his|this)\s+(?:visit|exam|scan|case|care|account|bill|records?|chart|results?|treatment|"
            r"appointment|situation|events?))\b[^.!?]*\b(?:here|publicly|public|online|below|in\s+(?:this|a|another|"
            r"our)\s+(?:follow-?up\s+|separate\s+)?(?:forum|thread|reply|response|post|comment|space))\b|"
            r"\b(?:set|setting)\s+the\s+record\s+straight\b|\bfor\s+the\s+record\b|\bthe\s+(?:real\s+)?facts\s+"
            r"(?:are|of\s+(?:this|the)\s+case)\b|\bthe\s+truth\s+is\b|\bwhat\s+(?:really|actually)\s+happened\b|"
            r"\b(?:our|the\s+practice's)\s+side\s+of\s+the\s+story\b|\b(?:contrary\s+to|despite)\s+"
            r"(?:what|your|her|his)\s+(?:\w+\s+)?(?:claims?|says?|review|wrote|writes|posted|states?)\b|"
            r"\b(?:reply|respond|comment)\s+(?:to\s+this\s+(?:review|post|comment|thread)\s+)?(?:with|including)\s+"
            r"(?:the|your|her|his)\s+(?:full\s+name|name\s+on|date\s+of\s+birth|DOB|birthday|account|member|policy)|"
            r"\b(?:reply|respond|comment|post|write|share|list|include|leave)\s+(?:back\s+)?(?:here\s+)?(?:with\s+)?"
            r"(?:your|her|his)\s+(?:full\s+name|date\s+of\s+birth|DOB|birthday|phone|number|account|member|"
            r"policy|insurance|details|chart|address|email|MRN|record)\b|"
            r"\b(?:we\s+will|we'll|we\s+are\s+going\s+to)\s+(?:post|publish|share|release)\s+(?:your|her|his|the)\s+"
            r"(?:\w+\s+)?(?:records?|chart|file|details|information|results?|report|history|bill|account|messages?|"
            r"emails?|texts?|recording|footage|video|side)\b"
            # passing praise to the team is not publishing it
            r"(?!\s+with\s+(?:(?:the|our|my)\s+(?:whole\s+|entire\s+)?(?:team|staff|colleagues|doctors?|providers?|"
            r"techs?|technologists?|radiologists?|nurses?|leadership|managers?|owners?|office|group)|everyone\s+"
            r"(?:here|at|on)))|"
            r"\b(?:post|paste|share|upload)\s+(?:[\w-]+\s+){0,5}?(?:report|results?|images?|bill|statement|account|"
            r"claim|chart|records?|details|info|information|photo|picture|shot|card)\b[^.!?]*\b(?:here|below|"
            r"on\s+our\s+(?:instagram|facebook|page|website|site|feed)|in\s+(?:a|the|this)\s+(?:reply|comment|thread))\b|"
            r"\b(?:walk\s+you\s+through|explain|go\s+over)\s+(?:it|them|this|that)\b[^.!?]*\bright\s+here\b|"
            r"\b(?:will|'ll)\s+(?:respond|reply|answer)\s+(?:\w+\s+){0,3}?in\s+(?:this|the)\s+(?:thread|comments)\b|"
            # "list your questions in a reply ... and our radiologist will answer them here"
            r"\b(?:answer|respond\s+to|reply\s+to|address)\s+(?:them|it|each(?:\s+one)?|every\s+one|those|these|"
            r"your\s+(?:questions|concerns))\s+(?:\w+\s+)?(?:here|publicly|below|in\s+(?:this|the)\s+(?:thread|comments))\b|"
            r"\b(?:post|list|share|leave|write)\s+(?:[\w-]+\s+){0,6}?(?:questions|concerns)\b[^.!?]*\b(?:here|below|"
            r"in\s+(?:a|the|this)\s+(?:reply|comment|thread))\b[^.!?]*\b(?:answer|respond|reply|address)|"
            r"\bfor\s+(?:the\s+benefit\s+of\s+)?other\s+readers\b|\b(?:in\s+the\s+interest\s+of\s+|for\s+)"
            r"transparency\b|\bhere(?:'s|\s+is)\s+what\s+(?:really\s+|actually\s+)?happened\b|"
            r"\b(?:looked\s+at|checked|pulled|reviewed)\s+(?:the|our)\s+(?:[\w-]+\s+){0,2}?(?:logs?|footage|"
            r"recordings?|sign-?in\s+sheets?)\b|"
            r"\b(?:your|her|his)\s+(?:full\s+name|date\s+of\s+birth|birth\s*date|DOB|member\s+ID|policy\s+number|"
            r"account\s+number|phone\s+number)\b[^.!?]*\b(?:in\s+the\s+comments?|below|here|publicly|in\s+(?:a|this|your)"
            r"\s+(?:reply|comment|response|post))\b|"
            r"(?<!\bjust\s)\bso\s+(?:you\s+and\s+)?(?:everyone|others|readers)(?:\s+else)?\s+"
            r"(?:knows|can\s+see|understands)\b(?!\W*(?:our|the)\s+(?:general\s+)?(?:process|policy|policies|hours|rules)|"
            r"\s+(?:ahead\s+of\s+time|in\s+advance|beforehand|what\s+to\s+expect))",
            _I,
        ),
    ),
]
# "We're sorry it took three tries to get the IV in": an apology about a specific event speaks of
# the reviewer's care even without naming them.
_APOLOGY = re.compile(r"\b(?:sorry|apologi[sz]e|apologies|regret)\b", _I)
# Greetings passed to someone by first name ("say hi to Frank") name a third person.
_GREETING_TO = re.compile(r"\b(?:[Ss]ay\s+(?:hi|hello)|[Gg]ive\s+our\s+(?:best|love|regards))\s+to\s+[A-Z][a-z]+\b")
# "our ultrasound team", "the MRI suite": a department or a machine, not someone's procedure
_CLINICAL_TERMS = re.compile(
    rf"\b(?:{_PROCEDURES}|{_CONDITIONS})\b(?!\s+(?:team|department|staff|techs?|technologists?|center|centre|"
    r"suites?|units?|machines?|scanners?|rooms?|services?|program|schedulers?))",
    _I,
)
_FINANCE_TERMS = re.compile(rf"\b(?:{_FINANCE})\b", _I)
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
_THAT_VISIT = re.compile(
    r"\bthat\s+(?:day|morning|afternoon|evening|night)\b|\bon\s+the\s+day\b(?!\s+of\b)|"
    r"(?P<late>(?<!than\s)(?<!over\s)(?<!least\s)(?<!to\s)\b\d+\s+(?:min|mins|minutes|hours?|hrs?)\s+late\b)",
    _I,
)
_VISIT = re.compile(
    r"\b(?:delay\w*|wait\w*|visit\w*|appointments?|scans?|exams?|arriv\w+|came|check-?in|checked|procedures?|"
    r"late|early|seen|booked|scheduled|rescheduled|cancell?ed)\b",
    _I,
)
_CONTACT = re.compile(
    r"\b(?:call|reach|reachable|contact|email|e-mail|text|phone|fax|visit|write|dial|ring|line|number|website|site|"
    r"talk|speak|chat|hear|connect)\b",
    _I,
)
# ...unless the clause says the number or address is someone's: "we called you at", "your cell".
_THEIRS = re.compile(
    r"\b(?:your|her|his|their|\w+'s)\s+(?:\w+\s+)?(?:number|phone|cell|mobile|email|e-mail|address|line|contact)\b|"
    r"\b(?:called|texted|phoned|rang|emailed|messaged|reached|tried|left\s+(?:\w+\s+){0,3}?(?:for|to))\s+"
    r"(?:you|her|him|them)\b|"
    r"\b(?:call|text|phone|ring|email|e-mail|reach|contact)\s+(?:you|her|him|them)\s+(?:\w+\s+)?(?:at|on)\s*$|"
    r"\b(?:you|she|he|they)\s+(?:gave|provided|listed|left|registered|used|wrote\s+down)\b",
    _I,
)
# Role mailboxes ("billing@", "office@") belong to the practice, never to a patient.
_ROLE_MAILBOX = re.compile(
    r"^(?:office|info|contact|contactus|hello|billing|support|help|frontdesk|front\.desk|reception|admin|records|"
    r"medicalrecords|scheduling|appointments|feedback|care|patientcare|patientrelations|patient\.relations|privacy|"
    r"compliance|manager|team|questions|inquiries|service|customerservice|concerns)[\w.+-]*@",
    _I,
)
# A name the reply itself presents as the practice's own person: "ask for Renee", "our manager,
# Carla", "I'm Dr. Levesque, the medical director".  Such a name discloses nothing about a patient.
_STAFF_ROLE = (
    r"(?:manager|director|administrator|supervisor|coordinator|advocate|lead|owner|founder|president|CEO|COO|"
    r"receptionist|scheduler|nurse|technologist|tech|radiologist|physician|doctor|dentist|hygienist|therapist|"
    r"representative|rep|liaison|officer|head|partner|team\s+member|navigator)s?"
)
_STAFF_BEFORE = re.compile(
    rf"(?:\b(?:our|the|my)\s+(?:[\w-]+\s+){{0,3}}?{_STAFF_ROLE},?|\bask\s+for|\bspeak\s+(?:with|to)|"
    rf"\b(?:I'm|I\s+am|my\s+name\s+is|this\s+is|it's)|"
    # a sign-off names the writer: "Regards, Summit Diagnostic Imaging", "- Dr. Sean Whitley & the team"
    rf"\b(?:regards|sincerely|warmly|cheers|best|yours),?|(?:^|\n|[.!?]\s+)[-–—~])"
    rf"\s+(?:(?:Dr|Doctor|Nurse)\.?\s+)?$",
    _I,
)
_STAFF_AFTER = re.compile(rf"^,?\s+(?:(?:our|the)\s+)?(?:[\w-]+\s+){{0,3}}?{_STAFF_ROLE}\b", _I)
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
_GENERIC_YOUR = re.compile(
    r"your\s+(?:doctor|physician|provider|referring\s+(?:doctor|physician|provider)|plan|insurance|insurer|"
    r"health\s+plan|technologist|tech|nurse|radiologist|sonographer|dentist|hygienist|OB)",
    _I,
)
# The reader's own doctor or plan in advice to anyone: "reach out to your doctor's office", "your
# doctor chooses which exam", "call us with your plan name".  Said of nothing that happened, it
# confirms no visit here.
_ADVICE_YOUR = re.compile(
    r"\b(?:ask|call|contact|check\s+with|talk\s+(?:to|with)|speak\s+(?:to|with)|reach\s+out\s+to|consult|see|"
    r"bring|have|check|verify|confirm|with|from|by|for|tell|let)\s+(?:\w+\s+)?your\s+(?:own\s+)?"
    r"(?:doctor|physician|provider|referring\s+(?:doctor|physician|provider)|plan|insurance|insurer|health\s+plan|"
    r"technologist|tech|nurse|radiologist|sonographer|dentist|hygienist|OB)\b|"
    r"\byour\s+(?:own\s+)?(?:doctor|physician|provider|plan|insurance|insurer|health\s+plan|OB)(?:'s\s+office)?\s+"
    r"(?:or\s+(?:[\w-]+\s+){1,5}?)?(?:may|might|can|could|will|would|should|usually|typically|often|chooses|"
    r"decides|determines|orders|knows|is\s+the\s+best)\b",
    _I,
)
# Words of continuing care: a sentence with them speaks of someone's next step, not of how an exam goes.
_CONTINUING_CARE = re.compile(
    r"\b(?:another|again|next|repeat|follow-?up|come\s+back|return|still|anymore|keep\s+taking)\b", _I
)
_DIAGNOSES = re.compile(
    r"\b(?:tumou?rs?|cancer|malignan\w*|benign|mass(?:es)?|lesions?|nodules?|cysts?|fractures?|broken|torn|tears?|"
    r"herniat\w+|stenosis|aneurysms?|strokes?|clots?|pregnan\w*|miscarriage|depress\w*|anxiety|bipolar|schizo\w*|"
    r"PTSD|ADHD|HIV|STDs?|STIs?|hepatitis|diabet\w*|dementia|alzheimer\w*|addict\w*|overdose|diagnos\w*|"
    r"positive|abnormal|infection|injur(?:y|ies)|illness|disease|disorder|arthritis|pneumonia|hernia|"
    r"migraines?|seizures?|asthma|a-?fib|arrhythmi\w*|shows|reveals|confirms|indicates|suggests|found)\b",
    _I,
)
_NEGATED = re.compile(r"\b(?:not|never|cannot|unable|no\s+longer)\s+(?:\w+\s+){0,2}$|n't\s+(?:\w+\s+){0,2}$", _I)
_PRIVATELY = re.compile(r"\b(?:privately|offline|never\s+(?:here|online|publicly))\b", _I)
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
_WISH = re.compile(
    r"\b(?:(?:so\s+)?(?:glad|happy|relieved|thrilled|delighted)(?!\s+to\b)|hope|hoping|congrat\w*|"
    r"(?:good|great|wonderful|fantastic)\s+news|(?:good|great|nice|wonderful)\s+to\s+see|best\s+wishes|wishing|speedy|"
    r"get\s+well)\b",
    _I,
)
_DEFINITE_CLINICAL = re.compile(
    r"(?<!ordered\s)(?<!requested\s)(?<!referred\s)"
    rf"\b(?:the|that(?!\s+[a-z]+(?<![ious])s\b)|this|those|these)\s+(?!(?:every|each|all|any)\b)(?:[\w-]+\s+){{0,2}}?"
    rf"(?:{_PROCEDURES}|{_CONDITIONS})\b"
    r"(?!\s+(?:[\w-]+\s+)?(?:machines?|scanners?|units?|suites?|rooms?|team|department|center|centre|schedule|"
    r"waiting|area|desk|staff|technologists?|techs?|coordinator|navigator|program|process|policy|plans?|forms?|"
    r"instructions|options|line|portal|equipment|table|guidelines))",
    _I,
)
_AFTER_A_TITLE = re.compile(r"\b(?:Mr|Mrs|Ms|Mx|Dr|Miss|Prof)\.?\s+$")
_STAFF_CANDIDATE = re.compile(
    r"(?:\b(?:Dr|Doctor|Nurse|Mr|Mrs|Ms|Mx)\.?\s+)?"
    r"(?P<name>\b[A-Z][a-z]+(?:[-'][A-Za-z]+)?(?:\s+[A-Z][a-z]+(?:[-'][A-Za-z]+)?)?)"
)
_GENERIC_PEOPLE = re.compile(
    r"\b(?:anyone|anybody|everyone|everybody|someone|somebody|whoever|people|patients|families|parents|others|"
    r"women|men|adults|children|kids|teens|seniors|individuals|those\s+who|"
    r"(?:a|each|every|any|all)\s+(?:patient|person|client|parent|family|individual)s?)\b",
    _I,
)
# An emoji before a new capitalised sentence ends one too: "you are so welcome ❤️ A bone density scan..."
_BOUNDARY = re.compile(r"[.!?]+[\"'”’)\]]*(?=\s|$)|\n+|[\U0001F300-\U0001FAFF\u2600-\u27BF]\ufe0f?(?=\s+[A-Z])")
_ABBREVIATION = re.compile(r"\b(?:Dr|Mr|Mrs|Ms|Mx|Prof|St|Sr|Jr|vs|etc|e\.g|i\.e|Ste|Apt|No|a\.m|p\.m|[A-Z])$")

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


@dataclass(frozen=True)
class Finding:
    """One problem: ``reply[start:end]`` is the offending text, ``type`` one of the categories above.

    ``source`` is ``"rules"`` (a rule or the PHI detector) or ``"model"`` (the learned classifier).
    """

    type: str
    start: int
    end: int
    text: str
    explanation: str
    source: str = "rules"


# The encoder reads 128 word pieces (about 90 words), but a disclosure diluted among 40 words of
# thanks was missed in a test, so a run-on sentence is read in
# overlapping windows of WINDOW_WORDS words (a short sentence is one window, itself), and the
# sentence is flagged when any window is. A reply that needs more than MAX_MODEL_WINDOWS distinct
# windows (a review site's reply holds about 4 000 characters, some 40 sentences) is refused as
# too long to check rather than read in part. Sentences without a letter are not read.
WINDOW_WORDS = 24
MIN_CLAUSE_WORDS = 4
_CLAUSE = re.compile(r"\s*[,;:]\s*(?:and|but|so|because|although|though|while)?\s*|\s+(?:and|but)\s+", re.IGNORECASE)
WINDOW_OVERLAP = 8
MAX_MODEL_WINDOWS = 300
_LETTER = re.compile(r"[^\W\d_]")


class ReplyTooLongToCheck(ValueError):
    """The reply has more distinct sentences than the learned model reads for one check."""


def _windows(sentence: str) -> list[str]:
    """The sentence itself when short, else overlapping word windows covering all of it, and its clauses.

    A disclosure of eight words in a window of 24 reads, to the encoder, mostly like the thanks around
    it; the clauses of a run-on sentence ("..., and the lump turned out to be a harmless cyst") are
    read on their own as well."""
    words = sentence.split()
    if len(words) <= WINDOW_WORDS:
        return [sentence]
    step = WINDOW_WORDS - WINDOW_OVERLAP
    windows = [" ".join(words[i : i + WINDOW_WORDS]) for i in range(0, len(words) - WINDOW_OVERLAP, step)]
    clauses = [c.strip() for c in _CLAUSE.split(sentence)]
    extra = [c for c in clauses if len(c.split()) >= MIN_CLAUSE_WORDS and len(c.split()) <= WINDOW_WORDS]
    return list(dict.fromkeys([*windows, *extra]))


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


@dataclass(frozen=True)
class _Sentence:
    start: int
    end: int
    text: str


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
        for sentence in _sentences(reply):
            policy = _is_policy(sentence.text) or (explained and _continues_explainer(sentence.text))
            yield from self._sentence_findings(reply, sentence, policy, name_pattern)
            explained = explained or policy
        yield from self._identifier_findings(reply, review, display_name)

    def _sentence_findings(
        self, reply: str, s: _Sentence, policy: bool, name_pattern: re.Pattern[str] | None
    ) -> Iterator[Finding]:
        generic = bool(_GENERIC_PEOPLE.search(s.text))
        # the words the vocabulary is matched in: without addresses ("billing@...") and the reviewer's
        # chosen name ("Bill & Marge"), each blanked to the same length so offsets stay put
        words = _blank(_blank(s.text, _ADDRESS), name_pattern)
        advice = _advice_spans(s.text)
        for kind, pattern in _RULES:
            for m in pattern.finditer(s.text):
                anyones = generic or bool(_ANY_THING.search(s.text))
                if anyones and kind == CONFIRMATION and m.group().lower().startswith(("their ", "the patient's ")):
                    continue  # "anyone who needs a copy of their images": no one in particular
                any_readers = policy or any(a <= m.start() < b for a, b in advice)
                if kind == CONFIRMATION and any_readers and _GENERIC_YOUR.fullmatch(m.group()):
                    continue  # "a referral from your physician is required": any reader's physician
                if kind == CONFIRMATION and policy and re.match(r"on\s+our\s+(?:end|side)", m.group(), _I):
                    continue  # "when a repeat is needed because of a limitation on our side"
                explaining = policy or _IN_GENERAL.search(s.text, 0, m.start()) or _POLICY_MARKER.search(s.text)
                if kind == CLINICAL and m.group()[0] in '"“' and explaining:
                    continue  # 'in general, "dense breast tissue" is very common'
                if kind == PUBLIC and _declines_publicly(s.text, m):
                    continue  # "we can't respond to questions about specific scans here"
                general = policy and m.group().lower() == "for the record"
                if kind == PUBLIC and (general or _EXPLAINS_FOR_EVERYONE.match(s.text, m.start())):
                    continue  # "for the record, we don't require prepaid packages from anyone"
                yield _finding(reply, kind, s.start + m.start(), s.start + m.end())
        unadvised = s.text
        for a, b in reversed(advice):
            unadvised = unadvised[:a] + " " * (b - a) + unadvised[b:]
        if _mentions_staff(s.text, self.detector.staff):
            unadvised = _THIRD_PERSON.sub(" ", unadvised)  # "Dr. Wu ... she really does have a gift"
        reminder = bool(_REMINDER.search(s.text)) and not generic and not policy
        personal = (_about_someone(unadvised) and not policy) or _apologises_for_something(words) or reminder
        if personal:
            for m in _CLINICAL_TERMS.finditer(words):
                if not _AFTER_A_TITLE.search(s.text, 0, m.start()) and not _in_a_proper_name(s.text, m):
                    yield _finding(reply, CLINICAL, s.start + m.start(), s.start + m.end())
            for m in _FINANCE_TERMS.finditer(words):
                if not _AFTER_A_TITLE.search(s.text, 0, m.start()):  # "Ms. Price" is a surname
                    yield _finding(reply, FINANCIAL, s.start + m.start(), s.start + m.end())
        elif not policy and not generic and _WISH.search(s.text):
            # good wishes about a condition speak of someone's care: "so glad the new inhaler is
            # helping", "congratulations on finally being cancer free"
            for m in _CLINICAL_TERMS.finditer(s.text):
                yield _finding(reply, CLINICAL, s.start + m.start(), s.start + m.end())
        elif not policy and not generic and not _ANY_THING.search(s.text) and _past_tense(s.text):
            # something that happened to a particular case, told without naming anyone: "the tumour
            # shrank after the radiation", "our cardiologist caught the arrhythmia just in time"
            for m in _DEFINITE_CLINICAL.finditer(s.text):
                yield _finding(reply, CLINICAL, s.start + m.start(), s.start + m.end())
            # "the account was sent to collections", "we've waived the copay": someone's bill
            for m in () if _PRACTICE_CHANGE.search(s.text) else _SETTLED_BILL.finditer(words):
                yield _finding(reply, FINANCIAL, s.start + m.start(), s.start + m.end())
        # "our IT vendor pushed a fix last week": the practice's own change, not someone's visit
        practice_change = bool(_PRACTICE_CHANGE.search(s.text)) and not personal
        if personal or (_VISIT.search(s.text) and not practice_change):
            for m in _WHEN.finditer(s.text):
                yield _finding(reply, APPOINTMENT, s.start + m.start(), s.start + m.end())
        # "the lock was broken that day", "15 min late on a Saturday": told of a visit that happened
        if not (generic or policy or practice_change):
            for m in _THAT_VISIT.finditer(s.text):
                if m.group("late") or _past_tense(s.text):
                    yield _finding(reply, APPOINTMENT, s.start + m.start(), s.start + m.end())
        for m in _GREETING_TO.finditer(s.text):
            yield _finding(reply, NAMING, s.start + m.start(), s.start + m.end())
        # a price list for anyone ("a flat self-pay price of $99 for everyone") is not someone's bill
        price_list = policy or (
            not personal and (generic or not _past_tense(s.text)) and not _DEFINITE_FINANCE.search(s.text)
        )
        for m in () if price_list else _MONEY.finditer(s.text):
            yield _finding(reply, FINANCIAL, s.start + m.start(), s.start + m.end())

    def _model_findings(self, reply: str, rule_findings: list[Finding], display_name: str | None) -> list[Finding]:
        """The classifier's findings, on the sentences no rule fired on (span: the sentence)."""
        if self.classifier is None:
            return []
        todo: dict[str, list[tuple[int, int]]] = {}  # identical windows are classified once
        for s in _sentences(reply):
            lead = len(s.text) - len(s.text.lstrip())
            start, end = s.start + lead, s.start + len(s.text.rstrip())
            if not _LETTER.search(s.text) or any(f.start < end and start < f.end for f in rule_findings):
                continue
            for window in _windows(self.model_view(reply[start:end], display_name)):
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
        for s in _sentences(reply):
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


def model_input(sentence: str, staff: StaffAllowList, display_name: str | None) -> str:
    """A sentence as the classifier reads it, in training and at inference (``ReplyGuard.model_view``).

    Besides the staff and display-name masks, a refusal to discuss care in public and a warning not
    to post details here are written in one plain form: the rules already know them for refusals,
    and in their own words ("we can't discuss anyone's care publicly") the classifier hears a
    discussion of care in public."""
    text = mask_display_name(mask_staff(sentence, staff), display_name)
    text = _REFUSAL.sub("we keep everyone's care private", text)
    return _DONT_POST.sub("please keep personal details private", text)


_REFUSAL = re.compile(
    r"\b(?:we|I)\s+(?:can't|cannot|can\s+not|won't|will\s+not|don't|do\s+not|never|(?:are|am|'re|'m)\s+"
    r"(?:not\s+able|unable)\s+to|aren't\s+able\s+to)\s+(?:\w+\s+){0,2}?(?:discuss|comment\s+on|talk\s+about|"
    r"share|review|interpret|confirm|respond\s+to|address)\b[^.!?;,]*?\b(?:here|publicly|online|in\s+public|"
    r"on\s+(?:a|this|any)\s+(?:public\s+)?(?:site|forum|platform|page)|in\s+this\s+forum|on\s+review\s+sites)\b",
    _I,
)
_DONT_POST = re.compile(
    r"\b(?:please\s+)?(?:don't|do\s+not|never)\s+(?:post|share|include|put)\s+(?:[\w-]+\s+){0,4}?"
    r"(?:here|online|publicly|in\s+(?:a|the|this|your)\s+(?:review|reply|comment|thread))\b",
    _I,
)


def mask_display_name(sentence: str, display_name: str | None) -> str:
    """``sentence`` with the words of the reviewer's display name (and a title before them) written "friend"."""
    words = _display_name_words(display_name)
    if not words:
        return sentence
    names = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
    pattern = rf"(?:\b(?:Mr|Mrs|Ms|Mx|Dr|Miss)\.?\s+)?\b(?:{names})\b(?:\s+\b(?:{names})\b)*"
    return re.sub(pattern, "friend", sentence, flags=re.IGNORECASE if display_name and display_name.isupper() else 0)


def mask_staff(sentence: str, staff: StaffAllowList) -> str:
    """``sentence`` with each name on the staff allow-list (and its title) written as "our colleague"."""
    if not len(staff):
        return sentence

    def masked(m: re.Match[str]) -> str:
        return "our colleague" if m.group("name") in staff else m.group()

    return _STAFF_CANDIDATE.sub(masked, sentence)


def _contact_key(value: str) -> str:
    """One spelling per contact: a phone's last ten digits, an address lower-cased without scheme or "www."."""
    value = value.strip()
    if "@" not in value and not re.search(r"[A-Za-z]", value):
        return re.sub(r"\D", "", value)[-10:]
    value = re.sub(r"^(?:https?://)?(?:www\.)?", "", value.lower())
    return value.rstrip("/")


def _domain(address: str) -> str:
    """The host of a web address, or the domain of an e-mail address ("" when there is none)."""
    address = address.strip().lower()
    if "@" in address:
        return address.rsplit("@", 1)[1].strip(".")
    host = re.sub(r"^(?:[a-z][a-z0-9+.-]*://)?", "", address).split("/", 1)[0].split(":", 1)[0]
    return host.removeprefix("www.").strip(".")


def _introduced_as_staff(reply: str, span: Span) -> bool:
    """Whether the reply presents the name as one of the practice's people (or as its writer)."""
    before = reply[max(0, span.start - 60) : span.start]
    after = reply[span.end : span.end + 60]
    return bool(_STAFF_BEFORE.search(before) or _STAFF_AFTER.match(after))


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


_ADDRESS = re.compile(r"\S+@\S+|\b(?:https?://|www\.)\S+|\b[\w-]+\.(?:com|org|net)(?:/\S*)?", _I)
_THIRD_PERSON = re.compile(r"\b(?:he|she|his|her|hers|him|himself|herself)\b", _I)
_REMINDER = re.compile(r"\b(?:(?:just\s+a|a\s+quick|quick|friendly)\s+reminder|don't\s+forget)\b", _I)
_PRACTICE_CHANGE = re.compile(
    r"\b(?:fixed|pushed\s+a\s+fix|added|updated|installed|upgraded|replaced|hired|launched|introduced|extended|"
    r"expanded|renovated|repaired|rolled\s+out|switched)\b",
    _I,
)
# "We're sorry to hear this", "sorry for the frustration": sympathy with a review, not an apology for
# something that happened to the reviewer ("sorry it took three tries to get the IV in")
_SYMPATHY = re.compile(
    r"\b(?:sorry|apologi[sz]e|apologies|regret)\s+(?:(?:to\s+(?:hear|read|learn|see)(?:\s+(?:this|that|about\s+"
    r"(?:this|that|the\s+(?:frustration|trouble|hassle|confusion|stress|worry|experience|inconvenience))))?)|"
    r"(?:for|about)\s+(?:the|any|this|all\s+the)\s+(?:frustration|confusion|stress|inconvenience|trouble|worry|"
    r"hassle|experience|delay|misunderstanding)|if)(?=\s*(?:[.,;!?-]|$|and\b|but\b))|"
    # a bare "we're sorry." or "Sorry <name>,"
    r"\b(?:sorry|apologies)(?=\s*(?:[.,;!?]|$))|\bsorry\s+if\b|"
    r"\bsorry\s+(?:that\s+)?(?:it|this|things)\s+felt\s+(?:that|this)\s+way\b|"
    r"\bsorry\s+to\s+(?:hear|read|learn)\s+(?:that\s+)?(?:this|that)\s+is\s+how\s+(?:things|it)\s+felt\b|"
    # the practice's own things: "sorry the website isn't clearer"
    r"\b(?:sorry|apologi[sz]e|apologies)\s+(?:that\s+|about\s+|for\s+)?(?:the|our)\s+(?:website|web\s*site|site|web\s+page|"
    r"page|phone\s+(?:system|line|tree)|app|online\s+[\w-]+|form)\b",
    _I,
)


_DEFINITE_FINANCE = re.compile(
    r"\b(?:the|that|this|those|these|remaining|outstanding)\s+(?:\S+\s+){0,2}?(?:balance|bill|charge|payment|refund|"
    r"co-?pay|claim|invoice|statement|deductible)s?\b|"
    r"\b(?:balance|bill|co-?pay|deductible|amount)\s+(?:is|was|of|due|owed)\b|"
    r"\$\s?\d[\d,]*(?:\.\d\d)?\s+(?:is\s+)?(?:still\s+)?(?:outstanding|due|owed|overdue|unpaid|past\s+due)\b",
    _I,
)


# What was done with a particular bill: "the account was sent to collections", "we've waived the copay"
_BILL = r"(?:balance|bill|co-?pay|account|charge|claim|refund|statement|invoice|deductible)s?"
_SETTLED_BILL = re.compile(
    rf"\b(?:the|that|this)\s+(?:[a-z-]+\s+)?{_BILL}\s+(?:was|were|went|got|has\s+been|had\s+been)\b|"
    rf"\b(?:the|that|this)\s+{_BILL}\s+(?:we|you)\s+(?:submitted|filed|sent|billed|paid|received|mailed)\b|"
    rf"\b(?:waived|refunded|wrote\s+off|written\s+off|reversed|credited|adjusted|reprocessed|resubmitted)\s+"
    rf"(?:the|that|this)\s+(?:[a-z-]+\s+)?{_BILL}\b",
    _I,
)


def _blank(text: str, pattern: re.Pattern[str] | None) -> str:
    """``text`` with ``pattern``'s matches replaced by spaces (the offsets of the rest unchanged)."""
    return text if pattern is None else pattern.sub(lambda m: " " * len(m.group()), text)


def _display_name_words(display_name: str | None) -> set[str]:
    """The words of the reviewer's chosen display name ("Bill & Marge" -> Bill, Marge)."""
    return {w for w in re.findall(r"[A-Za-z][A-Za-z'-]+", display_name or "") if len(w) > 1}


def _display_name_pattern(display_name: str | None) -> re.Pattern[str] | None:
    words = sorted(_display_name_words(display_name))
    return re.compile(r"\b(?:" + "|".join(map(re.escape, words)) + r")\b") if words else None


def _mentions_staff(sentence: str, staff: StaffAllowList) -> bool:
    return bool(len(staff)) and any(m.group("name") in staff for m in _STAFF_CANDIDATE.finditer(sentence))


def _advice_spans(sentence: str) -> list[tuple[int, int]]:
    """Where the sentence advises any reader about their own doctor or plan (``_ADVICE_YOUR``).

    "Tell your technologist if you're cold" is advice; "I'll let your tech know" is the practice acting
    on the reviewer's visit, so a verb whose subject is "I" or "we" is not."""
    if not _tells_nothing_that_happened(sentence):
        return []
    return [m.span() for m in _ADVICE_YOUR.finditer(sentence) if not _PRACTICE_SUBJECT.search(sentence, 0, m.start())]


_PRACTICE_SUBJECT = re.compile(r"\b(?:I|we)(?:'ll|'d|'ve|\s+(?:will|would|can|have|already|just))?\s+$", _I)


def _apologises_for_something(sentence: str) -> bool:
    """An apology that speaks of an event, not the sympathy formulas that answer any review."""
    return bool(_APOLOGY.search(_SYMPATHY.sub(" ", sentence)))


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


def _declines_publicly(sentence: str, match: re.Match[str]) -> bool:
    """Whether a "discuss it here" match is negated (the reply refuses to discuss the case online) or
    speaks in general terms ("I want to explain this publicly, in general terms")."""
    before = sentence[max(0, match.start() - 30) : match.start()]
    general = re.search(r"\bin\s+general\s+terms\b|\bin\s+general\b", sentence, _I)
    return bool(_NEGATED.search(before) or _PRIVATELY.search(match.group()) or general)


def _in_a_proper_name(sentence: str, match: re.Match[str]) -> bool:
    """Whether a capitalised word ends a proper name inside the sentence ("your support of Ridgeview Imaging")."""
    return match.group()[0].isupper() and bool(_NAME_BEFORE.search(sentence, 0, match.start()))


_NAME_BEFORE = re.compile(r"[a-z,]\s+(?:[A-Z][a-z]+\s+)+$")


def _about_someone(sentence: str) -> bool:
    """Whether the sentence speaks about the reviewer or another particular person.

    "The patient" in how things work ("the physician reviews the risks with the patient") is anyone."""
    text = _HARMLESS_YOU.sub(" ", sentence)
    if _tells_nothing_that_happened(sentence) or (_ANY_THING.search(sentence) and not _EVENT.search(sentence)):
        text = _ANY_PATIENT.sub(" ", text)
    return bool(_PERSON.search(text))


# "we want to explain for everyone: sonographers are not permitted to share findings": how things work
_ORGANISATION_AFTER = re.compile(
    r"\s+(?:Dental|Health|Healthcare|Care|Imaging|Radiology|Medical|Clinic|Insurance|Vision|Hospital|Center|Centre|"
    r"Group|Associates|Labs?|Pharmacy|Diagnostics)\b"
)
_EXPLAINS_FOR_EVERYONE = re.compile(
    r"(?:[\w\s]*\b)?(?:explain|clarify)\s+(?:how\s+(?:it|this|things)\s+works?\s+(?:here\s+)?)?for\s+everyone\s*(?::|how\b|why\s+we\b)",
    _I,
)
# "every study performed in our center", "any imaging result": no one's in particular
_ANY_THING = re.compile(
    r"\b(?:any|every|each)\s+(?:[\w-]+\s+){0,2}?(?:results?|reports?|stud(?:y|ies)|exams?|scans?|images?|treatments?|"
    r"plans?|requests?|referrals?|procedures?)\b",
    _I,
)
_IN_GENERAL = re.compile(r"\b(?:in\s+general|generally|as\s+a\s+rule|for\s+anyone|for\s+everyone)\b", _I)
_ANY_PATIENT = re.compile(r"\bthe\s+(?:patient|client|person|individual)\b", _I)


def _sentences(text: str) -> Iterator[_Sentence]:
    """Sentences with their offsets; "Dr. Patel" and "a.m." do not end one."""
    start = 0
    for m in _BOUNDARY.finditer(text):
        if m.group()[0] == "." and _ABBREVIATION.search(text, 0, m.start()):
            continue
        if text[start : m.end()].strip():
            yield _Sentence(start, m.end(), text[start : m.end()])
        start = m.end()
    if text[start:].strip():
        yield _Sentence(start, len(text), text[start:])


def _finding(reply: str, kind: str, start: int, end: int, identifier: str = "an identifier") -> Finding:
    return Finding(kind, start, end, reply[start:end], EXPLANATIONS[kind].format(kind=identifier))


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
