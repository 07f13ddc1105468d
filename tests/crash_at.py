"""`python tests/crash_at.py POINT ARGS...` runs `ccm ARGS...` and dies at POINT of `ccm stop`,
as kill -9 would (exit 137), so the crash tests of test_timers.py drive a real process:

- `before-entries`: the stop is decided and saved in the timer file; no entry is written yet;
- `after-entry-N`: the N-th part of the timer was appended (or found already logged).

The points are wrapped around ccm's own functions here, so ccm itself holds no test hook.
"""

import os
import sys

from ccmcli.actions import timer_stop


def die_at(point: str) -> None:
    if point == "before-entries":

        def write_parts(*args, **kwargs):
            os._exit(137)

        timer_stop._write_parts = write_parts
    elif point.startswith("after-entry-"):
        last, done, log_time = int(point.removeprefix("after-entry-")), [0], timer_stop.log_time

        def log_then_die(*args, **kwargs):
            try:
                return log_time(*args, **kwargs)
            finally:
                done[0] += 1
                if done[0] == last:
                    os._exit(137)

        timer_stop.log_time = log_then_die
    else:
        sys.exit(f"crash_at.py: no point {point!r}")


if __name__ == "__main__":
    die_at(sys.argv[1])
    sys.argv = ["ccm", *sys.argv[2:]]
    from ccmcli.cli import main

    main()
