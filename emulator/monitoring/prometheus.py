"""GET /metrics: the telemetry figures in the Prometheus text exposition format (version 0.0.4)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from emulator.monitoring.telemetry import Telemetry

from emulator.monitoring.telemetry import LATENCY_BUCKETS

_HELP = {
    "emulator_requests_total": ("counter", "Requests served, by service, operation and HTTP status."),
    "emulator_request_duration_seconds": ("histogram", "Request latency in seconds, by service and operation."),
    "emulator_dynamodb_consumed_read_units_total": ("counter", "DynamoDB read request units consumed, by table."),
    "emulator_dynamodb_consumed_write_units_total": ("counter", "DynamoDB write request units consumed, by table."),
    "emulator_model_tokens_total": ("counter", "Model tokens processed, by model and direction."),
    "emulator_host_cpu_percent": ("gauge", "Host CPU utilization."),
    "emulator_host_memory_percent": ("gauge", "Host memory utilization."),
    "emulator_host_memory_used_bytes": ("gauge", "Host memory in use."),
    "emulator_host_disk_percent": ("gauge", "Utilization of the disk holding the data dir."),
    "emulator_host_disk_used_bytes": ("gauge", "Used bytes of the disk holding the data dir."),
    "emulator_process_resident_bytes": ("gauge", "Resident memory of the emulator process."),
    "emulator_gpu_utilization_percent": ("gauge", "GPU utilization (NVML)."),
    "emulator_gpu_memory_used_bytes": ("gauge", "GPU memory in use (NVML)."),
    "emulator_gpu_memory_percent": ("gauge", "GPU memory utilization (NVML)."),
    "emulator_gpu_temperature_celsius": ("gauge", "GPU temperature (NVML)."),
    "emulator_gpu_power_watts": ("gauge", "GPU power draw (NVML)."),
    "emulator_instance_utilization_percent": ("gauge", "Inference slot utilization of a local EC2 instance."),
    "emulator_instances_running": ("gauge", "Local EC2 instances running."),
    "emulator_estimated_charges_usd": ("gauge", "What this month's usage would have cost on AWS, by service."),
    "emulator_local_cost_usd": ("gauge", "What this month's usage cost here (energy)."),
}


def _esc(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(pairs: tuple[tuple[str, str], ...] | list[tuple[str, str]]) -> str:
    if not pairs:
        return ""
    return "{" + ",".join(f'{k}="{_esc(v)}"' for k, v in pairs) + "}"


def _num(v: float) -> str:
    if v == int(v) and abs(v) < 1e15:
        return str(int(v))
    return repr(float(v))


def render(t: Telemetry) -> str:
    t.flush()
    lines: list[str] = []

    def header(name: str) -> None:
        kind, text = _HELP.get(name, ("gauge", name))
        lines.append(f"# HELP {name} {text}")
        lines.append(f"# TYPE {name} {kind}")

    header("emulator_requests_total")
    for (svc, op, status), v in sorted(t.requests.items()):
        lines.append(f"emulator_requests_total{_labels([('service', svc), ('operation', op), ('status', status)])} {_num(v)}")
    header("emulator_request_duration_seconds")
    for (svc, op), hist in sorted(t.latency_hist.items()):
        base = [("service", svc), ("operation", op)]
        # the telemetry keeps per-bucket counts; the exposition format wants them cumulative
        running = 0.0
        for bound, count in zip(LATENCY_BUCKETS, hist, strict=False):
            running += count
            lines.append(f"emulator_request_duration_seconds_bucket{_labels([*base, ('le', repr(bound))])} {_num(running)}")
        total = sum(hist)
        lines.append(f"emulator_request_duration_seconds_bucket{_labels([*base, ('le', '+Inf')])} {_num(total)}")
        lines.append(f"emulator_request_duration_seconds_sum{_labels(base)} {t.latency_sum[(svc, op)]!r}")
        lines.append(f"emulator_request_duration_seconds_count{_labels(base)} {_num(total)}")
    names: dict[str, list[tuple[tuple[tuple[str, str], ...], float]]] = {}
    for (name, labels), v in list(t.counters.items()) + list(t.gauges.items()):
        names.setdefault(name, []).append((labels, v))
    for name in sorted(names):
        header(name)
        for labels, v in sorted(names[name]):
            lines.append(f"{name}{_labels(labels)} {_num(v)}")
    return "\n".join(lines) + "\n"
