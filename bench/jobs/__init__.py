"""Jobs on tracked runs: open a run (:mod:`bench.runs`), hand its arrays and modules to
:mod:`analysis`, log the numbers, tables and figures back to MLflow.

``evaluate_run`` (:mod:`.evaluate`), ``judge_run`` (:mod:`.judge`), ``utility_run``
(:mod:`.utility`), ``explain_run`` (:mod:`.explain`), ``build_report`` (:mod:`.report`, reading
the study through :mod:`.study_data`).
"""
