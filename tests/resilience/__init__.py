"""The resilience suite: faults, bad input, secrets and concurrent applies (issue 7)."""
