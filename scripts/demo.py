"""`make demo`: the whole loop on the embedded default, with the browser homepage and the lab.

Migrates SQLite, seeds a simulated world, starts the web server, simulates a warm-up history
of members over the API, trains and promotes the first model, then starts a Celery worker
(with beat, retraining periodically and updating the explorer, which it turns on with its
default configs; its queue is a folder, no server needed), a second one
for the lab's simulated traffic, and a trickle of live simulated traffic, and prints the URL.
Ctrl-C stops everything. Run it again and it reuses what var/ already holds.

The demo account is one of the simulated households (see `adopt_demo_household`): its
profiles Ann, Ben and Kids have tastes of their own and play during the warm-up like every
other member, so the first page a newcomer opens already has a history behind it.
"""

import argparse
import dataclasses
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
BIN = Path(PYTHON).parent
DEMO_USER, DEMO_PASSWORD = "demo", "demo-password"
DEMO_ADULTS = ("Ann", "Ben")
DEMO_KIDS = "Kids"
DEMO_VISITS_PER_DAY = 3.0
"""The demo household watches every evening or so, so a week of warm-up gives each of its
profiles a history (the typical simulated member visits about twice a week)."""


def adopt_demo_household(world_dir: Path):
    """Make one simulated household of the world in `world_dir` the demo account, in place.

    The household is the first with a kids profile and two adults of different taste clusters
    (so their pages can differ), renamed demo / demo-password with profiles Ann, Ben and
    Kids; its members keep their hidden tastes and visit at least DEMO_VISITS_PER_DAY times a
    day. Returns the adopted account, or None if no household fits (the demo account is then
    made by seed_world with profiles of no history). A world adopted before is left as it is.
    """
    from simulator.world import Account, World

    world = World.load(world_dir)
    adopted = next((a for a in world.accounts if a.username == DEMO_USER), None)
    if adopted is not None:
        return adopted
    index = {m.key: i for i, m in enumerate(world.members)}

    def fits(account: Account) -> bool:
        adults = [m for m in account.members if not m.is_kids]
        clusters = {int(world.member_cluster[index[m.key]]) for m in adults[:2]}
        return any(m.is_kids for m in account.members) and len(adults) >= 2 and len(clusters) == 2

    household = next((a for a in world.accounts if fits(a)), None)
    if household is None:
        return None
    adults = iter(DEMO_ADULTS)
    taken = {DEMO_KIDS, *DEMO_ADULTS}
    members = []
    for member in household.members:
        name = DEMO_KIDS if member.is_kids else next(adults, None)
        if name is None:  # a third adult keeps its own name, made unique
            name = member.name if member.name not in taken else f"{member.name} 2"
        members.append(dataclasses.replace(member, name=name, username=DEMO_USER))
    adopted = Account(DEMO_USER, DEMO_PASSWORD, tuple(members))
    activity = world.activity.copy()
    for member in household.members:
        activity[index[member.key]] = max(activity[index[member.key]], DEMO_VISITS_PER_DAY)
    accounts = tuple(adopted if a is household else a for a in world.accounts)
    dataclasses.replace(world, accounts=accounts, activity=activity).save(world_dir)
    return adopted


def web_command(port: int) -> list[str]:
    """The web server, as make demo (and the end-to-end tests) run it."""
    return [str(BIN / "gunicorn"), "config.wsgi", "--bind", f"127.0.0.1:{port}",
            "--workers", "2", "--threads", "4", "--timeout", "120"]  # fmt: skip


class WebNotReady(RuntimeError):
    """The web server exited, or did not answer in time."""


def wait_for_web(url: str, web: subprocess.Popen, *, timeout_s: float = 90) -> None:
    """Return once `url` serves the API schema; raise WebNotReady if `web` exits or is late."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if web.poll() is not None:
            raise WebNotReady(f"the web server exited with status {web.returncode}")
        try:
            if requests.get(f"{url}/api/v1/schema/", timeout=15).status_code == 200:
                return
        except (requests.ConnectionError, requests.Timeout):
            pass  # not listening yet, or too busy starting up to answer in time (a loaded machine)
        time.sleep(0.3)
    raise WebNotReady(f"the web server did not answer in {timeout_s:.0f} s")


@dataclasses.dataclass(frozen=True)
class Preview:
    """A demo profile's first homepage, as the newcomer will see it."""

    name: str
    is_kids: bool
    page: dict

    def rows(self) -> dict[str, list[int]]:
        return {r["key"]: [i["title"]["id"] for i in r["items"]] for r in self.page["rows"]}

    def summary(self) -> str:
        titles = [r["title"] for r in self.page["rows"] if r["key"] != "billboard"]
        top = next((r for r in self.page["rows"] if r["key"] == "top_picks"), None)
        first = ", ".join(i["title"]["name"] for i in top["items"][:3]) if top else "-"
        kind = " (kids)" if self.is_kids else ""
        return f"{self.name}{kind}: {' | '.join(titles)}; Top Picks start with {first}"


def profile_preview(url: str, headers: dict, member: dict) -> Preview:
    home = requests.get(
        f"{url}/api/v1/members/{member['id']}/homepage", headers=headers, timeout=60
    )
    home.raise_for_status()
    return Preview(member["name"], member["is_kids"], home.json())


def check_previews(previews: list[Preview]) -> list[str]:
    """What `--check` demands of the demo's first pages: every profile has a history of its
    own (Continue Watching or Because you watched), and the Top Picks of the first two
    profiles differ."""
    problems = [
        f"{p.name} has no viewing history on its first page"
        for p in previews
        if not {"continue_watching", "because_you_watched"} & set(p.rows())
    ]
    if len(previews) >= 2:
        a, b = (p.rows().get("top_picks", []) for p in previews[:2])
        if a == b:
            problems.append(f"{previews[0].name} and {previews[1].name} get the same Top Picks")
    return problems


def step(number: int, total: int, text: str) -> None:
    print(f"\n[{number}/{total}] {text}", flush=True)


def port_free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


class Demo:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.var = Path(os.environ.get("HOMEPAGE_VAR_DIR", ROOT / "var"))
        self.world = self.var / "world"
        self.url = f"http://127.0.0.1:{args.port}"
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.local",
            "HOMEPAGE_VAR_DIR": str(self.var),
            "HOMEPAGE_RETRAIN_INTERVAL_SECONDS": str(args.retrain_every),
            # The explorer learns from the live traffic's plays within half an hour of a page.
            "HOMEPAGE_EXPLORATION_UPDATE_INTERVAL_SECONDS": str(args.explore_every),
            "HOMEPAGE_EXPLORATION_ATTRIBUTION_SECONDS": "1800",
            "HOMEPAGE_LAB_BASE_URL": self.url,
            "PYTHONPATH": os.pathsep.join([str(ROOT / "platform"), str(ROOT)]),
            "PYTHONUNBUFFERED": "1",
        }
        for key in ("DATABASE_URL", "CELERY_BROKER_URL"):  # the demo is the embedded default
            self.env.pop(key, None)
        self.children: list[subprocess.Popen] = []

    def run(self, *argv: str) -> None:
        subprocess.run(argv, cwd=ROOT, env=self.env, check=True)

    def spawn(self, name: str, *argv: str) -> subprocess.Popen:
        log = open(self.var / f"{name}.log", "a")  # noqa: SIM115 - lives as long as the child
        child = subprocess.Popen(argv, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        self.children.append(child)
        print(f"      {name} started (pid {child.pid}, log {self.var / f'{name}.log'})", flush=True)
        return child

    def token(self) -> str:
        r = requests.post(
            f"{self.url}/api/v1/auth/token",
            json={"username": DEMO_USER, "password": DEMO_PASSWORD},
            timeout=30,
        )
        r.raise_for_status()
        return r.json()["token"]

    def main(self) -> int:
        if not port_free(self.args.port):
            print(
                f"error: port {self.args.port} is taken; choose another with DEMO_PORT=8001 make demo",
                file=sys.stderr,
            )
            return 2
        self.var.mkdir(parents=True, exist_ok=True)
        total = 7
        step(1, total, f"migrating the SQLite database in {self.var}")
        self.run(PYTHON, "manage.py", "migrate", "--noinput", "-v", "0")

        step(2, total, "generating the simulated world and seeding catalogue and members")
        if not (self.world / "catalog.json").exists():
            self.run(
                PYTHON,
                "-m",
                "simulator.world",
                "--out",
                str(self.world),
                "--titles",
                str(self.args.titles),
                "--members",
                str(self.args.members),
                "--seed",
                "0",
            )
            household = adopt_demo_household(self.world)
            if household is None:
                print(
                    "      no simulated household fits the demo account: its profiles start empty"
                )
            else:
                names = ", ".join(m.name for m in household.members)
                print(f"      the demo account is a simulated household: {names}")
        self.run(
            PYTHON, "manage.py", "seed_world", str(self.world), "--demo-password", DEMO_PASSWORD
        )

        step(3, total, f"starting the web server at {self.url}")
        web = self.spawn("web", *web_command(self.args.port))
        try:
            wait_for_web(self.url, web)
        except WebNotReady as exc:
            raise SystemExit(f"error: {exc}; see {self.var / 'web.log'}") from None
        headers = {"Authorization": f"Token {self.token()}"}
        models = requests.get(f"{self.url}/api/v1/models", headers=headers, timeout=30).json()
        fresh = not any(m["is_production"] for m in models)

        step(4, total, f"simulating {self.args.days} days of warm-up history over the API")
        if fresh:
            from simulator.client import run_traffic

            report = run_traffic(
                self.url,
                self.world,
                days=self.args.days,
                start=datetime.now(UTC) - timedelta(days=self.args.days),
                seed=0,
                concurrency=4,
                progress=True,
            )
            print(f"      {report.summary()}")
        else:
            print("      skipped: a model is in production already (delete var/ to start over)")

        step(5, total, "training the first models and promoting the best through the gate")
        if fresh:
            self.run(PYTHON, "manage.py", "retrain")
        else:
            production = next(m for m in models if m["is_production"])
            print(
                f"      skipped: model v{production['id']} ({production['kind']}) is in production"
            )

        step(
            6,
            total,
            "turning the explorer on and starting a Celery worker with beat (retrain every "
            f"{self.args.retrain_every:.0f} s, explorer update every "
            f"{self.args.explore_every:.0f} s)",
        )
        self.run(PYTHON, "manage.py", "explorer_on")
        self.spawn(
            "worker",
            str(BIN / "celery"),
            "-A",
            "config",
            "worker",
            "--beat",
            "--pool",
            "solo",
            "--loglevel",
            "INFO",
            "--schedule",
            str(self.var / "celerybeat-schedule"),
        )
        # The lab's traffic runs last minutes: a worker of their own keeps retrains moving.
        self.spawn(
            "lab-worker",
            str(BIN / "celery"),
            "-A",
            "config",
            "worker",
            "--pool",
            "solo",
            "--loglevel",
            "INFO",
            "--queues",
            os.environ.get(
                "HOMEPAGE_LAB_TRAFFIC_QUEUE",
                f"{os.environ.get('HOMEPAGE_CELERY_QUEUE', 'homepage')}-traffic",
            ),
            "--hostname",
            "lab@%h",
        )
        if self.args.traffic:
            self.spawn(
                "traffic",
                PYTHON,
                "-m",
                "simulator.client",
                "--base-url",
                self.url,
                "--world",
                str(self.world),
                "--live",
                "--pause",
                "20",
                "--activity-scale",
                "40",
            )

        me = requests.get(f"{self.url}/api/v1/me", headers=headers, timeout=30).json()
        previews = [profile_preview(self.url, headers, member) for member in me["members"]]
        home = previews[0].page
        served_by = (
            ("popularity fallback: " + home["fallback_reason"])
            if home["fallback"]
            else f"model v{home['model_version']['id']} ({home['model_version']['kind']})"
        )
        step(7, total, "ready")
        print("      what the demo's profiles see first:")
        for preview in previews:
            print(f"      {preview.summary()}")
        print(
            f"""
    Homepage:  {self.url}/          sign in as {DEMO_USER} / {DEMO_PASSWORD}
    Lab:       {self.url}/lab       (staff only: models, loop health, simulated traffic)
    API docs:  {self.url}/api/v1/docs/
    Models:    {self.url}/api/v1/models     (the demo's first homepage is served by {served_by})
    Admin:     {self.url}/admin/            (demo is staff; create a superuser for full admin)
    Logs:      {self.var}/{{web,worker,lab-worker,traffic}}.log

    Press Ctrl-C to stop.""",
            flush=True,
        )
        if self.args.check:
            assert not home["fallback"], home
            problems = check_previews(previews)
            if problems:
                print("error: " + "; ".join(problems), file=sys.stderr)
                return 1
            return 0
        while all(child.poll() is None for child in self.children):
            time.sleep(1)
        failed = next(child for child in self.children if child.poll() is not None)
        print(
            f"error: a demo process (pid {failed.pid}) exited with {failed.returncode}; see {self.var}/*.log",
            file=sys.stderr,
        )
        return 1

    def stop(self) -> None:
        for child in self.children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in self.children:
            try:
                child.wait(timeout=20)
            except subprocess.TimeoutExpired:
                child.kill()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--titles", type=int, default=400, help="catalogue size of the simulated world")
    p.add_argument(
        "--members", type=int, default=120, help="member profiles in the simulated world"
    )
    p.add_argument("--days", type=float, default=7.0, help="days of warm-up history")
    p.add_argument(
        "--retrain-every", type=float, default=600.0, help="seconds between scheduled retrains"
    )
    p.add_argument(
        "--explore-every",
        type=float,
        default=300.0,
        help="seconds between scheduled updates of the explorer's bandits",
    )
    p.add_argument(
        "--no-traffic", dest="traffic", action="store_false", help="no live simulated members"
    )
    p.add_argument(
        "--check", action="store_true", help="set everything up, check the homepage, then stop"
    )
    args = p.parse_args(argv)
    for name in ("port", "titles", "members", "days", "retrain_every", "explore_every"):
        if getattr(args, name) <= 0:
            p.error(f"--{name.replace('_', '-')} must be positive, got {getattr(args, name)}")
    return args


def _interrupt(signum, frame):
    raise KeyboardInterrupt  # `kill` stops the demo's children as cleanly as Ctrl-C does


def main(argv: list[str] | None = None) -> int:
    sys.path[:0] = [str(ROOT)]
    demo = Demo(parse_args(argv))
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        return demo.main()
    except KeyboardInterrupt:
        print("\nstopping ...")
        return 0
    except subprocess.CalledProcessError as exc:
        print(
            f"error: {' '.join(map(str, exc.cmd))} failed with status {exc.returncode}",
            file=sys.stderr,
        )
        return 1
    finally:
        demo.stop()


if __name__ == "__main__":
    sys.exit(main())
