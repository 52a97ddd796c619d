"""SQS message semantics where moto's differ from what SQS documents, fixed inside moto.

Installed by fallback_patches.install (after its own SQS patches, so that these wrap them):

- FIFO deduplication lasts 5 minutes from the first send whatever happens to the message
  ("Any messages sent with the same message deduplication ID are accepted successfully but
  aren't delivered during the 5-minute deduplication interval"); moto compared only with the
  messages still in the queue, so a message received and deleted was delivered again when
  resent. A duplicate's SendMessage answers the first message's MessageId and SequenceNumber
  (moto made up new ones). With DeduplicationScope ``messageGroup`` the interval is per group.
- ReceiveRequestAttemptId (FIFO): a retried ReceiveMessage with the same attempt id within 5
  minutes answers the same messages and receipt handles (moto received the next ones).
- A message's size counts its attributes: "The message size includes the message body and any
  message attributes" (names, types and values); moto counted the body's characters only.
- ChangeMessageVisibility of a deleted message: ``InvalidParameterValue ... Reason: Message does
  not exist or is not available for visibility timeout change.`` (moto: ReceiptHandleIsInvalid,
  which SQS answers for a handle that never was one).
- A queue deleted less than 60 seconds ago cannot be created again under its name:
  ``AWS.SimpleQueueService.QueueDeletedRecently`` (moto created it at once).
- SendMessage with MessageSystemAttributes answers MD5OfMessageSystemAttributes, as SQS does.
- A message is deleted when its queue's MessageRetentionPeriod has passed since it was sent:
  moto kept it (counted in ApproximateNumberOfMessages), and the first expired message it met
  ended the receive, returning none of the messages after it.
- StartMessageMoveTask, ListMessageMoveTasks, CancelMessageMoveTask (moto has none): a task
  moves a dead-letter queue's messages back to the queues they came from (or DestinationArn) at
  once; it is listed as COMPLETED.
- SendMessageBatch: an entry whose body or attribute holds a character SQS does not allow fails
  (that entry, with SendMessage's error; fallback_checks_sqs.invalid_contents); moto sent it.
- A redrive policy's dead-letter queue is of the source's type (FIFO for FIFO, standard for
  standard), and one whose RedriveAllowPolicy does not allow the source is refused.
"""

from __future__ import annotations

import copy
import functools
import json
import time
from typing import Any

from emulator.errors import AwsError

DEDUPLICATION_SECONDS = 300
RECREATE_WAIT_SECONDS = 60


def install() -> None:
    _deduplication()
    _receive_attempts()
    _sizes()
    _receipt_handles()
    _recreate()
    _system_attribute_md5()
    _redrive_targets()
    _retention()
    _move_tasks()
    _batch_contents()


def _invalid(message: str) -> AwsError:
    return AwsError("InvalidParameterValue", message, 400)


def _sqs_error(code: str, message: str) -> Exception:
    """An error of SQS's query-era code (``AWS.SimpleQueueService.*``) raised as moto's, which
    answers it with the modeled shape's name too, so that botocore raises its class
    (``client.exceptions.QueueDeletedRecently``)."""
    from moto.sqs.exceptions import SQSException

    return SQSException(code, message)


# ------------------------------------------------------------------ deduplication
def _prune(record: dict[Any, tuple[float, Any]], now: float) -> None:
    """Forget the entries older than the 5-minute interval: the oldest come first (insertion
    order), so a send does not walk every entry of the interval."""
    expired = []
    for key, (at, _) in record.items():
        if now - at < DEDUPLICATION_SECONDS:
            break
        expired.append(key)
    for key in expired:
        del record[key]


class _Unmatched(str):
    """A deduplication id that moto's own check (in add_message) finds equal to no other."""

    def __eq__(self, other: object) -> bool:
        return False

    __hash__ = str.__hash__


def _deduplication() -> None:
    from moto.sqs.models import Queue, SQSBackend

    add_message = Queue.add_message

    @functools.wraps(add_message)
    def adding(self: Any, message: Any) -> None:
        if not self.fifo_queue or not message.deduplication_id:
            return add_message(self, message)
        now = time.time()
        sent: dict[Any, tuple[float, Any]] = self.__dict__.setdefault("_emulator_dedup", {})
        _prune(sent, now)
        scope = self.__dict__.get("deduplication_scope") or getattr(self, "deduplication_scope", None)
        key = (message.group_id if scope == "messageGroup" else None, message.deduplication_id)
        if key in sent:
            message._emulator_duplicate_of = sent[key][1]
            return None
        sent[key] = (now, message)
        if scope != "messageGroup":
            return add_message(self, message)
        # moto compares deduplication ids across groups; the record above has decided, so for
        # the time of moto's check the id equals none (a str subclass's __eq__ is asked first).
        plain = message.deduplication_id
        message.deduplication_id = _Unmatched(plain)
        try:
            return add_message(self, message)
        finally:
            message.deduplication_id = plain

    Queue.add_message = adding  # type: ignore[method-assign]

    send_message = SQSBackend.send_message

    @functools.wraps(send_message)
    def sending(self: Any, *args: Any, **kwargs: Any) -> Any:
        message = send_message(self, *args, **kwargs)
        first = getattr(message, "_emulator_duplicate_of", None)
        if first is None:
            return message
        # The duplicate's answer names the message that was delivered; its MD5s stay those of
        # what this request sent (botocore checks them against the request).
        answer = copy.copy(message)
        answer.id = first.id
        answer.sequence_number = first.sequence_number
        return answer

    SQSBackend.send_message = sending  # type: ignore[method-assign]


# ------------------------------------------------------------------ ReceiveRequestAttemptId
def _receive_attempts() -> None:
    import threading

    from moto.sqs.models import SQSBackend
    from moto.sqs.responses import SQSResponse

    attempt = threading.local()
    respond = SQSResponse.receive_message

    @functools.wraps(respond)
    def receive_response(self: Any) -> Any:
        attempt.id = self._get_param("ReceiveRequestAttemptId")
        try:
            return respond(self)
        finally:
            attempt.id = None

    SQSResponse.receive_message = receive_response  # type: ignore[method-assign]

    receive = SQSBackend.receive_message

    @functools.wraps(receive)
    def receiving(self: Any, queue_name: str, *args: Any, **kwargs: Any) -> Any:
        attempt_id = getattr(attempt, "id", None)
        queue = self.get_queue(queue_name)
        if not attempt_id or not queue.fifo_queue:
            return receive(self, queue_name, *args, **kwargs)
        now = time.time()
        attempts: dict[str, tuple[float, list[Any]]] = queue.__dict__.setdefault("_emulator_attempts", {})
        _prune(attempts, now)
        if attempt_id in attempts:
            answered = attempts[attempt_id][1]
            # The same messages while none of them was deleted or received again since.
            current = {m.id: m.receipt_handle for m in queue._messages}
            if all(current.get(m.id) == m.receipt_handle for m in answered):
                return [copy.copy(m) for m in answered]
        result = receive(self, queue_name, *args, **kwargs)
        if result:  # an attempt that got nothing has nothing to answer again
            attempts[attempt_id] = (now, [copy.copy(m) for m in result])
        return result

    SQSBackend.receive_message = receiving  # type: ignore[method-assign]


# ------------------------------------------------------------------ sizes
def _attribute_size(attributes: Any) -> int:
    size = 0
    for name, value in (attributes or {}).items():
        if not isinstance(value, dict):
            continue
        size += len(str(name).encode()) + len(str(value.get("DataType") or "").encode())
        given = value.get("StringValue")
        if isinstance(given, str):
            size += len(given.encode())
        binary = value.get("BinaryValue")
        if isinstance(binary, bytes | bytearray):
            size += len(binary)
        elif isinstance(binary, str):  # moto keeps it base64-encoded
            size += len(binary) * 3 // 4 - binary.count("=")
    return size


def _sizes() -> None:
    from moto.sqs.models import SQSBackend

    send_message = SQSBackend.send_message

    @functools.wraps(send_message)
    def sending(self: Any, queue_name: str, message_body: str, message_attributes: dict[str, Any] | None = None, *args: Any, **kwargs: Any) -> Any:
        limit = int(self.get_queue(queue_name).maximum_message_size)
        if isinstance(message_body, str) and len(message_body.encode()) + _attribute_size(message_attributes) > limit:
            raise _invalid(f"One or more parameters are invalid. Reason: Message must be shorter than {limit} bytes.")
        return send_message(self, queue_name, message_body, message_attributes, *args, **kwargs)

    SQSBackend.send_message = sending  # type: ignore[method-assign]

    send_batch = SQSBackend.send_message_batch

    @functools.wraps(send_batch)
    def sending_batch(self: Any, queue_name: str, entries: dict[str, dict[str, Any]]) -> Any:
        from moto.sqs.constants import MAXIMUM_MESSAGE_LENGTH

        total = sum(len(str(e.get("MessageBody") or "").encode()) + _attribute_size(e.get("MessageAttributes")) for e in entries.values())
        if total > MAXIMUM_MESSAGE_LENGTH:
            raise _sqs_error("AWS.SimpleQueueService.BatchRequestTooLong",
                             f"Batch requests cannot be longer than {MAXIMUM_MESSAGE_LENGTH} bytes. You have sent {total} bytes.")
        return send_batch(self, queue_name, entries)

    SQSBackend.send_message_batch = sending_batch  # type: ignore[method-assign]


# ------------------------------------------------------------------ receipt handles
def _receipt_handles() -> None:
    from moto.sqs.models import SQSBackend

    change = SQSBackend.change_message_visibility

    @functools.wraps(change)
    def changing(self: Any, queue_name: str, receipt_handle: str, visibility_timeout: int) -> None:
        if receipt_handle in self.get_queue(queue_name).deleted_messages:
            raise _invalid(f"Value {receipt_handle} for parameter ReceiptHandle is invalid. Reason: Message does not exist or is not available for visibility timeout change.")
        return change(self, queue_name, receipt_handle, visibility_timeout)

    SQSBackend.change_message_visibility = changing  # type: ignore[method-assign]

    change_batch = SQSBackend.change_message_visibility_batch

    @functools.wraps(change_batch)
    def changing_batch(self: Any, queue_name: str, entries: list[dict[str, Any]]) -> Any:
        """The same error for an entry of a batch, as that entry's failure (moto's batch let
        only its own ReceiptHandleIsInvalid become one)."""
        deleted = self.get_queue(queue_name).deleted_messages
        gone = [e for e in entries if isinstance(e, dict) and e.get("ReceiptHandle") in deleted]
        success: list[str] = []
        failed: list[dict[str, Any]] = []
        if len(gone) < len(entries):
            success, moto_failed = change_batch(self, queue_name, [e for e in entries if e not in gone])
            failed.extend(moto_failed)
        for entry in gone:
            failed.append({"Id": entry["Id"], "SenderFault": True, "Code": "InvalidParameterValue",
                           "Message": f"Value {entry['ReceiptHandle']} for parameter ReceiptHandle is invalid. Reason: Message does not exist or is not available for visibility timeout change."})
        return success, failed

    SQSBackend.change_message_visibility_batch = changing_batch  # type: ignore[method-assign]


# ------------------------------------------------------------------ re-creation
def _recreate() -> None:
    from moto.sqs.models import SQSBackend

    delete_queue = SQSBackend.delete_queue

    @functools.wraps(delete_queue)
    def deleting(self: Any, queue_name: str) -> None:
        delete_queue(self, queue_name)
        self.__dict__.setdefault("_emulator_deleted", {})[queue_name] = time.time()

    create_queue = SQSBackend.create_queue

    @functools.wraps(create_queue)
    def creating(self: Any, name: str, *args: Any, **kwargs: Any) -> Any:
        deleted = self.__dict__.get("_emulator_deleted") or {}
        at = deleted.get(name)
        if at is not None and name not in self.queues:
            if time.time() - at < RECREATE_WAIT_SECONDS:
                raise _sqs_error("AWS.SimpleQueueService.QueueDeletedRecently",
                                 "You must wait 60 seconds after deleting a queue before you can create another with the same name.")
            del deleted[name]
        return create_queue(self, name, *args, **kwargs)

    SQSBackend.delete_queue = deleting  # type: ignore[method-assign]
    SQSBackend.create_queue = creating  # type: ignore[method-assign]


# ------------------------------------------------------------------ MD5OfMessageSystemAttributes
def _system_attribute_md5() -> None:
    from moto.sqs.models import Message
    from moto.sqs.responses import SQSResponse

    respond = SQSResponse.send_message

    @functools.wraps(respond)
    def send_response(self: Any) -> Any:
        result = respond(self)
        system = self._get_param("MessageSystemAttributes")
        answer = getattr(result, "_result", None)
        if system and isinstance(answer, dict):
            holder = Message("md5", "", None)
            holder.message_attributes = system
            answer["MD5OfMessageSystemAttributes"] = holder.attribute_md5
        return result

    SQSResponse.send_message = send_response  # type: ignore[method-assign]


# ------------------------------------------------------------------ redrive targets
def _redrive_targets() -> None:
    """Checked before moto sets anything up (moto stored the dead-letter queue, then refused a
    standard one for a FIFO source, leaving it set)."""
    from moto.sqs.models import Queue, sqs_backends

    setup = Queue._setup_dlq

    def refuse(policy: Any, reason: str) -> AwsError:
        value = policy if isinstance(policy, str) else json.dumps(policy)
        return _invalid(f"Value {value} for parameter RedrivePolicy is invalid. Reason: {reason}")

    @functools.wraps(setup)
    def setting_up(self: Any, policy: Any) -> None:
        try:
            parsed = json.loads(policy) if isinstance(policy, str) and policy else policy
        except ValueError:
            parsed = None
        arn = parsed.get("deadLetterTargetArn") if isinstance(parsed, dict) else None
        queues = sqs_backends[self.account_id][self.region].queues
        target = next((q for q in queues.values() if q.queue_arn == arn), None) if arn else None
        if target is not None:
            if bool(target.fifo_queue) != bool(self.fifo_queue):
                raise refuse(policy, "Dead-letter target must be the same type of queue as the source queue.")
            allow = getattr(target, "redrive_allow_policy", None)
            try:
                allow = json.loads(allow) if isinstance(allow, str) else allow
            except ValueError:
                allow = None
            if isinstance(allow, dict):
                permission = allow.get("redrivePermission")
                if permission == "denyAll" or (permission == "byQueue" and self.queue_arn not in (allow.get("sourceQueueArns") or [])):
                    raise refuse(policy, f"Queue {target.queue_arn} does not allow this queue to use it as a dead-letter queue.")
        setup(self, policy)

    Queue._setup_dlq = setting_up  # type: ignore[method-assign]


# ------------------------------------------------------------------ retention
def _expire(queue: Any) -> None:
    """Delete the messages older than the queue's retention period."""
    oldest = (time.time() - int(queue.message_retention_period)) * 1000
    if not any(m.sent_timestamp is not None and m.sent_timestamp <= oldest for m in list(queue._messages)):
        return
    with queue._messages_lock:
        expired = [m for m in queue._messages if m.sent_timestamp is not None and m.sent_timestamp <= oldest]
        queue._messages = [m for m in queue._messages if m not in expired]
        for message in expired:
            queue._pending_messages.discard(message)


def _retention() -> None:
    from moto.sqs.models import SQSBackend

    receive = SQSBackend.receive_message

    @functools.wraps(receive)
    def receiving(self: Any, queue_name: str, *args: Any, **kwargs: Any) -> Any:
        queue = self.get_queue(queue_name)
        _expire(queue)
        dlq = queue.dead_letter_queue
        before = list(queue._messages) if dlq is not None else []
        result = receive(self, queue_name, *args, **kwargs)
        if before:
            # Where each message moved to the dead-letter queue came from: a move task without
            # DestinationArn sends it back there.
            staying = set(map(id, queue._messages))
            moved = set(map(id, dlq._messages))
            for message in before:
                if id(message) not in staying and id(message) in moved:
                    message._emulator_source_arn = queue.queue_arn
        return result

    SQSBackend.receive_message = receiving  # type: ignore[method-assign]

    attributes = SQSBackend.get_queue_attributes

    @functools.wraps(attributes)
    def reading(self: Any, queue_name: str, *args: Any, **kwargs: Any) -> Any:
        _expire(self.get_queue(queue_name))
        return attributes(self, queue_name, *args, **kwargs)

    SQSBackend.get_queue_attributes = reading  # type: ignore[method-assign]


# ------------------------------------------------------------------ message move tasks
def _not_found(message: str) -> Exception:
    return _sqs_error("ResourceNotFoundException", message)


def _move_tasks() -> None:
    import base64
    import uuid

    from moto.core.responses import ActionResult
    from moto.sqs.responses import SQSResponse

    def queue_of(backend: Any, arn: Any) -> Any:
        if isinstance(arn, str):
            for queue in list(backend.queues.values()):
                if queue.queue_arn == arn:
                    return queue
        return None

    def start(self: Any) -> Any:
        backend = self.sqs_backend
        source_arn = self._get_param("SourceArn")
        destination_arn = self._get_param("DestinationArn")
        rate = self._get_param("MaxNumberOfMessagesPerSecond")
        source = queue_of(backend, source_arn)
        if source is None:
            raise _not_found("The resource that you specified for the SourceArn parameter doesn't exist.")
        sources = [q for q in list(backend.queues.values()) if q.dead_letter_queue is source]
        if not sources:
            raise _invalid("Source queue must be configured as a Dead Letter Queue.")
        if isinstance(rate, int) and not 1 <= rate <= 500:
            raise _invalid(f"Value {rate} for parameter MaxNumberOfMessagesPerSecond is invalid. Reason: Must be between 1 and 500.")
        destination = None
        if destination_arn is not None:
            destination = queue_of(backend, destination_arn)
            if destination is None:
                raise _not_found("The resource that you specified for the DestinationArn parameter doesn't exist.")
        _expire(source)
        with source._messages_lock:
            waiting = [m for m in source._messages if m not in source._pending_messages]
            source._messages = [m for m in source._messages if m in source._pending_messages]
        moved = 0
        for message in waiting:
            target = destination or queue_of(backend, getattr(message, "_emulator_source_arn", None)) or sources[0]
            # A moved message is received anew from its queue: no receive count, visible now.
            message.approximate_receive_count = 0
            message.approximate_first_receive_timestamp = None
            message.visible_at = 0
            message.delay(0)
            with target._messages_lock:
                target._messages.append(message)
                target._messages_lock.notify_all()
            moved += 1
        handle = base64.b64encode(json.dumps({"taskId": str(uuid.uuid4()), "sourceArn": source_arn}).encode()).decode()
        task = {"TaskHandle": handle, "Status": "COMPLETED", "SourceArn": source_arn, "ApproximateNumberOfMessagesMoved": moved,
                "ApproximateNumberOfMessagesToMove": moved, "StartedTimestamp": int(time.time() * 1000)}
        if destination_arn is not None:
            task["DestinationArn"] = destination_arn
        if rate is not None:
            task["MaxNumberOfMessagesPerSecond"] = rate
        backend.__dict__.setdefault("_emulator_move_tasks", []).append(task)
        return ActionResult({"TaskHandle": handle})

    def listing(self: Any) -> Any:
        backend = self.sqs_backend
        source_arn = self._get_param("SourceArn")
        limit = self._get_param("MaxResults") or 1
        if queue_of(backend, source_arn) is None:
            raise _not_found("The resource that you specified for the SourceArn parameter doesn't exist.")
        if not isinstance(limit, int) or not 1 <= limit <= 10:
            raise _invalid(f"Value {limit} for parameter MaxResults is invalid. Reason: Must be between 1 and 10.")
        tasks = [t for t in backend.__dict__.get("_emulator_move_tasks", []) if t["SourceArn"] == source_arn]
        results = [{k: v for k, v in t.items() if k != "TaskHandle"} for t in reversed(tasks)][:limit]
        return ActionResult({"Results": results})

    def cancel(self: Any) -> Any:
        handle = self._get_param("TaskHandle")
        tasks = self.sqs_backend.__dict__.get("_emulator_move_tasks", [])
        if not any(t["TaskHandle"] == handle for t in tasks):
            raise _not_found("Task does not exist.")
        # Every task here has completed when StartMessageMoveTask answered: none is running.
        raise _not_found("Only active tasks can be cancelled.")

    SQSResponse.start_message_move_task = start  # type: ignore[attr-defined]
    SQSResponse.list_message_move_tasks = listing  # type: ignore[attr-defined]
    SQSResponse.cancel_message_move_task = cancel  # type: ignore[attr-defined]


# ------------------------------------------------------------------ batch contents
def _batch_contents() -> None:
    from moto.sqs.models import SQSBackend

    from emulator.gateway.fallback_checks_sqs import invalid_contents

    send_batch = SQSBackend.send_message_batch

    @functools.wraps(send_batch)
    def sending_batch(self: Any, queue_name: str, entries: dict[str, dict[str, Any]]) -> Any:
        failed: list[dict[str, Any]] = []
        kept: dict[str, dict[str, Any]] = {}
        for key, entry in entries.items():
            error = invalid_contents(entry.get("MessageBody"), entry.get("MessageAttributes")) if isinstance(entry, dict) else None
            if error is None:
                kept[key] = entry
            else:
                failed.append({"Id": entry.get("Id"), "SenderFault": True, "Code": error.code, "Message": error.message})
        if not failed:
            return send_batch(self, queue_name, entries)
        messages: list[Any] = []
        if kept:
            messages, moto_failed = send_batch(self, queue_name, kept)
            failed = [*moto_failed, *failed]
        return messages, failed

    SQSBackend.send_message_batch = sending_batch  # type: ignore[method-assign]
