"""Unit statistics, 双考评 from whistle calls, hotspots and 每月一题 over HTTP."""
