"""The UI server bounds every request in time and memory (studio/ui/guard.py, through ``user_errors``): through
gradio_client, a handler that spins forever and one that allocates without end are stopped with one line naming
the limit; the server keeps answering afterwards and gives back the memory; a failure without a message still
reaches the browser with text (never an empty ``AppError: ``)."""
from __future__ import annotations

import pytest
import gradio as gr
from gradio_client import Client
from gradio_client.exceptions import AppError

from ganlib import limits
from studio.ui import guard
from studio.ui.context import user_errors
from ui_support import free_port


@user_errors
def spin(n: float):
    x = 0
    while True:  # a runaway computation: only the guard ends it
        x += int(n)


@user_errors
def hog(n: float):
    held = []
    while True:  # a runaway allocation (1 MiB at a time, touched so it is resident)
        held.append(bytearray(b"\x01" * (1 << 20)))


@user_errors
def echo(n: float):
    return f"ok {int(n)}"


@user_errors
def silent(n: float):
    raise ValueError()


@pytest.fixture(scope="module")
def guarded_server():
    with gr.Blocks() as app:
        box, out = gr.Number(), gr.Textbox()
        for fn in (spin, hog, echo, silent):
            gr.Button(fn.__name__).click(fn, box, out, api_name=fn.__name__)
    old = {name: limits._overrides.get(name) for name in ("ui_request_s", "ui_request_memory")}
    limits.set_limit("ui_request_s", 1)
    limits.set_limit("ui_request_memory", 256 << 20)
    port = free_port()
    app.queue().launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    try:
        yield Client(f"http://127.0.0.1:{port}/", verbose=False, analytics_enabled=False,
                     httpx_kwargs={"timeout": 120})
    finally:
        app.close()
        for name, value in old.items():
            limits._overrides.pop(name, None)
            if value is not None:
                limits._overrides[name] = value


def test_a_runaway_request_is_stopped_with_the_limit_named(guarded_server):
    with pytest.raises(AppError, match="ui_request_s = 1 s and was stopped"):
        guarded_server.predict(1, api_name="/spin")
    assert guarded_server.predict(3, api_name="/echo") == "ok 3"  # the server still answers


def test_a_runaway_allocation_is_stopped_and_given_back(guarded_server):
    before = guard.resident_bytes()
    with pytest.raises(AppError, match=r"over ui_request_memory = 256 MiB"):
        guarded_server.predict(1, api_name="/hog")
    assert guard.resident_bytes() - before < 256 << 20  # the request's memory was released
    assert guarded_server.predict(4, api_name="/echo") == "ok 4"


def test_an_error_without_a_message_still_has_text(guarded_server):
    with pytest.raises(AppError) as info:
        guarded_server.predict(1, api_name="/silent")
    assert "internal error (ValueError)" in str(info.value)


def test_check_outside_a_request_does_nothing_and_inside_names_the_limit():
    guard.check()
    limits.set_limit("ui_request_memory", 1)
    try:
        with pytest.raises(Exception, match="ui_request_memory"):
            with guard.request("preview"):
                bytearray(b"\x01" * (8 << 20))
                guard.check("the preview")
    finally:
        limits._overrides.pop("ui_request_memory", None)
