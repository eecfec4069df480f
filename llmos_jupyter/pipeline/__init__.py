"""A request's journey, one stage a file, each taking the previous stage's frozen record:

    normalize → decide → replay | ask → guard → execute → verify → learn → record

A replay that fails verification leaves its records behind and the request goes on to ask (MIXED);
the `Result` is assembled once, in record.py, from the final records. `LLMOS` (engine.py) runs the
stages and the orchestration; the stages know nothing of Jupyter or the widgets.
"""
