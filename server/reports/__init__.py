"""The evaluation layer (考评): the 三率, rankings, unit statistics, hotspots and report tables.

Read side only: every figure is computed from facts the case loop records (timeline, deadlines,
ratings), never typed in, so a past period recomputes to the same answer.
"""
