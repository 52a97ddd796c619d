"""GetMetricWidgetImage through the wire with boto3 (the PNG opened with Pillow), and the
renderer (emulator.monitoring.widget_image) and the MetricWidget parser on their own."""

from __future__ import annotations

import datetime as dt
import io
import json
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError
from PIL import Image

from emulator.handlers import cloudwatch_widgets as cww
from emulator.monitoring import query as mquery
from emulator.monitoring import widget_image as wi
from emulator.testing.server import EmulatorServer

from .conftest import cw_client

UTC = dt.UTC
BLUE = (0x1F, 0x77, 0xB4)  # the palette's first colour
ORANGE = (0xFF, 0x7F, 0x0E)


def _png(out: dict[str, Any]) -> Image.Image:
    data = out["MetricWidgetImage"]
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    img = Image.open(io.BytesIO(data))
    img.load()
    return img.convert("RGB")


def _pixels(img: Image.Image) -> Any:
    # getdata is deprecated from Pillow 13 on, get_flattened_data is new in it
    return img.get_flattened_data() if hasattr(img, "get_flattened_data") else img.getdata()


def _count(img: Image.Image, color: tuple[int, int, int], box: tuple[int, int, int, int] | None = None, tolerance: int = 12) -> int:
    region = img.crop(box) if box else img
    return sum(1 for px in _pixels(region) if all(abs(a - b) <= tolerance for a, b in zip(px, color, strict=True)))


def _columns_with(img: Image.Image, color: tuple[int, int, int], tolerance: int = 12) -> list[int]:
    """The x of every column where a pixel of ``color`` is."""
    w, h = img.size
    px = img.load()
    assert px is not None
    out = []
    for x in range(w):
        for y in range(h):
            p = px[x, y]
            assert isinstance(p, tuple)
            if all(abs(a - b) <= tolerance for a, b in zip(p, color, strict=True)):
                out.append(x)
                break
    return out


def _non_background(img: Image.Image, box: tuple[int, int, int, int]) -> int:
    return sum(1 for px in _pixels(img.crop(box)) if px != (255, 255, 255))


def _code(err: pytest.ExceptionInfo[ClientError]) -> str:
    return str(err.value.response["Error"]["Code"])


def _put(cw: Any, ns: str, name: str, values: list[float], minutes_apart: int = 5, dims: list[dict[str, str]] | None = None) -> dt.datetime:
    """``values`` one every ``minutes_apart`` minutes, the last one 5 minutes ago."""
    now = dt.datetime.now(UTC).replace(second=0, microsecond=0)
    first = now - dt.timedelta(minutes=5 + minutes_apart * (len(values) - 1))
    cw.put_metric_data(
        Namespace=ns,
        MetricData=[
            {"MetricName": name, "Dimensions": dims or [], "Value": v, "Timestamp": first + dt.timedelta(minutes=minutes_apart * i)} for i, v in enumerate(values)
        ],
    )
    return first


@pytest.fixture(params=("json", "smithy-rpc-v2-cbor", "query"))
def client(request: pytest.FixtureRequest, mon: EmulatorServer) -> Any:
    return cw_client(mon, None if request.param == "json" else request.param)


def test_line_graph_in_every_protocol(client: Any) -> None:
    ns = f"Widget/{uuid.uuid4().hex[:8]}"
    _put(client, ns, "Latency", [10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120], dims=[{"Name": "Api", "Value": "get"}])
    widget = {"metrics": [[ns, "Latency", "Api", "get", {"color": "#00aa00"}]], "period": 300, "stat": "Maximum", "start": "-PT1H", "width": 500, "height": 300}
    img = _png(client.get_metric_widget_image(MetricWidget=json.dumps(widget)))
    assert img.size == (500, 300)
    green = (0x00, 0xAA, 0x00)
    cols = _columns_with(img, green)
    # the data covers most of the hour: the line spans most of the plot's width
    assert len(cols) > 250, len(cols)
    # rising values: the line's right end is higher (smaller y) than its left end
    px = img.load()
    assert px is not None

    def top_of(x: int) -> int:
        return min(y for y in range(img.height) if all(abs(a - b) <= 12 for a, b in zip(px[x, y], green, strict=True)))  # type: ignore[arg-type]

    assert top_of(cols[-1]) < top_of(cols[0])


def test_default_size_palette_title_and_legend(cw: Any) -> None:
    ns = f"Widget/{uuid.uuid4().hex[:8]}"
    _put(cw, ns, "A", [1, 5, 3, 8, 2, 9])
    _put(cw, ns, "B", [4, 4, 4, 4, 4, 4])
    widget = {"metrics": [[ns, "A"], [".", "B"]], "title": "Request latency", "start": "-PT1H"}
    img = _png(cw.get_metric_widget_image(MetricWidget=json.dumps(widget)))
    assert img.size == (600, 400)  # the documented defaults
    assert _count(img, BLUE) > 50 and _count(img, ORANGE) > 50  # the first two palette colours, in metric order
    assert _non_background(img, (0, 0, 300, 24)) > 30  # the title, top left
    # the legend, under the graph: a swatch of each series' colour in the bottom strip
    assert _count(img, BLUE, (0, 370, 600, 400), tolerance=2) >= 50
    assert _count(img, ORANGE, (0, 370, 600, 400), tolerance=2) >= 50
    # without a title the top strip is blank; a hidden legend leaves the bottom strip free of swatches
    bare = _png(cw.get_metric_widget_image(MetricWidget=json.dumps({**widget, "title": "", "legend": {"position": "hidden"}})))
    assert _non_background(bare, (0, 0, 600, 6)) == 0
    assert _count(bare, BLUE, (0, 385, 600, 400), tolerance=2) == 0


def test_metric_math_and_visibility(cw: Any) -> None:
    ns = f"Widget/{uuid.uuid4().hex[:8]}"
    _put(cw, ns, "Errors", [1, 2, 3, 4, 5, 6])
    _put(cw, ns, "Requests", [10, 10, 10, 10, 10, 10])
    widget = {
        "metrics": [
            [ns, "Errors", {"id": "errors", "visible": False, "stat": "Sum"}],
            [".", "Requests", {"id": "requests", "visible": False, "stat": "Sum"}],
            [{"expression": "100 * errors / requests", "label": "Error rate", "id": "rate", "color": "#9400d3"}],
        ],
        "start": "-PT1H",
    }
    img = _png(cw.get_metric_widget_image(MetricWidget=json.dumps(widget)))
    assert _count(img, (0x94, 0x00, 0xD3)) > 100  # the expression's series, drawn in its colour
    assert _count(img, BLUE, tolerance=2) == 0 and _count(img, ORANGE, tolerance=2) == 0  # hidden metrics are not drawn
    # a bad expression is the operation's error
    bad = {"metrics": [[ns, "Errors", {"id": "m1"}], [{"expression": "m1 +* 2", "id": "e1"}]]}
    with pytest.raises(ClientError) as err:
        cw.get_metric_widget_image(MetricWidget=json.dumps(bad))
    assert _code(err) == "InvalidParameterValue"
    unknown = {"metrics": [[ns, "Errors", {"id": "m1"}], [{"expression": "m1 + nope", "id": "e1"}]]}
    with pytest.raises(ClientError) as err:
        cw.get_metric_widget_image(MetricWidget=json.dumps(unknown))
    assert "nope" in err.value.response["Error"]["Message"]


def test_series_is_where_its_data_is(cw: Any) -> None:
    # data only in the last 30 minutes of a 2-hour graph: the line is in the right quarter
    ns = f"Widget/{uuid.uuid4().hex[:8]}"
    _put(cw, ns, "Late", [5, 6, 7, 8, 9, 10, 11], minutes_apart=5)
    widget = {"metrics": [[ns, "Late", {"color": "#ff00ff"}]], "start": "-PT2H", "period": 300, "legend": {"position": "hidden"}}
    img = _png(cw.get_metric_widget_image(MetricWidget=json.dumps(widget)))
    cols = _columns_with(img, (255, 0, 255))
    assert cols and min(cols) > 600 * 0.6, cols[:5]


def test_stacked_annotations_and_right_axis(cw: Any) -> None:
    ns = f"Widget/{uuid.uuid4().hex[:8]}"
    _put(cw, ns, "A", [2, 2, 2, 2, 2, 2])
    _put(cw, ns, "B", [3, 3, 3, 3, 3, 3])
    widget = {
        "metrics": [[ns, "A"], [".", "B"]],
        "stacked": True,
        "start": "-PT1H",
        "yAxis": {"left": {"min": 0, "max": 10, "label": "Count"}},
        "annotations": {"horizontal": [{"value": 8, "label": "Limit", "color": "#ff0000", "fill": "above"}], "vertical": [{"value": "-PT30M", "label": "Deploy", "color": "#008000"}]},
        "legend": {"position": "right"},
    }
    img = _png(cw.get_metric_widget_image(MetricWidget=json.dumps(widget)))
    assert _count(img, (255, 0, 0), tolerance=2) > 100  # the annotation line
    assert _count(img, (0, 128, 0), tolerance=2) > 100  # the vertical annotation
    assert _count(img, wi._blend((255, 0, 0), 0.15), tolerance=2) > 1000  # the "above" fill
    assert _count(img, wi._blend(BLUE, 0.45), tolerance=3) > 1000  # the stacked areas
    assert _count(img, wi._blend(ORANGE, 0.45), tolerance=3) > 1000
    # legend on the right: the swatches are in the right third
    assert _count(img, BLUE, (400, 0, 600, 400), tolerance=2) >= 50
    right = {"metrics": [[ns, "A"], [".", "B", {"yAxis": "right", "color": "#00ced1"}]], "start": "-PT1H"}
    assert _count(_png(cw.get_metric_widget_image(MetricWidget=json.dumps(right))), (0, 0xCE, 0xD1)) > 50


@pytest.mark.parametrize("view", ["bar", "pie", "singleValue"])
def test_other_views(cw: Any, view: str) -> None:
    ns = f"Widget/{uuid.uuid4().hex[:8]}"
    _put(cw, ns, "A", [2, 2, 2, 6])
    _put(cw, ns, "B", [3, 3, 3, 2])
    widget = {"metrics": [[ns, "A"], [".", "B"]], "view": view, "start": "-PT1H", "width": 400, "height": 300}
    img = _png(cw.get_metric_widget_image(MetricWidget=json.dumps(widget)))
    assert img.size == (400, 300)
    a, b = _count(img, BLUE, tolerance=2), _count(img, ORANGE, tolerance=2)
    assert a > 20 and b > 20
    if view in ("bar", "pie"):  # sized by the latest values: 6 against 2
        assert a > 2 * b


def test_single_value_of_the_whole_range(cw: Any) -> None:
    # setPeriodToTimeRange: one value over the whole range; the latest period alone is drawn otherwise
    ns = f"Widget/{uuid.uuid4().hex[:8]}"
    _put(cw, ns, "A", [10, 10, 10, 1])
    _put(cw, ns, "B", [2, 2, 2, 3])
    widget = {"metrics": [[ns, "A", {"stat": "Sum"}], [".", "B", {"stat": "Sum"}]], "view": "bar", "start": "-PT1H", "period": 300, "width": 400, "height": 300}
    latest = _png(cw.get_metric_widget_image(MetricWidget=json.dumps(widget)))
    whole = _png(cw.get_metric_widget_image(MetricWidget=json.dumps({**widget, "setPeriodToTimeRange": True})))
    # latest: A 1 against B 3; whole range: A 31 against B 9
    assert _count(latest, BLUE, tolerance=2) < _count(latest, ORANGE, tolerance=2)
    assert _count(whole, BLUE, tolerance=2) > 2 * _count(whole, ORANGE, tolerance=2)


def test_widget_region_reads_that_regions_metrics(mon: EmulatorServer, cw: Any) -> None:
    ns = f"Widget/{uuid.uuid4().hex[:8]}"
    _put(mon.client("cloudwatch", region_name="eu-west-1"), ns, "A", [1, 2, 3, 4])
    widget = {"metrics": [[ns, "A", {"color": "#00ff00"}]], "start": "-PT1H", "legend": {"position": "hidden"}}
    here = _png(cw.get_metric_widget_image(MetricWidget=json.dumps(widget)))  # the endpoint's own region has none
    assert _count(here, (0, 255, 0), tolerance=2) == 0
    there = _png(cw.get_metric_widget_image(MetricWidget=json.dumps({**widget, "region": "eu-west-1"})))
    assert _count(there, (0, 255, 0), tolerance=2) > 50


def test_shorthand_repeats(cw: Any) -> None:
    ns = f"Widget/{uuid.uuid4().hex[:8]}"
    for host in ("h1", "h2"):
        _put(cw, ns, "Cpu", [1, 2, 3], dims=[{"Name": "Host", "Value": host}])
    widget = {"metrics": [[ns, "Cpu", "Host", "h1", {"color": "#111111"}], ["...", "h2", {"color": "#00ff00"}]], "start": "-PT1H"}
    img = _png(cw.get_metric_widget_image(MetricWidget=json.dumps(widget)))
    assert _count(img, (0, 255, 0), tolerance=2) > 50  # "..." named the h2 metric, which has data


@pytest.mark.parametrize(
    "widget",
    [
        "not json",
        "[]",
        "{}",
        json.dumps({"metrics": [["N", "M"]], "width": 2001}),
        json.dumps({"metrics": [["N", "M"]], "height": 0}),
        json.dumps({"metrics": [["N", "M"]], "width": "wide"}),
        json.dumps({"metrics": [["N", "M"]], "view": "gauge3d"}),
        json.dumps({"metrics": [["N", "M", "DimWithoutValue"]]}),
        json.dumps({"metrics": [["N", "M", {"stat": "Mean"}]]}),
        json.dumps({"metrics": [["N", "M", {"period": 61}]]}),
        json.dumps({"metrics": [["N", "M", {"color": "blue"}]]}),
        json.dumps({"metrics": [["...", "x"]]}),
        json.dumps({"metrics": [["N", "M"]], "start": "yesterday"}),
        json.dumps({"metrics": [["N", "M"]], "start": "-PT1H", "end": "-PT2H"}),
        json.dumps({"metrics": [["N", "M"]], "timezone": "Europe/Paris"}),
        json.dumps({"metrics": [["N", "M"]] * 101}),
        json.dumps({"metrics": [["N", "M", {"accountId": "111122223333"}]]}),
        json.dumps({"metrics": [["N", "M", {"period": 1}]], "start": "-P7D"}),
        json.dumps({"metrics": [["N", "M", {"region": "eu-north-1"}]], "region": "us-east-1"}),
        json.dumps({"metrics": [[{"label": "no expression"}]]}),
        json.dumps({"metrics": [["N", "M", {"id": "a"}], ["N", "M2", {"id": "a"}]]}),
        json.dumps({"metrics": [["N", "M"]], "annotations": {"horizontal": [{"label": "no value"}]}}),
    ],
)
def test_invalid_widgets(cw: Any, widget: str) -> None:
    with pytest.raises(ClientError) as err:
        cw.get_metric_widget_image(MetricWidget=widget)
    assert _code(err) == "InvalidParameterValue"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    if widget == "not json":
        assert err.value.response["Error"]["Message"] == "The field MetricWidget must be a valid JSON object"


def test_output_format(cw: Any) -> None:
    widget = json.dumps({"metrics": [["N", "M"]]})
    assert _png(cw.get_metric_widget_image(MetricWidget=widget, OutputFormat="png")).size == (600, 400)
    with pytest.raises(ClientError) as err:
        cw.get_metric_widget_image(MetricWidget=widget, OutputFormat="jpeg")
    assert _code(err) == "InvalidParameterValue"
    # the raw image/png body is outside what the protocol serializers write: refused, not answered wrongly
    with pytest.raises(ClientError) as err:
        cw.get_metric_widget_image(MetricWidget=widget, OutputFormat="image/png")
    assert _code(err) == "ValidationError"


def test_widget_of_no_data_is_an_empty_graph(cw: Any) -> None:
    widget = {"metrics": [[f"Widget/{uuid.uuid4().hex[:8]}", "Nothing"]], "title": "Empty"}
    img = _png(cw.get_metric_widget_image(MetricWidget=json.dumps(widget)))
    assert img.size == (600, 400)
    assert _count(img, BLUE, (0, 0, 600, 370), tolerance=2) == 0  # no line; the legend still names the metric
    assert _count(img, BLUE, (0, 370, 600, 400), tolerance=2) > 50


# ---------------------------------------------------------------- units
NOW = 1_700_000_000.0


def test_render_sizes_and_tiny_images() -> None:
    s = wi.Series("x", [(NOW - 600 + 60 * i, float(i)) for i in range(10)], wi.palette_color(0))
    for w, h in ((1, 1), (20, 10), (2000, 2000), (600, 400)):
        for view in wi.VIEWS:
            img = Image.open(io.BytesIO(wi.render(wi.Chart(w, h, NOW - 600, NOW, [s], view=view, title="t"))))
            assert img.size == (w, h) and img.format == "PNG"


def test_render_line_position() -> None:
    # a flat series at the top of a fixed axis: its pixels are in the plot's upper part
    s = wi.Series("x", [(NOW - 3600 + 60 * i, 9.0) for i in range(60)], (255, 0, 0))
    img = Image.open(io.BytesIO(wi.render(wi.Chart(600, 400, NOW - 3600, NOW, [s], left=wi.Axis(0, 10), legend="hidden")))).convert("RGB")
    rows = [y for y in range(400) if any(img.getpixel((x, y)) == (255, 0, 0) for x in range(100, 500, 7))]
    assert rows and max(rows) < 100


def test_stack_and_helpers() -> None:
    a = wi.Series("a", [(1.0, 1.0), (2.0, 2.0)], (0, 0, 0))
    b = wi.Series("b", [(2.0, 5.0)], (0, 0, 0))
    assert wi._stack([a, b]) == [[(1.0, 0.0, 1.0), (2.0, 0.0, 2.0)], [(1.0, 1.0, 1.0), (2.0, 2.0, 7.0)]]
    assert wi.nice_ticks(0, 97)[:2] == (0, 100)
    assert wi.hex_color("#1f77b4") == BLUE and wi.hex_color("#fff") == (255, 255, 255)
    with pytest.raises(ValueError):
        wi.hex_color("red")
    assert wi.format_value(1500) == "1.5k" and wi.format_value(0.25) == "0.25"
    assert wi.time_ticks(0, 3600, 4) == [0, 900, 1800, 2700, 3600]
    assert wi.time_label(0, 0, 3600, 3600) == "01:00"


def test_parse_widget_shorthand_and_defaults() -> None:
    spec = cww.parse_widget(
        json.dumps({"metrics": [["AWS/EC2", "CPUUtilization", "InstanceId", "i-1"], ["...", "i-2", {"stat": "p99", "id": "m1"}], [".", "NetworkIn", ".", "i-3"]]}),
        NOW, "eu-west-1",
    )
    assert spec.region == "eu-west-1" and spec.end == NOW and spec.start == NOW - 3 * 3600
    metrics = [r.query["MetricStat"] for r in spec.rows]
    assert [m["Metric"]["Dimensions"][0]["Value"] for m in metrics] == ["i-1", "i-2", "i-3"]
    assert [m["Metric"]["MetricName"] for m in metrics] == ["CPUUtilization", "CPUUtilization", "NetworkIn"]
    assert [m["Stat"] for m in metrics] == ["Average", "p99", "Average"] and metrics[0]["Period"] == 300
    # automatic ids skip the ones the widget names itself
    assert [r.query["Id"] for r in spec.rows] == ["m2", "m1", "m3"]
    assert cww.parse_time("2023-11-14T22:13:20Z", NOW, "/start") == NOW
    assert cww.parse_time("-P1DT2H", NOW, "/start") == NOW - 93600
    for start, end in ((NOW - 3 * 3600, NOW), (NOW - 3 * 3600 - 17, NOW - 5), (NOW - 86400, NOW)):
        period = cww.range_period(start, end)
        assert period % 60 == 0 and mquery.align(start, period) + period >= end > mquery.align(start, period) >= start - period
    spec = cww.parse_widget(json.dumps({"metrics": [], "timezone": "-0130"}), NOW, "us-east-1")
    assert spec.chart is not None and spec.chart.tz_offset == -5400
