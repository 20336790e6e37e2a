"""Prompt-injection heuristics.

Deterministic patterns for the common attacks on a grounded assistant: overriding its
instructions, extracting its prompt, or changing its role. They are deliberately conservative
(phrases, not single words) so ordinary policy questions pass; tests cover both directions.
"""

from __future__ import annotations

import re

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
    # Common non-English overrides (German, French, Spanish).
    "override_instructions_translated": (
        r"\bignoriere\b.{0,40}\banweisungen\b|\bignore[rz]?\b.{0,40}\binstructions\s+pr[ée]c[ée]dentes\b"
        r"|\bignora\b.{0,40}\binstrucciones\b"
    ),
    # "developer mode" alone is an ordinary device setting ("enable developer mode on my phone").
    "developer_mode": (
        r"\b(god|jailbreak|dan)\s+mode\b|\bdeveloper\s+mode\s+(enabled|activated|unlocked)\b"
    ),
    "fake_system_message": r"(^|\n)\s*(system|assistant)\s*:|<\s*/?\s*(system|instructions?)\s*>",
}

_COMPILED = {name: re.compile(pattern, re.IGNORECASE) for name, pattern in _PATTERNS.items()}


def detect_injection(text: str) -> str | None:
    """Return the name of the first injection rule the text triggers, or None."""
    for name, pattern in _COMPILED.items():
        if pattern.search(text):
            return name
    return None
