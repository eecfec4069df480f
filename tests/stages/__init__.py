# A package, so that stages/test_guard.py and tests/test_guard.py are two modules, not one name twice.
