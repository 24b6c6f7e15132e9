"""The evaluation API: the 三率, their drill-down, rankings, the trend and the settings."""
