# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Prometheus text exposition, parsed with prometheus_client's own parser."""

from __future__ import annotations

import dataclasses
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
