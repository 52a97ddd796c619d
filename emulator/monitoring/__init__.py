"""CloudWatch, CloudWatch Logs and the emulator's built-in telemetry.

``emulator.monitoring.service.get_monitoring(runtime)`` builds (once per
runtime) the shared pieces and registers them in ``runtime.components``:
``"metrics"`` (MetricStore), ``"logs"`` (LogStore: ``put(group, stream, message)``
and ``put_many(group, stream, [(ts_ms, message)])`` for other services),
``"alarms"`` and ``"monitoring"``.

Regions: metrics, alarms (with their history) and log groups (with streams, events,
metric filters and Insights queries) are regional, as on AWS: each API call acts on its
request's region, and ``put``/``put_many``/``Datum`` take a ``region`` (default: the
default region, ``settings.region``). Dashboards are global. The emulator's own metrics
go to the region of the request or resource that made them; the host's, the charges, the
audit log (``/emulator/audit``) and the server log to the default region.

Files in the data dir: ``monitoring/metrics.db`` (datapoints), ``monitoring/logs.db``
(log groups, streams, events, metric filters), ``monitoring/monitoring.db``
(alarms, alarm history, dashboards, the usage ledger).

Metrics published without user code:
- ``AWS/DynamoDB``: SuccessfulRequestLatency, ConsumedRead/WriteCapacityUnits,
  ThrottledRequests, SystemErrors (TableName, Operation), UserErrors;
- ``AWS/Bedrock`` (and ``Emulator/OpenAI`` for the OpenAI API): Invocations,
  InvocationLatency, Input/OutputTokenCount, InvocationThrottles,
  InvocationClientErrors, InvocationServerErrors, TimeToFirstToken (ModelId);
- ``AWS/EC2``: CPUUtilization (inference-slot busy time), StatusCheckFailed (InstanceId);
- ``Emulator/Gateway``: Count, Latency, 4XXError, 5XXError (all, Service, Service+Operation);
- ``Emulator/Host``: CPU, memory, disk, process memory, GPU utilization/memory/
  temperature/power (NVML), host power (RAPL) where exposed;
- ``Emulator/Billing``: EstimatedCharges (Currency, ServiceName), the local cost included;
  ``AWS/Billing``: the same without it, in us-east-1 alone, as AWS publishes billing metrics.

Logs: ``/emulator/server`` (the server's own log records) and
``/emulator/instances/<id>`` (instance console output).
HTTP: ``GET /metrics`` (Prometheus), ``GET /_emulator/usage`` (cost report),
``POST /_emulator/monitoring/{flush,collect,alarms,housekeeping}`` (loopback only).
CLI: ``emulator usage``. Settings: see emulator.monitoring.service.
"""
