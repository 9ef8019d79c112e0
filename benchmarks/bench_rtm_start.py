"""How fast RtmStart.from_json parses a large team's rtm.start, next to json.loads.

    python benchmarks/bench_rtm_start.py [--repeat N]

Generates, deterministically, an answer for a large team (20,000 users with
full profiles, 5,000 channels with member lists, 2,000 groups, 3,000 ims,
300 bots: about 45 MB), then times json.loads of the bytes and
RtmStart.from_json of the same bytes, each followed by reading one field of
every user, channel, group, im, mpim and bot, so that deferring work does not
count as saving it.  Memory is what each result retains (tracemalloc).  Then
times `import slack_rtm` against `import urllib3, websocket` in fresh
processes.  Targets: from_json within 1.2x of json.loads, no more memory, and
the import adding under 15%.
"""

import argparse
import gc
import importlib.util
import json
import os
import py_compile
import random
import statistics
import subprocess
import sys
import time
import tracemalloc

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import slack_rtm  # noqa: E402

KINDS = ("users", "channels", "groups", "mpims", "ims", "bots")


def _user(rng, i):
    name = f"user{i}"
    return {
        "id": f"U{i:08d}", "team_id": "T0000001", "name": name, "deleted": rng.random() < 0.05,
        "color": f"{rng.randrange(1 << 24):06x}", "real_name": f"User Number {i}",
        "tz": "Europe/Berlin", "tz_label": "Central European Time", "tz_offset": 3600,
        "profile": {
            "title": "Engineer", "phone": f"+49 30 {i:07d}", "skype": "", "real_name": f"User Number {i}",
            "real_name_normalized": f"User Number {i}", "display_name": name,
            "display_name_normalized": name, "fields": None, "status_text": "In a meeting",
            "status_emoji": ":calendar:", "status_expiration": 0, "avatar_hash": f"g{i:011x}",
            "email": f"{name}@example.com", "first_name": "User", "last_name": f"Number {i}",
            "image_24": f"https://secure.gravatar.com/avatar/{i:032x}.jpg?s=24",
            "image_32": f"https://secure.gravatar.com/avatar/{i:032x}.jpg?s=32",
            "image_48": f"https://secure.gravatar.com/avatar/{i:032x}.jpg?s=48",
            "image_72": f"https://secure.gravatar.com/avatar/{i:032x}.jpg?s=72",
            "image_192": f"https://secure.gravatar.com/avatar/{i:032x}.jpg?s=192",
            "image_512": f"https://secure.gravatar.com/avatar/{i:032x}.jpg?s=512",
            "status_text_canonical": "", "team": "T0000001",
        },
        "is_admin": i % 50 == 0, "is_owner": i == 0, "is_primary_owner": i == 0,
        "is_restricted": False, "is_ultra_restricted": False, "is_bot": False, "is_app_user": False,
        "updated": 1600000000 + i, "is_email_confirmed": True, "presence": "away",
    }


def _conversation(rng, prefix, i, users, members):
    return {
        "id": f"{prefix}{i:08d}", "name": f"{prefix.lower()}-{i}", "is_channel": prefix == "C",
        "is_group": prefix == "G", "created": 1500000000 + i, "creator": f"U{rng.randrange(users):08d}",
        "is_archived": False, "is_general": i == 0, "is_member": True, "last_read": "1600000000.000100",
        "members": [f"U{rng.randrange(users):08d}" for _ in range(members)],
        "topic": {"value": f"Topic of {i}", "creator": "U00000001", "last_set": 1600000000},
        "purpose": {"value": f"Purpose of {i}", "creator": "U00000001", "last_set": 1600000000},
        "latest": "1600000000.000200", "unread_count": 0, "unread_count_display": 0,
    }


def make_answer(users=20000, channels=5000, groups=2000, ims=3000, bots=300, seed=7):
    rng = random.Random(seed)
    answer = {
        "ok": True, "url": "wss://cerberus-xxxx.lb.slack-msgs.com/websocket/ticket",
        "self": {"id": "U00000001", "name": "bot", "prefs": {"emoji_use": "default"}, "created": 1500000000},
        "team": {"id": "T0000001", "name": "Big Team", "domain": "big", "icon": {"image_default": True},
                 "prefs": {"default_channels": ["C00000000"]}, "plan": "enterprise"},
        "latest_event_ts": "1600000000.000000", "cache_ts": 1600000000,
        "users": [_user(rng, i) for i in range(users)],
        "channels": [_conversation(rng, "C", i, users, 150) for i in range(channels)],
        "groups": [_conversation(rng, "G", i, users, 12) for i in range(groups)],
        "mpims": [],
        "ims": [{"id": f"D{i:08d}", "is_im": True, "user": f"U{i:08d}", "created": 1500000000 + i,
                 "is_user_deleted": False, "is_open": True, "last_read": "0000000000.000000",
                 "latest": None, "unread_count": 0, "unread_count_display": 0} for i in range(ims)],
        "bots": [{"id": f"B{i:08d}", "deleted": False, "name": f"bot{i}", "updated": 1500000000,
                  "app_id": f"A{i:08d}", "icons": {"image_36": "https://a.slack-edge.com/36.png",
                                                     "image_48": "https://a.slack-edge.com/48.png"}}
                 for i in range(bots)],
    }
    return json.dumps(answer).encode("utf-8")


def read_dicts(answer):
    return sum(len(item["id"]) for kind in KINDS for item in answer.get(kind, ()))


def read_objects(start):
    return sum(len(item.id) for kind in KINDS for item in getattr(start, kind))


# Nested objects (profiles, topics) are wrapped when first read: this reads
# one field of each too, so that the deferred part is counted as well.
def read_dicts_deep(answer):
    return read_dicts(answer) + sum(len(u["profile"]["real_name"]) for u in answer["users"]) + sum(
        len(c["topic"]["value"]) for kind in ("channels", "groups") for c in answer[kind])


def read_objects_deep(start):
    return read_objects(start) + sum(len(u.profile.real_name) for u in start.users) + sum(
        len(c.topic.value) for kind in ("channels", "groups") for c in getattr(start, kind))


def timed(fn, repeat):
    times = []
    for _ in range(repeat):
        gc.collect()
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times), statistics.median(times)


def retained(fn):
    gc.collect()
    tracemalloc.start()
    result = fn()
    size = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    del result
    return size


def import_time(statement, repeat):
    # Installed packages import from their compiled .pyc; so does slack_rtm
    # here (compiled once below, even where PYTHONDONTWRITEBYTECODE is set).
    code = f"import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    runs = [float(subprocess.check_output([sys.executable, "-c", code], cwd=os.path.dirname(HERE), env=env))
            for _ in range(repeat)]
    return min(runs)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    body = make_answer()
    print(f"answer: {len(body) / 1e6:.1f} MB, Python {sys.version.split()[0]}")

    base = timed(lambda: read_dicts(json.loads(body)), args.repeat)
    ours = timed(lambda: read_objects(slack_rtm.RtmStart.from_json(body)), args.repeat)
    print(f"json.loads + read       best {base[0] * 1e3:7.1f} ms  median {base[1] * 1e3:7.1f} ms")
    print(f"RtmStart.from_json+read best {ours[0] * 1e3:7.1f} ms  median {ours[1] * 1e3:7.1f} ms  "
          f"ratio {ours[0] / base[0]:.3f}x best, {ours[1] / base[1]:.3f}x median (target <= 1.2x)")

    base = timed(lambda: read_dicts_deep(json.loads(body)), args.repeat)
    ours = timed(lambda: read_objects_deep(slack_rtm.RtmStart.from_json(body)), args.repeat)
    print(f"... + nested, dicts    best {base[0] * 1e3:7.1f} ms  median {base[1] * 1e3:7.1f} ms")
    print(f"... + nested, objects  best {ours[0] * 1e3:7.1f} ms  median {ours[1] * 1e3:7.1f} ms  "
          f"ratio {ours[0] / base[0]:.3f}x best, {ours[1] / base[1]:.3f}x median")

    # The collector's work comes in bursts: a parse can leave a full
    # collection to whatever allocates next.  This counts it in, for both.
    base = timed(lambda: (read_dicts(json.loads(body)), gc.collect()), args.repeat)
    ours = timed(lambda: (read_objects(slack_rtm.RtmStart.from_json(body)), gc.collect()), args.repeat)
    print(f"... + gc.collect(), dicts    best {base[0] * 1e3:7.1f} ms")
    print(f"... + gc.collect(), objects  best {ours[0] * 1e3:7.1f} ms  ratio {ours[0] / base[0]:.3f}x best, "
          f"{ours[1] / base[1]:.3f}x median")

    base_mem = retained(lambda: json.loads(body))
    ours_mem = retained(lambda: slack_rtm.RtmStart.from_json(body))
    print(f"retained: json.loads {base_mem / 1e6:.1f} MB, RtmStart {ours_mem / 1e6:.1f} MB "
          f"({ours_mem / base_mem:.3f}x, target <= 1.0x)")
    deep_mem = retained(lambda: (lambda s: (read_objects_deep(s), s))(slack_rtm.RtmStart.from_json(body)))
    print(f"retained after reading every profile and topic: {deep_mem / 1e6:.1f} MB ({deep_mem / base_mem:.3f}x)")

    py_compile.compile(slack_rtm.__file__, cfile=importlib.util.cache_from_source(slack_rtm.__file__))
    deps = import_time("import urllib3, websocket", args.repeat * 3)
    both = import_time("import urllib3, websocket, slack_rtm", args.repeat * 3)
    alone = import_time("import slack_rtm", args.repeat * 3)
    print(f"import (best of {args.repeat * 3} fresh processes): urllib3, websocket {deps * 1e3:.1f} ms; "
          f"with slack_rtm {both * 1e3:.1f} ms "
          f"(+{(both / deps - 1) * 100:.1f}%, target < 15%); slack_rtm alone {alone * 1e3:.1f} ms")


if __name__ == "__main__":
    main()
