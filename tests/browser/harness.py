"""Real-browser harness: JupyterLab on loopback, driven in chromium through Playwright.

Two halves, both free of pytest so they can be reused from a script:

- the server: ``start_jupyter`` launches ``jupyter lab`` on 127.0.0.1 with a random
  token and throw-away config, data, settings and IPython directories; ``stop_jupyter``
  shuts it and every kernel it started down, by process id.
- the page: ``open_notebook``, ``run_all_cells``, ``widget_outputs``, ``find_controls``,
  ``change_control`` and ``output_snapshot`` open a notebook, execute it, find every
  ipywidgets control in its outputs, move one, and fingerprint what the widget shows.

A widget's *output* is what it renders apart from its controls: the pixels of its images
and canvases, and the text of its HTML widgets. Readouts of the controls are left out on
purpose, so moving a slider only counts as a change if the widget reacted to it.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import nbformat
import psutil

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
CHROMIUM_ARGS = [
    "--no-sandbox",  # chromium's sandbox refuses to start as root
    "--disable-gpu",
    "--disable-dev-shm-usage",  # /dev/shm is tiny in containers
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
INSTALL_HINT = "apt-get update && apt-get install -y chromium"

# Generous deadlines: two shared cores can make a cold JupyterLab start take a minute.
SERVER_START_S = 180.0
RUN_ALL_S = 180.0
REACT_S = 30.0

# JupyterLab user settings written into the throw-away settings directory.
LAB_SETTINGS = {
    # "none" attaches every cell to the DOM, so widgets below the fold can be found.
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    # No news or update toasts: they need the network and can cover the widgets.
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
}


# ------------------------------------------------------------------------ chromium


def chromium_candidates() -> tuple[str, ...]:
    """Where chromium is looked for: ``$DLCOURSE_CHROMIUM`` if set, else Debian's paths."""
    override = os.environ.get("DLCOURSE_CHROMIUM")
    return (override,) if override else CHROMIUM_CANDIDATES


def find_chromium() -> str | None:
    """Return the path of an executable chromium among ``chromium_candidates()``, or None."""
    for candidate in chromium_candidates():
        if Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


# -------------------------------------------------------------------------- server


@dataclass
class JupyterServer:
    """A running ``jupyter lab`` subprocess and how to reach it."""

    process: subprocess.Popen
    port: int
    token: str
    root_dir: Path
    log_path: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def add_notebook(self, source: Path) -> str:
        """Copy a notebook into the server's root directory; return its name there."""
        shutil.copy2(source, self.root_dir / source.name)
        return source.name

    def add_folder(self, folder: Path) -> str:
        """Copy a folder (a notebook and the files it reads) into the server's root."""
        shutil.copytree(folder, self.root_dir / folder.name, dirs_exist_ok=True)
        return folder.name

    def notebook_url(self, name: str) -> str:
        """The notebook alone in a fresh JupyterLab workspace of its own.

        JupyterLab reopens every tab of the workspace it last saved, so in the default
        workspace each test would also reopen the notebooks of the tests before it.
        """
        workspace = "t" + secrets.token_hex(6)
        return f"{self.base_url}/lab/workspaces/{workspace}/tree/{name}?reset&token={self.token}"

    def shutdown_kernels(self) -> None:
        """Stop every kernel the server runs (between tests, so none keeps a core busy)."""
        headers = {"Authorization": f"token {self.token}"}
        listing = urllib.request.Request(f"{self.base_url}/api/kernels", headers=headers)
        with urllib.request.urlopen(listing, timeout=10) as response:
            kernels = json.load(response)
        for kernel in kernels:
            url = f"{self.base_url}/api/kernels/{kernel['id']}"
            request = urllib.request.Request(url, headers=headers, method="DELETE")
            with urllib.request.urlopen(request, timeout=30):
                pass

    def log_tail(self, num_chars: int = 3000) -> str:
        """The end of the server's log, for failure messages."""
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return text[-num_chars:]


STAGE_MARKER = ".stage"
"""Marks a folder prepared to travel with its notebook (see :func:`open_notebook`)."""


def free_port() -> int:
    """Return a loopback port that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _clean_environment(home: Path) -> dict[str, str]:
    """The environment for the server: every Jupyter/IPython directory under ``home``.

    Nothing from the user's own Jupyter configuration, extensions settings or saved
    workspaces can leak into the test, and nothing the test does is left behind.
    """
    env = {key: value for key, value in os.environ.items() if not key.startswith("JUPYTER")}
    dirs = {
        "JUPYTER_CONFIG_DIR": home / "config",
        "JUPYTER_DATA_DIR": home / "data",
        "JUPYTER_RUNTIME_DIR": home / "runtime",
        "IPYTHONDIR": home / "ipython",
        "JUPYTERLAB_SETTINGS_DIR": home / "lab-settings",
        "JUPYTERLAB_WORKSPACES_DIR": home / "lab-workspaces",
    }
    for key, path in dirs.items():
        path.mkdir(parents=True, exist_ok=True)
        env[key] = str(path)
    for relative, settings in LAB_SETTINGS.items():
        target = dirs["JUPYTERLAB_SETTINGS_DIR"] / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(settings))
    env["MPLBACKEND"] = "Agg"  # the kernel never needs a GUI backend
    return env


def start_jupyter(workdir: Path) -> JupyterServer:
    """Start ``jupyter lab`` on loopback with a random token; wait until it answers.

    ``workdir`` receives the notebook root (``root``), the Jupyter directories (``home``)
    and the server log. Raises ``RuntimeError`` with the log's tail if the server exits
    or does not answer within ``SERVER_START_S`` seconds.
    """
    root_dir = workdir / "root"
    root_dir.mkdir(parents=True, exist_ok=True)
    log_path = workdir / "jupyter.log"
    port, token = free_port(), secrets.token_hex(16)
    command = [
        sys.executable, "-m", "jupyterlab",
        "--no-browser",
        "--allow-root",  # harmless as a normal user, required as root
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",  # fail loudly rather than drift to another port
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root_dir}",
        # window.jupyterapp lets the harness run commands and read kernel state directly.
        "--LabApp.expose_app_in_browser=True",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]  # fmt: skip
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            command,
            cwd=root_dir,
            env=_clean_environment(workdir / "home"),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = JupyterServer(process, port, token, root_dir, log_path)
    try:
        _wait_until_answering(server)
    except BaseException:
        stop_jupyter(server)
        raise
    return server


def _wait_until_answering(server: JupyterServer) -> None:
    """Poll ``/api/status`` until it returns 200; fail early if the process died."""
    deadline = time.monotonic() + SERVER_START_S
    request = urllib.request.Request(
        f"{server.base_url}/api/status", headers={"Authorization": f"token {server.token}"}
    )
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(
                f"jupyter lab exited with code {server.process.returncode} before answering; "
                f"log {server.log_path}:\n{server.log_tail()}"
            )
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    raise RuntimeError(
        f"jupyter lab did not answer on port {server.port} within {SERVER_START_S:.0f} s; "
        f"log {server.log_path}:\n{server.log_tail()}"
    )


def stop_jupyter(server: JupyterServer, grace_s: float = 20.0) -> None:
    """Stop the server and every process it started (kernels included), by process id.

    The server shuts its kernels down on SIGTERM; the descendants are recorded first so
    that any kernel still alive afterwards (a hung one, or after a SIGKILL) is killed too.
    """
    try:
        descendants = psutil.Process(server.process.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        descendants = []
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGTERM)
        try:
            server.process.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait(timeout=grace_s)
    _, alive = psutil.wait_procs(descendants, timeout=5)
    for child in alive:
        try:
            child.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(alive, timeout=5)


# ---------------------------------------------------------------------- notebooks


def assert_saved_without_outputs(path: Path) -> None:
    """Fail unless every code cell of the notebook is stored without outputs or counts.

    The harness waits for every cell to get an execution count; a stored count would
    make that wait meaningless, and stored widget views would not belong to this kernel.
    """
    notebook = nbformat.read(path, as_version=4)
    dirty = [
        index
        for index, cell in enumerate(notebook.cells)
        if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None)
    ]
    assert not dirty, f"{path} must be saved without outputs; cells {dirty} have some"


# ------------------------------------------------------------------------- the page

# JavaScript run in the page; ``window.jupyterapp`` exists thanks to expose_app_in_browser.
_JS_CURRENT_NOTEBOOK = "window.jupyterapp && window.jupyterapp.shell.currentWidget"
_JS_READY = f"""() => {{
    const panel = {_JS_CURRENT_NOTEBOOK};
    if (!panel || !panel.sessionContext || !panel.content) return false;
    const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
    return panel.sessionContext.isReady && Boolean(kernel) && kernel.status === "idle";
}}"""
_JS_RUN_ALL = "() => window.jupyterapp.commands.execute('notebook:run-all-cells')"
_JS_PROGRESS = f"""() => {{
    const panel = {_JS_CURRENT_NOTEBOOK};
    const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
    const cells = panel.content.widgets.filter(cell => cell.model.type === "code");
    const errors = [];
    cells.forEach((cell, index) => {{
        for (const output of cell.model.outputs.toJSON()) {{
            if (output.output_type === "error") {{
                errors.push(`code cell ${{index}}: ${{output.ename}}: ${{output.evalue}}`);
            }}
        }}
    }});
    return {{
        kernel: kernel ? kernel.status : "none",
        pending: cells.filter(cell => cell.model.executionCount === null).length,
        errors: errors,
    }};
}}"""
_JS_KERNEL_STATUS = f"""() => {{
    const panel = {_JS_CURRENT_NOTEBOOK};
    const kernel = panel && panel.sessionContext.session && panel.sessionContext.session.kernel;
    return kernel ? kernel.status : "none";
}}"""

# A control's description: the non-empty labels of its row (ipywidgets pads an empty
# description with a zero-width space, which is dropped here).
_JS_CONTROL_LABEL = """el => {
    const row = el.closest('.widget-inline-hbox') || el;
    const labels = Array.from(row.querySelectorAll('label, .widget-label'))
        .map(label => label.innerText.replace(/\u200b/g, '').trim())
        .filter(text => text.length > 0);
    return labels.length ? labels.join(' ') : row.innerText.trim().split('\\n')[0];
}"""

# CSS for one ipywidgets control of each kind (ipywidgets 8 class names).
CONTROL_SELECTORS = {
    "slider": ".widget-slider:not(.widget-readout)",
    "dropdown": ".widget-dropdown select",
    "select": ".widget-select select",
    "checkbox": ".widget-checkbox input[type='checkbox']",
    "toggle_buttons": ".widget-toggle-buttons",
    "toggle_button": "button.widget-toggle-button:not(.widget-toggle-buttons *)",
    "radio": ".widget-radio-box",
    "number": ".widget-text input[type='number']",
}
# What a widget shows apart from its controls (see the module docstring).
PICTURE_SELECTOR = "img, canvas"
TEXT_SELECTOR = ".widget-html-content, .widget-htmlmath-content"


@dataclass(frozen=True)
class Control:
    """One control found in a widget output: its kind and a Playwright locator."""

    kind: str
    locator: object  # playwright.sync_api.Locator; kept untyped so import stays optional

    def describe(self) -> str:
        """The control's kind and description label, for failure messages."""
        label = self.locator.evaluate(_JS_CONTROL_LABEL)
        return f"{self.kind} {label!r}"


@dataclass(frozen=True)
class OutputSnapshot:
    """A fingerprint of what a widget shows: image/canvas pixels (PNG) and HTML texts."""

    pictures: tuple[bytes, ...]
    texts: tuple[str, ...]

    def differences(self, other: OutputSnapshot) -> str:
        """Name the parts that differ between two snapshots ('' when none)."""
        parts = []
        if self.pictures != other.pictures:
            parts.append("picture")
        if self.texts != other.texts:
            parts.append("text")
        return " and ".join(parts)


def open_notebook(page, server: JupyterServer, notebook: Path) -> None:
    """Copy ``notebook`` into the server, open it, and wait for an idle kernel.

    A notebook whose folder holds a ``.stage`` marker is copied with its whole folder (the
    files it reads, such as the visible check files), and its kernel starts there.
    """
    if (notebook.parent / STAGE_MARKER).is_file():
        name = f"{server.add_folder(notebook.parent)}/{notebook.name}"
    else:
        name = server.add_notebook(notebook)
    page.goto(server.notebook_url(name), wait_until="domcontentloaded")
    page.wait_for_function(_JS_READY, timeout=SERVER_START_S * 1000, polling=500)


def run_all_cells(page, timeout_s: float = RUN_ALL_S) -> None:
    """Run every cell and wait until each code cell has run and the kernel is idle.

    Raises ``AssertionError`` with the error's name and message as soon as a cell fails,
    instead of waiting for cells that will never run after it.
    """
    page.evaluate(_JS_RUN_ALL)
    deadline = time.monotonic() + timeout_s
    progress: dict = {}
    while time.monotonic() < deadline:
        progress = page.evaluate(_JS_PROGRESS)
        if progress["errors"]:
            raise AssertionError("a cell raised: " + "; ".join(progress["errors"]))
        if progress["pending"] == 0 and progress["kernel"] == "idle":
            return
        time.sleep(0.25)
    raise AssertionError(f"cells still running after {timeout_s:.0f} s: {progress}")


def widget_outputs(page) -> list:
    """Return a locator for every cell output area that holds at least one control."""
    any_control = ", ".join(CONTROL_SELECTORS.values())
    outputs = page.locator(".jp-OutputArea-output").filter(has=page.locator(any_control))
    return outputs.all()


def find_controls(output) -> list[Control]:
    """Return every control in one output area, in document order within each kind."""
    return [
        Control(kind, locator)
        for kind, selector in CONTROL_SELECTORS.items()
        for locator in output.locator(selector).all()
    ]


def change_control(control: Control) -> None:
    """Give ``control`` a different value the way a user would (keyboard or mouse)."""
    handlers: dict[str, Callable] = {
        "slider": _nudge_slider,
        "dropdown": _pick_other_option,
        "select": _pick_other_option,
        "checkbox": lambda locator: locator.click(),
        "toggle_button": lambda locator: locator.click(),
        "toggle_buttons": lambda locator: locator.locator("button:not(.mod-active)").first.click(),
        "radio": lambda locator: locator.locator("input:not(:checked)").first.click(),
        "number": _bump_number,
    }
    handlers[control.kind](control.locator)


def _nudge_slider(slider) -> None:
    """Move the slider's first handle one keyboard page (several steps), away from a bound.

    One key press is one change event, hence one recomputation in the kernel.
    """
    handle = slider.locator(".noUi-handle").first
    now = float(handle.get_attribute("aria-valuenow"))
    top = float(handle.get_attribute("aria-valuemax"))
    handle.focus()
    handle.press("PageDown" if now >= top else "PageUp")


def _pick_other_option(select) -> None:
    """Select the option after the current one (the first one when at the end)."""
    options = select.locator("option").all_text_contents()
    current = select.evaluate("el => el.options[el.selectedIndex].text")
    following = options[(options.index(current) + 1) % len(options)]
    select.select_option(label=following)


def _bump_number(box) -> None:
    """Add one to a numeric text box and commit it with Enter."""
    value = float(box.input_value() or 0)
    box.fill(str(value + 1))
    box.press("Enter")


def output_snapshot(output) -> OutputSnapshot:
    """Fingerprint one output area: element screenshots of its pictures, its HTML texts."""
    pictures = tuple(
        element.screenshot(animations="disabled")
        for element in output.locator(PICTURE_SELECTOR).all()
    )
    texts = tuple(output.locator(TEXT_SELECTOR).all_inner_texts())
    return OutputSnapshot(pictures, texts)


def settle(page, output, timeout_s: float = REACT_S) -> OutputSnapshot:
    """Wait for an idle kernel and two equal snapshots in a row; return the last one.

    Taking the "before" picture only once the previous change has fully arrived keeps a
    late update of one control from being credited to the next.
    """
    deadline = time.monotonic() + timeout_s
    previous = None
    while time.monotonic() < deadline:
        if page.evaluate(_JS_KERNEL_STATUS) == "idle":
            current = output_snapshot(output)
            if current == previous:
                return current
            previous = current
        time.sleep(0.3)
    raise AssertionError(f"the widget output did not settle within {timeout_s:.0f} s")


def wait_for_change(
    output, before: OutputSnapshot, what: str, timeout_s: float = REACT_S
) -> OutputSnapshot:
    """Return the first snapshot that differs from ``before``; fail after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        after = output_snapshot(output)
        if after != before:
            return after
        time.sleep(0.3)
    raise AssertionError(
        f"moving {what} did not change the rendered output within {timeout_s:.0f} s "
        f"(texts stayed {before.texts!r})"
    )
