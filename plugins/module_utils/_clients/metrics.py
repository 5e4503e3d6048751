# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Prometheus text exposition, parsed with prometheus_client's own parser."""

from __future__ import annotations

import dataclasses
import re
import typing as t

try:
    from prometheus_client.parser import text_string_to_metric_families
except ImportError:  # reported by the module through missing_required_lib
    text_string_to_metric_families = None  # type: ignore[assignment]


@dataclasses.dataclass(frozen=True)
class Sample:
    name: str
    labels: dict[str, str]
    value: float


def parse_samples(text: str) -> list[Sample]:
    """Every sample of the exposition; ValueError with the parser's reason when the text is not valid."""
    if text_string_to_metric_families is None:
        raise ValueError("prometheus_client is needed to parse /metrics (pip install prometheus-client)")
    try:
        return [Sample(s.name, dict(s.labels), s.value)
                for family in text_string_to_metric_families(text) for s in family.samples]
    except (ValueError, TypeError, IndexError, KeyError) as exc:
        raise ValueError("not valid Prometheus text: %s" % (exc or type(exc).__name__)) from None


def with_prefix(samples: t.Iterable[Sample], prefix: str) -> list[Sample]:
    return [sample for sample in samples if sample.name.startswith(prefix)]


# Aragora 2.11.1 writes its duration summary's suffix after the labels
# (``aragora_http_request_duration_seconds{endpoint="/x",method="GET",status="200"}_count 3``), which the strict
# parser rejects for the whole text. ``name{labels}_suffix value`` -> ``name_suffix{labels} value``.
_SUFFIX_AFTER_LABELS = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})(_[a-zA-Z0-9_]+)(\s.*)$")


def parse_samples_lenient(text: str) -> tuple[list[Sample], list[str]]:
    """Every sample that can be read, and the lines that could not (at most 20 of them, for evidence).

    For watching a live server, where one odd line must not blind the watch: the text is parsed whole when it is
    valid, else line by line, after moving a suffix written after the labels back onto the name."""
    try:
        return parse_samples(text), []
    except ValueError:
        pass
    samples: list[Sample] = []
    rejected: list[str] = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        fixed = _SUFFIX_AFTER_LABELS.sub(r"\1\3\2\4", stripped)
        try:
            samples.extend(parse_samples(fixed + "\n"))
        except ValueError:
            if len(rejected) < 20:
                rejected.append(stripped[:200])
    return samples, rejected
