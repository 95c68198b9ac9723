"""`valuesync demo`: the sandbox site it seeds and serves (site.py), what it prints (view.py)."""
