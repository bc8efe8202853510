"""The one error paragraph (console.report_error): what it keeps of a message and what it drops."""

from aecli.console import report_error
from aecli.errors import UserError


def test_an_error_message_keeps_its_square_brackets(capsys):
    report_error(UserError("install the CUDA build with `pip install 'aecli[gpu]'`"))
    assert "pip install 'aecli[gpu]'" in capsys.readouterr().err


def test_an_error_message_sends_no_control_characters_to_the_terminal(capsys):
    # e.g. a file name or a record's text holding an escape sequence that would clear the screen
    report_error(UserError("The file \x1b[2J\x1b]0;title\x07data.csv\r cannot be read."))
    err = capsys.readouterr().err
    assert "\x1b" not in err and "\x07" not in err and "\r" not in err
    assert "[2J]0;titledata.csv cannot be read." in err
