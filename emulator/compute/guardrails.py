"""Bedrock Guardrails without HTTP: the store (per account and Region; a DRAFT and numbered
versions) and the evaluation of texts against a guardrail version.

Only the policies a deterministic matcher enforces are accepted (botocore's ``bedrock``
shapes; the Bedrock user guide's "Amazon Bedrock Guardrails" chapter for behaviour):

- word filters (``wordPolicyConfig``): custom words and phrases, matched as whole words
  whatever their case, and the managed ``PROFANITY`` list (ours, below: AWS does not publish
  its list);
- sensitive information filters (``sensitiveInformationPolicyConfig``): the PII entity types a
  regular expression detects reliably (``PII_TYPES``; most reuse the CloudWatch Logs data
  identifiers of ``emulator.monitoring.logs_identifiers``) and custom regexes, with the
  actions BLOCK, ANONYMIZE (the match becomes ``{TYPE}``, or ``{regex name}``) and NONE.

Policies that need a classifier (content filters, denied topics, contextual grounding,
automated reasoning) and fuzzy PII types (NAME, ADDRESS, AGE, ...) are refused when a
guardrail is created or updated (``UnsupportedPolicy``), never accepted and left unenforced.

The store keeps every guardrail in ``<data_dir>/bedrock/guardrails.json``, replaced whole (a
temporary file, then os.replace). One store per Runtime (``guardrail_store``), shared by the
``bedrock`` control plane and Bedrock Runtime.
"""

from __future__ import annotations

import math
import re
import secrets
import string
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from emulator import user_regex
from emulator.durable import RecordFile
from emulator.errors import AwsError
from emulator.monitoring.logs_identifiers import managed

if TYPE_CHECKING:
    from emulator.runtime import Runtime

STORE_FILE = Path("bedrock") / "guardrails.json"
DRAFT = "DRAFT"


class UnsupportedPolicy(ValueError):
    """A guardrail configuration naming what this emulator cannot enforce (or an invalid one)."""


# --------------------------------------------------------------------------- word lists
# Our own modest list of common English profanity for the managed PROFANITY word list: AWS's
# list is not published. Matched as whole words, whatever their case.
PROFANITY: tuple[str, ...] = (
    "arse", "arsehole", "ass", "asshole", "bastard", "bitch", "bollocks", "bullshit", "cock",
    "crap", "cunt", "damn", "dick", "dickhead", "douchebag", "fuck", "fucked", "fucker",
    "fucking", "goddamn", "jackass", "motherfucker", "piss", "pissed", "prick", "shit",
    "shitty", "slut", "twat", "wanker", "whore",
)


def _word_regex(text: str) -> re.Pattern[str]:
    """A word or phrase as a case-insensitive whole-word match (any run of spaces between words)."""
    words = [re.escape(w) for w in text.split()]
    return re.compile(r"(?<!\w)" + r"\s+".join(words) + r"(?!\w)", re.IGNORECASE)


_PROFANITY_RE = re.compile(r"(?<!\w)(?:" + "|".join(re.escape(w) for w in PROFANITY) + r")(?!\w)", re.IGNORECASE)


# ------------------------------------------------------------------------- PII entities
def _mod97(text: str) -> bool:
    """The IBAN check: move the first four characters to the end, letters as 10..35, mod 97 == 1."""
    compact = re.sub(r"\s", "", text).upper()
    digits = "".join(str(int(c, 36)) for c in compact[4:] + compact[:4])
    return len(compact) >= 15 and int(digits) % 97 == 1


@dataclass(frozen=True)
class Detector:
    regex: re.Pattern[str] | user_regex.UserPattern
    check: Callable[[str], bool] | None = None
    group: int = 0  # the group that is the value (the rest is a keyword before it)

    def spans(self, text: str) -> list[tuple[int, int]]:
        out = []
        for m in self.regex.finditer(text):
            start, end = m.span(self.group) if m.group(self.group) is not None else m.span()
            if end > start and (self.check is None or self.check(m.group(0))):
                out.append((start, end))
        return out


def _logs(name: str, group: int = 0) -> Detector:
    ident = managed(name)
    assert ident is not None, name
    return Detector(ident.regex, ident.check, group)


# Bedrock's PII entity types (botocore's GuardrailPiiEntityType) this emulator detects: the
# CloudWatch Logs identifiers where one exists (those that need a keyword before the value
# mask only the value, group 1), else a regular expression of ours.
PII_TYPES: dict[str, Detector] = {
    "EMAIL": _logs("EmailAddress"),
    "PHONE": _logs("PhoneNumber-US"),
    "US_SOCIAL_SECURITY_NUMBER": _logs("Ssn-US"),
    "CREDIT_DEBIT_CARD_NUMBER": _logs("CreditCardNumber"),  # with the Luhn check
    "CREDIT_DEBIT_CARD_CVV": _logs("CreditCardSecurityCode", 1),
    "CREDIT_DEBIT_CARD_EXPIRY": _logs("CreditCardExpiration", 1),
    "US_BANK_ACCOUNT_NUMBER": _logs("BankAccountNumber-US", 1),
    "US_PASSPORT_NUMBER": _logs("PassportNumber-US", 1),
    "DRIVER_ID": _logs("DriversLicense-US", 1),
    "IP_ADDRESS": _logs("IpAddress"),
    "AWS_SECRET_KEY": _logs("AwsSecretKey"),
    "AWS_ACCESS_KEY": Detector(re.compile(r"(?<![A-Z0-9])(?:AKIA|ASIA|ABIA|ACCA|AIDA|AROA)[A-Z0-9]{16}(?![A-Z0-9])")),
    "URL": Detector(re.compile(r"\b(?:https?://|www\.)[^\s<>\"'`]+[^\s<>\"'`.,;:!?)\]]", re.IGNORECASE)),
    "MAC_ADDRESS": Detector(re.compile(r"(?<![0-9A-Fa-f:-])[0-9A-Fa-f]{2}([:-])(?:[0-9A-Fa-f]{2}\1){4}[0-9A-Fa-f]{2}(?![0-9A-Fa-f:-])")),
    "INTERNATIONAL_BANK_ACCOUNT_NUMBER": Detector(re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b"), _mod97),
    "UK_NATIONAL_INSURANCE_NUMBER": Detector(re.compile(r"\b(?!BG|GB|NK|KN|TN|NT|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b")),
}

# Classifier policies: refused, with the member named (our wording).
_CLASSIFIER_POLICIES = ("topicPolicyConfig", "contentPolicyConfig", "contextualGroundingPolicyConfig", "automatedReasoningPolicyConfig")


# --------------------------------------------------------------------- configuration
def _actions(item: dict[str, Any], default: str) -> dict[str, Any]:
    return {"inputAction": item.get("inputAction") or default, "outputAction": item.get("outputAction") or default,
            "inputEnabled": item.get("inputEnabled", True), "outputEnabled": item.get("outputEnabled", True)}


def _word_policy(config: dict[str, Any]) -> dict[str, Any]:
    words = [{"text": w["text"], **_actions(w, "BLOCK")} for w in config.get("wordsConfig") or []]
    for word in words:
        if not str(word["text"]).split():
            raise UnsupportedPolicy("A word in wordPolicyConfig.wordsConfig is blank.")  # our text
    managed_lists = [{"type": m["type"], **_actions(m, "BLOCK")} for m in config.get("managedWordListsConfig") or []]
    out: dict[str, Any] = {}
    if words:
        out["words"] = words
    if managed_lists:
        out["managedWordLists"] = managed_lists
    return out


def _sensitive_policy(config: dict[str, Any]) -> dict[str, Any]:
    entities = []
    for item in config.get("piiEntitiesConfig") or []:
        if item["type"] not in PII_TYPES:
            raise UnsupportedPolicy(
                f"The PII entity type {item['type']} is not supported by this emulator: it detects only "
                f"{', '.join(sorted(PII_TYPES))} (by regular expression).")  # our text
        entities.append({"type": item["type"], "action": item["action"], **_actions(item, item["action"])})
    regexes = []
    for item in config.get("regexesConfig") or []:
        try:
            user_regex.compile(item["pattern"])
        except user_regex.error as exc:
            raise UnsupportedPolicy(f"The regex pattern of {item['name']} is not valid: {exc}.") from None  # our text
        entry = {"name": item["name"], "pattern": item["pattern"], "action": item["action"], **_actions(item, item["action"])}
        if item.get("description"):
            entry["description"] = item["description"]
        regexes.append(entry)
    out: dict[str, Any] = {}
    if entities:
        out["piiEntities"] = entities
    if regexes:
        out["regexes"] = regexes
    return out


def policies(params: dict[str, Any]) -> dict[str, Any]:
    """The GetGuardrail shapes (wordPolicy, sensitiveInformationPolicy) of a CreateGuardrail /
    UpdateGuardrail request; UnsupportedPolicy for what this emulator cannot enforce."""
    for member in _CLASSIFIER_POLICIES:
        if params.get(member):
            raise UnsupportedPolicy(
                f"{member} is not supported by this emulator: it needs a classifier. Only wordPolicyConfig and "
                "sensitiveInformationPolicyConfig (regular-expression PII types and regexesConfig) are enforced.")  # our text
    for member, what in (("crossRegionConfig", "Cross-Region guardrail profiles"), ("kmsKeyId", "Encrypting a guardrail with a KMS key")):
        if params.get(member):
            raise UnsupportedPolicy(f"{what} ({member}) is not supported by this emulator.")  # our text
    out: dict[str, Any] = {}
    if params.get("wordPolicyConfig"):
        word = _word_policy(params["wordPolicyConfig"])
        if word:
            out["wordPolicy"] = word
    if params.get("sensitiveInformationPolicyConfig"):
        sensitive = _sensitive_policy(params["sensitiveInformationPolicyConfig"])
        if sensitive:
            out["sensitiveInformationPolicy"] = sensitive
    return out


# -------------------------------------------------------------------------- evaluation
@dataclass
class _Finding:
    policy: str  # customWords | managedWordLists | piiEntities | regexes
    entry: dict[str, Any]
    action: str  # BLOCKED | ANONYMIZED | NONE
    text: int = 0  # the index of the text
    span: tuple[int, int] = (0, 0)
    tag: str = ""  # what ANONYMIZED replaces the match with, inside braces


_TAKEN = {"BLOCK": "BLOCKED", "ANONYMIZE": "ANONYMIZED", "NONE": "NONE"}


@dataclass
class Outcome:
    """What a guardrail did with some texts: ``action`` NONE or GUARDRAIL_INTERVENED,
    ``blocked`` (then ``outputs`` is the blocked message), else the texts (masked where
    anonymized) in ``texts``; ``assessment`` is a GuardrailAssessment, ``usage`` a GuardrailUsage."""

    action: str
    blocked: bool
    masked: bool
    texts: list[str]
    outputs: list[str]
    assessment: dict[str, Any]
    usage: dict[str, int]
    coverage: dict[str, Any] = field(default_factory=dict)

    @property
    def intervened(self) -> bool:
        return self.action == "GUARDRAIL_INTERVENED"


def _on(item: dict[str, Any], source: str) -> tuple[bool, str]:
    """(enabled, action) of a policy entry for INPUT or OUTPUT."""
    side = "input" if source == "INPUT" else "output"
    return bool(item.get(f"{side}Enabled", True)), str(item.get(f"{side}Action") or item.get("action") or "BLOCK")


def _word_findings(policy: dict[str, Any], texts: list[str], source: str) -> tuple[list[_Finding], bool]:
    out: list[_Finding] = []
    active = False
    for word in policy.get("words") or []:
        enabled, action = _on(word, source)
        if not enabled:
            continue
        active = True
        regex = _word_regex(word["text"])
        for i, text in enumerate(texts):
            for m in regex.finditer(text):
                out.append(_Finding("customWords", {"match": word["text"], "action": _TAKEN[action], "detected": True}, _TAKEN[action], i, m.span()))
    for listed in policy.get("managedWordLists") or []:
        enabled, action = _on(listed, source)
        if not enabled:
            continue
        active = True
        for i, text in enumerate(texts):
            for m in _PROFANITY_RE.finditer(text):
                entry = {"match": m.group(0), "type": listed["type"], "action": _TAKEN[action], "detected": True}
                out.append(_Finding("managedWordLists", entry, _TAKEN[action], i, m.span()))
    return out, active


def _sensitive_findings(policy: dict[str, Any], texts: list[str], source: str) -> tuple[list[_Finding], bool, bool]:
    """(findings, PII entities active, regexes active)."""
    out: list[_Finding] = []
    pii = regexes = False
    for entity in policy.get("piiEntities") or []:
        enabled, action = _on(entity, source)
        if not enabled:
            continue
        pii = True
        for i, text in enumerate(texts):
            for start, end in PII_TYPES[entity["type"]].spans(text):
                entry = {"match": text[start:end], "type": entity["type"], "action": _TAKEN[action], "detected": True}
                out.append(_Finding("piiEntities", entry, _TAKEN[action], i, (start, end), entity["type"]))
    for item in policy.get("regexes") or []:
        enabled, action = _on(item, source)
        if not enabled:
            continue
        regexes = True
        pattern = user_regex.compile(item["pattern"])
        for i, text in enumerate(texts):
            for m in _regex_matches(pattern, item["name"], text):
                if m.end() == m.start():
                    continue
                entry = {"name": item["name"], "match": m.group(0), "regex": item["pattern"], "action": _TAKEN[action], "detected": True}
                out.append(_Finding("regexes", entry, _TAKEN[action], i, m.span(), item["name"]))
    return out, pii, regexes


def _regex_matches(pattern: user_regex.UserPattern, name: str, text: str) -> list[Any]:
    """A guardrail regex's matches in ``text``; ValidationException when the pattern runs out of
    user_regex's budget (the request's own evaluation: ApplyGuardrail, Converse, InvokeModel)."""
    try:
        return pattern.finditer(text)
    except user_regex.RegexTimeout as exc:
        raise AwsError("ValidationException", f"The regex {name} of the guardrail cannot be applied: {exc}.", 400) from None  # our text


def _mask(text: str, findings: list[_Finding]) -> str:
    """The text with every anonymized match replaced by ``{TAG}``; overlapping matches: the
    first (then the longest) wins."""
    spans = sorted(((f.span[0], -f.span[1], f.tag) for f in findings), key=lambda s: (s[0], s[1]))
    out: list[str] = []
    pos = 0
    for start, neg_end, tag in spans:
        if start < pos:
            continue
        out.append(text[pos:start])
        out.append("{" + tag + "}")
        pos = -neg_end
    out.append(text[pos:])
    return "".join(out)


def _units(texts: list[str]) -> int:
    """Text units: 1,000 characters each, counted per text (the user guide's pricing unit)."""
    return sum(math.ceil(len(t) / 1000) for t in texts if t)


def evaluate(version: dict[str, Any], texts: list[str], source: str) -> Outcome:
    """Apply a guardrail version's policies to ``texts`` coming from ``source`` (INPUT: a
    prompt; OUTPUT: a model's answer)."""
    started = time.perf_counter()
    words, word_active = _word_findings(version.get("wordPolicy") or {}, texts, source)
    sensitive, pii_active, regex_active = _sensitive_findings(version.get("sensitiveInformationPolicy") or {}, texts, source)
    findings = words + sensitive
    blocked = any(f.action == "BLOCKED" for f in findings)
    masked = not blocked and any(f.action == "ANONYMIZED" for f in findings)
    out_texts = [_mask(t, [f for f in findings if f.text == i and f.action == "ANONYMIZED"]) for i, t in enumerate(texts)] if masked else list(texts)
    message = version["blockedInputMessaging"] if source == "INPUT" else version["blockedOutputsMessaging"]
    outputs = [message] if blocked else out_texts if masked else []
    units = _units(texts)
    usage = {"topicPolicyUnits": 0, "contentPolicyUnits": 0, "wordPolicyUnits": units if word_active else 0,
             "sensitiveInformationPolicyUnits": units if pii_active else 0,
             # Regexes are the free part of sensitive information filters (AWS's pricing page).
             "sensitiveInformationPolicyFreeUnits": units if regex_active else 0, "contextualGroundingPolicyUnits": 0}
    total = sum(len(t) for t in texts)
    coverage = {"textCharacters": {"guarded": total if (word_active or pii_active or regex_active) else 0, "total": total}}
    assessment: dict[str, Any] = {}
    if words:
        assessment["wordPolicy"] = {"customWords": _dedupe([f.entry for f in words if f.policy == "customWords"]),
                                    "managedWordLists": _dedupe([f.entry for f in words if f.policy == "managedWordLists"])}
    if sensitive:
        assessment["sensitiveInformationPolicy"] = {"piiEntities": [f.entry for f in sensitive if f.policy == "piiEntities"],
                                                    "regexes": [f.entry for f in sensitive if f.policy == "regexes"]}
    assessment["invocationMetrics"] = {"guardrailProcessingLatency": int((time.perf_counter() - started) * 1000),
                                       "usage": usage, "guardrailCoverage": coverage}
    action = "GUARDRAIL_INTERVENED" if blocked or masked else "NONE"
    return Outcome(action, blocked, masked, out_texts, outputs, assessment, usage, coverage)


def _dedupe(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Word matches once each (a word found twice is one entry)."""
    seen: set[tuple[str, str]] = set()
    out = []
    for entry in entries:
        key = (str(entry["match"]).lower(), entry["action"])
        if key not in seen:
            seen.add(key)
            out.append(entry)
    return out


# ------------------------------------------------------------------------------ store
_ID_CHARS = string.ascii_lowercase + string.digits
_ARN = re.compile(r"arn:aws(?:-[^:]+)?:bedrock:(?P<region>[a-z0-9-]{1,20}):(?P<account>[0-9]{12}):guardrail/(?P<id>[a-z0-9]+)")


def partition(region: str) -> str:
    return "aws-cn" if region.startswith("cn-") else "aws-us-gov" if region.startswith("us-gov-") else "aws"


class GuardrailStore(RecordFile):
    """Every account's and Region's guardrails, in one JSON file replaced whole. A record:
    id, arn, account, region, tags, token, nextVersion, and ``versions`` (``DRAFT``, ``1``,
    ...: name, description, blocked messages, policies as GetGuardrail shows them, times)."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, "guardrails")

    def of(self, account: str, region: str) -> list[dict[str, Any]]:
        """The account's guardrails in the Region, oldest first."""
        return [g for g in self.items() if g["account"] == account and g["region"] == region]

    def find(self, account: str, region: str, ident: str) -> dict[str, Any] | None:
        """A guardrail by id or ARN (of this account and Region)."""
        found = _ARN.fullmatch(ident)
        if found is not None:
            if found.group("account") != account or found.group("region") != region:
                return None
            ident = found.group("id")
        return next((g for g in self.of(account, region) if g["id"] == ident), None)

    def version(self, account: str, region: str, ident: str, version: str | None) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """(the guardrail, the version's configuration); None when either is not there."""
        record = self.find(account, region, ident)
        if record is None:
            return None
        config = record["versions"].get(version or DRAFT)
        return (record, config) if config is not None else None

    def create(self, account: str, region: str, config: dict[str, Any], tags: list[dict[str, str]], token: str | None) -> dict[str, Any]:
        taken = {g["id"] for g in self.items()}
        ident = "".join(secrets.choice(_ID_CHARS) for _ in range(12))
        while ident in taken:
            ident = "".join(secrets.choice(_ID_CHARS) for _ in range(12))
        now = time.time()
        record = {"id": ident, "arn": f"arn:{partition(region)}:bedrock:{region}:{account}:guardrail/{ident}", "account": account,
                  "region": region, "tags": list(tags), "token": token, "nextVersion": 1, "tokens": {},
                  "versions": {DRAFT: {**config, "createdAt": now, "updatedAt": now}}}
        self.save([*self.items(), record])
        return record


def guardrail_store(runtime: Runtime) -> GuardrailStore:
    """The Runtime's one store (``runtime.components["guardrails"]``), made on first use."""
    store = runtime.components.get("guardrails")
    if store is None:
        store = GuardrailStore(Path(runtime.settings.data_dir) / STORE_FILE)
        runtime.components["guardrails"] = store
    assert isinstance(store, GuardrailStore)
    return store
