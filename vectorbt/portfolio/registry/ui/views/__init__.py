"""The views of the web page, one module each: `runs` (the runs table), `run` (one run and its
configurations), `sweep` (heatmaps of a sweep), `compare` (configurations side by side) and `leaderboard`
(`best()` across runs); `common` holds what they share."""
