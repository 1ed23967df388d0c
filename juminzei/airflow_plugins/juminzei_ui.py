"""Airflow plugin (loaded from ``[core] plugins_folder``, set by juminzei/airflow_env.py): the web UI
shows Asia/Tokyo times unless a user chose another zone. See juminzei/airflow_ui.py."""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from juminzei.airflow_ui import UI_TIMEZONE, DefaultUiTimezoneMiddleware


class JuminzeiUiPlugin(AirflowPlugin):
    name = "juminzei_ui"
    fastapi_root_middlewares = [
        {
            "middleware": DefaultUiTimezoneMiddleware,
            "args": [],
            "kwargs": {"timezone": UI_TIMEZONE},
            "name": "juminzei: default UI time zone Asia/Tokyo",
        }
    ]
