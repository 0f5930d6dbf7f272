"""The bench's Markdown: ours against stock, the cluster, and the human pace."""

from __future__ import annotations

from typing import Any

Figures = dict[str, Any]  # one assistant's results (scripts.bench.measure.figures)


def ratio(a: float, b: float) -> float:
    """``a / b``, NaN when ``b`` is 0."""
    return a / b if b else float("nan")


def report(ours: Figures, stock: Figures, machine: str) -> str:
    """Markdown table with the ratios ours/stock."""
    lines = [
        f"Machine: {machine}",
        "",
        "| users | ours msg/s | stock msg/s | ratio | ours p50 ms | stock p50 ms | ours p95 | "
        "stock p95 | ours p99 | stock p99 |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for a, b in zip(ours["levels"], stock["levels"], strict=True):
        lines.append(
            f"| {a['users']} | {a['msg_per_s']:.1f} | {b['msg_per_s']:.1f} | "
            f"{ratio(a['msg_per_s'], b['msg_per_s']):.2f} | "
            f"{a['p50_ms']:.0f} | {b['p50_ms']:.0f} | {a['p95_ms']:.0f} | {b['p95_ms']:.0f} | "
            f"{a['p99_ms']:.0f} | {b['p99_ms']:.0f} |"
        )
    lines += [
        "",
        "| | ours | stock | ratio |",
        "| --- | --- | --- | --- |",
    ]
    for key, label in (
        ("cold_start_s", "cold start to first answer (s)"),
        ("parse_ms", "NLU-only parse (ms/message, median)"),
        ("rss_mb", "resident memory of the servers (MB)"),
    ):
        lines.append(
            f"| {label} | {ours[key]:.1f} | {stock[key]:.1f} | "
            f"{ratio(ours[key], stock[key]):.2f} |"
        )
    return "\n".join(lines) + "\n"


def report_cluster(ours: Figures, cluster: Figures, stock: Figures) -> str:
    """Markdown: ours embedded, ours cluster and stock side by side, and the human pace."""
    lines = [
        "",
        "| users | msg/s ours (embedded) | msg/s ours (cluster) | msg/s stock | "
        "cluster / stock | p50 / p95 ms embedded | p50 / p95 ms cluster | p50 / p95 ms stock |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for a, c, b in zip(ours["levels"], cluster["levels"], stock["levels"], strict=True):
        lines.append(
            f"| {a['users']} | {a['msg_per_s']:.1f} | {c['msg_per_s']:.1f} | "
            f"{b['msg_per_s']:.1f} | {ratio(c['msg_per_s'], b['msg_per_s']):.2f} | "
            f"{a['p50_ms']:.0f} / {a['p95_ms']:.0f} | "
            f"{c['p50_ms']:.0f} / {c['p95_ms']:.0f} | {b['p50_ms']:.0f} / {b['p95_ms']:.0f} |"
        )
    lines.append(
        f"\nCluster: cold start {cluster['cold_start_s']:.1f} s, resident memory "
        f"{cluster['rss_mb']:.0f} MB (2 instances, their action servers and nginx)."
    )
    human = cluster.get("human_pace")
    if human:
        lines += [
            "",
            "Open loop at a human pace (each user sends a message every 10-20 s), cluster:",
            "",
            "| users | msg/s | p50 ms | p95 ms | errors |",
            "| --- | --- | --- | --- | --- |",
        ]
        for row in human["levels"]:
            lines.append(
                f"| {row['users']} | {row['msg_per_s']:.1f} | {row['p50_ms']:.0f} | "
                f"{row['p95_ms']:.0f} | {row['errors']} |"
            )
        lines.append(
            "\nSimultaneous users served at p95 <= 1 s: "
            f"**{'' if human['limit_found'] else 'at least '}{human['users_at_p95_1s']}**."
        )
    return "\n".join(lines) + "\n"


def targets(ours: Figures, stock: Figures, busiest_users: int) -> list[str]:
    """The two targets of the bench: single-user p50 and throughput at the busiest level."""
    single = ours["levels"][0]["p50_ms"] <= stock["levels"][0]["p50_ms"]
    busiest = ours["levels"][-1]["msg_per_s"] >= stock["levels"][-1]["msg_per_s"]
    return [
        f"target single-user p50 <= stock: {'met' if single else 'NOT met'}",
        f"target msg/s at {busiest_users} users >= stock: {'met' if busiest else 'NOT met'}",
    ]
