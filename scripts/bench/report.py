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
        f"{cluster['rss_mb']:.0f} MB (2 instances with {cluster.get('workers', 1)} "
        "Sanic worker(s) each, their action servers and nginx)."
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


# Issue 12's targets on 2 cores: embedded >= 1.5x stock's msg/s at the busiest level and a
# single-user p50 at or below stock's; the cluster >= 2x stock's msg/s there with a p95 at
# most half of stock's.
EMBEDDED_THROUGHPUT_RATIO = 1.5
CLUSTER_THROUGHPUT_RATIO = 2.0
CLUSTER_P95_RATIO = 0.5


def targets(
    ours: Figures, stock: Figures, busiest_users: int, cluster: Figures | None = None
) -> list[str]:
    """Issue 12's targets, each with its figures and met / NOT met."""

    def verdict(ok: bool) -> str:
        return "met" if ok else "NOT met"

    first, busiest = ours["levels"][0], ours["levels"][-1]
    stock_first, stock_busiest = stock["levels"][0], stock["levels"][-1]
    throughput = ratio(busiest["msg_per_s"], stock_busiest["msg_per_s"])
    lines = [
        f"target single-user p50 <= stock: {first['p50_ms']:.0f} vs "
        f"{stock_first['p50_ms']:.0f} ms: {verdict(first['p50_ms'] <= stock_first['p50_ms'])}",
        f"target embedded msg/s at {busiest_users} users >= "
        f"{EMBEDDED_THROUGHPUT_RATIO}x stock: {throughput:.2f}x: "
        f"{verdict(throughput >= EMBEDDED_THROUGHPUT_RATIO)}",
    ]
    if cluster is not None:
        top = cluster["levels"][-1]
        c_ratio = ratio(top["msg_per_s"], stock_busiest["msg_per_s"])
        p95 = ratio(top["p95_ms"], stock_busiest["p95_ms"])
        ok = c_ratio >= CLUSTER_THROUGHPUT_RATIO and p95 <= CLUSTER_P95_RATIO
        lines.append(
            f"target cluster msg/s at {busiest_users} users >= "
            f"{CLUSTER_THROUGHPUT_RATIO}x stock with p95 <= {CLUSTER_P95_RATIO}x "
            f"stock's: {c_ratio:.2f}x, p95 {p95:.2f}x: {verdict(ok)}"
        )
    return lines
