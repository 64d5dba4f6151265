"""The words of the trade the rules look for: procedures, conditions, money and bills."""

from __future__ import annotations

import re

_I = re.IGNORECASE


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


_DIAGNOSES = re.compile(
    r"\b(?:tumou?rs?|cancer|malignan\w*|benign|mass(?:es)?|lesions?|nodules?|cysts?|fractures?|broken|torn|tears?|"
    r"herniat\w+|stenosis|aneurysms?|strokes?|clots?|pregnan\w*|miscarriage|depress\w*|anxiety|bipolar|schizo\w*|"
    r"PTSD|ADHD|HIV|STDs?|STIs?|hepatitis|diabet\w*|dementia|alzheimer\w*|addict\w*|overdose|diagnos\w*|"
    r"positive|abnormal|infection|injur(?:y|ies)|illness|disease|disorder|arthritis|pneumonia|hernia|"
    r"migraines?|seizures?|asthma|a-?fib|arrhythmi\w*|shows|reveals|confirms|indicates|suggests|found)\b",
    _I,
)


# What was done with a particular bill: "the account was sent to collections", "we've waived the copay"
_BILL = r"(?:balance|bill|co-?pay|account|charge|claim|refund|statement|invoice|deductible)s?"
