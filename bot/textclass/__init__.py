"""The local text classifier shared by routing and the content filter: TF-IDF over words and
character n-grams and a linear model, trained with scikit-learn (training.py, export.py) and
run in plain Python (textmodel.py, cached on disk by modelfile.py and cache.py); the bounds
their thresholds are calibrated with (bounds.py); the LLM judge's structured choice (judge.py)
and the eval commands' common parts (evaluation.py). Nothing here knows routes or topics."""
