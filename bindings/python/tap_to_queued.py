"""Tap-to-queued through the FFI, as the app does it: `SightingClient.capture` on a camera
file, then `submit`, until the report is sealed in the outbox. Per photo, in a process of its
own: the median wall time and CPU time per report (CPU of the whole process, the core's I/O
thread included: the battery proxy) over RUNS reports after one warm-up, and the process's
peak RSS. `cargo xtask bench` runs it on the release library; by hand:

    PYTHONPATH=target/bindings/python python bindings/python/tap_to_queued.py \\
        ORG_DIR PHOTO [PHOTO ...]

ORG_DIR is a `sighting-server keygen` output (its recipient and server key configure the
client; nothing is sent)."""

import asyncio
import datetime
import json
import os
import pathlib
import resource
import statistics
import subprocess
import sys
import tempfile
import time

RUNS = int(os.environ.get("TAP_RUNS", "7"))


def one_photo(org, photo):
    import sighting_ffi as s
    from keystore import AesKeyStore

    now = datetime.datetime.now(datetime.timezone.utc)
    fix = s.CaptureLocation.FIX(s.LocationFix(
        lat=39.9, lon=116.4, accuracy_m=8.0, altitude_m=None, heading_deg=None,
        fix_time=now, provider="fused"))
    details = s.ReportDetails(note="by the station", tags={}, observations=s.Observations(
        sex=s.Sex.GIRL, age_band=s.AgeBand.FROM5_TO9))

    async def flow():
        with tempfile.TemporaryDirectory() as data:
            config = s.ClientConfig(
                data_dir=data, recipients=[(org / "recipient.txt").read_text().strip()],
                intake_url="http://127.0.0.1:9", server_key=(org / "server.pub").read_text().strip(),
                pinned_ca_pem=None, quota_bytes=None, upload_max_edge=None, max_photo_bytes=None,
                max_photo_pixels=None, chunk_bytes=None)
            client = s.SightingClient(config, AesKeyStore())
            walls, cpus = [], []
            for run in range(RUNS + 1):
                clock = s.ShutterClock(wall=datetime.datetime.now(datetime.timezone.utc),
                                       utc_offset_minutes=480, monotonic=None)
                wall, cpu = time.perf_counter(), time.process_time()
                draft = await client.capture(s.PhotoSource.PATH(str(photo)), fix, clock)
                await client.submit(draft.id, details)
                if run > 0:  # the first run warms caches and the I/O thread
                    walls.append(time.perf_counter() - wall)
                    cpus.append(time.process_time() - cpu)
            assert len(await client.reports()) == RUNS + 1
            return walls, cpus

    walls, cpus = asyncio.run(flow())
    rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({
        "photo": photo.name, "runs": RUNS,
        "wall_ms": round(statistics.median(walls) * 1000, 1),
        "cpu_ms": round(statistics.median(cpus) * 1000, 1),
        "peak_rss_mib": round(rss_mib, 1),
    }))


def main():
    org = pathlib.Path(sys.argv[1])
    if len(sys.argv) == 4 and sys.argv[2] == "--one":
        return one_photo(org, pathlib.Path(sys.argv[3]))
    for photo in sys.argv[2:]:
        # A process per photo: each peak RSS is that photo's alone.
        subprocess.run([sys.executable, __file__, str(org), "--one", photo], check=True)


if __name__ == "__main__":
    main()
