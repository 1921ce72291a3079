"""One ArcX per user: a second launch hands over to the first and exits.

The first instance listens on a `QLocalServer` (a named pipe on Windows, a Unix socket
elsewhere: local only, never the network). A later launch connects, sends one line
("show-settings") and exits; the first instance receives it as `messageReceived` and
brings its settings forward. The server name is per user and per data location, so a
portable install or a test run with its own `ARCX_HOME` is a separate instance.
"""

from __future__ import annotations

import getpass
import hashlib
import logging

from PyQt6.QtCore import QObject, pyqtSignal
from PyQt6.QtNetwork import QLocalServer, QLocalSocket

from app.core import paths

log = logging.getLogger(__name__)

SHOW_SETTINGS = "show-settings"
# How long a second launch waits for the first instance to answer, milliseconds.
CONNECT_TIMEOUT_MS = 500


def default_key() -> str:
    """`arcx-<hash>`: per user and per config dir (ARCX_HOME gives its own instance)."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "user"
    digest = hashlib.sha1(f"{user}|{paths.config_dir()}".encode()).hexdigest()[:12]
    return f"arcx-{digest}"


class SingleInstance(QObject):
    """Claim the single-instance slot, or pass a message to whoever holds it.

    Signals:
        messageReceived(str): a later launch sent this line (e.g. "show-settings").
    """

    messageReceived = pyqtSignal(str)

    def __init__(self, key: str | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.key = key or default_key()
        self.server: QLocalServer | None = None

    def claim(self, message: str = SHOW_SETTINGS) -> bool:
        """True: we are the first instance (now listening). False: another one runs and
        was sent `message`; the caller should exit."""
        if send_message(self.key, message):
            log.info("ArcX is already running; asked it to %s", message)
            return False
        # Nobody answered: a socket file left by a crash would block listen() on Unix.
        QLocalServer.removeServer(self.key)
        server = QLocalServer(self)
        server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        if not server.listen(self.key):
            log.warning(
                "single-instance server failed (%s); continuing without it", server.errorString()
            )
            return True
        server.newConnection.connect(self._on_connection)
        self.server = server
        return True

    def release(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None

    def _on_connection(self) -> None:
        assert self.server is not None
        while self.server.hasPendingConnections():
            sock = self.server.nextPendingConnection()
            if sock is None:
                break
            sock.readyRead.connect(lambda s=sock: self._read(s))
            sock.disconnected.connect(sock.deleteLater)
            if sock.bytesAvailable():
                self._read(sock)

    def _read(self, sock: QLocalSocket) -> None:
        while sock.canReadLine():
            line = bytes(sock.readLine().data()).decode("utf-8", "replace").strip()
            if line:
                self.messageReceived.emit(line)


def send_message(key: str, message: str, timeout_ms: int = CONNECT_TIMEOUT_MS) -> bool:
    """Send one line to the instance listening on `key`; False when none answers."""
    sock = QLocalSocket()
    sock.connectToServer(key)
    if not sock.waitForConnected(timeout_ms):
        return False
    sock.write((message + "\n").encode("utf-8"))
    sock.flush()
    sock.waitForBytesWritten(timeout_ms)
    sock.disconnectFromServer()
    if sock.state() != QLocalSocket.LocalSocketState.UnconnectedState:
        sock.waitForDisconnected(timeout_ms)
    return True
