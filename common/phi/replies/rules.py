"""The categories of disclosure and the rules that find them in one sentence."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from common.phi.names import StaffAllowList
from common.phi.replies.people import _mentions_staff
from common.phi.replies.reading import (
    _ANY_THING,
    _DEFINITE_CLINICAL,
    _GENERIC_PEOPLE,
    _POLICY_MARKER,
    _WHEN,
    _about_someone,
    _past_tense,
    _tells_nothing_that_happened,
)
from common.phi.replies.sentences import Sentence
from common.phi.replies.vocabulary import _BILL, _CONDITIONS, _FINANCE, _I, _PROCEDURES

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


_MONEY = re.compile(r"\$\s?\d[\d,]*(?:\.\d\d)?|\b\d[\d,]*(?:\.\d\d)?\s*(?:dollars|USD)\b", _I)


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


_NEGATED = re.compile(r"\b(?:not|never|cannot|unable|no\s+longer)\s+(?:\w+\s+){0,2}$|n't\s+(?:\w+\s+){0,2}$", _I)


_PRIVATELY = re.compile(r"\b(?:privately|offline|never\s+(?:here|online|publicly))\b", _I)


_WISH = re.compile(
    r"\b(?:(?:so\s+)?(?:glad|happy|relieved|thrilled|delighted)(?!\s+to\b)|hope|hoping|congrat\w*|"
    r"(?:good|great|wonderful|fantastic)\s+news|(?:good|great|nice|wonderful)\s+to\s+see|best\s+wishes|wishing|speedy|"
    r"get\s+well)\b",
    _I,
)


_AFTER_A_TITLE = re.compile(r"\b(?:Mr|Mrs|Ms|Mx|Dr|Miss|Prof)\.?\s+$")


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


_EXPLAINS_FOR_EVERYONE = re.compile(
    r"[\w\s]*?\b(?:explain|clarify)\s+(?:how\s+(?:it|this|things)\s+works?\s+(?:here\s+)?)?for\s+everyone\s*(?::|how\b|why\s+we\b)",
    _I,
)


_IN_GENERAL = re.compile(r"\b(?:in\s+general|generally|as\s+a\s+rule|for\s+anyone|for\s+everyone)\b", _I)


def _finding(reply: str, kind: str, start: int, end: int, identifier: str = "an identifier") -> Finding:
    return Finding(kind, start, end, reply[start:end], EXPLANATIONS[kind].format(kind=identifier))


def sentence_findings(
    reply: str, s: Sentence, policy: bool, name_pattern: re.Pattern[str] | None, staff: StaffAllowList
) -> Iterator[Finding]:
    """The rule findings of one sentence of ``reply`` (offsets in the reply).

    ``policy``: the sentence (or an explanation it continues) speaks of how things go for anyone;
    ``name_pattern`` matches the reviewer's chosen display name; ``staff`` are the practice's people."""
    generic = bool(_GENERIC_PEOPLE.search(s.text))
    anyones = generic or bool(_ANY_THING.search(s.text))  # "any imaging result", "every study"
    past = _past_tense(s.text)
    changed = bool(_PRACTICE_CHANGE.search(s.text))
    explaining = policy or bool(_POLICY_MARKER.search(s.text))
    # the words the vocabulary is matched in: without addresses ("billing@...") and the reviewer's
    # chosen name ("Bill & Marge"), each blanked to the same length so offsets stay put
    words = _blank(_blank(s.text, _ADDRESS), name_pattern)
    advice = _advice_spans(s.text)
    for kind, pattern in _RULES:
        for m in pattern.finditer(s.text):
            if anyones and kind == CONFIRMATION and m.group().lower().startswith(("their ", "the patient's ")):
                continue  # "anyone who needs a copy of their images": no one in particular
            any_readers = policy or any(a <= m.start() < b for a, b in advice)
            if kind == CONFIRMATION and any_readers and _GENERIC_YOUR.fullmatch(m.group()):
                continue  # "a referral from your physician is required": any reader's physician
            if kind == CONFIRMATION and policy and re.match(r"on\s+our\s+(?:end|side)", m.group(), _I):
                continue  # "when a repeat is needed because of a limitation on our side"
            quoted = kind == CLINICAL and m.group()[0] in '"“'
            if quoted and (explaining or _IN_GENERAL.search(s.text, 0, m.start())):
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
    if _mentions_staff(s.text, staff):
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
    elif not policy and not anyones and past:
        # something that happened to a particular case, told without naming anyone: "the tumour
        # shrank after the radiation", "our cardiologist caught the arrhythmia just in time"
        for m in _DEFINITE_CLINICAL.finditer(s.text):
            yield _finding(reply, CLINICAL, s.start + m.start(), s.start + m.end())
        # "the account was sent to collections", "we've waived the copay": someone's bill
        for m in () if changed else _SETTLED_BILL.finditer(words):
            yield _finding(reply, FINANCIAL, s.start + m.start(), s.start + m.end())
    # "our IT vendor pushed a fix last week": the practice's own change, not someone's visit
    practice_change = changed and not personal
    if personal or (_VISIT.search(s.text) and not practice_change):
        for m in _WHEN.finditer(s.text):
            yield _finding(reply, APPOINTMENT, s.start + m.start(), s.start + m.end())
    # "the lock was broken that day", "15 min late on a Saturday": told of a visit that happened
    if not (generic or policy or practice_change):
        for m in _THAT_VISIT.finditer(s.text):
            if m.group("late") or past:
                yield _finding(reply, APPOINTMENT, s.start + m.start(), s.start + m.end())
    for m in _GREETING_TO.finditer(s.text):
        yield _finding(reply, NAMING, s.start + m.start(), s.start + m.end())
    # a price list for anyone ("a flat self-pay price of $99 for everyone") is not someone's bill
    price_list = policy or (not personal and (generic or not past) and not _DEFINITE_FINANCE.search(s.text))
    for m in () if price_list else _MONEY.finditer(s.text):
        yield _finding(reply, FINANCIAL, s.start + m.start(), s.start + m.end())
