"""SQS (served by moto): queues with their message counts, create and delete a queue, a queue's
attributes, send a message, purge. The console never receives messages (see NO_RECEIVE)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from emulator.console import html as h
from emulator.errors import AwsError
from emulator.protocols.base import Response

if TYPE_CHECKING:
    from emulator.console.core import Call, Console

MAX_QUEUES = 200  # queues listed (one GetQueueAttributes each)
COUNTS = ("ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed")
NO_RECEIVE = (
    "The console does not receive messages: a receive hides a message from your consumers for the "
    "queue's visibility timeout (and counts towards its maxReceiveCount), so looking would change what your application sees."
)


def _name(url: str) -> str:
    return url.rstrip("/").rpartition("/")[2]


def _epoch(value: str) -> str:
    """Epoch seconds (SQS's CreatedTimestamp) -> readable UTC; anything else as it is."""
    try:
        return h.when(float(value))
    except ValueError:
        return value


def _whole(value: str, attribute: str) -> str:
    """A whole number of seconds typed in the create form, as SQS's string attribute value."""
    text = value.strip()
    if not text.isdigit():
        raise AwsError("InvalidAttributeValue", f"Invalid value for the parameter {attribute}.", 400)
    return str(int(text))


def _attributes(text: str) -> dict[str, dict[str, str]]:
    """``name=value`` lines -> String message attributes."""
    out: dict[str, dict[str, str]] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        name, sep, value = line.partition("=")
        if not sep or not name.strip():
            raise AwsError("InvalidParameterValue", f"Message attribute line {number} is not name=value.", 400)
        out[name.strip()] = {"DataType": "String", "StringValue": value.strip()}
    return out


def _create_form(c: Console, call: Call) -> h.Markup:
    return h.Markup(
        f'<section class="card"><h2>Create queue</h2><form method="post" action="{h.esc(h.url("/sqs/create"))}" class="row" id="create-queue">'
        f'{h.csrf_field(call.csrf)}<label>Queue name<input name="name" required maxlength="80"></label>'
        '<label><input type="checkbox" name="fifo" value="1"> FIFO (the name gets ".fifo")</label>'
        '<label>Visibility timeout (seconds, optional)<input name="visibility" type="number" min="0" max="43200"></label>'
        '<label>Message retention (seconds, optional)<input name="retention" type="number" min="60" max="1209600"></label>'
        '<button type="submit" class="primary">Create queue</button></form>'
        f'<p class="muted">Created in {h.esc(c.region_of(call))} (the region chosen in the menu).</p></section>'
    )


def register(console: Console) -> None:
    @console.page("GET", "/sqs")
    async def queues(c: Console, call: Call) -> Response:
        if not c.available("sqs"):
            return c.html(call, "SQS", h.unavailable("sqs"), active="sqs")
        rows = []
        error = ""
        try:
            urls: list[str] = []
            params: dict[str, Any] = {"MaxResults": 1000}
            while len(urls) < MAX_QUEUES:
                out = await c.invoke(call, "sqs", "ListQueues", params)
                urls.extend(out.get("QueueUrls", []))
                if not out.get("NextToken"):
                    break
                params["NextToken"] = out["NextToken"]
            for url in urls[:MAX_QUEUES]:
                link = h.link(_name(url), h.url("/sqs/queue", url=url))
                try:
                    attrs = (await c.invoke(call, "sqs", "GetQueueAttributes", {"QueueUrl": url, "AttributeNames": list(COUNTS)})).get("Attributes", {})
                except AwsError as err:
                    rows.append((link, h.badge(err.code, "bad"), "", ""))
                    continue
                rows.append((link, *(attrs.get(name, "") for name in COUNTS)))
        except AwsError as err:
            error = f"{err.code}: {err.message}"
        body = h.Markup(
            (h.error_box(error) if error else "")
            + f'<section class="card"><h2>Queues in {h.esc(c.region_of(call))}</h2>'
            + h.table(["Queue", "Messages available", "In flight (not visible)", "Delayed"], rows, "No queues in this region.", cls="queues")
            + f'<p class="muted">{h.esc(NO_RECEIVE)}</p></section>'
            + _create_form(c, call)
        )
        return c.html(call, "SQS", body, active="sqs")

    @console.page("POST", "/sqs/create")
    async def create(c: Console, call: Call) -> Response:
        name = call.f("name").strip()
        fifo = call.f("fifo") not in ("", "0")
        if fifo and not name.endswith(".fifo"):
            name += ".fifo"
        attributes: dict[str, str] = {"FifoQueue": "true"} if fifo else {}
        try:
            for field, attribute in (("visibility", "VisibilityTimeout"), ("retention", "MessageRetentionPeriod")):
                if call.f(field).strip():
                    attributes[attribute] = _whole(call.f(field), attribute)
        except AwsError as err:
            call.session.flash("error", f"{err.code}: {err.message}")
            return c.redirect(h.url("/sqs"))
        params: dict[str, Any] = {"QueueName": name}
        if attributes:
            params["Attributes"] = attributes
        out = await c.perform(call, "sqs", "CreateQueue", params, f"Queue {name} created.")
        if out is not None and out.get("QueueUrl"):
            return c.redirect(h.url("/sqs/queue", url=out["QueueUrl"]))
        return c.redirect(h.url("/sqs"))

    @console.page("GET", "/sqs/queue")
    async def queue(c: Console, call: Call) -> Response:
        url = call.q("url")
        title = f"Queue {_name(url)}"
        if not c.available("sqs"):
            return c.html(call, title, h.unavailable("sqs"), active="sqs")
        try:
            attrs = (await c.invoke(call, "sqs", "GetQueueAttributes", {"QueueUrl": url, "AttributeNames": ["All"]})).get("Attributes", {})
        except AwsError as err:
            return c.html(call, title, h.error_box(f"{err.code}: {err.message}") + h.link("← Queues", h.url("/sqs")), active="sqs", status=max(err.status, 400))
        counts = h.kv_table([("Messages available", attrs.get(COUNTS[0], "")), ("In flight (not visible)", attrs.get(COUNTS[1], "")), ("Delayed", attrs.get(COUNTS[2], ""))])
        rest = [(k, _epoch(v) if k in ("CreatedTimestamp", "LastModifiedTimestamp") else v) for k, v in sorted(attrs.items()) if k not in COUNTS]
        fifo = attrs.get("FifoQueue") == "true" or url.endswith(".fifo")
        fifo_fields = (
            '<label>Message group id<input name="group" required></label><label>Deduplication id (optional)<input name="dedup"></label>'
            if fifo else '<label>Delay (seconds, optional)<input name="delay" type="number" min="0" max="900"></label>'
        )
        send = h.Markup(
            f'<section class="card"><h2>Send a message</h2><form method="post" action="{h.esc(h.url("/sqs/send"))}" id="send-form">{h.csrf_field(call.csrf)}'
            f'<input type="hidden" name="url" value="{h.esc(url)}">'
            '<label>Body<textarea name="body" rows="6" required spellcheck="false"></textarea></label>'
            '<label>Message attributes (optional, one name=value per line, sent as String)<textarea name="attributes" rows="3" spellcheck="false"></textarea></label>'
            f'<div class="row">{fifo_fields}</div><button type="submit" class="primary">Send message</button></form></section>'
        )
        head = h.Markup(
            f'<section class="card"><h2>Messages</h2>{counts}<p class="muted">{h.esc(NO_RECEIVE)}</p>'
            + h.post_button(h.url("/sqs/purge"), "Purge queue", call.csrf, {"url": url}, "danger", f"Delete every message in {_name(url)}?")
            + "</section>"
        )
        info = h.Markup(f'<section class="card"><h2>Attributes</h2>{h.kv_table([("URL", url), *rest])}</section>')
        danger = h.Markup(
            '<section class="card"><h2>Queue</h2>'
            # A GET to the confirmation page: nothing is deleted until its own form is posted.
            + f'<form method="get" action="{h.esc(h.url("/sqs/delete"))}" class="inline" id="delete-queue-start">'
            f'<input type="hidden" name="url" value="{h.esc(url)}"><button type="submit" class="danger">Delete queue…</button></form>'
            + "</section>"
        )
        return c.html(call, title, head + send + info + danger, active="sqs")

    @console.page("GET", "/sqs/delete")
    async def confirm_delete(c: Console, call: Call) -> Response:
        """The confirmation step (no JavaScript needed): what will go, and the form that deletes it."""
        url = call.q("url")
        title = f"Delete queue {_name(url)}"
        if not c.available("sqs"):
            return c.html(call, title, h.unavailable("sqs"), active="sqs")
        try:
            attrs = (await c.invoke(call, "sqs", "GetQueueAttributes", {"QueueUrl": url, "AttributeNames": [COUNTS[0]]})).get("Attributes", {})
        except AwsError as err:
            return c.html(call, title, h.error_box(f"{err.code}: {err.message}") + h.link("← Queues", h.url("/sqs")), active="sqs", status=max(err.status, 400))
        body = h.Markup(
            f'<section class="card"><h2>Delete {h.esc(_name(url))}?</h2>'
            f'<p>The queue and its messages (about {h.esc(attrs.get(COUNTS[0], "0"))} available) are deleted. '
            "A queue of the same name can be created again after 60 seconds (as documented in the DeleteQueue API reference).</p>"
            f'<form method="post" action="{h.esc(h.url("/sqs/delete"))}" class="row" id="delete-queue">{h.csrf_field(call.csrf)}'
            f'<input type="hidden" name="url" value="{h.esc(url)}"><button type="submit" class="danger">Delete queue</button> '
            + h.link("Cancel", h.url("/sqs/queue", url=url), "button")
            + "</form></section>"
        )
        return c.html(call, title, body, active="sqs")

    @console.page("POST", "/sqs/delete")
    async def delete(c: Console, call: Call) -> Response:
        url = call.f("url")
        if await c.perform(call, "sqs", "DeleteQueue", {"QueueUrl": url}, f"Queue {_name(url)} deleted.") is None:
            return c.redirect(h.url("/sqs/queue", url=url))
        return c.redirect(h.url("/sqs"))

    @console.page("POST", "/sqs/send")
    async def send(c: Console, call: Call) -> Response:
        url = call.f("url")
        params: dict[str, Any] = {"QueueUrl": url, "MessageBody": call.f("body")}
        try:
            attributes = _attributes(call.f("attributes"))
        except AwsError as err:
            call.session.flash("error", f"{err.code}: {err.message}")
            return c.redirect(h.url("/sqs/queue", url=url))
        if attributes:
            params["MessageAttributes"] = attributes
        for field, member in (("group", "MessageGroupId"), ("dedup", "MessageDeduplicationId")):
            if call.f(field).strip():
                params[member] = call.f(field).strip()
        if call.f("delay").strip():
            try:
                params["DelaySeconds"] = int(call.f("delay"))
            except ValueError:
                call.session.flash("error", "InvalidParameterValue: the delay must be a whole number of seconds.")
                return c.redirect(h.url("/sqs/queue", url=url))
        out = await c.perform(call, "sqs", "SendMessage", params, "Message sent.")
        if out is not None:
            call.session.flash("ok", f"Message id {out.get('MessageId', '')}.")
        return c.redirect(h.url("/sqs/queue", url=url))

    @console.page("POST", "/sqs/purge")
    async def purge(c: Console, call: Call) -> Response:
        url = call.f("url")
        await c.perform(call, "sqs", "PurgeQueue", {"QueueUrl": url}, f"Queue {_name(url)} purged.")
        return c.redirect(h.url("/sqs/queue", url=url))
