"""The server-rendered SVG bar charts (``apps.dashboard.charts``)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from apps.dashboard.charts import (
    HEIGHT,
    MARGIN_BOTTOM,
    MARGIN_TOP,
    Series,
    compact,
    nice_ceiling,
    stacked_bar_chart,
)

SVG = "{http://www.w3.org/2000/svg}"
PLOT_HEIGHT = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
COORDINATES = {"x", "y", "x1", "x2", "y1", "y2", "width", "height"}


def chart(issued, refused, **kwargs) -> ET.Element:
    count = len(issued)
    svg = stacked_bar_chart(
        title=kwargs.pop("title", "Tokens per hour"),
        labels=kwargs.pop("labels", [f"{h:02}:00" for h in range(count)]),
        long_labels=kwargs.pop("long_labels", [f"hour {h}" for h in range(count)]),
        series=[
            Series(label="issued", css_class="pc-issued", values=tuple(issued)),
            Series(label="refused", css_class="pc-refused", values=tuple(refused)),
        ],
        **kwargs,
    )
    return ET.fromstring(str(svg))  # noqa: S314 - our own output; well-formed XML, or this raises


def bars(root: ET.Element) -> list[ET.Element]:
    return root.findall(f"{SVG}g")


@pytest.mark.parametrize(
    ("value", "ceiling"),
    [
        (0, 1),
        (1, 1),
        (2, 2),
        (3, 5),
        (7, 10),
        (10, 10),
        (11, 20),
        (99, 100),
        (101, 200),
        (999, 1000),
        (4001, 5000),
    ],
)
def test_the_y_axis_maximum_is_a_round_number(value, ceiling):
    assert nice_ceiling(value) == ceiling


@pytest.mark.parametrize(
    ("number", "text"),
    [(0, "0"), (950, "950"), (1000, "1k"), (1250, "1.2k"), (35_000, "35k"), (1_500_000, "1.5M")],
)
def test_axis_labels_are_compact(number, text):
    assert compact(number) == text


def test_a_chart_is_an_image_with_a_summary_and_a_title():
    # when
    root = chart([3, 0, 10], [1, 0, 0], title="Tokens per hour", long_labels=["09:00", "10:00", "11:00"])
    # then
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    assert root.get("aria-label") == "Tokens per hour: 13 issued, 1 refused. Busiest: 11:00 with 10."
    assert root.find(f"{SVG}title").text == "Tokens per hour"
    assert root.get("viewBox")


def test_each_bar_has_a_hover_title_even_when_empty():
    root = chart([3, 0, 1234], [1, 0, 5], long_labels=["09:00", "10:00", "11:00"])
    titles = [bar.find(f"{SVG}title").text for bar in bars(root)]
    assert titles == [
        "09:00: 3 issued, 1 refused",
        "10:00: 0 issued, 0 refused",
        "11:00: 1,234 issued, 5 refused",
    ]


def test_bar_heights_are_proportional_and_stacked():
    # given a maximum of 10 (the axis then goes to 10)
    root = chart([6, 2], [4, 0])
    first, second = bars(root)
    issued, refused = (rect for rect in first.findall(f"{SVG}rect") if "pc-bar" in rect.get("class"))
    # then each part is its share of the plot height, refused on top of issued
    assert float(issued.get("height")) == pytest.approx(PLOT_HEIGHT * 0.6, abs=0.01)
    assert float(refused.get("height")) == pytest.approx(PLOT_HEIGHT * 0.4, abs=0.01)
    assert float(refused.get("y")) + float(refused.get("height")) == pytest.approx(
        float(issued.get("y")), abs=0.01
    )
    assert "pc-issued" in issued.get("class") and "pc-refused" in refused.get("class")
    # and a zero part draws nothing
    assert [r.get("class") for r in second.findall(f"{SVG}rect")] == ["pc-hit", "pc-bar pc-issued"]


def test_the_axes_are_labelled():
    # when 24 bars are labelled every 6th
    root = chart([10] * 24, [0] * 24, label_every=6)
    texts = [text.text for text in root.findall(f"{SVG}text")]
    # then the y axis reads 0, 5 and 10, and the x axis every 6th hour, ending with the latest
    assert texts[:3] == ["0", "5", "10"]
    assert texts[3:] == ["05:00", "11:00", "17:00", "23:00"]


def test_an_empty_chart_still_draws():
    root = chart([0, 0], [0, 0])
    assert root.get("aria-label") == "Tokens per hour: 0 issued, 0 refused."
    assert len(bars(root)) == 2
    numbers = [
        value for element in root.iter() for name, value in element.attrib.items() if name in COORDINATES
    ]
    assert all(
        float(value) == float(value) and abs(float(value)) < 1e6 for value in numbers
    )  # no NaN, no inf


def test_text_is_escaped():
    root = chart([1], [0], title='<script>alert("x")</script>', labels=["<b>"], long_labels=["a & b"])
    assert root.find(f"{SVG}title").text == '<script>alert("x")</script>'  # as text, not markup
    assert root.find(f".//{SVG}script") is None
    assert bars(root)[0].find(f"{SVG}title").text == "a & b: 1 issued, 0 refused"


def test_no_inline_style():
    svg = str(
        stacked_bar_chart(
            title="t", labels=["a"], long_labels=["a"], series=[Series(label="x", css_class="c", values=(1,))]
        )
    )
    assert "style" not in svg


def test_mismatched_lengths_are_refused():
    with pytest.raises(ValueError, match="one entry per category"):
        stacked_bar_chart(
            title="t",
            labels=["a", "b"],
            long_labels=["a"],
            series=[Series(label="x", css_class="c", values=(1,))],
        )
