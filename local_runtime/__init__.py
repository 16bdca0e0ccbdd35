"""Run the retraining workflow on one machine, offline: the AWS APIs it uses, served on a loopback port."""
