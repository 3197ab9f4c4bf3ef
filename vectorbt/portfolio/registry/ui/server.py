"""Serving the web page: `serve` (what `vbt-registry ui` and `RunRegistry.ui` run) and `UIServer`, the same
server in a background thread (for notebooks and tests).

The server binds to 127.0.0.1 unless told otherwise, and warns (`UIBindWarning`) when told to bind to an
address that other machines can reach: the page shows everything the registry holds, and with `--write` it
changes runs. Requests are answered in threads, so a long request (a large sweep loading) does not block the
others.

```pycon
>>> from vectorbt.portfolio.registry.ui.server import is_loopback
>>> is_loopback("127.0.0.1"), is_loopback("localhost"), is_loopback("0.0.0.0")
(True, True, False)
```
"""

import ipaddress
import threading
import warnings

from vectorbt import _typing as tp

__all__ = ["serve", "UIServer", "UIBindWarning", "is_loopback", "check_host", "DEFAULT_HOST", "DEFAULT_PORT"]

DEFAULT_HOST = "127.0.0.1"
"""Address the page binds to by default: this machine only."""

DEFAULT_PORT = 8050
"""Port of the page by default (Dash's)."""


class UIBindWarning(UserWarning):
    """The web page was told to bind to an address other machines can reach."""


def is_loopback(host: str) -> bool:
    """Whether `host` is a loopback address (`127.0.0.0/8`, `::1`) or `localhost`."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_host(host: str) -> str:
    """Return `host`, warning with `UIBindWarning` unless it is a loopback address."""
    if not isinstance(host, str) or not host:
        raise TypeError(f"host: expected an address such as '127.0.0.1', got {host!r}")
    if not is_loopback(host):
        warnings.warn(
            f"host: binding the registry's web page to {host!r} lets other machines reach it (and change runs, "
            "with --write); it has no login. Bind to 127.0.0.1 and use an SSH tunnel unless the network is trusted.",
            UIBindWarning, stacklevel=3,
        )
    return host


class UIServer:
    """The page's app served by a threaded WSGI server, in a background thread.

    Args:
        app: A Dash app (`vectorbt.portfolio.registry.ui.app.create_app`) or a WSGI app.
        host (str): Address to bind to; `check_host` warns unless it is a loopback address.
        port (int): Port; 0 picks a free one (see `port` once started). A port in use or an address that is
            not this machine's raises `OSError`.
        quiet (bool): Do not log each request.

    ```pycon
    >>> server = UIServer(app, port=0).start()  # doctest: +SKIP
    >>> server.url  # doctest: +SKIP
    'http://127.0.0.1:40123'
    >>> server.stop()  # doctest: +SKIP
    ```
    """

    def __init__(self, app: tp.Any, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, quiet: bool = False) -> None:
        from werkzeug.serving import WSGIRequestHandler, make_server

        class QuietHandler(WSGIRequestHandler):
            def log_request(self, *args: tp.Any, **kwargs: tp.Any) -> None:
                pass

        self.host = check_host(host)
        wsgi = getattr(app, "server", app)
        try:
            self._server = make_server(host, int(port), wsgi, threaded=True,
                                       request_handler=QuietHandler if quiet else None)
        except SystemExit:  # werkzeug prints why a bind failed and exits: a notebook's kernel would go with it
            raise OSError(f"host, port: cannot serve on {host}:{port} (in use, or not an address of this "
                          "machine; the reason is printed above)") from None
        self.port = int(self._server.server_port)
        self._thread: tp.Optional[threading.Thread] = None

    @property
    def url(self) -> str:
        """The page's address."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> "UIServer":
        """Serve in a daemon thread; return self."""
        self._thread = threading.Thread(target=self._server.serve_forever, name="vbt-registry-ui", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in this thread until interrupted."""
        self._server.serve_forever()

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)


def serve(registry: tp.Any, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, write: bool = False,
          block: bool = True, quiet: bool = False) -> tp.Optional[UIServer]:
    """Serve the web page of `registry` on `http://host:port`.

    Args:
        registry (RunRegistry): The registry to show.
        host (str): Address to bind to (default 127.0.0.1; anything else warns with `UIBindWarning`).
        port (int): Port (default 8050; 0 picks a free one).
        write (bool): Let the page change tags, notes and status and move runs to the trash and back.
        block (bool): Serve until interrupted (Ctrl+C); otherwise serve in a background thread and return the
            `UIServer` (call `stop()` on it).
        quiet (bool): Do not print the address.
    """
    from vectorbt.portfolio.registry.ui.app import create_app

    server = UIServer(create_app(registry, write=write), host=host, port=port)
    if not quiet:
        print(f"Registry web page ({'read-write' if write else 'read-only'}) at {server.url}/  (Ctrl+C stops it)",
              flush=True)
    if not block:
        return server.start()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server._server.server_close()
    return None
