"""Cases (诉求/工单): intake, dispatch, handling, returns, escalation, callback, timeline."""
