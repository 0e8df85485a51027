"""Everything that speaks to the Toggl Focus API; knows nothing of Prometheus."""
