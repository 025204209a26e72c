"""deploy/grafana-dashboard.json against the metrics the services define: every series a panel
asks for is one a service exports (a renamed metric would leave a panel empty without an error),
and every metric we define is on the dashboard."""

from __future__ import annotations

import json
import re

from bot.launch.runner import ROOT

DASHBOARD = json.loads((ROOT / "deploy" / "grafana-dashboard.json").read_text())
DEFINITIONS = ("bot/gateway/metrics.py", "bot/billing/metrics.py", "bot/actions/_metrics.py")
# What Prometheus itself adds (scrape health).
BUILT_IN = {"up"}
SUFFIXES = {"Counter": ("_total",), "Gauge": ("",), "Histogram": ("_bucket", "_count", "_sum")}


def defined() -> dict[str, set[str]]:
    """Metric name -> the series names it exports."""
    found: dict[str, set[str]] = {}
    for path in DEFINITIONS:
        source = (ROOT / path).read_text()
        for kind, name in re.findall(r"\b(Counter|Gauge|Histogram)\(\s*\"(\w+)\"", source):
            found[name] = {name + suffix for suffix in SUFFIXES[kind]}
    return found


def queried() -> set[str]:
    exprs = [t["expr"] for p in DASHBOARD["panels"] for t in p.get("targets", [])]
    assert exprs
    functions = {"sum", "rate", "increase", "histogram_quantile", "topk", "clamp_min", "by", "le"}
    names = set()
    for expr in exprs:
        without_labels = re.sub(r"\{[^}]*\}|\[[^\]]*\]|\"[^\"]*\"", "", expr)
        names |= {w for w in re.findall(r"[a-z_][a-z0-9_]*", without_labels) if "_" in w or w in BUILT_IN}
        names -= functions
    return {n for n in names if n not in ("channel", "outcome", "intent", "queue", "kind", "answer", "action")}


def test_every_series_on_the_dashboard_is_exported_and_every_metric_is_shown():
    metrics = defined()
    assert len(metrics) >= 15, metrics
    series = set().union(*metrics.values())
    asked = queried()
    assert asked - BUILT_IN <= series, sorted(asked - BUILT_IN - series)
    shown = {name for name, exported in metrics.items() if exported & asked}
    assert shown == set(metrics), sorted(set(metrics) - shown)


def test_the_dashboard_imports_with_a_prometheus_of_your_choice():
    assert DASHBOARD["__inputs"][0]["pluginId"] == "prometheus"
    sources = {json.dumps(p["datasource"]) for p in DASHBOARD["panels"] if "datasource" in p}
    assert sources == {json.dumps({"type": "prometheus", "uid": "${datasource}"})}
    ids = [p["id"] for p in DASHBOARD["panels"]]
    assert len(ids) == len(set(ids))
