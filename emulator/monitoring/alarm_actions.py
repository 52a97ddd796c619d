"""Alarm actions: publishing to SNS topics, SNS-shaped HTTP webhooks, writing to a log group,
and EC2 stop/terminate/reboot on local instances (CloudWatch User Guide, "Alarm actions").

An SNS topic action publishes the alarm's JSON notification (User Guide, "Using Amazon SNS
notifications") to the topic through moto's SNS backend, which fans it out to the topic's
subscriptions (SQS queues, HTTP endpoints, Lambda functions). A topic listed in the setting
``alarm_webhooks`` is posted to its URL instead, as an SNS HTTP subscriber would receive it
(that setting is how topics of another endpoint, or any topic where moto does not serve SNS,
are reached). A topic that does not exist fails the action, recorded in the alarm history.

Alarm mute rules (emulator.monitoring.mute_rules, the ``alarm_mute_rules`` component) hold
back the actions of a state change while one of them is active for the alarm; the state
change and its history stay. An alarm whose actions were held back and that is still in
ALARM when its mute ends runs its AlarmActions then (DeleteAlarmMuteRule: "If those alarms
are in an ALARM state, their configured actions will trigger")."""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
import re
import threading
import urllib.request
import uuid
from collections.abc import Callable
from typing import Any

from emulator.monitoring.alarm_events import AlarmEvents, iso, moto_call, moto_served

log = logging.getLogger("emulator.monitoring.alarms")

REGION_NAMES = {"us-east-1": "US East (N. Virginia)", "us-east-2": "US East (Ohio)", "us-west-1": "US West (N. California)", "us-west-2": "US West (Oregon)", "eu-west-1": "EU (Ireland)", "eu-central-1": "EU (Frankfurt)"}
TOPIC_ARN = re.compile(r"^arn:aws[a-z-]*:sns:([a-z0-9-]+):(\d{12}):([A-Za-z0-9_-]{1,256}(\.fifo)?)$")

__all__ = ["AlarmActions", "iso"]


@functools.lru_cache(maxsize=64)
def region_name(region: str) -> str:
    """The Region's name in notifications ("US East (N. Virginia)"): REGION_NAMES, else the
    description botocore's endpoints data gives it (ours: AWS's spelling may differ), else the code."""
    name = REGION_NAMES.get(region)
    if name is not None:
        return name
    try:
        import botocore.loaders

        for partition in botocore.loaders.create_loader().load_data("endpoints")["partitions"]:
            found = partition.get("regions", {}).get(region)
            if found and found.get("description"):
                return str(found["description"])
    except Exception:  # the code is a name too
        log.debug("no name for region %s", region, exc_info=True)
    return region


def subject(alarm: dict[str, Any]) -> str:
    """``ALARM: "name" in US East (N. Virginia)``, within SNS's 100 characters of a Subject."""
    return f'{alarm["NewStateValue"]}: "{alarm["AlarmName"]}" in {alarm["Region"]}'[:100]


class AlarmActions(AlarmEvents):
    """Mixed into RegionAlarms (emulator.monitoring.alarms): builds the notification and runs one action (on the actions thread pool)."""

    alarms: dict[str, dict[str, Any]]
    account_id: str
    region: str
    components: dict[str, Any]
    webhooks: dict[str, str]
    sent: list[dict[str, Any]]
    _history: Callable[..., None]  # RegionAlarms' history writer
    _save: Callable[[str], None]  # RegionAlarms' alarm writer
    manager: Any  # the regions' manager; its ``_generation`` counts resets
    kinds: dict[str, str]
    lock: Any
    _pool: Any
    clock: Callable[[], float]

    # ------------------------------------------------------------ mute rules
    def _mute(self, name: str, kind: str, actions: list[str], old_state: str, now: float) -> bool:
        """Whether an active alarm mute rule holds back ``actions`` of the state change just
        made (under the lock). A held-back change is marked on the alarm (``_muted``) and
        each action written to the history as muted."""
        mutes = self.components.get("alarm_mute_rules")
        rule = mutes.muting(self.region, name, now) if mutes is not None else None
        alarm = self.alarms[name]
        if mutes is None or rule is None:
            if alarm.pop("_muted", None) is not None:  # a mute that ended before the sweep saw it
                self._save(name)
            return False
        if not actions:
            return False
        alarm["_muted"] = {"rule": rule, "oldState": old_state}
        self._save(name)
        rule_arn = mutes.arn(rule, self.region)
        for action in actions:
            self._history(
                name, kind, "Action", f"Action {action} muted by alarm mute rule {rule}",
                {"actionState": "Muted", "notificationResource": action, "alarmMuteRuleArn": rule_arn, "stateUpdateTimestamp": iso(now)}, now,
            )
        return True

    def release_muted(self) -> None:
        """The end of a mute (its window closed, its rule expired, was changed or deleted): an
        alarm whose actions were held back runs its AlarmActions if it is still in ALARM."""
        with self.lock:
            pending = [n for n, a in self.alarms.items() if "_muted" in a]
            if not pending:
                return
            mutes = self.components.get("alarm_mute_rules")
            now = self.clock()
            for name in pending:
                if mutes is not None and mutes.muting(self.region, name, now) is not None:
                    continue
                alarm = self.alarms[name]
                held = alarm.pop("_muted")
                self._save(name)
                if alarm["StateValue"] != "ALARM" or not alarm.get("ActionsEnabled", True):
                    continue
                # the notification of the state change whose actions were held back
                message = self._notification(name, held.get("oldState", "OK"), alarm["StateUpdatedTimestamp"])
                for action in alarm.get("AlarmActions", []):
                    self._pool.submit(self._run_action, name, self.kinds[name], action, message, self.manager._generation)

    # ------------------------------------------------------------ actions
    def _notification(self, name: str, old_state: str, now: float) -> dict[str, Any]:
        a = self.alarms[name]
        msg: dict[str, Any] = {
            "AlarmName": name,
            "AlarmDescription": a.get("AlarmDescription"),
            "AWSAccountId": self.account_id,
            "AlarmConfigurationUpdatedTimestamp": iso(a["AlarmConfigurationUpdatedTimestamp"]),
            "NewStateValue": a["StateValue"],
            "NewStateReason": a["StateReason"],
            "StateChangeTime": iso(now),
            "Region": region_name(self.region),
            "AlarmArn": a["AlarmArn"],
            "OldStateValue": old_state,
            "OKActions": a.get("OKActions", []),
            "AlarmActions": a.get("AlarmActions", []),
            "InsufficientDataActions": a.get("InsufficientDataActions", []),
        }
        if "AlarmRule" in a:
            msg["AlarmRule"] = a["AlarmRule"]
        else:
            msg["Trigger"] = {
                "MetricName": a.get("MetricName"),
                "Namespace": a.get("Namespace"),
                "StatisticType": "ExtendedStatistic" if a.get("ExtendedStatistic") else "Statistic",
                "Statistic": (a.get("Statistic") or "").upper() or None,
                "ExtendedStatistic": a.get("ExtendedStatistic"),
                "Unit": a.get("Unit"),
                "Dimensions": [{"value": d["Value"], "name": d["Name"]} for d in a.get("Dimensions", [])],
                "Period": a.get("Period"),
                "EvaluationPeriods": a["EvaluationPeriods"],
                "DatapointsToAlarm": a.get("DatapointsToAlarm") or a["EvaluationPeriods"],
                "ComparisonOperator": a["ComparisonOperator"],
                "Threshold": a.get("Threshold"),
                "TreatMissingData": a.get("TreatMissingData", "missing"),
                "EvaluateLowSampleCountPercentile": a.get("EvaluateLowSampleCountPercentile", ""),
            }
            if a.get("Metrics"):
                msg["Trigger"]["Metrics"] = a["Metrics"]
            if a.get("ThresholdMetricId"):  # an anomaly band alarm: the band is the threshold
                del msg["Trigger"]["Threshold"]
                msg["Trigger"]["ThresholdMetricId"] = a["ThresholdMetricId"]
        return msg

    def sns_envelope(self, topic: str, alarm: dict[str, Any]) -> dict[str, Any]:
        """The JSON an SNS HTTP(S) subscriber receives (SNS Developer Guide, "HTTP/S notification JSON")."""
        return {
            "Type": "Notification",
            "MessageId": str(uuid.uuid4()),
            "TopicArn": topic,
            "Subject": subject(alarm),
            "Message": json.dumps(alarm, default=str),
            "Timestamp": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
            "SignatureVersion": "1",
            "Signature": "",
            "SigningCertURL": "",
            "UnsubscribeURL": "",
        }

    def _run_action(self, name: str, kind: str, action: str, message: dict[str, Any], generation: int | None = None) -> None:
        # ``generation``: the reset count when the action was queued; an alarm forgotten since
        # (POST /_emulator/reset) neither acts nor writes history into the new account.
        if generation is not None and generation != self.manager._generation:
            return
        try:
            detail = self._execute(action, message)
            if generation is not None and generation != self.manager._generation:
                return
            self._history(name, kind, "Action", f"Successfully executed action {action}", {"actionState": "Succeeded", "notificationResource": action, "stateUpdateTimestamp": message["StateChangeTime"], **detail})
        except Exception as exc:  # noqa: BLE001 - a failed action is recorded in the history
            log.warning("alarm %s action %s failed: %s", name, action, exc)
            if generation is not None and generation != self.manager._generation:
                return
            self._history(name, kind, "Action", f"Failed to execute action {action}. Received error: {exc}", {"actionState": "Failed", "notificationResource": action, "error": str(exc)})

    def _execute(self, action: str, message: dict[str, Any]) -> dict[str, Any]:
        self.sent.append({"action": action, "message": message})
        del self.sent[:-100]
        url = None
        if action.startswith(("http://", "https://")):
            url = action
        elif action.startswith("arn:aws:sns:"):
            url = self.webhooks.get(action)
            if url is None:
                if moto_served(self.components, "sns"):
                    return self._publish(action, message)
                raise RuntimeError(f"No webhook is configured for topic {action} (set alarm_webhooks)")
        if url is not None:
            body = json.dumps(self.sns_envelope(action, message)).encode()
            req = urllib.request.Request(url, data=body, method="POST", headers={"content-type": "text/plain; charset=UTF-8", "x-amz-sns-message-type": "Notification"})
            with urllib.request.urlopen(req, timeout=10) as resp:
                return {"httpStatus": resp.status}
        if action.startswith("arn:aws:logs:"):
            group = action.split(":log-group:", 1)[1] if ":log-group:" in action else ""
            group = group.removesuffix(":*")
            logs = self.components.get("logs")
            if not group or logs is None:
                raise RuntimeError(f"Invalid log group action {action}")
            # The log group of the ARN's region (the alarm's own when the ARN leaves it out).
            region = action.split(":")[3] or self.region
            logs.put(group, "cloudwatch-alarms", json.dumps(message, default=str), region=region)
            return {}
        m = re.match(r"^arn:aws:automate:[^:]+:ec2:(stop|terminate|reboot|recover)$", action)
        if m:
            verb = m.group(1)
            dims = {d["name"]: d["value"] for d in (message.get("Trigger") or {}).get("Dimensions", [])}
            instance = dims.get("InstanceId")
            if not instance:
                raise RuntimeError("EC2 actions need an alarm on a metric with the InstanceId dimension")
            self._ec2_action(verb, instance)
            return {"instanceId": instance}
        raise RuntimeError(f"Unsupported action {action}")

    def _publish(self, topic: str, message: dict[str, Any]) -> dict[str, Any]:
        """Publish the notification to ``topic`` in moto's SNS (on an actions thread); the
        history's ``publishedMessage`` is the message published."""
        body = json.dumps(message, default=str)
        m = TOPIC_ARN.match(topic)

        def publish(fallback: Any) -> str:
            # SNS's answer to a Publish to a topic that does not exist (NotFound).
            if m is None:
                raise RuntimeError("Topic does not exist")
            try:
                backend = fallback.backend("sns", m.group(1))
            except KeyError:  # a Region moto does not know
                raise RuntimeError("Topic does not exist") from None
            if topic not in backend.topics:
                raise RuntimeError("Topic does not exist")
            return str(backend.publish(body, topic, subject=subject(message)))

        moto_call(self.components, "sns", publish)
        return {"publishedMessage": body}

    def _ec2_action(self, verb: str, instance: str) -> None:
        compute = self.components.get("compute")
        if compute is None:
            raise RuntimeError(f"EC2 {verb} is not available: no local compute service")
        fn = getattr(compute, f"{verb}_instances", None)
        if fn is not None:
            fn([instance])
            return
        # emulator.compute: InstanceManager.stop_instance / terminate / reboot, owned by the event loop
        manager = getattr(compute, "manager", None)
        method = {"stop": "stop_instance", "terminate": "terminate", "reboot": "reboot", "recover": "reboot"}[verb]
        target = getattr(manager, method, None)
        if target is None:
            raise RuntimeError(f"EC2 {verb} is not available in the local compute service")
        if instance not in getattr(manager, "instances", {}):
            raise RuntimeError(f"The instance ID '{instance}' does not exist")
        loop = getattr(manager, "_loop", None)
        if loop is not None and loop.is_running():
            done = threading.Event()
            errors: list[BaseException] = []

            def call() -> None:
                try:
                    target(instance)
                except Exception as exc:  # noqa: BLE001 - handed back to the action thread
                    errors.append(exc)
                finally:
                    done.set()

            loop.call_soon_threadsafe(call)
            if not done.wait(30):
                raise RuntimeError(f"EC2 {verb} of {instance} timed out")
            if errors:
                raise RuntimeError(str(errors[0]))
        else:
            target(instance)
