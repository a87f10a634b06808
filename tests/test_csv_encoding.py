"""CSV inputs are UTF-8: bytes that are not are reported line by line, never replaced; a byte-order mark is skipped.

Before, the readers decoded with ``errors="replace"``: ``Jos\\xe9`` and ``Jos\\xe8`` both became ``Jos\\ufffd``, so an
order of one member was credited to another and two distinct ids were "duplicates". Every reading path is
checked: the numba fast path (blocks in pieces on several threads), the csv-module path of quoted files, the
header and comment lines, and every reader (members with placement columns, orders, state, events).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from compplan import InputError
from compplan.cli import main
from compplan.io import csvio
from compplan.io.csvio import read_events, read_members, read_orders, read_state
from compplan.kernels import csvscan as cs

ROOT = Path(__file__).resolve().parents[1]
PLAN = ROOT / "plans" / "wellness_unilevel.yaml"
EX = ROOT / "plans" / "examples" / "hybrid_leadership"
BOM = b"\xef\xbb\xbf"
MEMBERS = b"id,sponsor_id,enrolled_on\n"
ORDERS = b"member_id,date,pv,cv\n"


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def problems(read: Callable[[Path], Any], path: Path) -> list[tuple[str, str]]:
    """(code, text) of every problem ``read(path)`` raises (it must raise)."""
    with pytest.raises(InputError) as info:
        read(path)
    return [(p.code, str(p)) for p in info.value.problems]


# -- invalid UTF-8: one problem per line, located, the rows dropped ----------------------------------------


def test_distinct_ids_that_are_not_utf8_are_reported_not_merged(tmp_path: Path) -> None:
    m = write(tmp_path, "m.csv", MEMBERS + b"Jos\xe9,,2025-01-01\nJos\xe8,,2025-01-01\n")
    assert problems(read_members, m) == [
        ("invalid_utf8", f"{m}:2:4: 'id' is not valid UTF-8 (byte 0xe9 after 'Jos'); save the file as UTF-8"),
        ("invalid_utf8", f"{m}:3:4: 'id' is not valid UTF-8 (byte 0xe8 after 'Jos'); save the file as UTF-8"),
    ]  # no "duplicate member id": the lines are dropped, never read as text with U+FFFD


def test_valid_utf8_ids_stay_distinct(tmp_path: Path) -> None:
    m = write(tmp_path, "m.csv", MEMBERS + "José,,2025-01-01\nJosè,José,2025-01-02\n".encode())
    members = read_members(m)
    assert members.ids.tolist() == ["José", "Josè"]
    assert members.sponsor_ids.tolist()[1] == "José"


def test_sponsor_field(tmp_path: Path) -> None:
    m = write(tmp_path, "m.csv", MEMBERS + "José,,2025-01-01\n".encode() + b"Ana, Jos\xe9 ,2025-01-02\n")
    assert problems(read_members, m) == [
        ("invalid_utf8", f"{m}:3:9: 'sponsor_id' is not valid UTF-8 (byte 0xe9 after 'Jos'); save the file as UTF-8")
    ]


def test_orders_member_id_and_a_number_field(tmp_path: Path) -> None:
    o = write(tmp_path, "o.csv", ORDERS + b"Jos\xe8,2026-10-03,100,100\n1,2026-10-03,\xa0100,100\n2,2026-10-03,5,5\n")
    assert problems(read_orders, o) == [
        ("invalid_utf8", f"{o}:2:4: 'member_id' is not valid UTF-8 (byte 0xe8 after 'Jos'); save the file as UTF-8"),
        ("invalid_utf8", f"{o}:3:14: 'pv' is not valid UTF-8 (byte 0xa0 at its start); save the file as UTF-8"),
    ]  # and no second problem "pv '\ufffd100' is not a decimal number" for line 3


def test_placement_columns(tmp_path: Path) -> None:
    m = write(
        tmp_path,
        "m.csv",
        b"id,sponsor_id,enrolled_on,placement_id,placement_side\nA,,2025-01-01,,\nB,A,2025-01-01,A,l\xe9ft\n",
    )
    assert problems(read_members, m) == [
        (
            "invalid_utf8",
            f"{m}:3:19: 'placement_side' is not valid UTF-8 (byte 0xe9 after 'l'); save the file as UTF-8",
        )
    ]


def test_truncated_overlong_and_surrogate_sequences(tmp_path: Path) -> None:
    rows = [b"a\xc3", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xe2\x82"]
    data = ORDERS + b"".join(r + b",2026-10-03,1,1\n" for r in rows) + "€,2026-10-03,1,1\n".encode()
    o = write(tmp_path, "o.csv", data)
    found = problems(read_orders, o)
    assert [code for code, _ in found] == ["invalid_utf8"] * 5
    assert [text.split(": ")[0] for _, text in found] == [f"{o}:{k}:{1 + (k == 2)}" for k in range(2, 7)]
    assert "byte 0xc3 after 'a'" in found[0][1] and "byte 0xed at its start" in found[2][1]


def test_header_and_comment_lines(tmp_path: Path) -> None:
    m = write(tmp_path, "m.csv", b"id,sponsor_id,enrolled_\xf3n\n1,,2025-01-01\n")
    assert problems(read_members, m) == [
        (
            "invalid_utf8",
            f"{m}:1:24: the line is not valid UTF-8 (byte 0xf3 after 'id,sponsor_id,enrolled_');"
            " save the file as UTF-8",
        )
    ]
    s = write(tmp_path, "s.csv", b"# compplan state; plan=Caf\xe9\nid,highest_rank,streak,balance\n")
    assert problems(read_state, s)[0][1].startswith(f"{s}:1:27: the line is not valid UTF-8 (byte 0xe9 after")


def test_quoted_file_takes_the_csv_module_path_and_reports_the_same(tmp_path: Path) -> None:
    m = write(
        tmp_path,
        "m.csv",
        MEMBERS + b'"A",,2025-01-01\n"Jos\xe9",A,2025-01-01\n"B, Jr.",A,2025-01-01\n"C","B, Jr.",20\xff5-01-01\n',
    )
    assert problems(read_members, m) == [
        ("invalid_utf8", f"{m}:3:5: 'id' is not valid UTF-8 (byte 0xe9 after 'Jos'); save the file as UTF-8"),
        ("invalid_utf8", f"{m}:5:16: 'enrolled_on' is not valid UTF-8 (byte 0xff after '20'); save the file as UTF-8"),
    ]  # the field from the parsed row, not by counting commas ("B, Jr." holds one)


def test_quoted_field_over_two_lines_keeps_physical_line_numbers(tmp_path: Path) -> None:
    e = write(tmp_path, "e.csv", b'member_id,kind,date\nA,"two\nlines",2026-10-01\nB,k\xe9nd,2026-10-02\n')
    assert problems(read_events, e) == [
        ("invalid_utf8", f"{e}:4:4: 'kind' is not valid UTF-8 (byte 0xe9 after 'k'); save the file as UTF-8")
    ]


def test_many_bad_lines_are_capped_over_blocks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(csvio, "BLOCK_BYTES", 100)
    monkeypatch.setattr(csvio, "PIECE_BYTES", 10)
    o = write(tmp_path, "o.csv", ORDERS + b"".join(b"M%d\xe9,2026-10-01,1,1\n" % i for i in range(50)))
    found = problems(read_orders, o)
    assert len(found) == csvio.SHOWN + 1
    assert [text.split(": ")[0] for _, text in found[:-1]] == [f"{o}:{k}:{len(str(k - 2)) + 2}" for k in range(2, 22)]
    assert found[-1] == ("invalid_utf8", "... and 30 more lines that are not valid UTF-8")


# -- many blocks, several threads: the line numbers stay right -------------------------------------------


def _big_orders(rows: int, bad: list[int]) -> bytes:
    """Orders with text ids, some with valid non-ASCII letters; line ``k`` in ``bad`` gets a Latin-1 byte."""
    lines = [ORDERS]
    for k in range(2, rows + 2):
        who = f"M{k}".encode() + b"\xe9x" if k in bad else (f"Mé{k}" if k % 7 == 0 else f"M{k}").encode()
        lines.append(who + b",2026-10-01,1.5,2\n")
    return b"".join(lines)


@pytest.mark.parametrize(("count", "block", "piece"), [(1, 2**26, 1), (3, 2**26, 1), (3, 4096, 512), (2, 777, 50)])
def test_bad_byte_far_down_a_file_read_in_blocks_on_threads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, count: int, block: int, piece: int
) -> None:
    monkeypatch.setenv("COMPPLAN_THREADS", str(count))
    monkeypatch.setattr(csvio, "BLOCK_BYTES", block)
    monkeypatch.setattr(csvio, "PIECE_BYTES", piece)
    bad = [19_997, 5_003]
    o = write(tmp_path, "o.csv", _big_orders(20_000, bad))
    assert o.stat().st_size > 8 * block or block == 2**26
    assert problems(read_orders, o) == [
        ("invalid_utf8", f"{o}:{k}:{len(str(k)) + 2}: 'member_id' is not valid UTF-8 (byte 0xe9 after 'M{k}');"
         " save the file as UTF-8")
        for k in sorted(bad)
    ]  # fmt: skip
    good = write(tmp_path, "good.csv", _big_orders(20_000, []))
    orders = read_orders(good)
    assert orders.member_ids.tolist()[0] == "M2" and orders.member_ids.tolist()[5] == "Mé7"
    assert orders.lines.tolist() == list(range(2, 20_002))


def test_invalid_utf8_kernel_agrees_with_the_python_decoder() -> None:
    pieces = [b"a", b"\n", b",", b"\xe9", "é".encode(), "€".encode(), "😀".encode(), b"\xed\xa0\x80", b"\xc0\xaf"]
    pieces += [b"\xf4\x90\x80\x80", b"\xe0\x80\xaf", b"\xf0\x8f\xbf\xbf", b"\xc3", b"\xe2\x82", b"\xf0\x9f\x98"]
    pieces += [b"\xff", b"\x80", b"\xf5\x80\x80\x80", b"\xef\xbf\xbf", b"\xf4\x8f\xbf\xbf", b"\xed\x9f\xbf"]
    rng = random.Random(7)
    samples = [bytes([a, b]) for a in range(128, 256) for b in (0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0)]
    samples += [b"".join(rng.choice(pieces) for _ in range(rng.randint(0, 12))) for _ in range(5000)]
    for data in samples:
        expected, at = [], 0
        for line in data.split(b"\n"):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError as exc:
                expected.append(at + exc.start)
            at += len(line) + 1
        assert cs.invalid_utf8(np.frombuffer(data, dtype=np.uint8)).tolist() == expected, data
        rows, top = cs.count_lines_top(np.frombuffer(data, dtype=np.uint8))
        assert (rows, top) == (cs.count_lines(np.frombuffer(data, dtype=np.uint8)), max(data, default=0))


# -- byte-order marks ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("quoted", [False, True])
def test_a_utf8_byte_order_mark_is_skipped_by_every_reader(tmp_path: Path, quoted: bool) -> None:
    q = b'"' if quoted else b""
    m = write(tmp_path, "m.csv", BOM + MEMBERS + q + "Zoë".encode() + q + b",,2025-01-01\n")
    o = write(tmp_path, "o.csv", BOM + ORDERS + q + b"7" + q + b",2026-10-03,100,90\n")
    e = write(tmp_path, "e.csv", BOM + b"member_id,kind,date\n" + q + b"E" + q + b",training_completed,2026-10-15\n")
    s = write(tmp_path, "s.csv", BOM + (EX / "state_2026-09.csv").read_bytes().replace(b"A,", q + b"A" + q + b",", 1))
    assert read_members(m).ids.tolist() == ["Zoë"]
    orders = read_orders(o)
    assert orders.member_ids.tolist() == [7] and orders.lines.tolist() == [2]
    assert read_events(e).kinds.tolist() == ["training_completed"]
    state, plain = read_state(s), read_state(EX / "state_2026-09.csv")
    assert state.plan_name == plain.plan_name == "Hybrid Leadership"  # the comment after the mark: still metadata
    assert state.ids.tolist() == plain.ids.tolist() and state.lines.tolist() == plain.lines.tolist()


def test_a_byte_order_mark_after_the_start_is_no_mark(tmp_path: Path) -> None:
    m = write(tmp_path, "m.csv", MEMBERS + BOM + b"A,,2025-01-01\n")
    assert read_members(m).ids.tolist() == ["\ufeffA"]  # a character of the id, as any other


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-16-le"])
def test_utf16_is_named(tmp_path: Path, encoding: str) -> None:
    text = "id,sponsor_id,enrolled_on\nA,,2025-01-01\n"
    data = text.encode(encoding) if encoding == "utf-16" else b"\xfe\xff" + text.encode(encoding)
    if encoding == "utf-16-le":
        data = text.encode(encoding)  # no mark: told by its NUL bytes
    m = write(tmp_path, "m.csv", data)
    (code, message), *rest = problems(read_members, m)
    assert code == "utf16" and not rest
    assert message.startswith(f"{m}") and "UTF-16" in message and "save it as UTF-8" in message


# -- the command line ---------------------------------------------------------------------------------------


def test_close_fails_with_the_lines_and_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    m = write(tmp_path, "m.csv", MEMBERS + b"Jos\xe9,,2025-01-01\n")
    o = write(tmp_path, "o.csv", ORDERS + b"Jos\xe8,2026-10-03,100,100\n")
    out = tmp_path / "x"
    argv = ["close", "--plan", str(PLAN), "--members", str(m), "--orders", str(o), "--period", "2026-10"]
    assert main([*argv, "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert f"{m}:2:4: 'id' is not valid UTF-8 (byte 0xe9 after 'Jos'); save the file as UTF-8" in err
    assert "Traceback" not in err and "\ufffd" not in err
    assert not out.exists()
    m.write_bytes(MEMBERS + "José,,2025-01-01\n".encode())  # the members fixed: now the orders are reported
    assert main([*argv, "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert f"{o}:2:4: 'member_id' is not valid UTF-8 (byte 0xe8 after 'Jos')" in err and "Traceback" not in err
    assert not out.exists()
