"""Bedrock's model catalog over the local model store: ListFoundationModels,
GetFoundationModel and the inference profiles (ListInferenceProfiles, GetInferenceProfile;
Create/DeleteInferenceProfile for application profiles).

The foundation models are the ids Bedrock Runtime serves here: every model of the store
under its ``model_id`` and, while a local GGUF can stand in for them, Bedrock's text
embedding ids (``emulator.compute.embeddings.EMBEDDING_MODELS``). One system-defined
(cross-Region) inference profile is listed per text model for the request Region's group
(``us.<modelId>`` in us-*, ``eu.`` in eu-*, ``apac.`` in ap-*): the runtime accepts those
ids (``emulator.compute.inference.strip_profile``). Application inference profiles
(CreateInferenceProfile) copy a local text model or one of those system profiles; they are
kept per account and Region in ``<data_dir>/bedrock/application-inference-profiles.json``,
where the runtime finds the model behind an application profile's ARN
(``emulator.compute.inference.application_profile_model``).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
import secrets
import string
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from emulator.compute.embeddings import EMBEDDING_MODELS, is_embedding_model_id
from emulator.compute.inference import APPLICATION_PROFILES
from emulator.compute.model_ids import arn_scope, region_group
from emulator.compute.models import ModelInfo
from emulator.context import RequestContext
from emulator.durable import RecordFile
from emulator.errors import AwsError
from emulator.handlers.base import operation

if TYPE_CHECKING:
    from emulator.compute.service import ComputeService

# Bedrock's names for the embedding ids the runtime serves with a local stand-in
# (modelName, providerName as ListFoundationModels shows them in us-east-1; from memory of
# that listing, not checked against a live account). An id missing here gets its provider
# from the id's prefix and the id as its name.
_EMBEDDING_NAMES: dict[str, tuple[str, str]] = {
    "amazon.titan-embed-text-v1": ("Titan Embeddings G1 - Text", "Amazon"),
    "amazon.titan-embed-g1-text-02": ("Titan Text Embeddings v2", "Amazon"),
    "amazon.titan-embed-text-v2:0": ("Titan Text Embeddings V2", "Amazon"),
    "amazon.titan-embed-text-v2": ("Titan Text Embeddings V2", "Amazon"),
    "cohere.embed-english-v3": ("Embed English", "Cohere"),
    "cohere.embed-multilingual-v3": ("Embed Multilingual", "Cohere"),
}

_FOUNDATION_ARN = re.compile(r"arn:aws[a-z-]*:bedrock:[a-z0-9-]*::foundation-model/(?P<id>.+)")
_PROFILE_ARN = re.compile(r"arn:aws[a-z-]*:bedrock:[a-z0-9-]*:[0-9]*:(?P<kind>inference-profile|application-inference-profile)/(?P<id>.+)")


def partition(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def model_arn(region: str, model_id: str) -> str:
    return f"arn:{partition(region)}:bedrock:{region}::foundation-model/{model_id}"


def not_found(message: str) -> AwsError:
    return AwsError("ResourceNotFoundException", message, 404)


def invalid(message: str) -> AwsError:
    return AwsError("ValidationException", message, 400)


def check_project(params: dict[str, Any]) -> None:
    """``projectIdentifier``: omitted or ``default`` is the account itself; the emulator has no
    Bedrock projects, and botocore's documentation of the member says a project that doesn't
    exist causes a ValidationException (the text is ours)."""
    project = params.get("projectIdentifier")
    if project is not None and project != "default":
        raise invalid(f"The project {project} does not exist.")


# ----------------------------------------------------------------- foundation models
@dataclass(frozen=True)
class CatalogModel:
    model_id: str
    name: str
    provider: str
    embedding: bool
    created: float

    def profiled(self) -> bool:
        """Whether a system-defined profile is listed for it: text models whose id has the
        dot the runtime needs after the prefix (strip_profile)."""
        return not self.embedding and "." in self.model_id

    def details(self, region: str) -> dict[str, Any]:
        """A FoundationModelSummary / FoundationModelDetails."""
        inference = ["ON_DEMAND", "INFERENCE_PROFILE"] if self.profiled() else ["ON_DEMAND"]
        return {
            "modelArn": model_arn(region, self.model_id),
            "modelId": self.model_id,
            "modelName": self.name,
            "providerName": self.provider,
            "inputModalities": ["TEXT"],
            "outputModalities": ["EMBEDDING" if self.embedding else "TEXT"],
            # The runtime refuses ConverseStream / InvokeModelWithResponseStream for embedding models.
            "responseStreamingSupported": not self.embedding,
            "customizationsSupported": [],
            "inferenceTypesSupported": inference,
            "modelLifecycle": {"status": "ACTIVE"},
        }


def model_name(model: ModelInfo) -> str:
    """modelName: the store's name without its quantization suffix, '-' and '_' as spaces
    (``SmolLM2-135M-Instruct.Q4_1`` -> ``SmolLM2 135M Instruct``)."""
    name = model.name
    if model.quantization:
        name = re.sub(rf"[._-]{re.escape(model.quantization)}$", "", name, flags=re.IGNORECASE)
    return re.sub(r"[-_]+", " ", name).strip() or model.name


def _meta_str(model: ModelInfo, key: str) -> str:
    value = model.metadata.get(key)
    return value.strip() if isinstance(value, str) else ""


# Bedrock's model id prefixes -> providerName as ListFoundationModels shows it (the Bedrock user
# guide's "Supported foundation models" table: model id and provider columns).
BEDROCK_PROVIDERS: dict[str, str] = {
    "ai21": "AI21 Labs",
    "amazon": "Amazon",
    "anthropic": "Anthropic",
    "cohere": "Cohere",
    "deepseek": "DeepSeek",
    "luma": "Luma AI",
    "meta": "Meta",
    "mistral": "Mistral AI",
    "openai": "OpenAI",
    "qwen": "Qwen",
    "stability": "Stability AI",
    "twelvelabs": "TwelveLabs",
    "writer": "Writer",
}


def bedrock_provider(model_id: str) -> str | None:
    """The provider a Bedrock-style model id names (``anthropic.claude-...``: Anthropic), else None."""
    prefix, dot, _ = model_id.partition(".")
    return BEDROCK_PROVIDERS.get(prefix) if dot else None


def provider_name(model: ModelInfo) -> str:
    """providerName, from what the model store knows. A model named with a Bedrock-style id
    (``anthropic.claude-3-haiku-...``): the provider the id names (``bedrock_provider``), so that
    ``byProvider`` finds it as on AWS. A GGUF: its metadata's
    ``general.organization`` (who published the weights: HuggingFaceTB for SmolLM2), else
    ``general.author``, else the first base model's ``general.base_model.0.organization``,
    else the family (ModelInfo.family: ``general.basename``, else the architecture). A remote
    model (remote.json): the organization of its served name (``org/model``), else the host
    of its URL."""
    named = bedrock_provider(model.name) if model.name == model.model_id else None
    if named is not None:
        return named
    if model.remote_url:
        if "/" in model.remote_model:
            return model.remote_model.split("/", 1)[0]
        host = re.sub(r"^[a-z]+://", "", model.remote_url).split("/", 1)[0]
        return host or "remote"
    for key in ("general.organization", "general.author", "general.base_model.0.organization"):
        found = _meta_str(model, key)
        if found:
            return found
    return model.family or model.architecture or "local"


def _embedding_entry(model_id: str) -> CatalogModel:
    name, provider = _EMBEDDING_NAMES.get(model_id) or (model_id, bedrock_provider(model_id) or model_id.split(".", 1)[0].capitalize())
    return CatalogModel(model_id, name, provider, True, 0.0)


def catalog(compute: ComputeService) -> list[CatalogModel]:
    """The foundation models the runtime serves, in the store's order, then the embedding ids."""
    models = compute.store.list()
    out: dict[str, CatalogModel] = {}
    for model in models:
        # store.get() answers the first model with the id, as setdefault keeps the first.
        embedding = model.embeddings or is_embedding_model_id(model.model_id)
        out.setdefault(model.model_id, CatalogModel(model.model_id, model_name(model), provider_name(model), embedding, model.created))
    # Bedrock's embedding ids are served by a local stand-in whenever a local GGUF exists
    # (emulator.compute.embeddings._local_embedder).
    if any(model.engine == "llama" for model in models):
        for model_id in EMBEDDING_MODELS:
            out.setdefault(model_id, _embedding_entry(model_id))
    return list(out.values())


def _matches(entry: CatalogModel, params: dict[str, Any]) -> bool:
    """ListFoundationModels' filters. byProvider ignores case: our choice (the AWS CLI's
    examples filter with lower-case names while providerName is capitalised)."""
    provider = params.get("byProvider")
    if provider is not None and provider.lower() != entry.provider.lower():
        return False
    if params.get("byCustomizationType") is not None:
        return False  # no model here can be customized (customizationsSupported is [])
    modality = params.get("byOutputModality")
    if modality is not None and modality != ("EMBEDDING" if entry.embedding else "TEXT"):
        return False
    inference = params.get("byInferenceType")
    return inference is None or inference == "ON_DEMAND"  # no Provisioned Throughput here


def find_model(compute: ComputeService, ident: str) -> CatalogModel | None:
    """A foundation model by id or foundation-model ARN (any Region's, as the runtime's)."""
    if ident.startswith("arn:"):
        found = _FOUNDATION_ARN.fullmatch(ident)
        if found is None:
            return None
        ident = found.group("id")
    return next((entry for entry in catalog(compute) if entry.model_id == ident), None)


# ---------------------------------------------------------------- inference profiles
def _timestamp(seconds: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, dt.UTC)


def system_profiles(compute: ComputeService, ctx: RequestContext) -> list[dict[str, Any]]:
    """The request Region's system-defined inference profiles: one per text model, sorted by id."""
    prefix, label = region_group(ctx.region)
    entries = catalog(compute)
    taken = {entry.model_id for entry in entries}
    out: list[dict[str, Any]] = []
    for entry in entries:
        profile_id = prefix + entry.model_id
        # A store model named like the profile would win the runtime's lookup: no profile then.
        if not entry.profiled() or profile_id in taken:
            continue
        created = _timestamp(entry.created)
        out.append({
            # Named as AWS names its profiles ("US Anthropic Claude 3.5 Sonnet"); the
            # description's wording is ours.
            "inferenceProfileName": f"{label} {entry.provider} {entry.name}",
            "description": f"Routes requests to {entry.provider} {entry.name} in {ctx.region}",
            "createdAt": created,
            "updatedAt": created,
            "inferenceProfileArn": f"arn:{partition(ctx.region)}:bedrock:{ctx.region}:{ctx.account_id}:inference-profile/{profile_id}",
            "models": [{"modelArn": model_arn(ctx.region, entry.model_id)}],
            "inferenceProfileId": profile_id,
            "status": "ACTIVE",
            "type": "SYSTEM_DEFINED",
        })
    return sorted(out, key=lambda p: str(p["inferenceProfileId"]))


def find_system_profile(compute: ComputeService, ctx: RequestContext, ident: str) -> dict[str, Any] | None:
    if ident.startswith("arn:"):
        found = _PROFILE_ARN.fullmatch(ident)
        # A system-defined profile's ARN names the Region it is called from (another's is not here).
        if found is None or found.group("kind") != "inference-profile" or arn_scope(ident)[0] != ctx.region:
            return None
        ident = found.group("id")
    return next((p for p in system_profiles(compute, ctx) if p["inferenceProfileId"] == ident), None)


def encode_token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode()


def decode_token(token: str) -> int:
    """The offset in a ListInferenceProfiles token; ValidationException (the operation's error
    for bad input in botocore's model; the text is ours) for one we did not write."""
    try:
        text = base64.urlsafe_b64decode(token.encode()).decode()
    except (binascii.Error, ValueError):
        text = ""
    kind, _, offset = text.partition(":")
    if kind != "o" or not offset.isdigit():
        raise invalid("The provided nextToken is invalid.")
    return int(offset)


def page(items: list[dict[str, Any]], params: dict[str, Any]) -> dict[str, Any]:
    """One page: ``maxResults`` (1..1000, checked by the gateway) from the token's offset;
    all the rest without maxResults."""
    start = decode_token(params["nextToken"]) if params.get("nextToken") else 0
    if start > len(items):
        raise invalid("The provided nextToken is invalid.")
    limit = params.get("maxResults") or len(items)
    out: dict[str, Any] = {"inferenceProfileSummaries": items[start : start + limit]}
    if start + limit < len(items):
        out["nextToken"] = encode_token(start + limit)
    return out


# ------------------------------------------------------ application inference profiles
_ID_CHARS = string.ascii_lowercase + string.digits


class ApplicationProfiles(RecordFile):
    """The application inference profiles of every account and Region, in one JSON file
    (replaced whole: a temporary file, then os.replace)."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, "profiles")

    def of(self, ctx: RequestContext) -> list[dict[str, Any]]:
        """The request account's profiles in the request Region, oldest first."""
        return [p for p in self.items() if p["account"] == ctx.account_id and p["region"] == ctx.region]


def application_summary(record: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "inferenceProfileName": record["name"],
        "createdAt": _timestamp(record["createdAt"]),
        "updatedAt": _timestamp(record["updatedAt"]),
        "inferenceProfileArn": record["arn"],
        "models": [{"modelArn": arn} for arn in record["models"]],
        "inferenceProfileId": record["id"],
        "status": "ACTIVE",
        "type": "APPLICATION",
    }
    if record.get("description"):
        out["description"] = record["description"]
    return out


class ModelCatalogOperations:
    compute: ComputeService
    _applications: ApplicationProfiles | None = None

    @property
    def applications(self) -> ApplicationProfiles:
        if self._applications is None:
            self._applications = ApplicationProfiles(self.compute.manager.data_dir / APPLICATION_PROFILES)
        return self._applications

    async def reset_catalog(self) -> None:
        """Forget every application inference profile (POST /_emulator/reset)."""
        self.applications.clear()

    # ------------------------------------------------------------ foundation models
    @operation("ListFoundationModels")
    def list_foundation_models(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        check_project(params)
        entries = [entry for entry in catalog(self.compute) if _matches(entry, params)]
        return {"modelSummaries": [entry.details(ctx.region) for entry in entries]}

    @operation("GetFoundationModel")
    def get_foundation_model(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        check_project(params)
        ident = params["modelIdentifier"]
        entry = find_model(self.compute, ident)
        if entry is None:
            # The operation's error for a model that is not there (botocore's model); the text is ours.
            raise not_found(f"The foundation model {ident} was not found.")
        return {"modelDetails": entry.details(ctx.region)}

    # ----------------------------------------------------------- inference profiles
    def inference_profiles(self, ctx: RequestContext, kind: str | None) -> list[dict[str, Any]]:
        """The profiles ListInferenceProfiles shows, ``typeEquals`` being ``kind`` (None: all)."""
        out = system_profiles(self.compute, ctx) if kind in (None, "SYSTEM_DEFINED") else []
        if kind in (None, "APPLICATION"):
            out += [application_summary(p) for p in self.applications.of(ctx)]
        return out

    def find_application(self, ctx: RequestContext, ident: str) -> dict[str, Any] | None:
        """An application profile of the request's account and Region, by id or ARN."""
        if ident.startswith("arn:"):
            found = _PROFILE_ARN.fullmatch(ident)
            if found is None or found.group("kind") != "application-inference-profile":
                return None
            return next((p for p in self.applications.of(ctx) if p["arn"] == ident), None)
        return next((p for p in self.applications.of(ctx) if p["id"] == ident), None)

    def profile_tags(self, ctx: RequestContext, arn: str) -> tuple[list[dict[str, str]], Callable[[list[dict[str, str]]], None]] | None:
        """(the tags, a function that stores new ones) of the application profile an ARN
        names; None for an ARN of another kind of resource (BedrockHandler's tag operations)."""
        if ":application-inference-profile/" not in arn:
            return None
        record = self.find_application(ctx, arn)
        if record is None:
            raise not_found(f"The inference profile {arn} was not found.")  # our text

        def store(tags: list[dict[str, str]]) -> None:
            record["tags"] = tags
            record["updatedAt"] = time.time()
            self.applications.save(self.applications.items())

        return list(record.get("tags") or []), store

    @operation("ListInferenceProfiles")
    def list_inference_profiles(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        kind = params.get("typeEquals")
        if params.get("projectIdentifier") not in (None, "default") and kind == "APPLICATION":
            # botocore's documentation of projectIdentifier; the text is ours.
            raise invalid("A project other than default cannot be specified when typeEquals is APPLICATION.")
        check_project(params)
        return page(self.inference_profiles(ctx, kind), params)

    @operation("GetInferenceProfile")
    def get_inference_profile(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        ident = params["inferenceProfileIdentifier"]
        application = self.find_application(ctx, ident)
        if application is not None:
            return application_summary(application)
        profile = find_system_profile(self.compute, ctx, ident)
        if profile is None:
            # The operation's error for a profile that is not there (botocore's model); the text is ours.
            raise not_found(f"The inference profile {ident} was not found.")
        return profile

    def _source(self, ctx: RequestContext, source_arn: str) -> tuple[str, list[str]]:
        """(the id the runtime serves, the models' ARNs) of CreateInferenceProfile's
        ``modelSource.copyFrom``: a foundation model's ARN or a system-defined profile's."""
        if ":foundation-model/" in source_arn:
            # "To create an application inference profile for a foundation model in one region,
            # specify the ARN of the model in that region" (botocore's CreateInferenceProfile doc):
            # a model ARN of another Region is not a model of the profile's Region.
            entry = find_model(self.compute, source_arn) if arn_scope(source_arn)[0] == ctx.region else None
            if entry is None:
                raise not_found(f"The foundation model {source_arn} was not found.")  # our text
            if entry.embedding:
                # Our restriction (the runtime's embedding path knows no profile ARNs); our text.
                raise invalid(f"The model {entry.model_id} does not support application inference profiles.")
            return entry.model_id, [source_arn]
        profile = find_system_profile(self.compute, ctx, source_arn)
        if profile is None:
            raise not_found(f"The inference profile {source_arn} was not found.")  # our text
        return str(profile["inferenceProfileId"]), [str(m["modelArn"]) for m in profile["models"]]

    @operation("CreateInferenceProfile")
    def create_inference_profile(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        mine = self.applications.of(ctx)
        token = params.get("clientRequestToken")
        if token:
            # botocore's documentation: a repeated token is ignored without an error.
            repeated = next((p for p in mine if p.get("token") == token), None)
            if repeated is not None:
                return {"inferenceProfileArn": repeated["arn"], "status": "ACTIVE"}
        name = params["inferenceProfileName"]
        if any(p["name"] == name for p in mine):
            raise AwsError("ConflictException", f"An inference profile named {name} already exists.", 400)  # our text
        model, models = self._source(ctx, params["modelSource"]["copyFrom"])
        taken = {p["id"] for p in self.applications.items()}
        profile_id = "".join(secrets.choice(_ID_CHARS) for _ in range(12))
        while profile_id in taken:
            profile_id = "".join(secrets.choice(_ID_CHARS) for _ in range(12))
        now = time.time()
        arn = f"arn:{partition(ctx.region)}:bedrock:{ctx.region}:{ctx.account_id}:application-inference-profile/{profile_id}"
        record = {"arn": arn, "id": profile_id, "name": name, "description": params.get("description"), "account": ctx.account_id,
                  "region": ctx.region, "model": model, "models": models, "createdAt": now, "updatedAt": now,
                  "tags": list(params.get("tags") or []), "token": token}
        self.applications.save([*self.applications.items(), record])
        return {"inferenceProfileArn": arn, "status": "ACTIVE"}

    @operation("DeleteInferenceProfile")
    def delete_inference_profile(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        ident = params["inferenceProfileIdentifier"]
        record = self.find_application(ctx, ident)
        if record is None:
            if find_system_profile(self.compute, ctx, ident) is not None:
                raise invalid(f"The inference profile {ident} is system-defined: only application inference profiles can be deleted.")  # our text
            raise not_found(f"The inference profile {ident} was not found.")  # our text
        self.applications.save([p for p in self.applications.items() if p is not record])
        return {}
