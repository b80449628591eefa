"""The Python bindings from the foreign side: the generated `sighting_ffi` module (made by
`cargo xtask bindings` in target/bindings/python, beside the host library) against a real
intake server. `cargo xtask test` runs this with pytest from its venv."""

import asyncio
import datetime
import json
import os
import pathlib
import socket
import subprocess
import tempfile
import time

import pytest
import sighting_ffi as s
from keystore import AesKeyStore

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIXTURES = pathlib.Path(os.environ.get("SIGHTING_FIXTURES", ROOT.parent / "shared/fixtures/photos"))
SERVER = os.environ.get("SIGHTING_SERVER", str(ROOT / "target/debug/sighting-server"))


class BrokenKeyStore(s.KeyStore):
    def wrap(self, plain):
        raise RuntimeError("keystore unavailable")

    def unwrap(self, wrapped):
        raise RuntimeError("keystore unavailable")


class Recorder(s.EventListener):
    def __init__(self):
        self.progress, self.states, self.errors, self.bulletins = [], [], [], []

    def on_progress(self, report_id, sent, total):
        self.progress.append((report_id, sent, total))

    def on_state_changed(self, report_id, state, error, detail):
        self.states.append((report_id, state))
        self.errors.append(error)

    def on_bulletins_changed(self, version, cases):
        self.bulletins.append((version, cases))


@pytest.fixture
def server(tmp_path):
    org = tmp_path / "org"
    subprocess.run([SERVER, "keygen", "--out", str(org)], check=True, capture_output=True)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [SERVER, "serve", "--data", str(tmp_path / "data"), "--listen", f"127.0.0.1:{port}",
         "--key", str(org / "server.key"), "--bulletin-key", str(org / "bulletin.pub")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.025)
    yield {
        "url": f"http://127.0.0.1:{port}",
        "recipient": (org / "recipient.txt").read_text().strip(),
        "server_key": (org / "server.pub").read_text().strip(),
        "reports": tmp_path / "data/reports",
        "data": tmp_path / "data",
        "org": org,
        "bulletin_key": (org / "bulletin.pub").read_text().strip(),
    }
    process.terminate()
    process.wait()


def config(server, data_dir, **overrides):
    fields = dict(
        data_dir=str(data_dir), recipients=[server["recipient"]], intake_url=server["url"],
        server_key=server["server_key"], pinned_ca_pem=None, quota_bytes=None, upload_max_edge=None,
        max_photo_bytes=None, max_photo_pixels=None, chunk_bytes=64 * 1024,
    )
    fields.update(overrides)
    return s.ClientConfig(**fields)


def now_clock():
    return s.ShutterClock(
        wall=datetime.datetime.now(datetime.timezone.utc), utc_offset_minutes=60, monotonic=None
    )


AMSTERDAM = s.CaptureLocation.FIX(
    s.LocationFix(
        lat=52.3676, lon=4.9041, accuracy_m=8.0, altitude_m=None, heading_deg=None,
        fix_time=datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=2),
        provider="fused",
    )
)
NOW = s.SyncBudget(max_wall_ms=30_000, max_bytes=None, honour_backoff=False, allow_metered=True,
                   metered=False)


def test_capture_submit_sync_delivers(server, tmp_path):
    async def flow():
        client = s.SightingClient(config(server, tmp_path / "phone"), AesKeyStore())
        recorder = Recorder()
        client.set_listener(recorder)
        draft = await client.capture(
            s.PhotoSource.PATH(str(FIXTURES / "gps/DSCN0010.jpg")), AMSTERDAM, now_clock()
        )
        assert draft.width > 0 and draft.removed
        report_id = await client.submit(draft.id, s.ReportDetails(note="by the market", tags={}))
        assert [r.state for r in await client.reports()] == [s.ReportState.SEALED]
        summary = await client.sync(NOW)
        assert summary.delivered == [report_id]
        assert [r.state for r in await client.reports()] == [s.ReportState.DELIVERED]
        assert recorder.states == [(report_id, s.ReportState.UPLOADING),
                                   (report_id, s.ReportState.DELIVERED)]
        assert recorder.progress[-1][1] == recorder.progress[-1][2]
        assert sorted(p.stem for p in server["reports"].glob("*.age")) == [report_id]

    asyncio.run(flow())


def test_a_failed_attempt_is_a_typed_error_and_the_event_says_sealed(server, tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}"

    async def flow():
        client = s.SightingClient(config(server, tmp_path / "phone", intake_url=dead), AesKeyStore())
        recorder = Recorder()
        client.set_listener(recorder)
        draft = await client.capture(
            s.PhotoSource.PATH(str(FIXTURES / "gps/DSCN0010.jpg")), AMSTERDAM, now_clock()
        )
        report_id = await client.submit(draft.id, s.ReportDetails(note=None, tags={}))
        summary = await client.sync(NOW)
        assert [(r.id, r.error) for r in summary.retrying] == [(report_id, s.AttemptError.NETWORK())]
        [row] = await client.reports()
        assert (row.state, row.last_error, row.attempts) == (s.ReportState.SEALED, s.AttemptError.NETWORK(), 1)
        assert row.last_error_detail
        # The events carry the row's real state: back to sealed, with the error.
        assert recorder.states == [(report_id, s.ReportState.UPLOADING),
                                   (report_id, s.ReportState.SEALED)]
        assert recorder.errors == [None, s.AttemptError.NETWORK()]

    asyncio.run(flow())


def test_bad_input_is_a_typed_error_and_loses_nothing(server, tmp_path):
    async def flow():
        client = s.SightingClient(config(server, tmp_path / "phone"), AesKeyStore())
        draft = await client.capture(
            s.PhotoSource.PATH(str(FIXTURES / "Canon_40D.jpg")), AMSTERDAM, now_clock()
        )
        await client.submit(draft.id, s.ReportDetails(note=None, tags={}))
        with pytest.raises(s.SightingError.InvalidPhoto):
            await client.capture(s.PhotoSource.BYTES(b"not a photo"), AMSTERDAM, now_clock())
        with pytest.raises(s.SightingError.InvalidInput):
            await client.thumbnail("nonsense")
        assert [r.state for r in await client.reports()] == [s.ReportState.SEALED]

    asyncio.run(flow())


def test_a_throwing_keystore_is_a_typed_error(server, tmp_path):
    with pytest.raises(s.SightingError.KeyStore) as error:
        s.SightingClient(config(server, tmp_path / "phone"), BrokenKeyStore())
    assert "keystore unavailable" in error.value.reason


def test_wipe_leaves_an_empty_outbox(server, tmp_path):
    async def flow():
        client = s.SightingClient(config(server, tmp_path / "phone"), AesKeyStore())
        draft = await client.capture(
            s.PhotoSource.PATH(str(FIXTURES / "Canon_40D.jpg")), AMSTERDAM, now_clock()
        )
        await client.submit(draft.id, s.ReportDetails(note=None, tags={}))
        client.wipe()
        assert await client.reports() == []

    asyncio.run(flow())


def run(*command, **kwargs):
    subprocess.run([SERVER, *map(str, command)], check=True, capture_output=True, **kwargs)


def desk_publishes(server, state, cases, close=()):
    """The organisation's side with the real CLI: a case manager publishes `cases`
    (number, lat, lon), closes `close`, and pushes the signed feed to the intake."""
    if not state.exists():
        run("desk-user", "add", "--state", state, "--name", "chen", "--role", "case_manager",
            input=b"a long desk password\n")
    # Acting as chen takes chen's passphrase (in a file, as a script gives it).
    passphrase = state.parent / "chen.pass"
    passphrase.write_text("a long desk password\n")
    passphrase.chmod(0o600)
    case = ("case", "--state", state, "--as", "chen", "--passphrase-file", passphrase)
    for number, lat, lon in cases:
        run(*case, "add", "--number", number, "--first-name", "Lin", "--sex", "girl",
            "--age-when-missing", "8", "--missing-since", "2026-05-20", "--district", "Centrum",
            "--lat", lat, "--lon", lon, "--marks", "scar on the left hand",
            "--police-reference", "P-2026-1")
        run(*case, "consent", "--number", number)
        run(*case, "photo", "--number", number, "--file", FIXTURES / "gps/DSCN0012.jpg")
        run(*case, "publish", "--number", number)
    for number in close:
        run(*case, "close", "--number", number)
    run("bulletins", "publish", "--state", state, "--key", server["org"] / "bulletin.key",
        "--intake", server["url"])


def test_bulletins_nearby_offline_and_a_closed_case_vanishes(server, tmp_path):
    state = tmp_path / "desk"
    desk_publishes(server, state, [("C-1", 52.37, 4.90), ("C-2", 52.09, 5.12),
                                   ("C-3", 39.92, 116.44)])

    async def flow():
        phone = config(server, tmp_path / "phone", bulletin_key=server["bulletin_key"])
        client = s.SightingClient(phone, AesKeyStore())
        recorder = Recorder()
        client.set_listener(recorder)
        here = AMSTERDAM.fix
        refresh = await client.refresh_bulletins(here)
        assert (refresh.changed, refresh.cases, refresh.tiles_downloaded) == (True, 2, 2)
        listed = await client.bulletins(here)
        assert [c.case_number for c in listed.cases] == ["C-1", "C-2"]
        assert listed.cases[0].distance_m < listed.cases[1].distance_m
        assert listed.cases[0].sex == s.Sex.GIRL and listed.cases[0].photo_count == 1
        # The list carries no photo: it is fetched, checked and kept when the case is opened.
        assert (await client.case_photo("C-1", 0))[:2] == b"\xff\xd8"
        assert "approach" in listed.safety_line.en and listed.safety_line.zh
        assert isinstance(listed.status, s.BulletinStatus.CURRENT)

        desk_publishes(server, state, [], close=["C-2"])
        refresh = await client.refresh_bulletins(None)
        assert (refresh.changed, refresh.cases) == (True, 1)
        assert [c.case_number for c in (await client.bulletins(here)).cases] == ["C-1"]
        assert [cases for _, cases in recorder.bulletins] == [2, 1]

    asyncio.run(flow())


def test_a_feed_signed_by_another_key_is_refused_and_nothing_is_shown(server, tmp_path):
    desk_publishes(server, tmp_path / "desk", [("C-1", 52.37, 4.90)])
    other = tmp_path / "other"
    run("keygen", "--out", other)

    async def flow():
        phone = config(server, tmp_path / "phone",
                       bulletin_key=(other / "bulletin.pub").read_text().strip())
        client = s.SightingClient(phone, AesKeyStore())
        with pytest.raises(s.SightingError.BulletinsRefused):
            await client.refresh_bulletins(AMSTERDAM.fix)
        listed = await client.bulletins(None)
        assert isinstance(listed.status, s.BulletinStatus.NOT_FETCHED) and listed.cases == []

    asyncio.run(flow())


def test_observations_travel_sealed_to_the_desk(server, tmp_path):
    async def flow():
        client = s.SightingClient(config(server, tmp_path / "phone"), AesKeyStore())
        draft = await client.capture(
            s.PhotoSource.PATH(str(FIXTURES / "gps/DSCN0010.jpg")), AMSTERDAM, now_clock()
        )
        with pytest.raises(s.SightingError.InvalidInput):
            await client.submit(draft.id, s.ReportDetails(
                note=None, tags={}, observations=s.Observations(case_number="C 1; drop")))
        seen = s.Observations(case_number="C-1", sex=s.Sex.GIRL, age_band=s.AgeBand.FROM5_TO9,
                              injury_or_disability=True, with_adults=s.WithAdults.ONE,
                              activity=s.Activity.BEGGING)
        report_id = await client.submit(draft.id, s.ReportDetails(
            note=None, tags={}, observations=seen))
        assert (await client.sync(NOW)).delivered == [report_id]
        return report_id

    report_id = asyncio.run(flow())
    out = tmp_path / "desk-out"
    run("open", "--identity", server["org"] / "identity.txt", "--data", server["data"],
        "--out", out)
    manifest = json.loads((out / "reports" / report_id / "manifest.json").read_text())
    assert manifest["details"]["observations"] == {
        "case_number": "C-1", "sex": "girl", "age_band": "5_to_9",
        "injury_or_disability": True, "with_adults": "one", "activity": "begging",
    }
