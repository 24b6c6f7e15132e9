"""Phones' clocks: estimate a device's skew at each push and place its operations in server time.

Pure arithmetic, no database. Phones' clocks are wrong (set by hand, never synced, off by
hours after a battery swap), so the server never trusts one for a deadline. It uses the
device time for one thing only: to judge what the worker was entitled to do when they acted
offline, after correcting it by the skew measured at this push and capping it at the moment
the operation reached the server (nobody acts after their operation has arrived).
"""

from __future__ import annotations

from datetime import datetime, timedelta

CLOCK_SKEW_LARGE = "clock_skew_large"
DEVICE_TIME_AFTER_SENDING = "device_time_after_sending"
# An operation cannot have been made after the request carrying it was sent; a little slack
# for phones that stamp the request before the last operation is serialised.
SENDING_SLACK = timedelta(seconds=1)


def estimate_skew_s(sent_at: datetime, received_at: datetime) -> float:
    """How far the device's clock is ahead of the server's (negative: behind), in seconds.

    The phone stamps ``sent_at`` when it sends; the server stamps reception. The difference
    also contains the upload time, so the estimate errs by the network latency (seconds),
    which is far below the skews that matter (minutes to hours).
    """
    return round((sent_at - received_at).total_seconds(), 1)


def acted_at(device_time: datetime, skew_s: float, received_at: datetime) -> datetime:
    """When the worker acted, in server time: the device time corrected by the skew, and never
    later than the operation's arrival."""
    return min(device_time - timedelta(seconds=skew_s), received_at)


def push_flags(skew_s: float, *, max_skew_s: float) -> list[str]:
    """Flags for every operation of a push whose device clock is too far off."""
    return [CLOCK_SKEW_LARGE] if abs(skew_s) > max_skew_s else []


def operation_flags(device_time: datetime, sent_at: datetime) -> list[str]:
    """A device time later than the push itself: the phone's clock jumped while offline."""
    return [DEVICE_TIME_AFTER_SENDING] if device_time > sent_at + SENDING_SLACK else []
