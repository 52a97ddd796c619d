"""Bedrock: foundation models and inference profiles, guardrails (details, a test form running
ApplyGuardrail, versions), batch inference jobs, and the OpenAI API's batches.

Every AWS call goes through ``invoke`` as the signed-in key, so IAM decides exactly as for a
client. The only actions are DeleteInferenceProfile, ApplyGuardrail, CreateGuardrailVersion,
DeleteGuardrail and StopModelInvocationJob; the deletions and the stop have a confirmation page.
The OpenAI batches are no AWS operation: they are read through the ``/v1/batches`` route as an
OpenAI client reads them (``_openai_batches``).
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

import orjson

from emulator.console import html as h
from emulator.context import RequestContext
from emulator.errors import AwsError
from emulator.protocols.base import Request, Response

if TYPE_CHECKING:
    from emulator.console.core import Call, Console

ACTIVE = "bedrock"
MAX_PAGES = 20  # pages of a paginated listing read at most (ours: the console shows a bounded list)
DRAFT = "DRAFT"
# StopModelInvocationJob's stoppable statuses (botocore's documentation of the operation).
STOPPABLE = ("Submitted", "Validating", "Scheduled", "InProgress")
JOB_KINDS = {"Completed": "ok", "InProgress": "warn", "Submitted": "warn", "Validating": "warn", "Scheduled": "warn",
             "Stopping": "warn", "PartiallyCompleted": "warn", "Failed": "bad", "Expired": "bad", "Stopped": "muted"}
BATCH_KINDS = {"completed": "ok", "validating": "warn", "in_progress": "warn", "finalizing": "warn", "cancelling": "warn",
               "failed": "bad", "expired": "bad", "cancelled": "muted"}
# The statuses a job always has its manifest.json.out in (emulator.compute.invocation_jobs: it is written
# once the records ran; a job that failed validating or was stopped before it started has none).
MANIFEST_WRITTEN = ("Completed", "PartiallyCompleted")
BATCHES_PATH = "/v1/batches"
BATCHES_LIMIT = 100  # the most GET /v1/batches answers at once (OpenAI's API reference: limit 1..100)


def _error(err: AwsError) -> str:
    return f"{err.code}: {err.message}"


def _tabs(current: str) -> h.Markup:
    links = [(key, label, path) for key, label, path in (("models", "Models & profiles", "/bedrock"), ("guardrails", "Guardrails", "/bedrock/guardrails"),
                                                          ("jobs", "Batch inference", "/bedrock/jobs"))]
    return h.Markup('<p class="crumbs">' + " · ".join(
        h.Markup(f"<strong>{h.esc(label)}</strong>") if key == current else h.link(label, h.url(path)) for key, label, path in links) + "</p>")


def _page(c: Console, call: Call, title: str, tab: str, body: Any, status: int = 200) -> Response:
    return c.html(call, title, _tabs(tab) + h.esc(body), active=ACTIVE, status=status)


def _unavailable(c: Console, call: Call, title: str, tab: str, service: str = "bedrock") -> Response | None:
    return None if c.native(service) else _page(c, call, title, tab, h.unavailable(service))


def _failed(c: Console, call: Call, title: str, tab: str, err: AwsError, back: tuple[str, str]) -> Response:
    return _page(c, call, title, tab, h.error_box(_error(err)) + h.link("← " + back[0], h.url(back[1])), max(err.status, 400))


def _get_form(path: str, label: str, fields: dict[str, str], form_id: str = "") -> h.Markup:
    """A GET to a confirmation page: nothing changes until that page's own form is posted."""
    hidden = "".join(f'<input type="hidden" name="{h.esc(k)}" value="{h.esc(v)}">' for k, v in fields.items())
    ident = f' id="{h.esc(form_id)}"' if form_id else ""
    return h.Markup(f'<form method="get" action="{h.esc(h.url(path))}" class="inline"{ident}>{hidden}'
                    f'<button type="submit" class="small danger">{h.esc(label)}</button></form>')


def _confirm(call: Call, heading: str, text: str, action: str, fields: dict[str, str], label: str, cancel: str, form_id: str) -> h.Markup:
    hidden = "".join(f'<input type="hidden" name="{h.esc(k)}" value="{h.esc(v)}">' for k, v in fields.items())
    return h.Markup(
        f'<section class="card"><h2>{h.esc(heading)}</h2><p>{h.esc(text)}</p>'
        f'<form method="post" action="{h.esc(h.url(action))}" class="row" id="{h.esc(form_id)}">{h.csrf_field(call.csrf)}{hidden}'
        f'<button type="submit" class="danger">{h.esc(label)}</button> ' + h.link("Cancel", cancel, "button") + "</form></section>"
    )


async def _paged(c: Console, call: Call, operation: str, params: dict[str, Any], member: str) -> tuple[list[dict[str, Any]], bool]:
    """Every item of a nextToken listing, up to MAX_PAGES pages; (items, whether more were left)."""
    items: list[dict[str, Any]] = []
    token = None
    for _ in range(MAX_PAGES):
        out = await c.invoke(call, "bedrock", operation, {**params, **({"nextToken": token} if token else {})})
        items.extend(out.get(member) or [])
        token = out.get("nextToken")
        if not token:
            return items, False
    return items, True


def _more(left: bool) -> str:
    return f"Only the first {MAX_PAGES} pages are shown." if left else ""


# ------------------------------------------------------------------ S3 links
def s3_link(uri: str) -> h.Markup:
    """An s3:// URI as a link to the S3 page: a key to its object view, a prefix to its folder."""
    if not uri.startswith("s3://"):
        return h.esc(uri)
    bucket, _, key = uri[len("s3://"):].partition("/")
    if not bucket:
        return h.esc(uri)
    if key and not key.endswith("/"):
        return h.link(uri, h.url("/s3/object", bucket=bucket, key=key))
    return h.link(uri, h.url("/s3/bucket", name=bucket, prefix=key))


def _job_output(job: dict[str, Any]) -> tuple[str, str]:
    """(the output URI, the job's own folder under it): the runner writes
    ``<s3Uri>/<job id>/<input file>.out`` and ``manifest.json.out`` (the Bedrock user guide's
    "View the results of a batch inference job")."""
    uri = str(((job.get("outputDataConfig") or {}).get("s3OutputDataConfig") or {}).get("s3Uri") or "")
    job_id = str(job.get("jobArn", "")).rsplit("/", 1)[-1]
    return uri, (uri.rstrip("/") + "/" + job_id + "/" if uri and job_id else "")


# ------------------------------------------------------------------ models and profiles
def _model_rows(models: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [(m.get("modelId", ""), m.get("modelName", ""), m.get("providerName", ""), ", ".join(m.get("inputModalities") or []),
             ", ".join(m.get("outputModalities") or []), "yes" if m.get("responseStreamingSupported") else "no",
             ", ".join(m.get("inferenceTypesSupported") or [])) for m in models]


def _profile_rows(profiles: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    rows = []
    for p in profiles:
        ident = str(p.get("inferenceProfileId", ""))
        models = ", ".join(str(m.get("modelArn", "")).rsplit("/", 1)[-1] for m in p.get("models") or [])
        action = _get_form("/bedrock/delete-profile", "Delete…", {"id": str(p.get("inferenceProfileArn") or ident)}) if p.get("type") == "APPLICATION" else ""
        rows.append((ident, p.get("inferenceProfileName", ""), h.badge(p.get("type", ""), "ok" if p.get("type") == "APPLICATION" else ""),
                     models, p.get("status", ""), h.when(p.get("createdAt")), action))
    return rows


async def models_page(c: Console, call: Call) -> Response:
    title = "Bedrock"
    if (off := _unavailable(c, call, title, "models")) is not None:
        return off
    parts: list[Any] = []
    try:
        models = (await c.invoke(call, "bedrock", "ListFoundationModels", {})).get("modelSummaries") or []
        table = h.table(["Model id", "Name", "Provider", "Input", "Output", "Streaming", "Inference types"], _model_rows(models), "No foundation models.", cls="models")
        parts.append(f'<section class="card"><h2>Foundation models</h2>{table}</section>')
    except AwsError as err:
        parts.append(f'<section class="card"><h2>Foundation models</h2>{h.error_box(_error(err))}</section>')
    try:
        profiles, left = await _paged(c, call, "ListInferenceProfiles", {}, "inferenceProfileSummaries")
        table = h.table(["Profile id", "Name", "Type", "Models", "Status", "Created", ""], _profile_rows(profiles), "No inference profiles.", cls="profiles")
        parts.append(f'<section class="card"><h2>Inference profiles in {h.esc(c.region_of(call))}</h2>{table}<p class="muted">{h.esc(_more(left))}</p></section>')
    except AwsError as err:
        parts.append(f'<section class="card"><h2>Inference profiles</h2>{h.error_box(_error(err))}</section>')
    return _page(c, call, title, "models", h.Markup("".join(parts)))


async def confirm_delete_profile(c: Console, call: Call) -> Response:
    ident = call.q("id")
    title = "Delete inference profile"
    if (off := _unavailable(c, call, title, "models")) is not None:
        return off
    try:
        profile = await c.invoke(call, "bedrock", "GetInferenceProfile", {"inferenceProfileIdentifier": ident})
    except AwsError as err:
        return _failed(c, call, title, "models", err, ("Models & profiles", "/bedrock"))
    info = h.kv_table([("Id", profile.get("inferenceProfileId", "")), ("Name", profile.get("inferenceProfileName", "")),
                       ("ARN", profile.get("inferenceProfileArn", "")), ("Type", profile.get("type", "")),
                       ("Description", profile.get("description", "")),
                       ("Models", ", ".join(str(m.get("modelArn", "")) for m in profile.get("models") or []))])
    if profile.get("type") != "APPLICATION":
        # Our note: DeleteInferenceProfile takes application inference profiles only (its API reference).
        note = h.Markup('<p class="muted">A system-defined inference profile cannot be deleted.</p>')
        return _page(c, call, title, "models", h.Markup(f'<section class="card">{info}{note}</section>'))
    confirm = _confirm(call, f"Delete {profile.get('inferenceProfileName', ident)}?",
                       "Requests that name this application inference profile fail once it is deleted.", "/bedrock/delete-profile",
                       {"id": ident}, "Delete inference profile", h.url("/bedrock"), "delete-profile")
    return _page(c, call, title, "models", h.Markup(f'<section class="card">{info}</section>') + confirm)


async def delete_profile(c: Console, call: Call) -> Response:
    ident = call.f("id")
    await c.perform(call, "bedrock", "DeleteInferenceProfile", {"inferenceProfileIdentifier": ident}, f"Inference profile {ident} deleted.")
    return c.redirect(h.url("/bedrock"))


# ------------------------------------------------------------------ guardrails
async def guardrails_page(c: Console, call: Call) -> Response:
    title = "Bedrock guardrails"
    if (off := _unavailable(c, call, title, "guardrails")) is not None:
        return off
    try:
        items, left = await _paged(c, call, "ListGuardrails", {}, "guardrails")
    except AwsError as err:
        return _page(c, call, title, "guardrails", h.error_box(_error(err)))
    rows = [(h.link(g.get("name", ""), h.url("/bedrock/guardrail", id=g.get("id", ""))), g.get("id", ""), h.state_badge(g.get("status", "")),
             g.get("description", ""), h.when(g.get("createdAt")), h.when(g.get("updatedAt"))) for g in items]
    table = h.table(["Name", "Id", "Status", "Description", "Created", "Updated"], rows, "No guardrails in this region.", cls="guardrails")
    body = h.Markup(f'<section class="card"><h2>Guardrails in {h.esc(c.region_of(call))}</h2>{table}<p class="muted">{h.esc(_more(left))}</p></section>')
    return _page(c, call, title, "guardrails", body)


def _side(item: dict[str, Any], side: str) -> str:
    """An entry's action for INPUT or OUTPUT, as GetGuardrail shows it ("BLOCK", "off" when disabled)."""
    if item.get(f"{side}Enabled") is False:
        return "off"
    return str(item.get(f"{side}Action") or item.get("action") or "")


def _policies(details: dict[str, Any]) -> h.Markup:
    word = details.get("wordPolicy") or {}
    words = [("word", w.get("text", ""), _side(w, "input"), _side(w, "output")) for w in word.get("words") or []]
    words += [("managed list", m.get("type", ""), _side(m, "input"), _side(m, "output")) for m in word.get("managedWordLists") or []]
    sensitive = details.get("sensitiveInformationPolicy") or {}
    pii = [(p.get("type", ""), _side(p, "input"), _side(p, "output")) for p in sensitive.get("piiEntities") or []]
    regexes = [(r.get("name", ""), h.Markup(f"<code>{h.esc(r.get('pattern', ''))}</code>"), r.get("description", ""), _side(r, "input"), _side(r, "output"))
               for r in sensitive.get("regexes") or []]
    return h.Markup(
        '<section class="card"><h2>Policies</h2><h3>Words</h3>'
        + h.table(["Kind", "Word or list", "Input", "Output"], words, "No word filters.", cls="words")
        + "<h3>Sensitive information (PII)</h3>" + h.table(["Type", "Input", "Output"], pii, "No PII types.", cls="pii")
        + "<h3>Regexes</h3>" + h.table(["Name", "Pattern", "Description", "Input", "Output"], regexes, "No regexes.", cls="regexes")
        + "</section>"
    )


def _findings(assessments: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = []
    for a in assessments:
        word = a.get("wordPolicy") or {}
        rows += [("custom word", w.get("match", ""), "", w.get("action", "")) for w in word.get("customWords") or []]
        rows += [("managed word list", w.get("match", ""), w.get("type", ""), w.get("action", "")) for w in word.get("managedWordLists") or []]
        sensitive = a.get("sensitiveInformationPolicy") or {}
        rows += [("PII", p.get("match", ""), p.get("type", ""), p.get("action", "")) for p in sensitive.get("piiEntities") or []]
        rows += [("regex", r.get("match", ""), r.get("name", ""), r.get("action", "")) for r in sensitive.get("regexes") or []]
    return rows


def _test_result(source: str, text: str, out: dict[str, Any] | AwsError) -> h.Markup:
    if isinstance(out, AwsError):
        return h.Markup(f'<section class="card" id="test-result"><h2>Test result</h2>{h.error_box(_error(out))}</section>')
    action = str(out.get("action", ""))
    outputs = [str(o.get("text", "")) for o in out.get("outputs") or []]
    # ApplyGuardrail's outputs are empty when the guardrail did not intervene (the Bedrock user guide).
    shown = "\n".join(outputs) if outputs else text
    info = h.kv_table([("Source", source), ("Action", h.badge(action, "bad" if action == "GUARDRAIL_INTERVENED" else "ok")),
                       ("Reason", out.get("actionReason", ""))])
    return h.Markup(
        f'<section class="card" id="test-result"><h2>Test result</h2>{info}'
        f'<h3>{"Output" if outputs else "Output (unchanged)"}</h3><pre class="guardrail-output">{h.esc(shown)}</pre>'
        '<h3>Assessments</h3>'
        + h.table(["Policy", "Match", "Type or name", "Action"], _findings(out.get("assessments") or []), "Nothing detected.", cls="findings")
        + h.pretty_json(out.get("assessments") or []) + "</section>"
    )


def _test_form(call: Call, ident: str, versions: list[str], version: str, source: str, text: str) -> h.Markup:
    options = "".join(f'<option value="{h.esc(v)}"{" selected" if v == version else ""}>{h.esc(v)}</option>' for v in versions)
    sources = "".join(f'<option value="{s}"{" selected" if s == source else ""}>{s}</option>' for s in ("INPUT", "OUTPUT"))
    return h.Markup(
        f'<section class="card"><h2>Test</h2><form method="post" action="{h.esc(h.url("/bedrock/guardrail/test"))}" id="test-form">'
        f'{h.csrf_field(call.csrf)}<input type="hidden" name="id" value="{h.esc(ident)}">'
        f'<div class="row"><label>Version<select name="version">{options}</select></label><label>Source<select name="source">{sources}</select></label></div>'
        f'<label>Text<textarea name="text" rows="4" required spellcheck="false">{h.esc(text)}</textarea></label>'
        '<button type="submit" class="primary">Apply guardrail</button></form>'
        '<p class="muted">Runs ApplyGuardrail on the text: INPUT as a prompt, OUTPUT as a model\'s answer.</p></section>'
    )


async def _guardrail(c: Console, call: Call, ident: str, version: str, test: h.Markup | None = None, form: tuple[str, str] = ("INPUT", "")) -> Response:
    title = "Guardrail"
    if (off := _unavailable(c, call, title, "guardrails")) is not None:
        return off
    try:
        details = await c.invoke(call, "bedrock", "GetGuardrail", {"guardrailIdentifier": ident, "guardrailVersion": version})
        versions, _ = await _paged(c, call, "ListGuardrails", {"guardrailIdentifier": ident}, "guardrails")
    except AwsError as err:
        return _failed(c, call, title, "guardrails", err, ("Guardrails", "/bedrock/guardrails"))
    title = f"Guardrail {details.get('name', ident)}"
    info = h.kv_table([("Name", details.get("name", "")), ("Id", details.get("guardrailId", "")), ("ARN", details.get("guardrailArn", "")),
                       ("Version", details.get("version", "")), ("Status", details.get("status", "")), ("Description", details.get("description", "")),
                       ("Blocked input message", details.get("blockedInputMessaging", "")),
                       ("Blocked output message", details.get("blockedOutputsMessaging", "")),
                       ("Created", h.when(details.get("createdAt"))), ("Updated", h.when(details.get("updatedAt")))])
    rows = [(h.link(v.get("version", ""), h.url("/bedrock/guardrail", id=ident, version=v.get("version", ""))), v.get("description", ""),
             h.state_badge(v.get("status", "")), h.when(v.get("createdAt")),
             "" if v.get("version") == DRAFT else _get_form("/bedrock/delete-guardrail", "Delete version…", {"id": ident, "version": str(v.get("version", ""))}))
            for v in versions]
    names = [str(v.get("version", "")) for v in versions]
    create = h.Markup(
        f'<form method="post" action="{h.esc(h.url("/bedrock/guardrail/version"))}" class="row" id="create-version">{h.csrf_field(call.csrf)}'
        f'<input type="hidden" name="id" value="{h.esc(ident)}"><label class="wide">Description (optional)<input name="description" maxlength="200"></label>'
        '<button type="submit">Create version</button></form><p class="muted">A version is a numbered snapshot of the DRAFT.</p>'
    )
    body = h.Markup(
        f'<section class="card"><h2>Details</h2>{info}</section>' + _policies(details)
        + _test_form(call, ident, names, str(details.get("version", version)), *form) + (test or "")
        + f'<section class="card"><h2>Versions</h2>{h.table(["Version", "Description", "Status", "Created", ""], rows, cls="versions")}{create}</section>'
        + '<section class="card"><h2>Guardrail</h2>' + _get_form("/bedrock/delete-guardrail", "Delete guardrail…", {"id": ident}, "delete-guardrail-start") + "</section>"
    )
    return _page(c, call, title, "guardrails", body)


async def guardrail_page(c: Console, call: Call) -> Response:
    return await _guardrail(c, call, call.q("id"), call.q("version") or DRAFT)


async def test_guardrail(c: Console, call: Call) -> Response:
    """ApplyGuardrail on the typed text; the answer is shown on the guardrail's page (nothing changes)."""
    ident, version, text = call.f("id"), call.f("version") or DRAFT, call.f("text")
    source = call.f("source") if call.f("source") in ("INPUT", "OUTPUT") else "INPUT"
    params = {"guardrailIdentifier": ident, "guardrailVersion": version, "source": source, "content": [{"text": {"text": text}}]}
    try:
        out: dict[str, Any] | AwsError = await c.invoke(call, "bedrock-runtime", "ApplyGuardrail", params)
    except AwsError as err:
        out = err
    return await _guardrail(c, call, ident, version, _test_result(source, text, out), (source, text))


async def create_version(c: Console, call: Call) -> Response:
    ident = call.f("id")
    params = {"guardrailIdentifier": ident, **({"description": call.f("description").strip()} if call.f("description").strip() else {})}
    out = await c.perform(call, "bedrock", "CreateGuardrailVersion", params, "Guardrail version created.")
    if out is not None and out.get("version"):
        call.session.flash("ok", f"Version {out['version']}.")
        return c.redirect(h.url("/bedrock/guardrail", id=ident, version=out["version"]))
    return c.redirect(h.url("/bedrock/guardrail", id=ident))


async def confirm_delete_guardrail(c: Console, call: Call) -> Response:
    ident, version = call.q("id"), call.q("version")
    title = "Delete guardrail version" if version else "Delete guardrail"
    if (off := _unavailable(c, call, title, "guardrails")) is not None:
        return off
    try:
        details = await c.invoke(call, "bedrock", "GetGuardrail", {"guardrailIdentifier": ident, "guardrailVersion": version or DRAFT})
    except AwsError as err:
        return _failed(c, call, title, "guardrails", err, ("Guardrails", "/bedrock/guardrails"))
    name = str(details.get("name", ident))
    if version:
        heading, text = f"Delete version {version} of {name}?", "Only this numbered version is deleted; the DRAFT and the other versions stay."
    else:
        heading, text = f"Delete {name}?", "The guardrail and every version of it are deleted; requests that name it fail."
    fields = {"id": ident, **({"version": version} if version else {})}
    confirm = _confirm(call, heading, text, "/bedrock/delete-guardrail", fields, "Delete", h.url("/bedrock/guardrail", id=ident, version=version), "delete-guardrail")
    return _page(c, call, title, "guardrails", confirm)


async def delete_guardrail(c: Console, call: Call) -> Response:
    ident, version = call.f("id"), call.f("version")
    params = {"guardrailIdentifier": ident, **({"guardrailVersion": version} if version else {})}
    done = f"Version {version} of guardrail {ident} deleted." if version else f"Guardrail {ident} deleted."
    if await c.perform(call, "bedrock", "DeleteGuardrail", params, done) is None:
        return c.redirect(h.url("/bedrock/guardrail", id=ident, version=version))
    return c.redirect(h.url("/bedrock/guardrail", id=ident) if version else h.url("/bedrock/guardrails"))


# ------------------------------------------------------------------ batch inference jobs
def _counts(job: dict[str, Any]) -> str:
    """processed / success / error of total, once the input is validated (the counts appear then)."""
    if job.get("totalRecordCount") is None:
        return ""
    return (f"{job.get('processedRecordCount', 0)} processed / {job.get('successRecordCount', 0)} ok / "
            f"{job.get('errorRecordCount', 0)} failed of {job['totalRecordCount']}")


def _job_status(job: dict[str, Any]) -> h.Markup:
    status = str(job.get("status", ""))
    return h.badge(status, JOB_KINDS.get(status, ""))


def _stop_form(job: dict[str, Any]) -> h.Markup | str:
    return _get_form("/bedrock/stop-job", "Stop…", {"id": str(job.get("jobArn", ""))}) if job.get("status") in STOPPABLE else ""


async def _openai_batches(c: Console, call: Call) -> tuple[list[dict[str, Any]], bool] | str | None:
    """The OpenAI API's batches as its client lists them: ``GET /v1/batches`` through the route
    that serves it, with the signed-in key as its bearer token (so it authenticates and is
    authorized, bedrock:ListModelInvocationJobs, as any client). None when no route serves
    it here; the error's text when it answers one."""
    route = next((r for r in c.runtime.routes if BATCHES_PATH.startswith(r.prefix) and r.prefix.startswith("/v1/")
                  and (r.methods is None or "GET" in r.methods)), None)
    key = c.runtime.keys.get(call.principal.access_key_id)
    if route is None or key is None:
        return None
    headers = {"authorization": f"Bearer {key.access_key_id}:{key.secret_access_key}", "host": call.request.headers.get("host", "")}
    request = Request("GET", BATCHES_PATH, BATCHES_PATH, f"limit={BATCHES_LIMIT}", headers, b"", call.request.client_ip)
    response = await route.handler(request, RequestContext(request_id=str(uuid.uuid4()), request=request))
    try:
        doc = orjson.loads(response.body or b"{}")
    except orjson.JSONDecodeError:
        return f"HTTP {response.status}"
    if response.status != 200:
        error = doc.get("error") or {} if isinstance(doc, dict) else {}
        return f"{error.get('code') or response.status}: {error.get('message', '')}"
    return list(doc.get("data") or []), bool(doc.get("has_more"))


def _batch_rows(batches: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    rows = []
    for b in batches:
        counts = b.get("request_counts") or {}
        status = str(b.get("status", ""))
        rows.append((b.get("id", ""), h.badge(status, BATCH_KINDS.get(status, "")), b.get("endpoint", ""), b.get("model") or "",
                     f"{counts.get('completed', 0)} completed / {counts.get('failed', 0)} failed of {counts.get('total', 0)}",
                     h.when(b.get("created_at")), b.get("input_file_id", ""), b.get("output_file_id") or "", b.get("error_file_id") or ""))
    return rows


async def _batches_section(c: Console, call: Call) -> h.Markup:
    found = await _openai_batches(c, call)
    if found is None:
        inner: Any = h.Markup('<p class="muted">The OpenAI API (/v1/batches) is not served by this process.</p>')
    elif isinstance(found, str):
        inner = h.error_box(found)
    else:
        batches, more = found
        inner = h.table(["Batch", "Status", "Endpoint", "Model", "Requests", "Created", "Input file", "Output file", "Error file"],
                        _batch_rows(batches), "No batches.", cls="batches")
        if more:
            inner += h.Markup(f'<p class="muted">The {BATCHES_LIMIT} newest are shown.</p>')
    return h.Markup(f'<section class="card"><h2>OpenAI API batches (/v1/batches)</h2>{h.esc(inner)}</section>')


async def jobs_page(c: Console, call: Call) -> Response:
    title = "Bedrock batch inference"
    if (off := _unavailable(c, call, title, "jobs")) is not None:
        return off
    try:
        jobs, left = await _paged(c, call, "ListModelInvocationJobs", {}, "invocationJobSummaries")
        rows = [(h.link(j.get("jobName", ""), h.url("/bedrock/job", id=j.get("jobArn", ""))), _job_status(j), j.get("modelId", ""), _counts(j),
                 h.when(j.get("submitTime")), h.when(j.get("endTime")), j.get("message", ""), _stop_form(j)) for j in jobs]
        table = h.table(["Job", "Status", "Model", "Records", "Submitted", "Ended", "Message", ""], rows, "No batch inference jobs in this region.", cls="jobs")
        listing = h.Markup(f'<section class="card"><h2>Batch inference jobs in {h.esc(c.region_of(call))}</h2>{table}<p class="muted">{h.esc(_more(left))}</p></section>')
    except AwsError as err:
        listing = h.Markup(f'<section class="card"><h2>Batch inference jobs</h2>{h.error_box(_error(err))}</section>')
    return _page(c, call, title, "jobs", listing + await _batches_section(c, call))


async def job_page(c: Console, call: Call) -> Response:
    ident = call.q("id")
    title = "Batch inference job"
    if (off := _unavailable(c, call, title, "jobs")) is not None:
        return off
    try:
        job = await c.invoke(call, "bedrock", "GetModelInvocationJob", {"jobIdentifier": ident})
    except AwsError as err:
        return _failed(c, call, title, "jobs", err, ("Batch inference", "/bedrock/jobs"))
    input_uri = str(((job.get("inputDataConfig") or {}).get("s3InputDataConfig") or {}).get("s3Uri") or "")
    output_uri, folder = _job_output(job)
    info = h.kv_table([
        ("Name", job.get("jobName", "")), ("ARN", job.get("jobArn", "")), ("Status", _job_status(job)), ("Message", job.get("message", "")),
        ("Model", job.get("modelId", "")), ("Invocation type", job.get("modelInvocationType", "InvokeModel")), ("Role", job.get("roleArn", "")),
        ("Records", _counts(job)), ("Input", s3_link(input_uri)), ("Output", s3_link(output_uri)),
        ("This job's output files", s3_link(folder) if folder else ""),
        ("Manifest", s3_link(folder + "manifest.json.out") if folder and job.get("status") in MANIFEST_WRITTEN else ""),
        ("Submitted", h.when(job.get("submitTime"))), ("Last modified", h.when(job.get("lastModifiedTime"))), ("Ended", h.when(job.get("endTime"))),
        ("Expires", h.when(job.get("jobExpirationTime"))), ("Timeout (hours)", job.get("timeoutDurationInHours", "")),
    ])
    stop = h.Markup('<section class="card"><h2>Job</h2>' + _stop_form(job) + "</section>") if job.get("status") in STOPPABLE else ""
    return _page(c, call, f"Job {job.get('jobName', ident)}", "jobs", h.Markup(f'<section class="card"><h2>Details</h2>{info}</section>') + stop)


async def confirm_stop_job(c: Console, call: Call) -> Response:
    ident = call.q("id")
    title = "Stop batch inference job"
    if (off := _unavailable(c, call, title, "jobs")) is not None:
        return off
    try:
        job = await c.invoke(call, "bedrock", "GetModelInvocationJob", {"jobIdentifier": ident})
    except AwsError as err:
        return _failed(c, call, title, "jobs", err, ("Batch inference", "/bedrock/jobs"))
    text = (f"The job is {job.get('status', '')} ({_counts(job) or 'records not counted yet'}). Records in flight are cancelled; "
            "what was done is written to the output, then the job is Stopped.")
    confirm = _confirm(call, f"Stop {job.get('jobName', ident)}?", text, "/bedrock/stop-job", {"id": ident}, "Stop job",
                       h.url("/bedrock/job", id=ident), "stop-job")
    return _page(c, call, title, "jobs", confirm)


async def stop_job(c: Console, call: Call) -> Response:
    ident = call.f("id")
    await c.perform(call, "bedrock", "StopModelInvocationJob", {"jobIdentifier": ident}, f"Stopping job {ident.rsplit('/', 1)[-1]}.")
    return c.redirect(h.url("/bedrock/job", id=ident))


def register(console: Console) -> None:
    for method, path, fn in (
        ("GET", "/bedrock", models_page), ("GET", "/bedrock/delete-profile", confirm_delete_profile), ("POST", "/bedrock/delete-profile", delete_profile),
        ("GET", "/bedrock/guardrails", guardrails_page), ("GET", "/bedrock/guardrail", guardrail_page),
        ("POST", "/bedrock/guardrail/test", test_guardrail), ("POST", "/bedrock/guardrail/version", create_version),
        ("GET", "/bedrock/delete-guardrail", confirm_delete_guardrail), ("POST", "/bedrock/delete-guardrail", delete_guardrail),
        ("GET", "/bedrock/jobs", jobs_page), ("GET", "/bedrock/job", job_page),
        ("GET", "/bedrock/stop-job", confirm_stop_job), ("POST", "/bedrock/stop-job", stop_job),
    ):
        console.page(method, path)(fn)
