"""`make bench`: the real handler against the sandbox at scale, with the numbers that matter."""
