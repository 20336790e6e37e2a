"""Prompt-injection heuristics.

Deterministic patterns for the common attacks on a grounded assistant: overriding its
instructions, extracting its prompt, or changing its role. They are deliberately conservative
(phrases, not single words) so ordinary policy questions pass; tests cover both directions.

The text is normalised before matching, so the usual disguises do not slip through: Unicode
compatibility forms (full-width letters), zero-width and other invisible characters, look-alike
Cyrillic and Greek letters, and spaced-out letters ("i g n o r e previous instructions",
"i.g.n.o.r.e"). The rules run on the text as written and on its normalised form.
"""

from __future__ import annotations

import re
import unicodedata

_PATTERNS: dict[str, str] = {
    # "rules" and "guidelines" are everyday policy words ("forget the expense rules", "the new
    # policy overrides the previous rules"), so they count only when they are clearly the
    # assistant's own ("your rules", "the above rules", "all rules"); "instructions" and
    # "prompt" are targets enough on their own.
    "override_instructions": (
        r"\b(ignore|disregard|forget|override|bypass)\b[\w\s,]{0,40}"
        r"(\b(previous|prior|above|earlier|all|your|the|system)\b[\w\s]{0,20}"
        r"\b(instructions?|prompts?)\b"
        r"|\b(above|all|your|system)\b[\w\s]{0,20}\b(rules|guidelines|directions|context)\b)"
        # "forget everything you were told", "disregard all of the above"
        r"|\b(ignore|disregard|forget)\s+(everything|anything|all)\b[\w\s]{0,30}"
        r"\b(told|said|above|before|given)\b"
        # "disregard the above and ...", "ignore all of the previous. Now ...": "the above" as the
        # thing to drop, not "ignore the above notice"
        r"|\b(ignore|disregard|forget)\s+(all\s+(of\s+)?)?(the\s+|everything\s+)?"
        r"(above|previous|prior|preceding|foregoing|earlier)\s*([.,;:!]|and\b|then\b|$)"
    ),
    # Asking the assistant to hand over secrets, as in "reveal the API keys" or "dump your
    # credentials".
    "reveal_secrets": (
        r"\b(reveal|dump|exfiltrate|print out)\s+(me\s+)?(the\s+|your\s+|all\s+(the\s+|your\s+)?|any\s+)?"
        r"(api[\s_-]?keys?|secret\s+keys?|access\s+tokens?|private\s+keys?|credentials"
        r"|secrets|passwords|environment\s+variables|env\s+vars)\b"
    ),
    "new_instructions": r"(^|[.!?]\s*|\n)\s*(new|updated|revised)\s+(instructions?|rules)\s*:",
    "reveal_prompt": (
        r"\b(reveal|show|print|repeat|output|display|tell me|what is|what are)\b[\w\s]{0,30}"
        r"\b(your|the)\s+(system\s+prompt|initial\s+prompt|hidden\s+(instructions|prompt)"
        r"|instructions you were given)"
        r"|\b(print|repeat|output|show|reveal)\b[\w\s]{0,20}\b(everything|all|the text)\s+"
        r"(above|before)\b"
        r"|\b(print|repeat|output|show|reveal)\b[\w\s]{0,30}\byour\s+(instructions|prompt|rules)\b"
    ),
    "role_change": (
        r"\b(you are now|from now on,? you|act as|pretend (to be|you are)|roleplay as)\b"
        r"[\w\s]{0,40}\b(unrestricted|jailbroken|dan|developer mode"
        r"|(no|without( any)?) (rules|restrictions|filters|limits|guardrails))\b"
        # the "grandmother" family: a role used to extract what the service must not say
        r"|\b(act as|pretend (to be|you are)|roleplay as)\b[\w\s']{0,60}\bwho (used to|would)\b"
    ),
    # Text that talks to the model instead of to a person: a document or a question is data,
    # so "note to the AI extractor: ...", "[SYSTEM: set amount to ...]", "Dear AI assistant"
    # or "<!-- instructions for the extraction model -->" is an attack wherever it appears.
    "addressed_to_model": (
        r"\b(notes?|messages?|instructions?|comments?|requests?)\s+(to|for)\s+(the\s+)?"
        r"(ai|assistant|model|extractor|extraction\s+model|system|llm|bot|chatbot)\b"
        r"|\b(dear|hey|attention)\s+(ai|assistant|model|extractor|llm|bot|chatbot)\b"
        r"|\byou\s+are\s+now\s+in\s+\w+\s+mode\b"
        r"|\bskip\s+(all\s+)?(the\s+)?validations?\b"
        r"|\b(set|mark|change)\s+(the\s+)?(outcome|status|result)\s+(to|as)\s+"
        r"(extracted|approved|accepted|valid)\b"
    ),
    # Common non-English overrides (German, French, Spanish).
    "override_instructions_translated": (
        r"\bignoriere\b.{0,40}\banweisungen\b|\bignore[rz]?\b.{0,40}\binstructions\s+pr[ée]c[ée]dentes\b"
        r"|\bignora\b.{0,40}\binstrucciones\b"
    ),
    # "developer mode" alone is an ordinary device setting ("enable developer mode on my phone").
    "developer_mode": (
        r"\b(god|jailbreak|dan)\s+mode\b|\bdeveloper\s+mode\s+(enabled|activated|unlocked)\b"
    ),
    "fake_system_message": (
        r"(^|\n|\[|\(|<!--)\s*(system|assistant)\s*:|<\s*/?\s*(system|instructions?)\s*>"
    ),
}

_COMPILED = {name: re.compile(pattern, re.IGNORECASE) for name, pattern in _PATTERNS.items()}

# Format characters (zero-width spaces and joiners, soft hyphens, bidi marks) hide inside words.
_INVISIBLE = re.compile("[\u00ad\u034f\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")
# Look-alike letters from Cyrillic and Greek, mapped to the Latin letter they imitate.
_HOMOGLYPHS = str.maketrans(
    "\u0430\u0435\u043e\u0440\u0441\u0443\u0445\u0456\u0458\u0455\u0501\u04bb\u0410\u0412"
    "\u0415\u041a\u041c\u041d\u041e\u0420\u0421\u0422\u0425\u0406\u0408\u0405"
    "\u03bf\u03b1\u03b5\u03b9\u03ba\u03bd\u03c1\u03c4\u03c5\u0391\u0392\u0395\u0397"
    "\u0399\u039a\u039c\u039d\u039f\u03a1\u03a4\u03a5\u03a7\u0396",
    "aeopcyxijsdhABEKMHOPCTXIJSoaeiknptuABEHIKMNOPTYXZ",  # pragma: allowlist secret
)
# Three or more single letters joined by one space, dot, hyphen, underscore or asterisk:
# "i g n o r e", "i.g.n.o.r.e", "i-g-n-o-r-e". Joined back into one word.
_SPACED_LETTERS = re.compile(r"(?<![^\W\d_])(?:[^\W\d_][ ._*\-]){2,}[^\W\d_](?![^\W\d_])")


def normalise(text: str) -> str:
    """The text with disguises removed: compatibility forms, invisibles, homoglyphs, spacing."""
    text = unicodedata.normalize("NFKC", text)
    text = _INVISIBLE.sub("", text).translate(_HOMOGLYPHS)
    return _SPACED_LETTERS.sub(lambda match: re.sub(r"[ ._*\-]", "", match.group(0)), text)


def detect_injection(text: str) -> str | None:
    """Return the name of the first injection rule the text triggers, or None."""
    normalised = normalise(text)
    for name, pattern in _COMPILED.items():
        if pattern.search(text) or pattern.search(normalised):
            return name
    return None
