"""The run's figures: a table for people, JSON for machines."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def _num(value: Any, unit: str = "") -> str:
    """A figure with thousands separators, or a dash when missing."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.1f}{unit}" if value < 100 else f"{value:,.0f}{unit}"
    return f"{value:,}{unit}"


def _mib(kib: int | None) -> str:
    return "-" if kib is None else f"{kib / 1024:,.1f} MiB"


def _load_line(label: str, figures: dict[str, Any]) -> str:
    """One load result: rate, latencies, successes and errors."""
    return (f"  {label:<34}{_num(figures['per_s'], '/s'):>12}   p50 {_num(figures['p50_ms'], ' ms'):>9}"
            f"   p99 {_num(figures['p99_ms'], ' ms'):>9}   ok {_num(figures['ok'])}, errors {figures['errors']}")


def _cpu_line(cpu: dict[str, float]) -> str:
    """CPU seconds by process during a phase, skipping idle processes."""
    busy = ", ".join(f"{name} {seconds:.1f}" for name, seconds in cpu.items() if seconds >= 0.05)
    return f"  {'':<34}{'':>12}   CPU s: {busy}"


def _worker_lines(worker: dict[str, Any]) -> list[str]:
    """The worker's rate, outcome, and where its time went."""
    report = worker["report"]
    return [
        f"  {'refresh worker (refresh_all_due)':<34}{_num(worker['per_s'], '/s'):>12}   "
        f"{worker['elapsed_s']:.1f} s for {_num(report['refreshed'])} refreshed, failed {report['failed']}, "
        f"reauth {report['reauth_required']}, still due {worker['due_after']}",
        f"  {'':<34}{'':>12}   in claim {worker.get('claim_s', 0):.1f} s, in store {worker.get('store_s', 0):.1f} s; "
        f"CPU s: worker {worker['cpu_s']:.1f}, "
        + ", ".join(f"{k} {v:.1f}" for k, v in worker["cpu_s_others"].items() if v >= 0.05),
    ]


def disturbance(results: dict[str, Any]) -> float:
    """Share of the machine's CPU that processes outside the run used during the timed phases (0..1)."""
    me, rf = results["api_me"], results["refresh"]
    phases = [(results["qr_login"], results["qr_login"]["cpu_s"]), (me["site"], me["site"]["cpu_s"]),
              (me["bare"], me["bare"]["cpu_s"]), (rf["simulator_raw"], rf["simulator_raw"]["cpu_s"]),
              (rf["worker"], rf["worker"]["cpu_s_others"])]
    other = sum(cpu.get("other processes", 0.0) for _, cpu in phases)
    capacity = sum(phase["elapsed_s"] for phase, _ in phases) * (results["machine"]["cpus"] or 1)
    return other / capacity if capacity else 0.0


def render(results: dict[str, Any]) -> str:
    """The whole run as a plain-text table."""
    cfg, qr, me, rf = results["config"], results["qr_login"], results["api_me"], results["refresh"]
    worker = rf["worker"]
    lines = [
        f"webapp benchmark — {results['machine']['cpus']} CPUs, Python {results['machine']['python']}, "
        f"concurrency {cfg['concurrency']}, {cfg['duration_s']:g} s per timed phase"
        + (" (quick)" if cfg["quick"] else ""),
        "",
        "QR login (start → qrconnect → scan → confirm → callback → final page, fresh cookie jar each)",
        _load_line("round trips", qr),
        _cpu_line(qr["cpu_s"]),
        "",
        "Authenticated GET /api/me",
        _load_line("site (session + user + identities)", me["site"]),
        _cpu_line(me["site"]["cpu_s"]),
        _load_line("bare aiohttp handler, same JSON", me["bare"]),
        _cpu_line(me["bare"]["cpu_s"]),
        f"  {'site / bare':<34}{_num(me['ratio_percent'], ' %'):>12}",
        "",
        f"Token refresh: {_num(rf['identities'])} due identities (setup: grants {rf['setup']['grants_s']:.1f} s, "
        f"insert {rf['setup']['insert_s']:.1f} s)",
        *_worker_lines(worker),
        _load_line("simulator raw /sns refresh", rf["simulator_raw"]),
        _cpu_line(rf["simulator_raw"]["cpu_s"]),
        f"  {'worker / simulator raw':<34}{_num(rf['ratio_percent'], ' %'):>12}",
        "",
        "Peak memory (VmHWM: peak resident set of each process)",
    ]
    lines += [f"  {name:<34}{_mib(kib):>12}" for name, kib in results["peak_memory_kib"].items()]
    share = results["disturbance"] = round(disturbance(results), 3)
    if share > 0.05:
        lines += ["", f"NOTE: processes outside this run used {share:.0%} of the machine's CPU during the timed "
                  "phases; the figures are disturbed (see 'other processes' above)."]
    lines += ["", f"Total wall time {results['total_s']:.0f} s; JSON in {results['json_path']}"]
    return "\n".join(lines)


def write_json(results: dict[str, Any], path: Path) -> None:
    """Write the figures as indented JSON, creating the directory."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
