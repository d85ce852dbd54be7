"""The run's figures: a table for people, JSON for machines."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

DISTURBED = 0.10  # a phase whose "other processes" used more of the machine than this is flagged


def _num(value: Any, unit: str = "") -> str:
    """A figure with thousands separators, or a dash when missing."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.1f}{unit}" if value < 100 else f"{value:,.0f}{unit}"
    return f"{value:,}{unit}"


def _mib(kib: int | None) -> str:
    return "-" if kib is None else f"{kib / 1024:,.1f} MiB"


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}×"


def load_lines(label: str, figures: dict[str, Any] | None) -> list[str]:
    """One load result (rate, latencies, outcome, the server's CPU per operation) and its CPU by process."""
    if not figures:
        return []
    cpu_op = figures.get("server_cpu_ms_per_op")
    line = (f"  {label:<36}{_num(figures['per_s'], '/s'):>10}  p50 {_num(figures['p50_ms'], ' ms'):>9}"
            f"  p99 {_num(figures['p99_ms'], ' ms'):>9}  ok {_num(figures['ok'])}, errors {figures['errors']}"
            + (f"; {figures['server']} CPU {cpu_op:.2f} ms/op" if cpu_op is not None else ""))
    busy = ", ".join(f"{name} {seconds:.1f}" for name, seconds in figures["cpu_s"].items() if seconds >= 0.05)
    share = figures.get("disturbance") or 0
    lines = [line, f"  {'':<36}{'':>10}  CPU s: {busy}" + (f"  (DISTURBED: {share:.0%} of the machine)"
                                                            if share > DISTURBED else "")]
    if scans := sorted(figures.get("seq_scans", {}).items(), key=lambda item: -item[1]["rows_read_per_op"])[:4]:
        shown = ", ".join(f"{table} {v['seq_scans_per_op']:g} ({_num(v['rows_read_per_op'])} rows)" for table, v in scans)
        lines.append(f"  {'':<36}{'':>10}  sequential scans per op: {shown}")
    lines += [f"  {'':<36}{'':>10}  e.g. {sample}" for sample in figures.get("error_samples", [])[:2]]
    return lines


def _skipped(section: dict[str, Any]) -> str:
    """Why a section has no figures."""
    return str(section.get("error") or section.get("skipped") or section.get("reason") or "not run")


def site_lines(r: dict[str, Any]) -> list[str]:
    """The single-process site with the cohort in the database."""
    rows = r["database_rows"]
    header = (f"Site, one process (webapp serve --no-worker); {rows['users']:,} users, "
              f"{rows['wechat_identities']:,} WeChat identities in the database")
    return [header,
            *load_lines("QR login, new users", r["qr_login"]["new"]),
            *load_lines("QR login, returning users", r["qr_login"]["returning"]),
            *load_lines("in-WeChat silent login (snsapi_base)", r["wechat_silent_login"]),
            *load_lines("GET /api/me", r["api_me"]["site"]),
            *load_lines("bare aiohttp handler, same JSON", r["api_me"]["bare"]),
            f"  {'GET /api/me site / bare':<36}{_num(_pct(r['api_me']['ratio_site_to_bare']), ' %'):>10}",
            *load_lines("bare handler + the session query", r["api_me"]["bare_with_query"]),
            (f"  {'bare + query / bare':<36}{_num(_pct(r['api_me']['bare_with_query_ratio']), ' %'):>10}"
             "   (the most one round trip per request allows here)"),
            (f"  {'site / (bare + query)':<36}{_num(r['api_me']['ratio_percent'], ' %'):>10}"
             "   (the figure: the same single query, what the site adds to it)"),
            (f"  {'the same by CPU per request':<36}{_num(_pct(r['api_me'].get('cpu_ratio')), ' %'):>10}"
             "   (bare + query's CPU per request / the site's)"),
            *load_lines("GET /settings", r["settings_page"])]


def mini_lines(r: dict[str, Any]) -> list[str]:
    """The mini program's API on the single-process site."""
    m = r.get("mini_program") or {}
    if "login_returning" not in m:
        return [f"Mini program: {_skipped(m)}"]
    return ["Mini program (same site and cohort)",
            *load_lines("login, returning users", m["login_returning"]),
            *load_lines("GET /api/me, bearer token", m["api_me_bearer"])]


def workers_lines(r: dict[str, Any]) -> list[str]:
    """`webapp serve --workers N`."""
    w = r.get("workers") or {}
    if not w.get("available"):
        return [f"Every core (webapp serve --workers N): {_skipped(w)}"]
    by_process = ", ".join(f"{cpu:.1f}" for cpu in w["cpu_s_by_process"].values())
    return [f"Every core: webapp serve --workers {w['workers']} ({w['processes']} processes; CPU s each: {by_process})",
            *load_lines("QR login, returning users", w["qr_login_returning"]),
            f"  {'--workers / one process':<36}{_ratio(w.get('ratio_to_one_process')):>10}"]


def peer_lines(r: dict[str, Any]) -> list[str]:
    """The Django peer and the site against it."""
    p = r.get("peer") or {}
    if "qr_login" not in p:
        return [f"Django peer: {_skipped(p)}"]
    versions = ", ".join(f"{k} {v}" for k, v in p["versions"].items())
    return [f"Django peer ({versions}; gunicorn sync ×{p['gunicorn_workers']})",
            *load_lines("QR login, new users", p["qr_login"]["new"]),
            *load_lines("QR login, returning users", p["qr_login"]["returning"]),
            f"  {'site --workers / peer':<36}{_ratio(p.get('ratio_site_workers_to_peer')):>10}",
            f"  {'site, one process / peer':<36}{_ratio(p.get('ratio_site_to_peer')):>10}"]


def async_peer_lines(r: dict[str, Any]) -> list[str]:
    """The async peer (FastAPI, uvicorn) and the site against it."""
    p = r.get("async_peer") or {}
    if "qr_login" not in p:
        return [f"Async peer: {_skipped(p)}"]
    versions = ", ".join(f"{k} {v}" for k, v in p["versions"].items())
    return [f"Async peer ({versions}; {p['server']})",
            *load_lines("QR login, new users", p["qr_login"]["new"]),
            *load_lines("QR login, returning users", p["qr_login"]["returning"]),
            f"  {'site, one process / async peer':<36}{_ratio(p.get('ratio_site_to_peer')):>10}"]


def cpu_lines(r: dict[str, Any]) -> list[str]:
    """Server CPU per QR login round: the site, the Django peer, the async peer, and the site's share of each."""
    lines = ["Server CPU per QR-login round, this run (ms; site / peer)"]
    for kind, c in (r.get("qr_login_cpu") or {}).items():
        shares = "; ".join(f"site / {name} {_ratio(c[key])}" + (f" = 1/{1 / c[key]:.1f}" if c[key] else "")
                           for name, key in (("Django", "ratio_site_to_django_peer"),
                                             ("async", "ratio_site_to_async_peer")))
        lines.append(f"  {kind + ' users':<36}site {_num(c['site_ms'])}, Django peer {_num(c['django_peer_ms'])}, "
                     f"async peer {_num(c['async_peer_ms'])}; {shares}")
    return lines


def million_lines(r: dict[str, Any]) -> list[str]:
    """The same figures with a million users in the database."""
    m = r.get("million") or {}
    if "seed" not in m:
        return [f"A million users: {_skipped(m)}"]
    rows, seed = m["database_rows"], m["seed"]
    header = (f"{rows['users']:,} users, {rows['wechat_identities']:,} identities in the database (seeded "
              f"{seed['users_added']:,} in {seed['insert_s']:.0f} s, ANALYZE {seed['analyze_s']:.0f} s)")
    ratios = (f"  {'ratios to the reference':<36}   QR login {_ratio(m['qr_login_returning_ratio'])}, "
              f"/api/me {_ratio(m['api_me_ratio'])}")
    reference = m.get("reference") or {}
    before = (["Reference, just before seeding (the cohort's few thousand users)",
               *load_lines("QR login, returning users", reference["qr_login_returning"]),
               *load_lines("GET /api/me", reference["api_me"])] if reference else [])
    return [*before, header, *load_lines("QR login, returning users", m["qr_login_returning"]),
            *load_lines("GET /api/me", m["api_me"]), ratios]


def refresh_lines(r: dict[str, Any]) -> list[str]:
    """The worker's rate, outcome, memory, idle gaps, and the simulator's raw rate."""
    rf = r.get("refresh") or {}
    if "worker" not in rf:
        return [f"Token refresh: {_skipped(rf)}"]
    w = rf["worker"]
    report, mem, gaps = w["report"] or {}, w["memory"], w["simulator_idle_gaps"]
    header = (f"Token refresh: {_num(rf['identities'])} due identities (setup: grants {rf['setup']['grants_s']:.1f} s, "
              f"insert {rf['setup']['insert_s']:.1f} s)")
    details = ", ".join(f"{k} {v:,}" for k, v in report.items() if v and k != "refreshed")
    outcome = (f"  {'refresh worker (webapp worker --once)':<36}{_num(w['per_s'], '/s'):>10}  {w['elapsed_s']:.1f} s "
               f"for {_num(w['refreshed'])} refreshed in {w['passes']} pass(es), still due {w['due_after']}"
               + (f" ({details})" if details else ""))
    others = ", ".join(f"{k} {v:.1f}" for k, v in w["cpu_s_others"].items() if v >= 0.05)
    share = w.get("disturbance") or 0
    where = f"  {'':<36}{'':>10}  CPU s: worker {w['cpu_s']:.1f}, {others}" + (
        f"  (DISTURBED: {share:.0%} of the machine)" if share > DISTURBED else "")
    lines = [header, outcome, where]
    if "start_kib" in mem:
        lines.append(f"  {'':<36}{'':>10}  RSS start {_mib(mem['start_kib'])}, peak {_mib(mem['peak_kib'])} "
                     f"(at {mem['peak_at_s']:.0f} s), end {_mib(mem['end_kib'])}, slope "
                     f"{mem['slope_mib_per_min']:+.2f} MiB/min ({mem['samples']} samples)")
    if gaps.get("observed"):
        lines.append(f"  {'':<36}{'':>10}  simulator idle ≥ {gaps['threshold_ms']:g} ms: {gaps['gaps']:,} gaps, "
                     f"{gaps['idle_s']:.1f} s = {gaps['idle_share']:.0%} of the pass, p50 {_num(gaps['p50_ms'], ' ms')}, "
                     f"max {_num(gaps['max_ms'], ' ms')}")
    return [*lines, *load_lines("simulator raw /sns refresh", rf["simulator_raw"]),
            f"  {'worker / simulator raw':<36}{_num(rf['ratio_percent'], ' %'):>10}"]


def memory_lines(r: dict[str, Any]) -> list[str]:
    """Peak resident memory of every process."""
    return ["Peak memory (VmHWM: peak resident set; for several processes the largest one and their sum)",
            *(f"  {name:<36}{_mib(kib) if not isinstance(kib, dict) else _tree(kib):>10}"
              for name, kib in r["peak_memory_kib"].items())]


def _tree(peaks: dict[str, int]) -> str:
    return f"{_mib(peaks['largest'])}; {peaks['processes']} processes, {_mib(peaks['sum'])} in all"


def target_lines(r: dict[str, Any]) -> list[str]:
    """Each target beside this run's value."""
    verdict = {True: "met", False: "missed", None: "not measured"}
    lines = ["Targets (issue 15; informative, ratios from this one run on this machine)"]
    for row in r["targets"]:
        value = row["value"]
        shown = ("-" if value is None else f"1/{1 / value:.1f}" if row.get("fraction") and value
                 else f"{value:.2f}{row['unit']}")
        lines.append(f"  {row['name']:<48}{shown:>10}   target {row['target']:<16} {verdict[row['met']]}")
    return lines


def render(results: dict[str, Any]) -> str:
    """The whole run as a plain-text table."""
    cfg = results["config"]
    lines = [f"webapp benchmark — {results['machine']['cpus']} CPUs, Python {results['machine']['python']}, "
             f"concurrency {cfg['concurrency']}, {cfg['duration_s']:g} s per timed phase"
             + (" (quick)" if cfg["quick"] else ""), ""]
    for section in (site_lines, mini_lines, workers_lines, peer_lines, async_peer_lines, cpu_lines, million_lines, refresh_lines, memory_lines, target_lines):
        lines += [*section(results), ""]
    share = results["disturbance"]
    if share > 0.05:
        note = (f"NOTE: processes outside this run used {share:.0%} of the machine's CPU during the timed phases; "
                "the figures are disturbed (see 'other processes' above).")
        lines += [note, ""]
    lines += [f"FAILED: {failure}" for failure in results["failures"]]
    lines += [f"Total wall time {results['total_s']:.0f} s; JSON in {results['json_path']}"]
    return "\n".join(lines)


def write_json(results: dict[str, Any], path: Path) -> None:
    """Write the figures as indented JSON, creating the directory."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _pct(ratio: float | None) -> float | None:
    return None if ratio is None else round(100 * ratio, 1)
