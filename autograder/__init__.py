"""Autograder for the course notebooks: intake, sandboxed execution and grading."""
