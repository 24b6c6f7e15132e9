"""The dispatch catalogue (派单事项目录): categories, who leads and cooperates, time limits."""
