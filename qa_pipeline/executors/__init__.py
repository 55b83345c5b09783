"""Executors the batch can hand its calls to, besides its own process pool.

Each executor runs the batch's worker code (:func:`qa_pipeline.batch.init_worker` and
:func:`qa_pipeline.batch.process_call`) somewhere else and returns the outcomes to the
driver, which plans, saves and logs exactly as it does for local workers. Each one imports
its framework only when used.
"""
