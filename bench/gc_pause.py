"""The pause of a full garbage collection in a started emulator, with and without
``gc.freeze()`` (what ``emulator serve`` does after startup; EmulatorApp.freeze_gc).

    python -m bench.gc_pause [--repeat 3]

Builds the real Runtime and EmulatorApp with every service, starts them, then times
``gc.collect()`` (a full collection walks every tracked object) before and after freezing
what is alive. A full collection runs on the event loop thread, so its pause is a latency
every in-flight request waits out.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import tempfile
import time

from bench.chain_profile import ACCESS_KEY, SECRET_KEY


async def run(repeat: int) -> None:
    from emulator.app import create_app
    from emulator.runtime import Runtime
    from emulator.settings import load_settings

    app = create_app(Runtime(load_settings({"data_dir": tempfile.mkdtemp(prefix="gc-"), "root_access_key_id": ACCESS_KEY, "root_secret_access_key": SECRET_KEY})))
    await app.startup()
    try:
        print(f"objects tracked after startup: {len(gc.get_objects()):,}")
        for label in ("not frozen", "frozen"):
            if label == "frozen":
                gc.freeze()
            times = []
            for _ in range(repeat):
                t0 = time.perf_counter()
                gc.collect()
                times.append((time.perf_counter() - t0) * 1e3)
            print(f"full collection, {label}: " + " / ".join(f"{t:.1f}" for t in times) + " ms")
        gc.unfreeze()
    finally:
        await app.shutdown()


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--repeat", type=int, default=3)
    asyncio.run(run(p.parse_args().repeat))


if __name__ == "__main__":
    main()
