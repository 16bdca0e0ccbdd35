"""A preprocessing script that never finishes, as a hung fit would: the e2e abort tests end the run while its
processing job waits on it, and check that the job is stopped."""

import time

time.sleep(3_600)
