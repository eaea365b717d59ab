#!/usr/bin/env python3
"""Telephony benchmark against a real `hub serve` process with sipp on the same machine.

sipp places HUB_BENCH_CALLS calls (default 1,000) at HUB_BENCH_RATE new calls per second
(default 300), at most HUB_BENCH_CONCURRENT at once (default 500), each streaming µ-law audio
(rtp_stream, 50 packets/s) for HUB_BENCH_HOLD_MS (default 20,000). The number has no menu: the
hub says a short greeting, queues the call, the routing engine offers it to one of as many
operators, whose auto-answer phones (registered with digest by sipp, one sipp UAS with
-rtp_echo) take it; the hub relays the media both ways until the caller hangs up.

Prints: INVITE-to-answer set-ups per second, concurrent bridged calls sustained (the hub's own
gauge), failed calls (sipp's and the hub's), RTP packets the hub sent per bridged call, and the
CPU (share of one core) and memory (RSS) of the hub process alone per bridged call, sampled over
the steady part of the run.

  python3 tests/bench/sip_load.py        (HUB_BIN: the hub binary; default target/release/hub)
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "e2e"))
if not os.environ.get("HUB_BIN") and (REPO / "target" / "release" / "hub").exists():
    os.environ["HUB_BIN"] = str(REPO / "target" / "release" / "hub")

import hubnode  # noqa: E402
import sipkit  # noqa: E402
import tgkit  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def rss_mb(pid: int) -> float:
    return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE / 1e6


def udp_datagrams_in() -> int:
    """UDP datagrams sockets on this machine have taken in (all processes): the hub's own share
    is 100/s per bridged call (50 from each side); sipp's streaming caller adds what it reads."""
    rows = [line.split() for line in Path("/proc/net/snmp").read_text().splitlines() if line.startswith("Udp:")]
    return int(rows[1][rows[0].index("InDatagrams")])


def metrics(node) -> dict[str, float]:
    with urllib.request.urlopen(node.url("/metrics"), timeout=10) as r:
        text = r.read().decode()
    return {m.group(1): float(m.group(2)) for m in re.finditer(r"^(hub_sip_\w+) (\S+)$", text, re.M)}


def sipp_totals(run: sipkit.Sipp) -> tuple[int, int]:
    screen = "\n".join(f.read_text(errors="replace") for f in run.dir.glob("*_screen.log"))
    ok = re.findall(r"Successful call\s+\|\s+\d+\s+\|\s+(\d+)", screen)
    bad = re.findall(r"Failed call\s+\|\s+\d+\s+\|\s+(\d+)", screen)
    return (int(ok[-1]) if ok else -1, int(bad[-1]) if bad else -1)


def main() -> None:
    calls = int(os.environ.get("HUB_BENCH_CALLS", "1000"))
    rate = int(os.environ.get("HUB_BENCH_RATE", "300"))
    concurrent = int(os.environ.get("HUB_BENCH_CONCURRENT", "500"))
    hold_ms = int(os.environ.get("HUB_BENCH_HOLD_MS", "20000"))
    operators = concurrent + 20
    print(f"hub telephony benchmark: {calls} calls at {rate}/s, {concurrent} at once, {hold_ms} ms each, "
          f"{operators} auto-answer phones; hub {hubnode.hub_binary()}")
    store = hubnode.Store(postgres=os.environ.get("HUB_BENCH_STORE") == "postgres")
    sip, (first, _) = sipkit.sip_env(store)
    store.extra_env["HUB_SIP_RTP_PORTS"] = "20000-29999"
    store.extra_env["HUB_ANONYMOUS_LIMIT"] = "0"
    store.extra_env["HUB_LOG"] = os.environ.get("HUB_BENCH_LOG", "warn")
    store.extra_env["HUB_SIP_MAX_CALLS"] = str(concurrent * 2)
    peers: list[sipkit.Sipp] = []
    try:
        node = store.start()
        api = node.api
        admin = api.login(*tgkit.ADMIN)
        queues = {q["name"]: q["service_id"] for q in api.ok("GET", "/api/chat-queues", admin)}
        hotline = queues["Горячая линия"]
        api.ok("POST", "/api/admin/sip/numbers", admin,
               {"number": "7000", "greeting": "Здравствуйте.", "prompt": "Соединяю.", "choices": {},
                "default_queue_id": hotline, "position_secs": 600, "max_wait_secs": 0}, want=201)
        t0 = time.monotonic()
        users = []
        lock = threading.Lock()

        def make(i0: int, i1: int):
            for i in range(i0, i1):
                login = f"bench{i:04d}"
                u = api.ok("POST", "/api/admin/users", admin,
                           {"login": login, "name": f"Bench {i}", "role": "operator", "password": "bench-password"},
                           want=201)
                uid = u["id"]
                api.ok("PUT", f"/api/admin/users/{uid}/skills", admin,
                       {"skills": [{"service_id": hotline, "proficiency": 3}], "wrap_up_secs": 0}, want=(200, 204))
                api.ok("PUT", f"/api/admin/sip/accounts/{uid}", admin,
                       {"username": f"7{i:04d}", "password": f"bench-phone-{i}", "auto_answer": True})
                tok = api.login(login, "bench-password")
                api.ok("PUT", "/api/operator/presence", tok, {"state": "available"})
                with lock:
                    users.append((f"7{i:04d}", f"bench-phone-{i}"))

        threads = [threading.Thread(target=make, args=(k * operators // 4, (k + 1) * operators // 4)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        print(f"  {operators} operators with phone accounts, available, in {time.monotonic() - t0:.1f} s")
        # Seeding hashed hundreds of passwords (argon2, 19 MiB each), memory the allocator keeps:
        # the node restarts so the memory per call is measured from a clean process. Presence and
        # accounts are in the store; phones register again below.
        node.kill()
        node.start()

        work = Path(tempfile.mkdtemp(prefix="sip_bench_"))
        # sipp takes the digest answer's keyword from the injection file, not nested in the scenario.
        (work / "phones.csv").write_text("SEQUENTIAL\n" + "".join(
            f"{u};[authentication username={u} password={p}]\n" for u, p in users))
        phone_port = sipkit.free_udp_port()
        phone = sipkit.phone(sip, phone_port, sipkit.free_udp_port(), calls=calls + 10,
                             extra=["-max_socket", "5000"])
        phone.cmd  # noqa: B018 - started
        peers.append(phone)
        reg = sipkit.Sipp(sip, "register_many.xml",
                          ["-inf", str(work / "phones.csv"), "-key", "contact_port", str(phone_port),
                           "-key", "expires", "3600", "-m", str(len(users)), "-r", "200", "-timeout", "60"],
                          "register")
        reg.wait(90)
        ok, bad = sipp_totals(reg)
        m = metrics(node)
        print(f"  registrations: {ok} ok, {bad} failed; the hub has {m['hub_sip_phones_registered']:.0f} phones")

        tone = bytes(sipkit.linear_to_ulaw(int(6000 * __import__("math").sin(2 * 3.14159 * 440 * i / 8000)))
                     for i in range(8000))
        (work / "tone.ulaw").write_bytes(tone)
        pid = node.proc.pid
        rss0 = rss_mb(pid)
        start = time.monotonic()
        # rtp_stream takes its file literally (no keywords in exec attributes).
        scenario = (sipkit.SCENARIOS / "caller_stream.xml").read_text().replace("[rtp_file]", str(work / "tone.ulaw"))
        (work / "caller_stream.xml").write_text(scenario)
        caller = sipkit.Sipp(sip, str(work / "caller_stream.xml"),
                             ["-s", "7000", "-key", "caller", "+7900000",
                              "-key", "caller_name", "Bench", "-mi", "127.0.0.1", "-d", str(hold_ms),
                              "-r", str(rate), "-l", str(concurrent), "-m", str(calls), "-max_socket", "5000",
                              "-timeout", str(calls // rate + hold_ms // 1000 * (calls // concurrent + 2) + 60)],
                             "caller")
        peers.append(caller)
        samples = []  # (t, cpu, rss, bridged, total calls, UDP datagrams in)
        # HUB_BENCH_PERF=file: a 20 s CPU profile of the hub (perf, software clock) once the
        # calls are bridged, for `perf report -i file --no-children`.
        perf_out, perf = os.environ.get("HUB_BENCH_PERF"), None
        while caller.proc.poll() is None:
            time.sleep(1.0)
            try:
                m = metrics(node)
            except OSError:
                continue
            if perf_out and perf is None and m.get("hub_sip_calls_bridged_now", 0) >= 0.95 * concurrent:
                perf = subprocess.Popen(["perf", "record", "-q", "-e", "cpu-clock", "-F", "499", "-p", str(pid),
                                         "-o", perf_out, "--", "sleep", "20"],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            samples.append((time.monotonic() - start, cpu_seconds(pid), rss_mb(pid),
                            m.get("hub_sip_calls_bridged_now", 0), m.get("hub_sip_calls_total", 0),
                            udp_datagrams_in()))
        elapsed = time.monotonic() - start
        if perf is not None:
            perf.wait(30)
            print(f"  profile: {perf_out}")
        ok, bad = sipp_totals(caller)
        time.sleep(3)
        m = metrics(node)
        phone.kill()
        # Set-ups: calls the hub answered per second while sipp was placing them at full rate.
        ramp = [s for s in samples if s[4] < calls]
        setup_rate = max((b[4] - a[4]) / (b[0] - a[0]) for a, b in zip(samples, samples[1:])) if len(samples) > 1 else 0
        peak = max(s[3] for s in samples) if samples else 0
        steady = [s for s in samples if s[3] >= 0.95 * peak]
        if len(steady) >= 2:
            window = steady[-1][0] - steady[0][0]
            cpu = (steady[-1][1] - steady[0][1]) / window if window > 0 else 0
            bridged = sum(s[3] for s in steady) / len(steady)
            rss = max(s[2] for s in steady)
            udp = (steady[-1][5] - steady[0][5]) / window if window > 0 else 0
        else:
            window, cpu, bridged, rss, udp = 0, 0, peak, rss0, 0
        print(f"  set-ups: {setup_rate:.0f} calls/s answered at the peak second (sipp offered {rate}/s); "
              f"{len(ramp)} s of ramp")
        print(f"  bridged with media: {peak:.0f} at peak, {bridged:.0f} on average over {window:.0f} s steady")
        print(f"  calls: {ok} successful, {bad} failed (sipp); hub: {m.get('hub_sip_calls_failed_total', 0):.0f} failed, "
              f"{m.get('hub_sip_calls_refused_total', 0):.0f} refused, {m.get('hub_sip_calls_bridged_total', 0):.0f} bridged "
              f"of {m.get('hub_sip_calls_total', 0):.0f}")
        sent = m.get("hub_sip_rtp_sent_total", 0)
        print(f"  RTP sent by the hub: {sent:.0f} packets, {sent / max(1, m.get('hub_sip_calls_bridged_total', 1)):.0f} per bridged call; "
              f"dropped {m.get('hub_sip_rtp_dropped_total', 0):.0f}")
        if bridged:
            print(f"  UDP datagrams received on this machine: {udp:.0f}/s over the steady part "
                  f"({udp / bridged:.0f} per bridged call; the hub itself takes in 100: 50 from each side)")
            print(f"  hub CPU: {cpu * 100:.1f} % of a core with {bridged:.0f} bridged calls = "
                  f"{cpu * 100 / bridged:.3f} % of a core per call (RustPBX: 0.08 %)")
            print(f"  hub memory: {rss0:.0f} MB before, {rss:.0f} MB at peak = {(rss - rss0) / bridged:.2f} MB per call "
                  f"(RustPBX: 0.5 MB)")
        records = api.ok("GET", f"/api/calls?limit=1000", api.login(*hubnode.SUPERVISOR))
        def pct(xs, q):
            xs = sorted(xs)
            return xs[min(len(xs) - 1, int(q * len(xs)))] if xs else float("nan")
        menu = [r["queued_at"] - r["started_at"] for r in records if r["queued_at"]]
        ring = [r["answered_at"] - r["queued_at"] for r in records if r["answered_at"] and r["queued_at"]]
        outcomes: dict[str, int] = {}
        for r in records:
            outcomes[r["outcome"] or "-"] = outcomes.get(r["outcome"] or "-", 0) + 1
        print(f"  answer to queued (greeting): p50 {pct(menu, .5):.0f} ms, p95 {pct(menu, .95):.0f} ms; "
              f"queued to bridged (routing, auto-answer, the phone's 200): p50 {pct(ring, .5):.0f} ms, "
              f"p95 {pct(ring, .95):.0f} ms; outcomes {outcomes}")
        print(f"  run took {elapsed:.0f} s")
        if bad:
            print(caller.report()[-3000:])
    finally:
        for p in peers:
            p.kill()
        if os.environ.get("HUB_BENCH_KEEP"):
            # The node stops; its directory (store, log) stays for reading.
            for n in store.nodes:
                n.kill()
            print(f"  kept {store.dir}")
        else:
            store.close()


if __name__ == "__main__":
    main()
