"""Compute: images (models), instances with start/stop/terminate, console output."""

from __future__ import annotations

import base64
import binascii
from typing import TYPE_CHECKING, Any

from emulator.console import html as h
from emulator.errors import AwsError
from emulator.protocols.base import Response

if TYPE_CHECKING:
    from emulator.console.core import Call, Console


def _tags(obj: dict[str, Any]) -> dict[str, str]:
    return {t.get("Key", ""): t.get("Value", "") for t in obj.get("Tags", []) or []}


def _decode_output(text: Any) -> str:
    # GetConsoleOutput's Output is base64 on the wire (AWS); be lenient if a handler returns plain text.
    if not text:
        return ""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    try:
        return base64.b64decode(text, validate=True).decode("utf-8", "replace")
    except (binascii.Error, ValueError):
        return str(text)


def _tokens_per_second(c: Console, instance: dict[str, Any]) -> str:
    # Live decode speed from the telemetry of inference requests served by this instance.
    rate = c.counter.tokens_per_second(str(instance.get("InstanceId", "")))
    return "" if rate is None else f"{rate:.1f}"


async def list_instances(c: Console, call: Call) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    token: str | None = None
    for _ in range(20):
        params: dict[str, Any] = {"MaxResults": 1000}
        if token:
            params["NextToken"] = token
        res = await c.invoke(call, "ec2", "DescribeInstances", params)
        for reservation in res.get("Reservations", []):
            out.extend(reservation.get("Instances", []))
        token = res.get("NextToken")
        if not token:
            break
    return out


async def list_images(c: Console, call: Call) -> list[dict[str, Any]]:
    res = await c.invoke(call, "ec2", "DescribeImages", {})
    return list(res.get("Images", []))


def register(console: Console) -> None:
    @console.page("GET", "/compute")
    async def compute(c: Console, call: Call) -> Response:
        if not c.native("ec2"):
            return c.html(call, "Compute", h.unavailable("ec2"), active="compute")
        errors = []
        images: list[dict[str, Any]] = []
        instances: list[dict[str, Any]] = []
        types: list[str] = []
        try:
            images = await list_images(c, call)
        except AwsError as err:
            errors.append(f"DescribeImages: {err.code}: {err.message}")
        try:
            instances = await list_instances(c, call)
        except AwsError as err:
            errors.append(f"DescribeInstances: {err.code}: {err.message}")
        if c.has_op("ec2", "DescribeInstanceTypes"):
            try:
                res = await c.invoke(call, "ec2", "DescribeInstanceTypes", {})
                types = [t["InstanceType"] for t in res.get("InstanceTypes", [])]
            except AwsError:
                types = []
        image_rows = []
        for img in images:
            tags = _tags(img)
            details = ", ".join(f"{k}={v}" for k, v in tags.items() if k != "Name")
            image_rows.append((img.get("ImageId"), img.get("Name"), img.get("Description", ""), details, h.state_badge(img.get("State", ""))))
        inst_rows = []
        for inst in sorted(instances, key=lambda i: str(i.get("LaunchTime", "")), reverse=True):
            iid = inst.get("InstanceId", "")
            state = (inst.get("State") or {}).get("Name", "")
            buttons = []
            if state == "stopped":
                buttons.append(h.post_button(h.url("/compute/action"), "Start", call.csrf, {"id": iid, "action": "start"}, "small"))
            if state in ("running", "pending"):
                buttons.append(h.post_button(h.url("/compute/action"), "Stop", call.csrf, {"id": iid, "action": "stop"}, "small"))
            if state not in ("terminated", "shutting-down"):
                buttons.append(h.post_button(h.url("/compute/action"), "Terminate", call.csrf, {"id": iid, "action": "terminate"}, "small danger", f"Terminate {iid}?"))
            inst_rows.append(
                (
                    h.link(iid, h.url("/compute/instance", id=iid)),
                    _tags(inst).get("Name", ""),
                    inst.get("ImageId", ""),
                    inst.get("InstanceType", ""),
                    h.Markup(f'<span data-instance-state="{h.esc(iid)}">{h.state_badge(state)}</span>'),
                    h.Markup(f'<span data-instance-tps="{h.esc(iid)}">{h.esc(_tokens_per_second(c, inst))}</span>'),
                    h.when(inst.get("LaunchTime")),
                    h.join(buttons),
                )
            )
        image_opts = "".join(f'<option value="{h.esc(i.get("ImageId"))}">{h.esc(i.get("Name") or i.get("ImageId"))} ({h.esc(i.get("ImageId"))})</option>' for i in images)
        type_field = (
            '<label>Instance type<select name="type"><option value="">(service default)</option>' + "".join(f"<option>{h.esc(t)}</option>" for t in types) + "</select></label>"
            if types
            else '<label>Instance type<input name="type" placeholder="as DescribeInstanceTypes lists"></label>'
        )
        launch = h.Markup(
            f'<section class="card"><h2>Launch a serving instance</h2><form method="post" action="{h.esc(h.url("/compute/run"))}" class="row" id="launch-form">'
            f'{h.csrf_field(call.csrf)}<label>Image (model)<select name="image" required>{image_opts}</select></label>{type_field}'
            '<label>Name tag<input name="tag_name" placeholder="optional"></label>'
            '<button type="submit" class="primary">Launch instance</button></form>'
            '<p class="muted">An instance without user data serves its model (Bedrock Runtime, OpenAI API) until stopped.</p></section>'
        )
        body = h.Markup(
            "".join(str(h.error_box(e)) for e in errors)
            + f'<section class="card"><h2>Instances</h2>{h.table(["Instance", "Name", "Image", "Type", "State", "Tokens/s", "Launched", ""], inst_rows, "No instances.", cls="instances")}</section>'
            + launch
            + f'<section class="card"><h2>Images (models)</h2>{h.table(["Image ID", "Name", "Description", "Details", "State"], image_rows, "No images: add a GGUF model with `emulator models add`.", cls="images")}</section>'
        )
        return c.html(call, "Compute", body, active="compute", scripts=("compute.js",))

    @console.page("GET", "/api/instances")
    async def api_instances(c: Console, call: Call) -> Response:
        if not c.native("ec2"):
            return c.json({"available": False, "instances": []})
        try:
            instances = await list_instances(c, call)
        except AwsError as err:
            return c.json({"available": True, "error": f"{err.code}: {err.message}", "instances": []}, 200)
        return c.json(
            {
                "available": True,
                "instances": [
                    {"id": i.get("InstanceId"), "state": (i.get("State") or {}).get("Name"), "tokens_per_second": _tokens_per_second(c, i)}
                    for i in instances
                ],
            }
        )

    @console.page("POST", "/compute/run")
    async def run(c: Console, call: Call) -> Response:
        params: dict[str, Any] = {"ImageId": call.f("image"), "MinCount": 1, "MaxCount": 1}
        if call.f("type"):
            params["InstanceType"] = call.f("type")
        if call.f("tag_name"):
            params["TagSpecifications"] = [{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": call.f("tag_name")}]}]
        try:
            res = await c.invoke(call, "ec2", "RunInstances", params)
            ids = ", ".join(i.get("InstanceId", "") for i in res.get("Instances", []))
            call.session.flash("ok", f"Launched {ids}.")
        except AwsError as err:
            call.session.flash("error", f"{err.code}: {err.message}")
        return c.redirect(h.url("/compute"))

    @console.page("POST", "/compute/action")
    async def action(c: Console, call: Call) -> Response:
        iid, what = call.f("id"), call.f("action")
        ops = {"start": "StartInstances", "stop": "StopInstances", "terminate": "TerminateInstances", "reboot": "RebootInstances"}
        if what not in ops:
            call.session.flash("error", f"Unknown action {what!r}.")
        else:
            await c.perform(call, "ec2", ops[what], {"InstanceIds": [iid]}, f"{ops[what]} {iid}: requested.")
        back = call.f("back")
        return c.redirect(h.url("/compute/instance", id=iid) if back == "instance" else h.url("/compute"))

    @console.page("GET", "/compute/instance")
    async def instance(c: Console, call: Call) -> Response:
        iid = call.q("id")
        title = f"Instance {iid}"
        if not c.native("ec2"):
            return c.html(call, title, h.unavailable("ec2"), active="compute")
        try:
            res = await c.invoke(call, "ec2", "DescribeInstances", {"InstanceIds": [iid]})
            found = [i for r in res.get("Reservations", []) for i in r.get("Instances", [])]
            if not found:
                raise AwsError("InvalidInstanceID.NotFound", f"The instance ID '{iid}' does not exist", 400)
            inst = found[0]
        except AwsError as err:
            return c.html(call, title, h.error_box(f"{err.code}: {err.message}"), active="compute", status=404)
        output = ""
        try:
            out = await c.invoke(call, "ec2", "GetConsoleOutput", {"InstanceId": iid, "Latest": True})
            output = _decode_output(out.get("Output"))
        except AwsError as err:
            output = f"({err.code}: {err.message})"
        state = (inst.get("State") or {}).get("Name", "")
        reason = (inst.get("StateReason") or {}).get("Message") or inst.get("StateTransitionReason", "")
        info = h.kv_table(
            [
                ("State", h.Markup(f'<span data-instance-state="{h.esc(iid)}">{h.state_badge(state)}</span>')),
                ("State reason", reason),
                ("Image", inst.get("ImageId")),
                ("Type", inst.get("InstanceType")),
                ("Launched", h.when(inst.get("LaunchTime"))),
                ("Private IP", inst.get("PrivateIpAddress", "")),
                ("Tags", ", ".join(f"{k}={v}" for k, v in _tags(inst).items())),
            ]
        )
        buttons = h.join(
            h.post_button(h.url("/compute/action"), label, call.csrf, {"id": iid, "action": act, "back": "instance"}, cls)
            for act, label, cls in (("start", "Start", ""), ("stop", "Stop", ""), ("terminate", "Terminate", "danger"))
        )
        body = h.Markup(
            f'<section class="card"><h2>Details</h2>{info}<div class="actions">{buttons}</div></section>'
            f'<section class="card"><h2>Console output</h2><pre class="console-output" id="console-output">{h.esc(output or "(no output yet)")}</pre>'
            f'<a class="button" href="{h.esc(h.url("/compute/instance", id=iid))}">Refresh</a></section>'
        )
        return c.html(call, title, body, active="compute", scripts=("compute.js",))
