"""Request text before any model or memory sees it: typed symbols (symbols.py), the words that may be ignored
and the ones that compose (words.py), the normalized template with its slots (normalize.py), and steps a
request names in order (plan.py). Imports nothing else of the package."""
