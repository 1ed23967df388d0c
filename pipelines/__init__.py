"""Stage entry points called by the DAG tasks and the CLI: I/O, the lake, audit, run reports, config.

Nothing in this package imports Airflow: every stage runs from the CLI and from tests alone.
"""
