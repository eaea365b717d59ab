"""Real mail peers for the e-mail tests: Dovecot (Debian's dovecot-imapd) as the IMAP server, run
by the test with its own configuration in a temporary directory; maildev (npm) as the capturing
SMTP server for what the hub sends; swaks (Debian) to hand mail to the hub's SMTP receiver."""
from __future__ import annotations

import imaplib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import hubnode

MAIL_PEERS = Path(__file__).resolve().parent / "mail-peers"
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "email"
ADDRESS = "support@hub.test"
PASSWORD = "imap-secret"


class Dovecot:
    def __init__(self, tls: bool = False):
        if not shutil.which("dovecot"):
            raise hubnode.HubSetupError("dovecot is not installed (Debian: dovecot-imapd)")
        self.dir = Path(tempfile.mkdtemp(prefix="hub_dovecot_"))
        self.port = hubnode.free_port()
        os.chmod(self.dir, 0o755)
        (self.dir / "run").mkdir()
        (self.dir / "state").mkdir()
        mail = self.dir / "mail"
        mail.mkdir()
        # Dovecot refuses to deliver as root: as root the mail belongs to Debian's `mail` user.
        uid, gid = (8, 8) if os.getuid() == 0 else (os.getuid(), os.getgid())
        os.chown(mail, uid, gid)
        (self.dir / "users").write_text(f"{ADDRESS}:{{PLAIN}}{PASSWORD}\n")
        self.tls = tls
        ssl = "ssl = no"
        listeners = f"inet_listener imap {{\n    port = {self.port}\n  }}\n  inet_listener imaps {{\n    port = 0\n  }}"
        if tls:
            self.ca_file = self._certificates()
            ssl = (f"ssl = required\nssl_cert = <{self.dir}/server.crt\nssl_key = <{self.dir}/server.key\n"
                   "ssl_min_protocol = TLSv1.2")
            listeners = f"inet_listener imap {{\n    port = 0\n  }}\n  inet_listener imaps {{\n    port = {self.port}\n    ssl = yes\n  }}"
        self.conf = self.dir / "dovecot.conf"
        self.conf.write_text(f"""
protocols = imap
listen = 127.0.0.1
base_dir = {self.dir}/run
state_dir = {self.dir}/state
log_path = {self.dir}/dovecot.log
{ssl}
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{mail}/%u
first_valid_uid = 1
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {self.dir}/users
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={mail}/%u
}}
service imap-login {{
  {listeners}
}}
protocol imap {{
  mail_max_userip_connections = 50
}}
""")
        # Dovecot forks into the background: its output goes to a file, not to a pipe the
        # daemon would hold open.
        with open(self.dir / "start.log", "wb") as log:
            code = subprocess.call(["dovecot", "-c", str(self.conf)], stdout=log, stderr=log,
                                   stdin=subprocess.DEVNULL)
        if code != 0:
            raise hubnode.HubSetupError(f"dovecot did not start: {(self.dir / 'start.log').read_text()}")
        deadline = time.monotonic() + 10
        while True:
            try:
                self.imap().logout()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def _certificates(self) -> Path:
        """A private CA and a certificate for localhost signed by it (openssl)."""
        d = self.dir
        run = lambda *a: subprocess.run(a, cwd=d, check=True, capture_output=True)
        run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=Hub test CA",
            "-keyout", "ca.key", "-out", "ca.crt")
        run("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
            "-keyout", "server.key", "-out", "server.csr")
        (d / "san.ext").write_text("subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\n"
                                   "keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n")
        run("openssl", "x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
            "-CAcreateserial", "-days", "2", "-extfile", "san.ext", "-out", "server.crt")
        for f in ("server.key", "server.crt", "ca.crt"):
            os.chmod(d / f, 0o644)
        return d / "ca.crt"

    @property
    def url(self) -> str:
        if self.tls:
            return f"imaps://support%40hub.test:{PASSWORD}@localhost:{self.port}"
        return f"imap://support%40hub.test:{PASSWORD}@127.0.0.1:{self.port}"

    def imap(self) -> imaplib.IMAP4:
        if self.tls:
            import ssl
            ctx = ssl.create_default_context(cafile=str(self.ca_file))
            m = imaplib.IMAP4_SSL("localhost", self.port, ssl_context=ctx)
        else:
            m = imaplib.IMAP4("127.0.0.1", self.port)
        m.login(ADDRESS, PASSWORD)
        return m

    def append(self, raw: bytes, folder: str = "INBOX") -> None:
        m = self.imap()
        typ, data = m.append(folder, None, None, raw)
        assert typ == "OK", data
        m.logout()

    def flags(self, folder: str = "INBOX") -> list[bytes]:
        m = self.imap()
        m.select(folder)
        typ, data = m.fetch("1:*", "(FLAGS)")
        m.logout()
        return [d for d in data if d]

    def stop(self) -> None:
        subprocess.call(["doveadm", "-c", str(self.conf), "stop"], stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        time.sleep(0.2)
        shutil.rmtree(self.dir, ignore_errors=True)


class Maildev:
    def __init__(self):
        node = shutil.which("node")
        if not node or not (MAIL_PEERS / "node_modules" / "maildev").is_dir():
            raise hubnode.HubSetupError("maildev is not installed: npm ci --prefix tests/e2e/mail-peers")
        self.node = node
        self.smtp = hubnode.free_port()
        self.web = hubnode.free_port()
        self.proc: subprocess.Popen | None = None
        self.start()

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [self.node, "node_modules/maildev/bin/maildev", "--ip", "127.0.0.1", "--smtp", str(self.smtp),
             "--web", str(self.web), "--silent"],
            cwd=MAIL_PEERS, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 15
        while True:
            try:
                self.mails()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    @property
    def relay(self) -> str:
        return f"smtp://127.0.0.1:{self.smtp}"

    def mails(self) -> list[dict]:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.web}/email", timeout=5) as r:
            return json.loads(r.read())

    def to(self, address: str) -> list[dict]:
        return [m for m in self.mails() if any(t["address"] == address for t in m.get("to", []))]

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.terminate()
            self.proc.wait(timeout=10)

    def pause(self) -> None:
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        self.proc.send_signal(signal.SIGCONT)


def swaks(port: int, raw: bytes | None = None, **kw) -> subprocess.CompletedProcess:
    """Hands a mail to the hub's SMTP receiver with swaks: a whole message (`raw`) or swaks's own
    from headers (`frm`, `to`, `subject`, `body`, `headers`)."""
    if not shutil.which("swaks"):
        raise hubnode.HubSetupError("swaks is not installed (Debian: swaks)")
    cmd = ["swaks", "--server", f"127.0.0.1:{port}", "--from", kw.get("frm", "sender@example.ru"),
           "--to", kw.get("to", ADDRESS), "--timeout", "30"]
    stdin = None
    if raw is not None:
        cmd += ["--data", "-"]
        stdin = raw
    else:
        cmd += ["--header", f"Subject: {kw.get('subject', 'test')}", "--body", kw.get("body", "hello")]
        for h in kw.get("headers", []):
            cmd += ["--add-header", h]
    return subprocess.run(cmd, input=stdin, capture_output=True, timeout=60)


def fixture(name: str, **subs: str) -> bytes:
    raw = (FIXTURES / name).read_bytes()
    for k, v in subs.items():
        raw = raw.replace(f"%{k}%".encode(), v.encode())
    return raw


def email_node(store: hubnode.Store, maildev: Maildev, smtp_port: int | None = None, **env: str) -> hubnode.Node:
    store.extra_env["HUB_EMAIL_SMTP_RELAY"] = maildev.relay
    store.extra_env["HUB_EMAIL_POLL_SECS"] = "2"
    if smtp_port:
        store.extra_env["HUB_EMAIL_SMTP_LISTEN"] = f"127.0.0.1:{smtp_port}"
    store.extra_env.update(env)
    return store.start()


def add_mailbox(node: hubnode.Node, admin: str, queue: int, **extra) -> dict:
    body = {"address": ADDRESS, "queue_id": queue, "name": "Support", **extra}
    return node.api.ok("POST", "/api/admin/mailboxes", admin, body, want=201)


def email_conversations(node: hubnode.Node, token: str) -> list[dict]:
    lists = node.api.ok("GET", "/api/conversations", token)
    seen = {}
    for key in ("mine", "offers", "queued", "open"):
        for c in lists.get(key) or []:
            if c["channel"] == "email":
                seen[c["id"]] = c
    return sorted(seen.values(), key=lambda c: c["id"])


def message_id(mail: dict) -> str:
    return mail["headers"]["message-id"].strip().strip("<>")
