"""An answer that only ran because an earlier program left a name in the session is shown, never stored:
its replay, which starts clean, would raise NameError (issue #24's suspicion, checked through the engine)."""
from __future__ import annotations

from llmos_jupyter import Mode
from llmos_jupyter.testing import Reply


def test_an_answer_borrowing_an_earlier_import_is_shown_but_not_stored(make_engine, server):
    engine = make_engine("openai", execution="worker")
    namespace: dict = {}
    server.enqueue(Reply(text="```python\nimport numpy as np\nangles = np.linspace(0, 1, 3)\nangles\n```"),
                   Reply(text="```python\nhalf_pi = np.pi / 2\nprint(half_pi)\n```"),
                   Reply(text="```python\nimport numpy as np\nhalf_pi = np.pi / 2\nprint(half_pi)\n```"))
    first = engine.run("Three angles from 0 to 1 in a numpy array", namespace=namespace)
    assert first.verified and first.trace_id
    stored = engine.memory.traces.count()
    borrowed = engine.run("Print half of pi", namespace=namespace)
    assert borrowed.error is None and "1.5707" in borrowed.output  # it ran: the session still had np
    assert borrowed.trace_id is None and engine.memory.traces.count() == stored
    assert "np" in borrowed.notice and "not stored" in borrowed.notice
    again = engine.run("Print half of pi", namespace=namespace)  # nothing to replay: the model is asked again
    assert again.mode == Mode.LEARNER and again.trace_id and engine.memory.traces.count() == stored + 1
