"""`make bench`: prints throughput, memory and import-cost figures with their baselines."""

from __future__ import annotations

from benchmarks._env import prepare_airflow_env

prepare_airflow_env()

from benchmarks import (  # noqa: E402
    fanout,
    hosts,
    imports,
    media,
    memory,
    metrics,
    schedule,
    throughput,
)
from bird_sandbox.process import SandboxProcess  # noqa: E402


def main() -> None:
    print("Throughput against the sandbox, 50 ms latency per request")
    for name, rate, ratio in throughput.run(SandboxProcess):
        print(f"  {name:<72} {rate:8.0f} msg/s  {ratio}")

    before, off, ratio = metrics.run(SandboxProcess)
    print(
        f"\nThe metrics' cost with metrics off (Airflow's default), {metrics.RECIPIENTS:,} "
        f"recipients, no latency, limiter at 10,000/s; median of {metrics.PAIRS} runs each"
    )
    print(f"  before metrics (their calls made no-ops):  {before:8.0f} msg/s")
    print(
        f"  as shipped, metrics off:                  {off:8.0f} msg/s  {ratio:.3f}x "
        f"(goal >= 0.98: {'met' if ratio >= 0.98 else 'MISSED'})"
    )

    print(
        f"\n{fanout.SENDERS} senders at once to one workspace (500 POST/s), "
        f"{fanout.EACH:,} recipients each, 50 ms latency"
    )
    for name, rate, throttled, ratio in fanout.run(SandboxProcess):
        print(f"  {name:<50} {rate:8.0f} msg/s  {throttled:6.2%} 429s  {ratio}")

    print(
        f"\nSenders in separate processes to one workspace (500 POST/s), {hosts.EACH:,} "
        "recipients each, 50 ms latency (a host: a temporary folder of its own)"
    )
    for name, of_bound, throttled, ratio in hosts.run(SandboxProcess):
        print(f"  {name:<55} {of_bound:6.3f} of Bird's bound  {throttled:6.2%} 429s  {ratio}")

    figures = memory.run(SandboxProcess)
    growth_mb = (figures["peak_kb"] - figures["before_kb"]) / 1024
    print(f"\nMemory, {memory.RECIPIENTS:,} recipients in batch mode")
    print(f"  before sending: {figures['before_kb'] / 1024:.0f} MB resident")
    print(
        f"  peak growth:    {growth_mb:.0f} MB (goal <= 150 MB: "
        f"{'met' if growth_mb <= 150 else 'MISSED'}); sandbox received {figures['messages']:,}"
    )
    print(f"  XCom value:     {figures['xcom_bytes'] / 1024:.1f} KB")

    without, with_window, ratio = schedule.run()
    print(
        f"\nlocal_window for {schedule.RECIPIENTS:,} recipients (NL, US, JP): building the "
        "message, due times and request bodies"
    )
    print(
        f"  without: {without:.2f} s, with: {with_window:.2f} s, ratio {ratio:.3f} (goal <= 1.10)"
    )

    print(
        f"\nOne {media.PNG_BYTES // 1000} KB PNG as MMS (presigned upload, then the messages), "
        "50 ms latency"
    )
    figures = media.run(SandboxProcess)
    base = figures[0][1]
    for recipients, f in figures:
        print(
            f"  {recipients:>6,} recipients: {f['uploads']} upload(s), "
            f"{f['uploaded_bytes']:,} bytes to the storage host, upload {f['upload_s']:.3f} s "
            f"({f['upload_s'] / base['upload_s']:.2f}x the 10-recipient send's), "
            f"whole send {f['send_s']:.1f} s"
        )
    once = all(f["uploads"] == 1 for _, f in figures)
    print(f"  goal one upload whatever the recipients: {'met' if once else 'MISSED'}")

    print(f"\nImport cost after airflow.sdk from bytecode, median of {imports.RUNS} runs")
    costs = imports.run()
    ours = costs[imports.MODULES[0]]
    for module, ms in costs.items():
        ratio = "" if module == imports.MODULES[0] else f"  (ours is {ours / ms:.2f}x this)"
        print(f"  {module:<45} {ms:6.1f} ms{ratio}")
    print(f"  goal for ours <= 30 ms: {'met' if ours <= 30 else 'MISSED'}")
    print(
        f"  ours from source (no bytecode, compiled at import): {imports.from_source_ms():.1f} ms"
    )


if __name__ == "__main__":
    main()
