"""`serve`: the emulator on a port until Ctrl-C or SIGTERM, seeded, faulty, live and notifying
as told. One JSON line on stdout once it listens (endpoint and credentials, for scripts); on
stderr, how to point the function at it."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from dataclasses import asdict
from pathlib import Path

from emulator import cli_options, cli_seed
from emulator.delivery import FcTarget, Trigger, UrlTarget
from emulator.denials import SYNTAX, Denial
from emulator.faults import EVERY_ACTION, Faults
from emulator.live import ScaledClock
from emulator.oss_events import SHAPES, EventFilter
from emulator.server import LOOPBACK, Emulator
from emulator.signing import AccessKey

IN_PROJECT = (Path(__file__).resolve().parent.parent / "dev.py").exists()
DAY_MS = 86_400_000


def _qps(value: str) -> tuple[str, float]:
    action, sep, cap = value.rpartition("=")
    try:
        return (action if sep else EVERY_ACTION), float(cap)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r}: use N or ACTION=N") from None


def _denial(value: str) -> Denial:
    try:
        return Denial.parse(value)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def add_options(serve: argparse.ArgumentParser) -> None:
    serve.add_argument("--access-key-id", help="the key id to accept (default: random)")
    serve.add_argument("--access-key-secret", help="the secret to accept (default: random)")
    serve.add_argument("--sts", action="store_true", help="require an STS security token")
    serve.add_argument("--rsa-public-key", type=Path, metavar="PEM_FILE",
                       help="accept ACS3-RSA-SHA256 signatures made with its private key")
    faults = serve.add_argument_group("fault injection and denials (all off by default)")
    faults.add_argument("--latency-ms", type=float, default=0.0, help="added to every request")
    faults.add_argument("--qps", type=_qps, action="append", default=[], metavar="[ACTION=]N",
                        help="cap per action and second, beyond it Throttling.User (repeatable;"
                             " N alone caps every action)")
    faults.add_argument("--error-rate", type=float, default=0.0,
                        help="share of requests answered 500 InternalError / 503")
    faults.add_argument("--drop-rate", type=float, default=0.0,
                        help="share of connections closed with no answer")
    faults.add_argument("--slow-rate", type=float, default=0.0,
                        help="share of answers held back --slow-ms after the action ran")
    faults.add_argument("--slow-ms", type=float, default=0.0)
    faults.add_argument("--fault-seed", type=int, help="seed for repeatable faults")
    faults.add_argument("--deny", type=_denial, action="append", default=[], metavar=SYNTAX,
                        help="answer 403 CODE (Forbidden, BucketNotAuthorized, OperationDenied,"
                             " UserDisable) to an action, optionally only for one job or bucket"
                             " (repeatable)")
    live = serve.add_argument_group("live snapshots and OSS event notifications")
    live.add_argument("--live", nargs="?", type=cli_options.factor, const=1.0, metavar="FACTOR",
                      help="started jobs take snapshots as time passes; FACTOR > 1 makes the"
                           " emulator's time run that many times faster")
    live.add_argument("--notify-url", action="append", default=[], metavar="URL",
                      help="POST each OSS event to this URL (repeatable)")
    live.add_argument("--notify-fc", action="append", default=[], metavar="HOST:PORT/FUNCTION",
                      help="invoke this function asynchronously with each OSS event (repeatable)")
    live.add_argument("--notify-fc-access-key-id",
                      help="key id for --notify-fc (default: the emulator's own)")
    live.add_argument("--notify-fc-access-key-secret",
                      help="secret for --notify-fc (default: the emulator's own)")
    live.add_argument("--notify-shape", choices=SHAPES, default="oss",
                      help="native OSS trigger events or EventBridge CloudEvents (default oss)")
    live.add_argument("--notify-prefix", default="", help="only objects whose key starts so")
    live.add_argument("--notify-suffix", default="", help="only objects whose key ends so")
    live.add_argument("--notify-events", default=",".join(EventFilter().events),
                      help="comma-separated event names, `*` allowed (default: %(default)s)")


def _credentials(args: argparse.Namespace) -> AccessKey | None:
    if bool(args.access_key_id) != bool(args.access_key_secret):
        cli_options.fail("give both --access-key-id and --access-key-secret, or neither")
    if not args.access_key_id:
        return None
    if args.sts:
        cli_options.fail("--sts issues its own credentials; leave out the access key options")
    return AccessKey(args.access_key_id, args.access_key_secret)


def _rsa_public_key(args: argparse.Namespace) -> str | None:
    if args.rsa_public_key is None:
        return None
    try:
        return str(args.rsa_public_key.read_text())
    except OSError as error:
        cli_options.fail(f"--rsa-public-key {args.rsa_public_key}: {error.strerror}")


def _triggers(args: argparse.Namespace, key: AccessKey) -> list[Trigger]:
    event_filter = EventFilter(args.notify_prefix, args.notify_suffix,
                               tuple(name.strip() for name in args.notify_events.split(",")))
    targets: list[UrlTarget | FcTarget] = [UrlTarget(url) for url in args.notify_url]
    for text in args.notify_fc:
        endpoint, _, function = text.partition("/")
        if not endpoint or not function:
            cli_options.fail(f"--notify-fc {text!r}: use HOST:PORT/FUNCTION")
        targets.append(FcTarget(
            endpoint, function, args.notify_fc_access_key_id or key.access_key_id,
            args.notify_fc_access_key_secret or key.access_key_secret,
            None if args.notify_fc_access_key_id else key.security_token,
        ))
    return [Trigger(target, args.notify_shape, event_filter) for target in targets]


def invoke_hint(emulator: Emulator) -> str:
    """The command that runs the function once against this emulator: a dry run over every job
    it finds, relative to now, so it shows the files due and deletes none."""
    key = emulator.credentials
    token = f" --security-token {key.security_token}" if key.security_token else ""
    now_ms = int(emulator.clock() * 1000)
    oldest = min((job.create_time_ms for job in emulator.store.jobs()), default=now_ms)
    lookback = ""
    if now_ms - oldest > cli_options.DISCOVERY_DAYS * DAY_MS:
        lookback = f" --env JOB_DISCOVERY_DAYS={(now_ms - oldest) // DAY_MS + 1}"
    return (f"python3 dev.py invoke events/manual-dry-run.json --endpoint {emulator.endpoint}"
            f" --access-key-id {key.access_key_id} --access-key-secret {key.access_key_secret}"
            f"{token}{lookback}")


def _faults(args: argparse.Namespace) -> Faults:
    try:
        return Faults(latency_ms=args.latency_ms, qps=dict(args.qps), error_rate=args.error_rate,
                      drop_rate=args.drop_rate, slow_rate=args.slow_rate, slow_ms=args.slow_ms,
                      seed=args.fault_seed)
    except ValueError as error:
        cli_options.fail(f"fault options: {error}")


def serve(args: argparse.Namespace) -> int:
    faults = _faults(args)
    credentials = _credentials(args) or AccessKey.generate(sts=args.sts)
    store = cli_options.open_store(args.db)
    clock = ScaledClock(args.live) if args.live else time.time
    try:
        emulator = Emulator(store, faults=faults, denials=args.deny, credentials=credentials,
                            rsa_public_key=_rsa_public_key(args), host=args.host, port=args.port,
                            clock=clock, triggers=_triggers(args, credentials),
                            live=args.live is not None)
    except OSError as error:
        cli_options.fail(f"cannot listen on {args.host}:{args.port} ({error.strerror}): choose"
                         " another --port, or 0 for a free one")
    except ValueError as error:
        cli_options.fail(f"--rsa-public-key: {error}")
    # Seeding after taking the port: a busy port is told at once, not after a long seed.
    cli_seed.seed_from(store, args)
    stop = threading.Event()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signal_number, lambda *_: stop.set())
    with emulator:
        key = emulator.credentials
        print(json.dumps({"endpoint": emulator.endpoint, **asdict(key)}), flush=True)
        if args.host != LOOPBACK:
            print(f"warning: listening on {args.host}, not only on loopback", file=sys.stderr)
        command = "python3 dev.py emulator" if IN_PROJECT else "ice-emulator"
        lines = [f"ICE emulator on http://{emulator.endpoint} (Ctrl-C stops it)."]
        if IN_PROJECT:
            lines += ["Point the function at it:", f"  {invoke_hint(emulator)}"]
        lines.append(f"  state: {command} state --endpoint {emulator.endpoint}")
        print("\n".join(lines), file=sys.stderr, flush=True)
        stop.wait()
    store.close()
    print("ICE emulator stopped", file=sys.stderr)
    return 0
