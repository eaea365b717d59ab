"""Telephony test peers: sipp as caller, as an operator's phone (registration with digest, then
a UAS that echoes the media) and as a load generator; the caller's media is the test's own RTP
socket, so the test hears the greeting, presses keys (RFC 4733 on payload type 96, as sipp's
play_dtmf sends them) and checks that its audio comes back through the bridge."""
from __future__ import annotations

import shutil
import socket
import struct
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import hubnode

SCENARIOS = Path(__file__).resolve().parent / "sip"
DEMO_NUMBER = "8800"
PHONES = {"1001": "demo-phone-1001", "1002": "demo-phone-1002"}


def sipp_binary() -> str:
    path = shutil.which("sipp")
    if not path:
        raise hubnode.HubSetupError("sipp not found (Debian: apt-get install sip-tester)")
    return path


def free_udp_port() -> int:
    """An even UDP port that is free now (RTP wants even ports)."""
    return hubnode.free_port()


def sip_env(store: hubnode.Store) -> tuple[int, tuple[int, int]]:
    """Turns telephony on for the store's nodes: answers the SIP port and the RTP range."""
    sip_port = free_udp_port()
    # RTP: a range of this test process's own (one test runs at a time in a process).
    first = 30000 + hubnode.worker() * 1000
    store.extra_env["HUB_SIP_LISTEN"] = f"127.0.0.1:{sip_port}"
    store.extra_env["HUB_SIP_RTP_PORTS"] = f"{first}-{first + 199}"
    return sip_port, (first, first + 199)


class Sipp:
    """One sipp process; its screen, errors and messages go to files in its own directory."""

    def __init__(self, hub_sip_port: int, scenario: str, args: list[str], name: str):
        self.dir = Path(tempfile.mkdtemp(prefix=f"sipp_{name}_"))
        self.port = free_udp_port()
        cmd = [sipp_binary(), f"127.0.0.1:{hub_sip_port}", "-sf", str(SCENARIOS / scenario),
               "-i", "127.0.0.1", "-p", str(self.port), "-nostdin", "-trace_err", "-trace_msg",
               "-trace_screen", *args]
        self.proc = subprocess.Popen(cmd, cwd=self.dir, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.cmd = cmd

    def wait(self, timeout: float) -> int:
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"sipp did not finish in {timeout} s:\n{self.report()}")

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def report(self) -> str:
        out = [" ".join(self.cmd)]
        for f in sorted(self.dir.glob("*")):
            if f.suffix == ".log":
                text = f.read_text(errors="replace")
                out.append(f"--- {f.name}\n{text[-3000:]}")
        return "\n".join(out)

    def messages(self) -> str:
        return "\n".join(f.read_text(errors="replace") for f in self.dir.glob("*_messages.log"))


def register(hub_sip_port: int, user: str, contact_port: int, password: str | None = None,
             expires: int = 300) -> Sipp:
    """Registers `user`'s phone (Contact at contact_port) and waits for the outcome."""
    s = Sipp(hub_sip_port, "register.xml",
             ["-s", user, "-au", user, "-ap", password or PHONES[user], "-key", "contact_port",
              str(contact_port), "-key", "expires", str(expires), "-m", "1", "-timeout", "10"],
             "register")
    s.wait(15)
    return s


def phone(hub_sip_port: int, port: int, media_port: int, calls: int = 1, extra=()) -> Sipp:
    """An operator's phone answering on `port` and echoing media from `media_port`."""
    s = Sipp.__new__(Sipp)
    s.dir = Path(tempfile.mkdtemp(prefix="sipp_phone_"))
    s.port = port
    cmd = [sipp_binary(), "-sf", str(SCENARIOS / "phone.xml"), "-i", "127.0.0.1", "-p", str(port),
           "-mi", "127.0.0.1", "-mp", str(media_port), "-rtp_echo", "-m", str(calls), "-l", "10000", "-nostdin",
           "-trace_err", "-trace_msg", "-trace_screen", *extra]
    s.cmd = cmd
    s.proc = subprocess.Popen(cmd, cwd=s.dir, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    return s


def caller(hub_sip_port: int, rtp_port: int, stay_ms: int, number: str = DEMO_NUMBER,
           caller_id: str = "+79161234567", name: str = "Caller", until_hub_hangs_up: bool = False) -> Sipp:
    """A caller staying `stay_ms` then hanging up, or (until_hub_hangs_up) staying until the hub
    sends BYE."""
    return Sipp(hub_sip_port, "caller_waits.xml" if until_hub_hangs_up else "caller.xml",
                ["-s", number, "-key", "rtp_port", str(rtp_port), "-key", "caller", caller_id,
                 "-key", "caller_name", name, "-mi", "127.0.0.1", "-d", str(stay_ms), "-m", "1",
                 "-timeout", str(stay_ms // 1000 + 40)], "caller")


class Media:
    """The caller's RTP side: counts what arrives (and how loud), sends keys and a test tone,
    and tells which of its own packets came back (the echo through the bridge)."""

    def __init__(self, port: int):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", port))
        self.sock.settimeout(0.2)
        self.port = port
        self.peer: tuple[str, int] | None = None
        self.received = 0
        self.loud = 0
        self.echoed: set[int] = set()
        # Every PCMU payload not our own, in arrival order: what the caller heard.
        self.heard = bytearray()
        # Packets per sender (SSRC): the hub's prompts have its own, relayed media the phone's.
        self.ssrcs: dict[int, int] = {}
        self.seq = 1000
        self.ts = 0
        self.ssrc = 0x1234ABCD
        self._stop = False
        self._last = 0.0
        self._lock = threading.Lock()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self._stop:
            try:
                data, addr = self.sock.recvfrom(2048)
            except OSError:
                continue
            if len(data) < 12:
                continue
            with self._lock:
                self.peer = addr
                self.received += 1
                self._last = time.monotonic()
                payload = data[12:]
                ssrc = struct.unpack("!I", data[8:12])[0]
                self.ssrcs[ssrc] = self.ssrcs.get(ssrc, 0) + 1
                if ssrc == self.ssrc:
                    self.echoed.add(struct.unpack("!H", data[2:4])[0])
                    continue
                if data[1] & 0x7F == 0:
                    self.heard += payload
                if payload and max(abs(ulaw_to_linear(b)) for b in payload) > 2000:
                    self.loud += 1

    def heard_wav(self, path: Path) -> Path:
        """What the caller heard, as a 16-bit 8 kHz WAV file."""
        import wave
        with self._lock:
            pcm = b"".join(struct.pack("<h", ulaw_to_linear(b)) for b in self.heard)
        with wave.open(str(path), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(8000)
            w.writeframes(pcm)
        return path

    def wait_audio(self, packets: int, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.loud >= packets:
                return
            time.sleep(0.05)
        raise AssertionError(f"only {self.loud} audible RTP packets in {timeout} s "
                             f"({self.received} received)")

    def key(self, digit: str, pt: int = 96) -> None:
        """One RFC 4733 event: three packets, then three end packets, one timestamp."""
        assert self.peer, "no RTP from the hub yet"
        code = "0123456789*#".index(digit)
        self.ts += 1600
        for i, end in enumerate([False] * 3 + [True] * 3):
            flags = (0x80 if end else 0) | 10
            duration = 160 * (i + 1)
            payload = struct.pack("!BBH", code, flags, duration)
            self._send(pt, payload, marker=(i == 0), ts=self.ts)
            time.sleep(0.02)

    def tone(self, packets: int = 50) -> list[int]:
        """Sends a 400 Hz tone as PCMU; answers the sequence numbers sent."""
        import math
        sent = []
        for _ in range(packets):
            self.ts += 160
            payload = bytes(linear_to_ulaw(int(8000 * math.sin(2 * math.pi * 400 * (i / 8000))))
                            for i in range(160))
            sent.append(self._send(0, payload, marker=False, ts=self.ts))
            time.sleep(0.02)
        return sent

    def _send(self, pt: int, payload: bytes, marker: bool, ts: int) -> int:
        self.seq = (self.seq + 1) & 0xFFFF
        header = struct.pack("!BBHII", 0x80, (0x80 if marker else 0) | pt, self.seq, ts & 0xFFFFFFFF,
                             self.ssrc)
        self.sock.sendto(header + payload, self.peer)
        return self.seq

    def last_packet_age(self) -> float:
        return time.monotonic() - self._last if self._last else 0.0

    def wait_quiet(self, quiet_s: float = 0.5, timeout: float = 30.0) -> None:
        """Waits until the hub has sent something and then nothing for `quiet_s` (a prompt ended)."""
        deadline = time.monotonic() + timeout
        start = self.received
        while time.monotonic() < deadline:
            if self.received > start and self.last_packet_age() >= quiet_s:
                return
            time.sleep(0.02)
        raise AssertionError("the hub's prompt did not end")

    def play(self, samples_8k_ulaw: bytes) -> None:
        """Sends µ-law audio in 20 ms packets, paced like a phone."""
        start = time.monotonic()
        for i in range(0, len(samples_8k_ulaw), 160):
            self.ts += 160
            self._send(0, samples_8k_ulaw[i:i + 160], marker=(i == 0), ts=self.ts)
            delay = start + (i // 160 + 1) * 0.02 - time.monotonic()
            if delay > 0:
                time.sleep(delay)

    def close(self) -> None:
        self._stop = True
        self.thread.join(timeout=2)
        self.sock.close()


def ulaw_to_linear(b: int) -> int:
    b = ~b & 0xFF
    sign, exponent, mantissa = b & 0x80, (b >> 4) & 0x07, b & 0x0F
    sample = ((mantissa << 3) + 0x84) << exponent
    sample -= 0x84
    return -sample if sign else sample


def linear_to_ulaw(sample: int) -> int:
    sign = 0x80 if sample < 0 else 0
    sample = min(abs(sample), 32635) + 0x84
    exponent = 7
    for e in range(7, -1, -1):
        if sample & (0x4000 >> (7 - e)):
            exponent = e
            break
    mantissa = (sample >> (exponent + 3)) & 0x0F
    return ~(sign | (exponent << 4) | mantissa) & 0xFF


def speak_ulaw(text: str, voice: str = "en-us") -> bytes:
    """`text` said by espeak-ng, as 8 kHz µ-law (what a phone would send)."""
    import audioop  # noqa: deprecated in 3.11, present until 3.13
    import wave
    import io
    wav = subprocess.run(["espeak-ng", "-v", voice, "-s", "150", "--stdout", text],
                         capture_output=True, check=True).stdout
    with wave.open(io.BytesIO(wav)) as w:
        rate, frames = w.getframerate(), w.readframes(w.getnframes())
    pcm, _ = audioop.ratecv(frames, 2, 1, rate, 8000, None)
    return audioop.lin2ulaw(pcm, 2)


class Baresip:
    """baresip as an operator's softphone: registers with digest, answers by itself, and plays
    what it hears into a bridge (aubridge) that is also its microphone: it talks back what the
    caller says, decoded and encoded again, under its own SSRC."""

    def __init__(self, hub_sip_port: int, user: str, password: str):
        if not shutil.which("baresip"):
            raise hubnode.HubSetupError("baresip not found (Debian: apt-get install baresip)")
        self.dir = Path(tempfile.mkdtemp(prefix="baresip_"))
        self.port = free_udp_port()
        (self.dir / "config").write_text(
            "poll_method epoll\n"
            f"sip_listen 127.0.0.1:{self.port}\n"
            "audio_player aubridge,echo\naudio_source aubridge,echo\naudio_alert aubridge,echo\n"
            "module_path /usr/lib/baresip/modules\nmodule g711.so\n"
            "module aubridge.so\nmodule_app account.so\nmodule_app menu.so\n")
        (self.dir / "accounts").write_text(
            f"<sip:{user}@127.0.0.1:{hub_sip_port};transport=udp>;auth_pass={password};"
            "regint=600;answermode=auto;audio_codecs=PCMU\n")
        self.log = open(self.dir / "baresip.log", "wb")
        self.proc = subprocess.Popen(["baresip", "-f", str(self.dir), "-v"], stdin=subprocess.DEVNULL,
                                     stdout=self.log, stderr=subprocess.STDOUT, cwd=self.dir)

    def output(self) -> str:
        self.log.flush()
        return (self.dir / "baresip.log").read_text(errors="replace")

    def wait_registered(self, timeout: float = 15) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if "200 OK" in self.output() and "binding" in self.output():
                return
            time.sleep(0.1)
        raise AssertionError(f"baresip did not register:\n{self.output()[-2000:]}")

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.log.close()
