"""NotifySlack: tell the team on Slack how a run goes, without ever failing the run because Slack did."""
